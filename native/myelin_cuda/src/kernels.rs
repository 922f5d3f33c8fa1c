//! The CUDA kernel sources and the names of their entry points.
//!
//! Kernels live in `kernels/*.cu`, one file per op family, and are compiled
//! by NVRTC at first use (see `compile.rs`). This module embeds the sources
//! and knows which family defines which entry point. Entry points are named
//! `<op>_<dtype>` with the op's `Myelin.Tensor` name (candle's rule: one
//! name from the Elixir function to the kernel), e.g. `exp_f32`,
//! `add_bf16`, `sum_s32`; kernels that only move data are named by element
//! size (`copy_strided_b4`).
//!
//! [`expected_entries`] is the dispatch table's view of the kernels: every
//! name the launchers may ask for. The NVRTC test compiles every family and
//! checks that each expected name is in the PTX, so a missing
//! instantiation fails in CI, not on a user's GPU.

use myelin_core::ops::binary::BinaryClass;
use myelin_core::ops::unary::UnaryClass;
use myelin_core::ops::{BinaryOp, ReduceOp, UnaryOp};
use myelin_core::DType;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Prepended to every family: half types, `Num<T>`, maths overloads,
/// block reductions and `StridedLayout`.
pub const PRELUDE: &str = include_str!("../kernels/prelude.cuh");

/// One kernel family: a `.cu` file compiled as one NVRTC program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Family {
    /// The file's stem, e.g. `"unary"`.
    pub name: &'static str,
    /// The file's text (without the prelude).
    pub source: &'static str,
}

macro_rules! family {
    ($name:literal) => {
        Family {
            name: $name,
            source: include_str!(concat!("../kernels/", $name, ".cu")),
        }
    };
}

/// Every family, in the order the test compiles them.
pub const FAMILIES: &[Family] = &[
    family!("unary"),
    family!("binary"),
    family!("cast"),
    family!("layout"),
    family!("reduce"),
    family!("softmax"),
    family!("optimizer"),
    family!("conv"),
    family!("pool"),
    family!("gather"),
    family!("norm"),
];

/// The full source NVRTC compiles for `family`: the prelude, then the file.
pub fn program_source(family: &Family) -> String {
    format!("{PRELUDE}\n// ---- {}.cu ----\n{}", family.name, family.source)
}

/// The family that defines the entry point `entry`, if any.
pub fn family_of(entry: &str) -> Option<&'static Family> {
    static INDEX: OnceLock<HashMap<String, &'static Family>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            expected_entries()
                .into_iter()
                .filter_map(|(family, name)| FAMILIES.iter().find(|f| f.name == family).map(|f| (name, f)))
                .collect()
        })
        .get(entry)
        .copied()
}

/// The dtype suffix of kernel names: `f32`, `bf16`, `s64`, ...
pub fn dtype_suffix(dtype: DType) -> &'static str {
    match dtype {
        DType::U8 => "u8",
        DType::U16 => "u16",
        DType::U32 => "u32",
        DType::U64 => "u64",
        DType::S8 => "s8",
        DType::S16 => "s16",
        DType::S32 => "s32",
        DType::S64 => "s64",
        DType::F16 => "f16",
        DType::BF16 => "bf16",
        DType::F32 => "f32",
        DType::F64 => "f64",
    }
}

/// The entry point of `op` for `dtype`: `kernel_name("exp", F32)` is `exp_f32`.
pub fn kernel_name(op: &str, dtype: DType) -> String {
    format!("{op}_{}", dtype_suffix(dtype))
}

/// The entry point of a data-movement kernel for elements of `dtype`'s
/// size: `sized_kernel_name("take", F32)` is `take_b4`.
pub fn sized_kernel_name(op: &str, dtype: DType) -> String {
    format!("{op}_b{}", dtype.size_in_bytes())
}

const FLOATS: [DType; 4] = [DType::F16, DType::BF16, DType::F32, DType::F64];

fn integers() -> impl Iterator<Item = DType> {
    DType::ALL.into_iter().filter(|d| d.is_integer())
}

