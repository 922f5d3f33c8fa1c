//! Saving and loading: every dtype, edge-case values, layout, atomicity.

mod common;

use common::{files_in, raw_file, temp_dir};
use half::{bf16, f16};
use myelin_core::{DType, Element, Shape, Tensor};
use myelin_io::{load, save, Metadata};

fn t<T: Element>(dims: &[usize], data: Vec<T>) -> Tensor {
    Tensor::from_vec(Shape::new(dims.to_vec()), data).unwrap()
}

/// Same name, dtype, shape and bytes.
fn assert_same(a: &[(String, Tensor)], b: &[(String, Tensor)]) {
    let key = |v: &[(String, Tensor)]| {
        let mut v: Vec<_> = v
            .iter()
            .map(|(n, t)| {
                (
                    n.clone(),
                    t.dtype(),
                    t.dims().to_vec(),
                    t.as_bytes().unwrap().to_vec(),
                )
            })
            .collect();
        v.sort_by(|x, y| x.0.cmp(&y.0));
        v
    };
    assert_eq!(key(a), key(b));
}

fn every_dtype() -> Vec<(String, Tensor)> {
    vec![
        ("u8".into(), t(&[3], vec![0u8, 1, 255])),
        ("u16".into(), t(&[2], vec![0u16, u16::MAX])),
        ("u32".into(), t(&[1, 2], vec![7u32, u32::MAX])),
        ("u64".into(), t(&[2], vec![0u64, u64::MAX])),
        ("s8".into(), t(&[2], vec![i8::MIN, i8::MAX])),
        ("s16".into(), t(&[2], vec![i16::MIN, i16::MAX])),
        ("s32".into(), t(&[2], vec![i32::MIN, i32::MAX])),
        ("s64".into(), t(&[2, 1], vec![i64::MIN, i64::MAX])),
        // NaNs with payloads and signs: the bits must survive exactly.
        (
            "f16".into(),
            t(
                &[3],
                vec![f16::from_bits(0x7e01), f16::NEG_INFINITY, f16::from_bits(0x8000)],
            ),
        ),
        (
            "bf16".into(),
            t(&[3], vec![bf16::from_bits(0xffc1), bf16::MAX, bf16::from_bits(1)]),
        ),
        (
            "f32".into(),
            t(
                &[2, 2],
                vec![f32::from_bits(0x7fc0_0123), -0.0, f32::INFINITY, 1e-45],
            ),
        ),
        (
            "f64".into(),
            t(
                &[2],
                vec![f64::from_bits(0xfff8_0000_0000_0abc), f64::MIN_POSITIVE],
            ),
        ),
        ("scalar".into(), t(&[], vec![3.5f32])),
        ("empty".into(), t(&[0, 3], Vec::<f64>::new())),
        ("empty_u8".into(), t(&[0], Vec::<u8>::new())),
    ]
}

#[test]
fn every_dtype_round_trips_bit_for_bit() {
    let path = temp_dir("every_dtype").join("all.safetensors");
    let tensors = every_dtype();
    let metadata = Metadata::from([
        ("format".to_string(), "pt".to_string()),
        ("note".to_string(), "ünïcode \"quotes\"\n".to_string()),
    ]);
    save(&path, &tensors, &metadata).unwrap();
    let (loaded, meta) = load(&path).unwrap();
    assert_same(&tensors, &loaded);
    assert_eq!(meta, metadata);
}

#[test]
fn no_tensors_and_no_metadata() {
    let path = temp_dir("nothing").join("nothing.safetensors");
    save(&path, &[], &Metadata::new()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[8..10], b"{}");
    let (loaded, meta) = load(&path).unwrap();
    assert!(loaded.is_empty() && meta.is_empty());
}

#[test]
fn layout_matches_the_safetensors_convention() {
    let path = temp_dir("layout").join("x.safetensors");
    let tensors = vec![
        ("b_small".to_string(), t(&[3], vec![1u8, 2, 3])),
        ("a_big".to_string(), t(&[2], vec![1.0f64, 2.0])),
        ("c_mid".to_string(), t(&[1], vec![5.0f32])),
    ];
    save(&path, &tensors, &Metadata::new()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0, "header padded to 8 bytes");
    assert_eq!(bytes[8], b'{');
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    // Larger elements first, back to back, data section exactly covered.
    assert_eq!(header["a_big"]["data_offsets"], serde_json::json!([0, 16]));
    assert_eq!(header["c_mid"]["data_offsets"], serde_json::json!([16, 20]));
    assert_eq!(header["b_small"]["data_offsets"], serde_json::json!([20, 23]));
    assert_eq!(header["a_big"]["dtype"], "F64");
    assert_eq!(header["a_big"]["shape"], serde_json::json!([2]));
    assert_eq!(bytes.len(), 8 + n + 23);
    // Little-endian elements.
    assert_eq!(&bytes[8 + n..8 + n + 8], &1.0f64.to_le_bytes());
    assert!(header.get("__metadata__").is_none());
}

