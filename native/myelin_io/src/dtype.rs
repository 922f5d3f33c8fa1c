//! Safetensors' dtype names and the byte order of stored elements.

use myelin_core::DType;

/// The safetensors name of a dtype (`"F32"`, `"BF16"`, `"I64"`, ...).
pub fn name(dtype: DType) -> &'static str {
    match dtype {
        DType::U8 => "U8",
        DType::U16 => "U16",
        DType::U32 => "U32",
        DType::U64 => "U64",
        DType::S8 => "I8",
        DType::S16 => "I16",
        DType::S32 => "I32",
        DType::S64 => "I64",
        DType::F16 => "F16",
        DType::BF16 => "BF16",
        DType::F32 => "F32",
        DType::F64 => "F64",
    }
}

/// What a dtype name in a header means to Myelin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// One of the twelve types. `BOOL` reads as `U8`: Myelin's booleans
    /// are u8 tensors of 0 and 1, and both are one byte per element.
    Supported(DType),
    /// A valid safetensors type Myelin has no tensors for (8-bit floats,
    /// sub-byte types, complex numbers).
    Unsupported,
    /// Not a safetensors type at all.
    Unknown,
}

/// Safetensors types that exist but have no Myelin equivalent.
const UNSUPPORTED: [&str; 8] = [
    "F8_E5M2", "F8_E4M3", "F8_E8M0", "E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64",
];

/// Parses a header's dtype name.
pub fn parse(name: &str) -> Parsed {
    if name == "BOOL" {
        return Parsed::Supported(DType::U8);
    }
    if let Some(&d) = DType::ALL.iter().find(|&&d| self::name(d) == name) {
        return Parsed::Supported(d);
    }
    if UNSUPPORTED.contains(&name) {
        Parsed::Unsupported
    } else {
        Parsed::Unknown
    }
}

/// The names Myelin reads, for error messages.
pub fn supported_names() -> String {
    let mut names: Vec<&str> = DType::ALL.iter().map(|&d| name(d)).collect();
    names.push("BOOL");
    names.join(", ")
}

/// Converts elements of `width` bytes between little-endian (the file's
/// order) and the machine's order, in place. Both directions are the same
/// byte reversal, and on little-endian machines there is nothing to do.
pub fn swap_le_native(bytes: &mut [u8], width: usize) {
    if cfg!(target_endian = "big") && width > 1 {
        bytes.chunks_exact_mut(width).for_each(<[u8]>::reverse);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dtype_round_trips_through_its_name() {
        for d in DType::ALL {
            assert_eq!(parse(name(d)), Parsed::Supported(d));
        }
        assert_eq!(parse("BOOL"), Parsed::Supported(DType::U8));
        assert_eq!(parse("F8_E4M3"), Parsed::Unsupported);
        assert_eq!(parse("f32"), Parsed::Unknown);
        assert!(supported_names().contains("BF16"));
    }

    #[test]
    fn swapping_is_a_no_op_on_little_endian_machines_and_one_byte_types() {
        let mut b = [1u8, 2, 3, 4];
        swap_le_native(&mut b, 1);
        assert_eq!(b, [1, 2, 3, 4]);
        swap_le_native(&mut b, 2);
        let expected = if cfg!(target_endian = "big") {
            [2, 1, 4, 3]
        } else {
            [1, 2, 3, 4]
        };
        assert_eq!(b, expected);
    }
}
