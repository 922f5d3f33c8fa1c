//! Compiling kernel families with NVRTC, and the on-disk PTX cache.
//!
//! A family is compiled for the device's architecture the first time one
//! of its kernels is launched. The PTX is cached under
//! `$MYELIN_CACHE_DIR` (else `$XDG_CACHE_HOME/myelin/cuda`, else
//! `~/.cache/myelin/cuda`), keyed by a hash of the source, the options,
//! the architecture and NVRTC's version, so a new Myelin or a new NVRTC
//! never loads stale code. An unwritable cache only costs the compile.

use crate::availability::{guarded, require_nvrtc};
use crate::kernels::{program_source, Family};
use cudarc::nvrtc::{compile_ptx_with_opts, CompileError, CompileOptions};
use myelin_core::{Error, Result};
use std::path::PathBuf;

/// Options every family is compiled with. Warning 186 ("pointless
/// comparison of unsigned integer with zero") is what the unsigned
/// instantiations of the generic integer templates trigger by design.
const OPTIONS: &[&str] = &["--std=c++17", "--diag-suppress=186"];

/// NVRTC's version as `(major, minor)`.
pub fn nvrtc_version() -> Result<(i32, i32)> {
    require_nvrtc("nvrtc_version")?;
    guarded("nvrtc_version", || {
        let (mut major, mut minor) = (0, 0);
        // SAFETY: NVRTC is present (checked above); the pointers are valid.
        let status = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
        if status == cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
            Ok((major, minor))
        } else {
            Err(Error::internal("nvrtc_version", format!("{status:?}")))
        }
    })
}

/// Compiles `family` for `arch` (a virtual architecture such as
/// `"compute_90"`) and returns the PTX text. Needs NVRTC only, no GPU.
pub fn compile_family(family: &Family, arch: &str) -> Result<String> {
    let op = "compile_kernels";
    validate_arch(arch)?;
    require_nvrtc(op)?;
    guarded(op, || {
        let mut options: Vec<String> = OPTIONS.iter().map(|s| s.to_string()).collect();
        options.push(format!("--gpu-architecture={arch}"));
        let opts = CompileOptions {
            options,
            name: Some(format!("{}.cu", family.name)),
            ..Default::default()
        };
        compile_ptx_with_opts(program_source(family), opts)
            .map(|ptx| ptx.to_src())
            .map_err(|e| {
                let detail = match &e {
                    CompileError::CompileError { log, .. } => log.to_string_lossy().into_owned(),
                    other => format!("{other:?}"),
                };
                Error::internal(
                    op,
                    format!("NVRTC failed on {}.cu for {arch}:\n{detail}", family.name),
                )
            })
    })
}

/// The PTX of `family` for `arch`, from the cache or compiled (and cached).
pub(crate) fn cached_ptx(family: &Family, arch: &str) -> Result<String> {
    let (major, minor) = nvrtc_version()?;
    let key = fnv1a64(
        [
            program_source(family).as_bytes(),
            OPTIONS.join(" ").as_bytes(),
            arch.as_bytes(),
            format!("nvrtc {major}.{minor}").as_bytes(),
        ]
        .iter(),
    );
    let path = cache_dir().map(|d| d.join(format!("{}-{arch}-{key:016x}.ptx", family.name)));
    if let Some(ptx) = path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
        return Ok(ptx);
    }
    let ptx = compile_family(family, arch)?;
    if let Some(path) = path {
        // Write then rename, so a concurrent reader never sees half a file.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&tmp, &ptx))
            .and_then(|_| std::fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(ptx)
}

fn cache_dir() -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    env("MYELIN_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("myelin/cuda")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/myelin/cuda")))
}

/// `compute_NN` or `sm_NN` (NVRTC's spellings).
fn validate_arch(arch: &str) -> Result<()> {
    let digits = arch
        .strip_prefix("compute_")
        .or_else(|| arch.strip_prefix("sm_"))
        .unwrap_or("");
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(Error::arg(
            "compile_kernels",
            format!("expected an architecture such as \"compute_90\" or \"sm_80\", got {arch:?}"),
        ))
    }
}

/// FNV-1a, 64 bits: a stable hash (std's is not stable across releases).
fn fnv1a64<'a>(parts: impl Iterator<Item = &'a &'a [u8]>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // Separate parts, so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_are_validated() {
        assert!(validate_arch("compute_90").is_ok());
        assert!(validate_arch("sm_80").is_ok());
        assert!(validate_arch("compute_90a").is_ok());
        let e = validate_arch("--evil").unwrap_err();
        assert!(e.message().contains("compute_90"), "{e}");
        assert!(validate_arch("compute_").is_err());
    }

    #[test]
    fn the_cache_key_separates_parts() {
        let (a, b, c, d): (&[u8], &[u8], &[u8], &[u8]) = (b"ab", b"c", b"a", b"bc");
        assert_ne!(fnv1a64([a, b].iter()), fnv1a64([c, d].iter()));
        assert_eq!(fnv1a64([a, b].iter()), fnv1a64([a, b].iter()));
    }
}
