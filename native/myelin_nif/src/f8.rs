//! NIFs for Nx 0.13's 8-bit floats (see `myelin_cpu::f8`): `e4m3fn` picks
//! the format (`f8_e4m3fn` when true, `f8` E5M2 otherwise).

use crate::codec::tensor;
use crate::resource::TensorRef;
use myelin_cpu::f8::{self, F8Format};

// f32 -> Nx's f8 bytes (u8).
nif_pair!(f8_encode, f8_encode_dirty, "f8_encode", (t: TensorRef, e4m3fn: bool),
|t: TensorRef, e4m3fn: bool| f8::encode(tensor(&t), F8Format::from_flag(e4m3fn)));

// Nx's f8 bytes (u8) -> f32.
nif_pair!(f8_decode, f8_decode_dirty, "f8_decode", (t: TensorRef, e4m3fn: bool),
|t: TensorRef, e4m3fn: bool| f8::decode(tensor(&t), F8Format::from_flag(e4m3fn)));

// f32 -> f32 on the f8 grid.
nif_pair!(f8_round, f8_round_dirty, "f8_round", (t: TensorRef, e4m3fn: bool),
|t: TensorRef, e4m3fn: bool| f8::round(tensor(&t), F8Format::from_flag(e4m3fn)));
