//! The scalar types a tensor can hold, and the macros that turn a runtime
//! [`DType`] into a generic type parameter.
//!
//! Kernels are written once, generically over [`Element`] (or one of the
//! narrower traits below), and instantiated for each dtype by
//! [`dispatch_dtype!`], [`dispatch_float!`] or [`dispatch_integer!`]. This is
//! the only place where the list of twelve types is spelled out.

use crate::dtype::DType;
use crate::storage::CpuStorage;
use half::{bf16, f16};
use std::fmt::Debug;

/// A scalar element type. Implemented for the twelve Nx types:
/// `u8 u16 u32 u64 i8 i16 i32 i64 f16 bf16 f32 f64`.
pub trait Element:
    Copy + Send + Sync + Default + Debug + PartialEq + PartialOrd + bytemuck::Pod + 'static
{
    /// The dtype this Rust type stores.
    const DTYPE: DType;
    /// Converts to f64 (exact for all but the widest integers).
    fn to_f64(self) -> f64;
    /// Converts from f64 with Rust `as` semantics for integers (truncate
    /// toward zero, saturate, NaN becomes 0), rounding for floats.
    fn from_f64(v: f64) -> Self;
    /// Converts to i128: exact for integers, truncating for floats.
    fn to_i128(self) -> i128;
    /// Converts from i128: wrapping for integers (two's complement, as Nx
    /// and C do), rounding for floats.
    fn from_i128(v: i128) -> Self;
    /// Casts between element types with Nx's `as_type` semantics: integer to
    /// integer wraps, float to integer truncates (saturating), anything to
    /// float rounds to nearest.
    #[inline]
    fn cast<U: Element>(self) -> U {
        if U::DTYPE.is_float() || Self::DTYPE.is_float() {
            U::from_f64(self.to_f64())
        } else {
            U::from_i128(self.to_i128())
        }
    }
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;
    /// Wraps a vector of this type as CPU storage.
    fn into_storage(v: Vec<Self>) -> CpuStorage;
    /// Views CPU storage as a slice of this type, if it holds this type.
    fn view(s: &CpuStorage) -> Option<&[Self]>;
    /// Views CPU storage as a mutable slice of this type, if it holds this type.
    fn view_mut(s: &mut CpuStorage) -> Option<&mut [Self]>;
}

macro_rules! impl_int_element {
    ($($t:ty => $d:ident),*) => {$(
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            #[inline] fn to_f64(self) -> f64 { self as f64 }
            #[inline] fn from_f64(v: f64) -> Self { v as $t }
            #[inline] fn to_i128(self) -> i128 { self as i128 }
            #[inline] fn from_i128(v: i128) -> Self { v as $t }
            const ZERO: Self = 0;
            const ONE: Self = 1;
            fn into_storage(v: Vec<Self>) -> CpuStorage { CpuStorage::$d(v) }
            fn view(s: &CpuStorage) -> Option<&[Self]> {
                match s { CpuStorage::$d(v) => Some(v), _ => None }
            }
            fn view_mut(s: &mut CpuStorage) -> Option<&mut [Self]> {
                match s { CpuStorage::$d(v) => Some(v), _ => None }
            }
        }
    )*};
}
impl_int_element!(u8 => U8, u16 => U16, u32 => U32, u64 => U64,
                  i8 => S8, i16 => S16, i32 => S32, i64 => S64);

