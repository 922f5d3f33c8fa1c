//! The JSON header: parsing with full validation, and building.
//!
//! Parsing returns plain `String` problems; the caller adds the op and the
//! file name.

use crate::dtype::{self, Parsed};
use crate::Metadata;
use myelin_core::{DType, Shape};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::fmt;

/// Where one tensor lives in the data section.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub name: String,
    pub dtype: DType,
    pub shape: Shape,
    /// Byte range `[begin, end)` relative to the start of the data.
    pub begin: u64,
    pub end: u64,
}

/// A validated header: entries sorted by `begin`, and the metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub entries: Vec<Entry>,
    pub metadata: Metadata,
}

const METADATA_KEY: &str = "__metadata__";

/// One top-level key of the header, in file order. Deserialized by hand so
/// that a name given twice is an error, not silently the last one
/// (serde_json's maps keep only the last).
enum Item {
    Metadata(Vec<(String, Value)>),
    Tensor(String, Value),
}

struct Items(Vec<Item>);

/// The pairs of one JSON object, duplicates included.
struct Pairs(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, Value>()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Items;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Items, A::Error> {
                let mut items = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    items.push(if key == METADATA_KEY {
                        Item::Metadata(map.next_value::<Pairs>()?.0)
                    } else {
                        Item::Tensor(key, map.next_value()?)
                    });
                }
                Ok(Items(items))
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses and validates a header whose data section is `data_len` bytes.
pub fn parse(bytes: &[u8], data_len: u64) -> Result<Header, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("header is not valid UTF-8 ({e})"))?;
    let Items(items) =
        serde_json::from_str(text).map_err(|e| format!("header is not a JSON object of tensors ({e})"))?;

    let mut metadata: Option<Metadata> = None;
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    for item in items {
        match item {
            Item::Metadata(pairs) => {
                if metadata.is_some() {
                    return Err(format!("header has {METADATA_KEY:?} twice"));
                }
                metadata = Some(parse_metadata(pairs)?);
            }
            Item::Tensor(name, info) => {
                if !seen.insert(name.clone()) {
                    return Err(format!("header names tensor {name:?} twice"));
                }
                entries.push(parse_entry(name, &info, data_len)?);
            }
        }
    }
    check_disjoint(&mut entries)?;
    Ok(Header {
        entries,
        metadata: metadata.unwrap_or_default(),
    })
}

fn parse_metadata(pairs: Vec<(String, Value)>) -> Result<Metadata, String> {
    let mut out = Metadata::new();
    for (key, value) in pairs {
        let Value::String(value) = value else {
            return Err(format!(
                "{METADATA_KEY} must map strings to strings, but key {key:?} holds {value}"
            ));
        };
        if out.insert(key.clone(), value).is_some() {
            return Err(format!("{METADATA_KEY} has key {key:?} twice"));
        }
    }
    Ok(out)
}

fn parse_entry(name: String, info: &Value, data_len: u64) -> Result<Entry, String> {
    let bad = |what: &str| format!("tensor {name:?}: {what}");
    let obj = info.as_object().ok_or_else(|| {
        bad(&format!(
            "expected an object with dtype, shape and data_offsets, got {info}"
        ))
    })?;
    let field = |key: &str| obj.get(key).ok_or_else(|| bad(&format!("missing {key:?}")));

    let dtype = match field("dtype")? {
        Value::String(s) => match dtype::parse(s) {
            Parsed::Supported(d) => d,
            Parsed::Unsupported => {
                return Err(bad(&format!(
                    "dtype {s:?} is not supported by Myelin (it reads {})",
                    dtype::supported_names()
                )))
            }
            Parsed::Unknown => {
                return Err(bad(&format!(
                    "unknown dtype {s:?}, expected one of {}",
                    dtype::supported_names()
                )))
            }
        },
        other => return Err(bad(&format!("dtype must be a string, got {other}"))),
    };

    let shape_value = field("shape")?;
    let dims = unsigned_list(shape_value)
        .and_then(|dims| {
            dims.into_iter()
                .map(|d| usize::try_from(d).ok())
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| {
            bad(&format!(
                "shape must be a list of non-negative integers, got {shape_value}"
            ))
        })?;
    let shape = Shape::new(dims);

    let offsets_value = field("data_offsets")?;
    let (begin, end) = match unsigned_list(offsets_value).as_deref() {
        Some(&[b, e]) if b <= e => (b, e),
        _ => {
            return Err(bad(&format!(
                "data_offsets must be [begin, end] with begin <= end, got {offsets_value}"
            )))
        }
    };
    if end > data_len {
        return Err(bad(&format!(
            "data_offsets [{begin}, {end}] run past the end of the data ({data_len} bytes; the file is truncated or the header is wrong)"
        )));
    }

    // u128 cannot overflow: at most 64 bits times 64 bits, per dimension,
    // and a product that exceeds u64 at any point can never match.
    let needed = shape
        .dims()
        .iter()
        .try_fold(dtype.size_in_bytes() as u128, |acc, &d| {
            let p = acc * d as u128;
            (p <= u64::MAX as u128).then_some(p)
        });
    if needed != Some((end - begin) as u128) {
        let needed = needed.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string());
        return Err(bad(&format!(
            "data_offsets [{begin}, {end}] hold {} bytes, but shape {shape} of type {} needs {needed}",
            end - begin,
            dtype::name(dtype)
        )));
    }
    Ok(Entry {
        name,
        dtype,
        shape,
        begin,
        end,
    })
}

