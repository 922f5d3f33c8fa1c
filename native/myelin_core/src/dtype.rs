//! Element types, named as Nx names them, and Nx's promotion rules.

use crate::error::{Error, Result};
use std::fmt;

/// The family of a [`DType`], Nx's first tuple element (`:u`, `:s`, `:f`, `:bf`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Unsigned integer (`:u`).
    Unsigned,
    /// Signed integer (`:s`).
    Signed,
    /// IEEE float (`:f`).
    Float,
    /// Brain float (`:bf`).
    BFloat,
}

impl Kind {
    /// Nx's atom for this kind, without the colon.
    pub fn nx_name(self) -> &'static str {
        match self {
            Kind::Unsigned => "u",
            Kind::Signed => "s",
            Kind::Float => "f",
            Kind::BFloat => "bf",
        }
    }

    /// Parses Nx's atom name (`"u"`, `"s"`, `"f"`, `"bf"`).
    pub fn from_nx_name(name: &str) -> Option<Kind> {
        match name {
            "u" => Some(Kind::Unsigned),
            "s" => Some(Kind::Signed),
            "f" => Some(Kind::Float),
            "bf" => Some(Kind::BFloat),
            _ => None,
        }
    }
}

/// An element type. Booleans are `U8` holding 0 or 1, as in Nx.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    U8,
    U16,
    U32,
    U64,
    S8,
    S16,
    S32,
    S64,
    F16,
    BF16,
    F32,
    F64,
}

impl DType {
    /// Every dtype, in a stable order (used by tests and by the NIF codec).
    pub const ALL: [DType; 12] = [
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::S8,
        DType::S16,
        DType::S32,
        DType::S64,
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
    ];

    /// The type comparisons and logical ops return.
    pub const BOOL: DType = DType::U8;

    /// The family of this type.
    pub fn kind(self) -> Kind {
        use DType::*;
        match self {
            U8 | U16 | U32 | U64 => Kind::Unsigned,
            S8 | S16 | S32 | S64 => Kind::Signed,
            F16 | F32 | F64 => Kind::Float,
            BF16 => Kind::BFloat,
        }
    }

    /// Width in bits.
    pub fn bits(self) -> usize {
        use DType::*;
        match self {
            U8 | S8 => 8,
            U16 | S16 | F16 | BF16 => 16,
            U32 | S32 | F32 => 32,
            U64 | S64 | F64 => 64,
        }
    }

    /// Width in bytes.
    pub fn size_in_bytes(self) -> usize {
        self.bits() / 8
    }

    /// Builds a dtype from Nx's `{kind, bits}` pair.
    pub fn from_kind_bits(kind: Kind, bits: usize) -> Option<DType> {
        use DType::*;
        Some(match (kind, bits) {
            (Kind::Unsigned, 8) => U8,
            (Kind::Unsigned, 16) => U16,
            (Kind::Unsigned, 32) => U32,
            (Kind::Unsigned, 64) => U64,
            (Kind::Signed, 8) => S8,
            (Kind::Signed, 16) => S16,
            (Kind::Signed, 32) => S32,
            (Kind::Signed, 64) => S64,
            (Kind::Float, 16) => F16,
            (Kind::Float, 32) => F32,
            (Kind::Float, 64) => F64,
            (Kind::BFloat, 16) => BF16,
            _ => return None,
        })
    }

    /// True for f16, bf16, f32 and f64.
    pub fn is_float(self) -> bool {
        matches!(self.kind(), Kind::Float | Kind::BFloat)
    }

    /// True for the signed and unsigned integer types.
    pub fn is_integer(self) -> bool {
        !self.is_float()
    }

    /// True for the signed integer types.
    pub fn is_signed_integer(self) -> bool {
        self.kind() == Kind::Signed
    }

    /// Nx's `Nx.Type.to_floating/1`: floats stay, integers become f32.
    pub fn to_floating(self) -> DType {
        if self.is_float() {
            self
        } else {
            DType::F32
        }
    }

    /// Nx's `Nx.Type.to_aggregate/1`: the type sums and products accumulate
    /// into. Integers widen to 64 bits; floats stay.
    pub fn to_aggregate(self) -> DType {
        match self.kind() {
            Kind::Unsigned => DType::U64,
            Kind::Signed => DType::S64,
            _ => self,
        }
    }