#[test]
fn reads_files_laid_out_differently() {
    // Out of order, with a gap, BOOL, and an empty tensor: all valid.
    let header = r#"{"__metadata__":{"k":"v"},
        "late":{"dtype":"I16","shape":[2],"data_offsets":[8,12]},
        "flag":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]},
        "none":{"dtype":"F32","shape":[0],"data_offsets":[12,12]}}"#;
    let path = raw_file(
        "layout_other",
        header,
        &[1, 0, 9, 9, 9, 9, 9, 9, 0xff, 0xff, 2, 0],
    );
    let (loaded, meta) = load(&path).unwrap();
    let names: Vec<&str> = loaded.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["flag", "late", "none"]);
    assert_eq!(loaded[0].1.dtype(), DType::U8);
    assert_eq!(loaded[0].1.as_slice::<u8>().unwrap(), &[1, 0]);
    assert_eq!(loaded[1].1.as_slice::<i16>().unwrap(), &[-1, 2]);
    assert_eq!(loaded[2].1.dims(), &[0]);
    assert_eq!(meta["k"], "v");
}

#[test]
fn saving_replaces_the_file_and_leaves_no_temporary_files() {
    let dir = temp_dir("replace");
    let path = dir.join("m.safetensors");
    save(&path, &[("a".into(), t(&[1], vec![1i32]))], &Metadata::new()).unwrap();
    save(&path, &[("b".into(), t(&[1], vec![2i64]))], &Metadata::new()).unwrap();
    let (loaded, _) = load(&path).unwrap();
    assert_eq!(loaded[0].0, "b");
    assert_eq!(files_in(&dir), ["m.safetensors"]);
}

#[test]
fn a_failed_save_leaves_the_old_file_alone() {
    let dir = temp_dir("failed_save");
    let path = dir.join("m.safetensors");
    save(&path, &[("a".into(), t(&[1], vec![1i32]))], &Metadata::new()).unwrap();
    let before = std::fs::read(&path).unwrap();
    let dup = vec![
        ("x".to_string(), t(&[1], vec![1u8])),
        ("x".to_string(), t(&[1], vec![2u8])),
    ];
    let err = save(&path, &dup, &Metadata::new()).unwrap_err();
    assert!(err.message().contains("\"x\" is given twice"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(files_in(&dir), ["m.safetensors"]);
}

#[test]
fn save_errors_name_the_file() {
    let dir = temp_dir("save_errors");
    let missing_dir = dir.join("no/such/dir/m.safetensors");
    let err = save(&missing_dir, &[], &Metadata::new()).unwrap_err();
    assert!(matches!(err, myelin_core::Error::Argument(_)));
    let msg = err.message();
    assert!(
        msg.starts_with("safetensors_save: ") && msg.contains("no/such/dir/m.safetensors"),
        "{msg}"
    );
    assert!(msg.contains("cannot create the temporary file"), "{msg}");

    for bad in ["", "__metadata__"] {
        let err = save(
            &dir.join("m"),
            &[(bad.to_string(), t(&[1], vec![1u8]))],
            &Metadata::new(),
        )
        .unwrap_err();
        assert!(err.message().contains("is not allowed"), "{err}");
    }

    // A directory cannot be replaced by a file; the temporary file is removed.
    std::fs::create_dir(dir.join("d")).unwrap();
    let err = save(&dir.join("d"), &[], &Metadata::new()).unwrap_err();
    assert!(err.message().contains("cannot rename"), "{err}");
    assert_eq!(files_in(&dir), ["d"]);

    let err = save(std::path::Path::new("/"), &[], &Metadata::new()).unwrap_err();
    assert!(err.message().contains("file name"), "{err}");
}

#[test]
fn a_relative_path_in_the_current_directory_works() {
    // `Path::parent` of a bare name is "", which must mean ".".
    let dir = temp_dir("relative");
    std::env::set_current_dir(&dir).unwrap();
    save(std::path::Path::new("bare.safetensors"), &[], &Metadata::new()).unwrap();
    assert!(dir.join("bare.safetensors").exists());
}