/// A JSON list of unsigned integers.
fn unsigned_list(v: &Value) -> Option<Vec<u64>> {
    v.as_array()?.iter().map(Value::as_u64).collect()
}

/// Sorts entries by offset and fails if two of them share a byte. Empty
/// tensors own no bytes and may sit anywhere.
fn check_disjoint(entries: &mut [Entry]) -> Result<(), String> {
    entries.sort_by_key(|e| (e.begin, e.end));
    let mut last: Option<&Entry> = None;
    for e in entries.iter().filter(|e| e.end > e.begin) {
        if let Some(prev) = last {
            if e.begin < prev.end {
                return Err(format!(
                    "tensors {:?} (bytes {}..{}) and {:?} (bytes {}..{}) overlap",
                    prev.name, prev.begin, prev.end, e.name, e.begin, e.end
                ));
            }
        }
        last = Some(e);
    }
    Ok(())
}

/// Builds the header bytes for `entries` (already laid out) and `metadata`,
/// padded with spaces to a multiple of 8 bytes so that the data, and every
/// tensor laid out by decreasing element size, starts aligned.
pub fn build<'a>(entries: impl IntoIterator<Item = &'a Entry>, metadata: &Metadata) -> Vec<u8> {
    let mut root = Map::new();
    if !metadata.is_empty() {
        root.insert(METADATA_KEY.into(), json!(metadata));
    }
    for e in entries {
        root.insert(
            e.name.clone(),
            json!({
                "dtype": dtype::name(e.dtype),
                "shape": e.shape.dims(),
                "data_offsets": [e.begin, e.end],
            }),
        );
    }
    // Serializing a map of strings, numbers and lists cannot fail.
    let mut bytes = serde_json::to_vec(&Value::Object(root)).unwrap_or_default();
    bytes.resize(bytes.len().next_multiple_of(8), b' ');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, dtype: DType, dims: &[usize], begin: u64) -> Entry {
        let size: usize = dims.iter().product::<usize>() * dtype.size_in_bytes();
        Entry {
            name: name.into(),
            dtype,
            shape: Shape::new(dims.to_vec()),
            begin,
            end: begin + size as u64,
        }
    }

    #[test]
    fn build_then_parse_is_identity() {
        let entries = vec![
            entry("a", DType::F64, &[2, 3], 0),
            entry("b", DType::BF16, &[], 48),
            entry("c", DType::U8, &[0, 4], 50),
        ];
        let metadata = Metadata::from([("k".to_string(), "v \"quoted\"".to_string())]);
        let bytes = build(&entries, &metadata);
        assert_eq!(bytes.len() % 8, 0);
        let header = parse(&bytes, 50).unwrap();
        assert_eq!(header.entries, entries);
        assert_eq!(header.metadata, metadata);
    }

    #[test]
    fn bool_reads_as_u8_and_unknown_fields_are_ignored() {
        let h = parse(
            br#"{"t":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2],"extra":1}}"#,
            2,
        )
        .unwrap();
        assert_eq!(h.entries[0].dtype, DType::U8);
    }

    #[test]
    fn empty_tensors_may_sit_inside_others() {
        let h = br#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0],"data_offsets":[2,2]}}"#;
        assert!(parse(h, 4).is_ok());
    }
}