    /// Nx's `Nx.Type.merge/2`: the type of a binary op's result.
    ///
    /// * the same type merges to itself;
    /// * floats win over integers, keeping the float's width;
    /// * two floats give the wider one, except f16 with bf16 which gives f32;
    /// * two integers of one signedness give the wider one;
    /// * unsigned with signed gives a signed type wide enough for both
    ///   (capped at 64 bits).
    pub fn merge(self, other: DType) -> DType {
        if self == other {
            return self;
        }
        let (a, b) = (self, other);
        match (a.is_float(), b.is_float()) {
            (true, false) => a,
            (false, true) => b,
            (true, true) => {
                if a.bits() == b.bits() {
                    // f16 with bf16: the only same-width float pair.
                    DType::F32
                } else if a.bits() > b.bits() {
                    a
                } else {
                    b
                }
            }
            (false, false) => match (a.kind(), b.kind()) {
                (ka, kb) if ka == kb => {
                    if a.bits() >= b.bits() {
                        a
                    } else {
                        b
                    }
                }
                (Kind::Unsigned, _) => signed_for(a.bits(), b.bits()),
                _ => signed_for(b.bits(), a.bits()),
            },
        }
    }

    /// Parses Nx notation: `"f32"`, `"bf16"`, `"u8"`...
    pub fn parse(name: &str) -> Result<DType> {
        let split = name
            .find(|c: char| c.is_ascii_digit())
            .ok_or_else(|| Error::arg("type", format!("unknown type {name:?}")))?;
        let kind = Kind::from_nx_name(&name[..split]);
        let bits = name[split..].parse::<usize>().ok();
        match (kind, bits) {
            (Some(k), Some(b)) => DType::from_kind_bits(k, b),
            _ => None,
        }
        .ok_or_else(|| {
            Error::arg(
                "type",
                format!(
                    "unknown type {name:?}, expected one of u8 u16 u32 u64 s8 s16 s32 s64 f16 bf16 f32 f64"
                ),
            )
        })
    }

    /// Short name, as Nx's inspect prints it: `f32`, `bf16`, `u8`...
    pub fn short_name(self) -> String {
        format!("{}{}", self.kind().nx_name(), self.bits())
    }
}

/// The signed type that holds both an unsigned of `ubits` and a signed of `sbits`.
fn signed_for(ubits: usize, sbits: usize) -> DType {
    let bits = (ubits * 2).min(64).max(sbits);
    DType::from_kind_bits(Kind::Signed, bits).unwrap_or(DType::S64)
}

impl fmt::Display for DType {
    /// Nx's tuple notation, e.g. `{:f, 32}`, used in every error message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{:{}, {}}}", self.kind().nx_name(), self.bits())
    }
}

#[cfg(test)]
mod tests {
    use super::DType::*;
    use super::*;

    #[test]
    fn merge_follows_nx() {
        assert_eq!(U8.merge(U8), U8);
        assert_eq!(U8.merge(S8), S16);
        assert_eq!(S8.merge(U8), S16);
        assert_eq!(U32.merge(S8), S64);
        assert_eq!(U64.merge(S64), S64);
        assert_eq!(U16.merge(S64), S64);
        assert_eq!(U8.merge(U32), U32);
        assert_eq!(S32.merge(F16), F16);
        assert_eq!(BF16.merge(S64), BF16);
        assert_eq!(F16.merge(BF16), F32);
        assert_eq!(F32.merge(F64), F64);
        assert_eq!(F16.merge(F32), F32);
    }

    #[test]
    fn aggregate_and_floating() {
        assert_eq!(U8.to_aggregate(), U64);
        assert_eq!(S16.to_aggregate(), S64);
        assert_eq!(BF16.to_aggregate(), BF16);
        assert_eq!(S64.to_floating(), F32);
        assert_eq!(F16.to_floating(), F16);
    }

    #[test]
    fn parse_and_display() {
        for t in DType::ALL {
            assert_eq!(DType::parse(&t.short_name()).unwrap(), t);
        }
        assert_eq!(F32.to_string(), "{:f, 32}");
        assert_eq!(BF16.to_string(), "{:bf, 16}");
        assert!(DType::parse("f8").is_err());
        assert!(DType::parse("x").is_err());
    }
}
