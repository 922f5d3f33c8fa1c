//! Every way a file can be wrong gives an argument error that names the
//! file and the problem, and never a panic or a huge allocation.

mod common;

use common::{raw_file, temp_dir};
use myelin_core::{Error, Shape, Tensor};
use myelin_io::{load, save, Metadata};
use std::path::Path;

/// Loads `path` and checks the error names the file and contains `problem`.
fn assert_load_error(path: &Path, problem: &str) {
    let err = load(path).expect_err("a corrupt file loaded");
    let Error::Argument(msg) = &err else {
        panic!("expected an argument error, got {err:?}")
    };
    let prefix = format!("safetensors_load: {}: ", path.display());
    assert!(msg.starts_with(&prefix), "{msg:?} does not start with {prefix:?}");
    assert!(msg.contains(problem), "{msg:?} does not contain {problem:?}");
}

/// A header of one F32 tensor "t" with the given fields.
fn one(fields: &str) -> String {
    format!(r#"{{"t":{{{fields}}}}}"#)
}

#[test]
fn missing_file() {
    assert_load_error(&temp_dir("missing").join("nope.safetensors"), "cannot open");
}

#[test]
fn directory_instead_of_file() {
    assert_load_error(&temp_dir("dir"), "is a directory, expected a safetensors file");
}

#[test]
fn shorter_than_the_length_field() {
    let path = temp_dir("short").join("x");
    std::fs::write(&path, [1, 2, 3]).unwrap();
    assert_load_error(&path, "file is 3 bytes, too short");
}

#[test]
fn header_length_past_the_end() {
    let path = temp_dir("long_header").join("x");
    let mut bytes = u64::MAX.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    std::fs::write(&path, bytes).unwrap();
    assert_load_error(&path, "header length 18446744073709551615 exceeds the 2 bytes");
}

#[test]
fn header_not_utf8() {
    let path = temp_dir("utf8").join("x");
    let mut bytes = 2u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(&[0xff, 0xfe]);
    std::fs::write(&path, bytes).unwrap();
    assert_load_error(&path, "header is not valid UTF-8");
}

#[test]
fn header_not_json() {
    assert_load_error(
        &raw_file("json", r#"{"t": {"dtype""#, &[]),
        "header is not a JSON object",
    );
    assert_load_error(&raw_file("json_list", "[1, 2]", &[]), "expected a JSON object");
    assert_load_error(&raw_file("json_empty", "", &[]), "header is not a JSON object");
}

#[test]
fn a_name_given_twice() {
    let entry = r#"{"dtype":"U8","shape":[1],"data_offsets":[0,1]}"#;
    let header = format!(r#"{{"t":{entry},"t":{entry}}}"#);
    assert_load_error(&raw_file("twice", &header, &[0]), "names tensor \"t\" twice");
}

#[test]
fn bad_metadata() {
    assert_load_error(
        &raw_file("meta_value", r#"{"__metadata__":{"k":1}}"#, &[]),
        "__metadata__ must map strings to strings, but key \"k\" holds 1",
    );
    assert_load_error(
        &raw_file("meta_list", r#"{"__metadata__":[]}"#, &[]),
        "expected an object of strings",
    );
    assert_load_error(
        &raw_file("meta_dup", r#"{"__metadata__":{"k":"a","k":"b"}}"#, &[]),
        "__metadata__ has key \"k\" twice",
    );
    assert_load_error(
        &raw_file("meta_twice", r#"{"__metadata__":{},"__metadata__":{}}"#, &[]),
        "header has \"__metadata__\" twice",
    );
}

#[test]
fn bad_dtypes() {
    let h = |d: &str| one(&format!(r#""dtype":{d},"shape":[1],"data_offsets":[0,1]"#));
    assert_load_error(
        &raw_file("dt_unknown", &h(r#""Q4""#), &[0]),
        "unknown dtype \"Q4\", expected one of U8",
    );
    assert_load_error(
        &raw_file("dt_fp8", &h(r#""F8_E4M3""#), &[0]),
        "dtype \"F8_E4M3\" is not supported",
    );
    assert_load_error(
        &raw_file("dt_num", &h("8"), &[0]),
        "dtype must be a string, got 8",
    );
}

#[test]
fn bad_entries() {
    assert_load_error(
        &raw_file("not_object", r#"{"t":[1]}"#, &[]),
        "tensor \"t\": expected an object",
    );
    assert_load_error(
        &raw_file("no_dtype", &one(r#""shape":[],"data_offsets":[0,4]"#), &[0; 4]),
        "missing \"dtype\"",
    );
    assert_load_error(
        &raw_file("no_shape", &one(r#""dtype":"F32","data_offsets":[0,4]"#), &[0; 4]),
        "missing \"shape\"",
    );
    assert_load_error(
        &raw_file("no_offsets", &one(r#""dtype":"F32","shape":[]"#), &[0; 4]),
        "missing \"data_offsets\"",
    );
}

#[test]
fn bad_shapes() {
    for shape in ["[-1]", "[1.5]", "3", "[\"2\"]"] {
        let h = one(&format!(r#""dtype":"F32","shape":{shape},"data_offsets":[0,4]"#));
        assert_load_error(
            &raw_file("shape", &h, &[0; 4]),
            "shape must be a list of non-negative integers",
        );
    }
}

#[test]
fn bad_offsets() {
    for offsets in ["[0]", "[0,4,8]", "[4,0]", "[-1,3]", "\"0-4\""] {
        let h = one(&format!(r#""dtype":"F32","shape":[1],"data_offsets":{offsets}"#));
        assert_load_error(
            &raw_file("offsets", &h, &[0; 4]),
            "data_offsets must be [begin, end]",
        );
    }
}

#[test]
fn offsets_past_the_end() {
    let h = one(r#""dtype":"F32","shape":[2],"data_offsets":[0,8]"#);
    assert_load_error(
        &raw_file("past_end", &h, &[0; 7]),
        "run past the end of the data (7 bytes",
    );
}

#[test]
fn byte_count_does_not_match_the_shape() {
    let h = one(r#""dtype":"F32","shape":[2,2],"data_offsets":[0,8]"#);
    assert_load_error(
        &raw_file("count", &h, &[0; 8]),
        "hold 8 bytes, but shape {2, 2} of type F32 needs 16",
    );
    // A shape whose size overflows must not wrap around to a matching count.
    let h = one(r#""dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]"#);
    assert_load_error(&raw_file("overflow", &h, &[]), "needs more than 2^64");
    let h = one(r#""dtype":"U8","shape":[18446744073709551615,0],"data_offsets":[0,1]"#);
    assert_load_error(&raw_file("zero_dim", &h, &[0]), "needs 0");
}

#[test]
fn overlapping_tensors() {
    let h = r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},
                "b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}"#;
    assert_load_error(
        &raw_file("overlap", h, &[0; 5]),
        "tensors \"a\" (bytes 0..4) and \"b\" (bytes 3..5) overlap",
    );
}

#[test]
fn a_truncated_file() {
    let path = temp_dir("truncated").join("t.safetensors");
    let t = Tensor::from_vec(Shape::new(vec![100]), vec![1.0f32; 100]).unwrap();
    save(&path, &[("w".into(), t)], &Metadata::new()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    assert_load_error(&path, "run past the end of the data");
    // Cut inside the header.
    std::fs::write(&path, &bytes[..12]).unwrap();
    assert_load_error(&path, "exceeds the 4 bytes that follow it");
}