macro_rules! impl_float_element {
    ($($t:ty => $d:ident, $from:expr, $to:expr, $zero:expr, $one:expr),*) => {$(
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            #[inline] fn to_f64(self) -> f64 { ($to)(self) }
            #[inline] fn from_f64(v: f64) -> Self { ($from)(v) }
            #[inline] fn to_i128(self) -> i128 { ($to)(self) as i128 }
            #[inline] fn from_i128(v: i128) -> Self { ($from)(v as f64) }
            const ZERO: Self = $zero;
            const ONE: Self = $one;
            fn into_storage(v: Vec<Self>) -> CpuStorage { CpuStorage::$d(v) }
            fn view(s: &CpuStorage) -> Option<&[Self]> {
                match s { CpuStorage::$d(v) => Some(v), _ => None }
            }
            fn view_mut(s: &mut CpuStorage) -> Option<&mut [Self]> {
                match s { CpuStorage::$d(v) => Some(v), _ => None }
            }
        }
    )*};
}
impl_float_element!(
    f16 => F16, f16::from_f64, f16::to_f64, f16::ZERO, f16::ONE,
    bf16 => BF16, bf16::from_f64, bf16::to_f64, bf16::ZERO, bf16::ONE,
    f32 => F32, |v: f64| v as f32, |v: f32| v as f64, 0.0, 1.0,
    f64 => F64, |v: f64| v, |v: f64| v, 0.0, 1.0
);

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`, for every dtype.
///
/// ```
/// use myelin_core::{dispatch_dtype, DType, Element};
/// let bytes = dispatch_dtype!(DType::F32, T => std::mem::size_of::<T>());
/// assert_eq!(bytes, 4);
/// ```
#[macro_export]
macro_rules! dispatch_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::U16 => {
                type $T = u16;
                $body
            }
            $crate::DType::U32 => {
                type $T = u32;
                $body
            }
            $crate::DType::U64 => {
                type $T = u64;
                $body
            }
            $crate::DType::S8 => {
                type $T = i8;
                $body
            }
            $crate::DType::S16 => {
                type $T = i16;
                $body
            }
            $crate::DType::S32 => {
                type $T = i32;
                $body
            }
            $crate::DType::S64 => {
                type $T = i64;
                $body
            }
            $crate::DType::F16 => {
                type $T = $crate::half::f16;
                $body
            }
            $crate::DType::BF16 => {
                type $T = $crate::half::bf16;
                $body
            }
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}

/// Like [`dispatch_dtype!`] for the integer dtypes; `$otherwise` runs for floats.
#[macro_export]
macro_rules! dispatch_integer {
    ($dtype:expr, $T:ident => $body:expr, _ => $otherwise:expr) => {
        match $dtype {
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::U16 => {
                type $T = u16;
                $body
            }
            $crate::DType::U32 => {
                type $T = u32;
                $body
            }
            $crate::DType::U64 => {
                type $T = u64;
                $body
            }
            $crate::DType::S8 => {
                type $T = i8;
                $body
            }
            $crate::DType::S16 => {
                type $T = i16;
                $body
            }
            $crate::DType::S32 => {
                type $T = i32;
                $body
            }
            $crate::DType::S64 => {
                type $T = i64;
                $body
            }
            _ => $otherwise,
        }
    };
}

/// Like [`dispatch_dtype!`] for the float dtypes; `$otherwise` runs for integers.
#[macro_export]
macro_rules! dispatch_float {
    ($dtype:expr, $T:ident => $body:expr, _ => $otherwise:expr) => {
        match $dtype {
            $crate::DType::F16 => {
                type $T = $crate::half::f16;
                $body
            }
            $crate::DType::BF16 => {
                type $T = $crate::half::bf16;
                $body
            }
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            _ => $otherwise,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_follow_nx_semantics() {
        assert_eq!(300i32.cast::<u8>(), 44); // wraps
        assert_eq!((-1i8).cast::<u16>(), 65535);
        assert_eq!(2.9f32.cast::<i32>(), 2); // truncates
        assert_eq!((-2.9f64).cast::<i64>(), -2);
        assert_eq!(f32::NAN.cast::<i32>(), 0);
        assert_eq!(1e10f64.cast::<i32>(), i32::MAX); // saturates
        assert_eq!(u64::MAX.cast::<i64>(), -1);
        assert_eq!(3u8.cast::<bf16>(), bf16::from_f32(3.0));
        assert_eq!(0.1f64.cast::<f16>(), f16::from_f64(0.1));
    }

    #[test]
    fn dispatch_binds_the_right_type() {
        for d in DType::ALL {
            let (size, dt) = dispatch_dtype!(d, T => (std::mem::size_of::<T>(), T::DTYPE));
            assert_eq!(size, d.size_in_bytes());
            assert_eq!(dt, d);
        }
    }
}
