//! Every kernel family compiles with NVRTC, and its PTX defines exactly the
//! entry points the launchers may ask for. Needs NVRTC only, not a GPU:
//! CI fetches PyPI's nvidia-cuda-nvrtc-cu12 wheel (scripts/nvrtc) and sets
//! MYELIN_REQUIRE_NVRTC=1, so there a missing NVRTC fails instead of
//! skipping.

#![cfg(feature = "cuda")]

use myelin_cuda::kernels::{expected_entries, FAMILIES};
use std::collections::BTreeSet;

fn nvrtc_or_skip() -> bool {
    if myelin_cuda::availability().nvrtc {
        return true;
    }
    assert!(
        std::env::var_os("MYELIN_REQUIRE_NVRTC").is_none(),
        "MYELIN_REQUIRE_NVRTC is set, but libnvrtc.so.12 cannot be loaded: \
         run scripts/nvrtc and put the folder it prints on LD_LIBRARY_PATH"
    );
    eprintln!(
        "skipped: NVRTC (libnvrtc.so.12) is not on the library path, so the CUDA kernels \
         were not compiled; scripts/nvrtc fetches it from PyPI"
    );
    false
}

fn ptx_entries(ptx: &str) -> BTreeSet<String> {
    ptx.lines()
        .filter_map(|l| l.trim_start().strip_prefix(".visible .entry "))
        .filter_map(|l| l.split('(').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_family_compiles_and_defines_exactly_the_expected_kernels() {
    if !nvrtc_or_skip() {
        return;
    }
    let (major, minor) = myelin_cuda::nvrtc_version().unwrap();
    eprintln!("NVRTC {major}.{minor}");
    let expected = expected_entries();
    // Turing (the oldest architecture CUDA 12.9 does not call deprecated)
    // and Hopper (H100/H200).
    for arch in ["compute_75", "compute_90"] {
        for family in FAMILIES {
            let ptx = myelin_cuda::compile_family(family, arch)
                .unwrap_or_else(|e| panic!("{}.cu for {arch}: {e}", family.name));
            let found = ptx_entries(&ptx);
            let wanted: BTreeSet<String> = expected
                .iter()
                .filter(|(f, _)| *f == family.name)
                .map(|(_, n)| n.clone())
                .collect();
            let missing: Vec<_> = wanted.difference(&found).collect();
            let stray: Vec<_> = found.difference(&wanted).collect();
            assert!(missing.is_empty(), "{}.cu lacks {missing:?}", family.name);
            assert!(stray.is_empty(), "{}.cu defines unlisted {stray:?}", family.name);
        }
    }
}

#[test]
fn a_broken_kernel_is_a_clear_error_with_nvrtc_log() {
    if !nvrtc_or_skip() {
        return;
    }
    let broken = myelin_cuda::kernels::Family {
        name: "broken",
        source: "extern \"C\" __global__ void oops_f32(float* x) { x[0] = undefined_name; }",
    };
    let e = myelin_cuda::compile_family(&broken, "compute_80").unwrap_err();
    let msg = e.message();
    assert!(
        msg.starts_with("compile_kernels: NVRTC failed on broken.cu"),
        "{msg}"
    );
    assert!(msg.contains("undefined_name"), "{msg}");
}

#[test]
fn families_compile_to_machine_code_for_a_real_architecture() {
    if !nvrtc_or_skip() {
        return;
    }
    // What a device loads: an ELF image for the exact architecture.
    for family in FAMILIES
        .iter()
        .filter(|f| ["layout", "softmax"].contains(&f.name))
    {
        let cubin = myelin_cuda::compile_family_cubin(family, "sm_90").unwrap();
        assert_eq!(&cubin[..4], b"\x7fELF", "{}", family.name);
    }
    let e = myelin_cuda::compile_family_cubin(&FAMILIES[0], "compute_90").unwrap_err();
    assert!(e.message().contains("\"sm_90\" (CUBIN)"), "{e}");
}

#[test]
fn a_bad_architecture_is_an_argument_error() {
    let e = myelin_cuda::compile_family(&FAMILIES[0], "x86").unwrap_err();
    assert!(matches!(e, myelin_core::Error::Argument(_)), "{e:?}");
}