/// Every `(family, entry point)` the launchers may ask for.
pub fn expected_entries() -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    fn add(
        out: &mut Vec<(&'static str, String)>,
        family: &'static str,
        op: &str,
        dtypes: impl IntoIterator<Item = DType>,
    ) {
        out.extend(dtypes.into_iter().map(|d| (family, kernel_name(op, d))));
    }
    for &op in UnaryOp::ALL {
        let dtypes: Vec<DType> = match op.class() {
            // Integer inputs of floating maths are cast to f32 first.
            UnaryClass::Floating => FLOATS.to_vec(),
            UnaryClass::IntegerOnly => integers().collect(),
            UnaryClass::SameType | UnaryClass::Predicate => DType::ALL.to_vec(),
        };
        add(&mut out, "unary", op.name(), dtypes);
    }
    for &op in BinaryOp::ALL {
        let dtypes: Vec<DType> = match op.class() {
            BinaryClass::Floating => FLOATS.to_vec(),
            BinaryClass::IntegerOnly => integers().collect(),
            _ => DType::ALL.to_vec(),
        };
        add(&mut out, "binary", op.name(), dtypes);
    }
    for from in DType::ALL {
        for to in DType::ALL {
            out.push((
                "cast",
                format!("cast_{}_{}", dtype_suffix(from), dtype_suffix(to)),
            ));
        }
    }
    for op in ["select", "clip", "iota"] {
        add(&mut out, "layout", op, DType::ALL);
    }
    for &op in ReduceOp::ALL {
        let dtypes: Vec<DType> = match op {
            // Floating results: integers are cast first.
            ReduceOp::Mean => FLOATS.to_vec(),
            // A max-shifted row pass, in the softmax family.
            ReduceOp::Logsumexp => continue,
            _ => DType::ALL.to_vec(),
        };
        add(&mut out, "reduce", op.name(), dtypes);
    }
    for op in ["argmax", "argmin"] {
        add(&mut out, "reduce", op, DType::ALL);
    }
    for op in ["log_softmax", "logsumexp", "softmax_cross_entropy"] {
        add(&mut out, "softmax", op, FLOATS);
    }
    for op in ["adam", "sgd", "rmsprop", "adagrad", "sum_of_squares"] {
        add(&mut out, "optimizer", op, FLOATS);
    }
    for op in ["im2col", "col2im"] {
        add(&mut out, "conv", op, FLOATS);
    }
    for op in ["max_pool", "avg_pool", "avg_pool_grad"] {
        add(&mut out, "pool", op, FLOATS);
    }
    add(&mut out, "pool", "max_pool_grad", [DType::F32, DType::F64]);
    for op in ["layer_norm", "layer_norm_grad"] {
        add(&mut out, "norm", op, FLOATS);
    }
    let atomic = [DType::F32, DType::F64, DType::S32, DType::U32, DType::U64];
    add(&mut out, "gather", "take_grad", atomic);
    for bytes in [1, 2, 4, 8] {
        out.push(("layout", format!("fill_b{bytes}")));
        out.push(("layout", format!("copy_strided_b{bytes}")));
        out.push(("gather", format!("take_b{bytes}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_listed_once_and_nonempty() {
        for (i, f) in FAMILIES.iter().enumerate() {
            assert!(f.source.contains("extern \"C\" __global__"), "{}", f.name);
            assert!(FAMILIES[i + 1..].iter().all(|g| g.name != f.name));
        }
    }

    #[test]
    fn entries_are_unique_and_belong_to_known_families() {
        let entries = expected_entries();
        let mut names: Vec<&str> = entries.iter().map(|(_, n)| n.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "duplicate entry names");
        for (family, _) in &entries {
            assert!(FAMILIES.iter().any(|f| f.name == *family), "{family}");
        }
    }

    #[test]
    fn names_follow_the_op_dtype_rule() {
        assert_eq!(kernel_name("exp", DType::F32), "exp_f32");
        assert_eq!(kernel_name("sum", DType::BF16), "sum_bf16");
        assert_eq!(sized_kernel_name("take", DType::S64), "take_b8");
        assert_eq!(family_of("add_s8").unwrap().name, "binary");
        assert_eq!(family_of("cast_f16_u64").unwrap().name, "cast");
        assert!(family_of("no_such_kernel").is_none());
    }

    /// Every expected name appears in its family's source, as the full name
    /// or as the op name given to an instantiation macro, so the sources
    /// stay greppable by kernel name.
    #[test]
    fn every_op_name_appears_in_its_family_source() {
        for (family, name) in expected_entries() {
            let source = FAMILIES.iter().find(|f| f.name == family).unwrap().source;
            let mut op = name.as_str();
            while let Some((head, tail)) = op.rsplit_once('_') {
                let is_suffix = DType::ALL.iter().any(|&d| dtype_suffix(d) == tail)
                    || ["b1", "b2", "b4", "b8"].contains(&tail);
                if !is_suffix {
                    break;
                }
                op = head;
            }
            assert!(
                source.contains(&name) || source.contains(op),
                "{name} not found in {family}.cu"
            );
        }
    }
}
