//! NIFs for data movement, indexing and sorting: transpose, squeeze,
//! new_axis, broadcast, slice, put_slice, concatenate, stack, pad, reverse,
//! gather, take, take_along_axis, indexed_add, indexed_put, sort, argsort.
//!
//! Arguments arrive already shaped by `Myelin.Tensor` (axes as lists or nil,
//! shapes as lists, pad values as scalar tensors), so every NIF here is a
//! thin call into `myelin_cpu`.

use crate::codec::tensor;
use crate::pair::{Axes, Dims, Ints, PadConfig, Refs};
use crate::resource::TensorRef;
use myelin_core::{Shape, Tensor};
use myelin_cpu::indexing::Scatter;
use myelin_cpu::sort::Direction;
use myelin_cpu::{indexing, reshape_ops, sort};

fn tensors(list: &[TensorRef]) -> Vec<Tensor> {
    list.iter().map(|r| tensor(r).clone()).collect()
}

fn direction(desc: bool) -> Direction {
    if desc {
        Direction::Desc
    } else {
        Direction::Asc
    }
}

nif_pair!(transpose, transpose_dirty, "transpose", (t: TensorRef, axes: Axes),
    |t: TensorRef, axes: Option<Vec<i64>>| reshape_ops::transpose(tensor(&t), axes.as_deref()));
nif_pair!(squeeze, squeeze_dirty, "squeeze", (t: TensorRef, axes: Axes),
    |t: TensorRef, axes: Option<Vec<i64>>| reshape_ops::squeeze(tensor(&t), axes.as_deref()));
nif_pair!(new_axis, new_axis_dirty, "new_axis", (t: TensorRef, axis: i64),
    |t: TensorRef, axis| reshape_ops::new_axis(tensor(&t), axis));
nif_pair!(broadcast, broadcast_dirty, "broadcast", (t: TensorRef, shape: Dims, axes: Axes),
|t: TensorRef, shape: Vec<usize>, axes: Option<Vec<i64>>| {
    reshape_ops::broadcast(tensor(&t), &Shape::new(shape), axes.as_deref())
});
nif_pair!(slice, slice_dirty, "slice",
(t: TensorRef, starts: Ints, lengths: Ints, strides: Axes),
|t: TensorRef, starts: Vec<i64>, lengths: Vec<i64>, strides: Option<Vec<i64>>| {
    reshape_ops::slice(tensor(&t), &starts, &lengths, strides.as_deref())
});
nif_pair!(put_slice, put_slice_dirty, "put_slice", (t: TensorRef, starts: Ints, s: TensorRef),
    |t: TensorRef, starts: Vec<i64>, s: TensorRef| reshape_ops::put_slice(tensor(&t), &starts, tensor(&s)));
nif_pair!(concatenate, concatenate_dirty, "concatenate", (ts: Refs, axis: i64),
    |ts: Vec<TensorRef>, axis| reshape_ops::concatenate(&tensors(&ts), axis));
nif_pair!(stack, stack_dirty, "stack", (ts: Refs, axis: i64),
    |ts: Vec<TensorRef>, axis| reshape_ops::stack(&tensors(&ts), axis));
nif_pair!(pad, pad_dirty, "pad", (t: TensorRef, value: TensorRef, config: PadConfig),
|t: TensorRef, value: TensorRef, config: Vec<(i64, i64, i64)>| {
    reshape_ops::pad(tensor(&t), tensor(&value), &config)
});
nif_pair!(reverse, reverse_dirty, "reverse", (t: TensorRef, axes: Axes),
    |t: TensorRef, axes: Option<Vec<i64>>| reshape_ops::reverse(tensor(&t), axes.as_deref()));

nif_pair!(gather, gather_dirty, "gather", (t: TensorRef, idx: TensorRef),
    |t: TensorRef, idx: TensorRef| indexing::gather(tensor(&t), tensor(&idx)));
nif_pair!(take, take_dirty, "take", (t: TensorRef, idx: TensorRef, axis: i64),
    |t: TensorRef, idx: TensorRef, axis| indexing::take(tensor(&t), tensor(&idx), axis));
nif_pair!(take_along_axis, take_along_axis_dirty, "take_along_axis", (t: TensorRef, idx: TensorRef, axis: i64),
    |t: TensorRef, idx: TensorRef, axis| indexing::take_along_axis(tensor(&t), tensor(&idx), axis));
nif_pair!(indexed_add, indexed_add_dirty, "indexed_add", (t: TensorRef, idx: TensorRef, upd: TensorRef),
|t: TensorRef, idx: TensorRef, upd: TensorRef| {
    indexing::indexed(Scatter::Add, tensor(&t), tensor(&idx), tensor(&upd))
});
nif_pair!(indexed_put, indexed_put_dirty, "indexed_put", (t: TensorRef, idx: TensorRef, upd: TensorRef),
|t: TensorRef, idx: TensorRef, upd: TensorRef| {
    indexing::indexed(Scatter::Put, tensor(&t), tensor(&idx), tensor(&upd))
});

nif_pair!(sort, sort_dirty, "sort", (t: TensorRef, axis: i64, desc: bool),
    |t: TensorRef, axis, desc| sort::sort(tensor(&t), axis, direction(desc)));
nif_pair!(argsort, argsort_dirty, "argsort", (t: TensorRef, axis: i64, desc: bool),
    |t: TensorRef, axis, desc| sort::argsort(tensor(&t), axis, direction(desc)));
