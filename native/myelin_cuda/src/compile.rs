//! Compiling kernel families with NVRTC, and the on-disk cache.
//!
//! For a device, a family is compiled the first time one of its kernels is
//! launched, straight to machine code (CUBIN) for the device's exact
//! architecture (`sm_XY`): the driver then loads it as it is, whatever its
//! version. PTX would have to be JIT-compiled by the driver, which refuses
//! PTX from an NVRTC newer than itself (common with pip's NVRTC and an
//! older driver). The tests, which have no device, compile to PTX for
//! virtual architectures (`compute_XY`) to check the entry points.
//!
//! Binaries are cached under `$MYELIN_CACHE_DIR` (else
//! `$XDG_CACHE_HOME/myelin/cuda`, else `~/.cache/myelin/cuda`), keyed by a
//! hash of the source, the options, the architecture and NVRTC's version,
//! so a new Myelin or a new NVRTC never loads stale code. An unwritable
//! cache only costs the compile.
//!
//! cudarc's `compile_ptx` cannot return CUBIN, so this file drives NVRTC's
//! C API (through cudarc's `sys` bindings) itself.

use crate::availability::{guarded, require_nvrtc};
use crate::kernels::{program_source, Family};
use cudarc::nvrtc::sys;
use myelin_core::{Error, Result};
use std::ffi::{c_char, CString};
use std::path::PathBuf;

/// Options every family is compiled with. Warning 186 ("pointless
/// comparison of unsigned integer with zero") is what the unsigned
/// instantiations of the generic integer templates trigger by design.
const OPTIONS: &[&str] = &["--std=c++17", "--diag-suppress=186"];

const OP: &str = "compile_kernels";

/// NVRTC's version as `(major, minor)`.
pub fn nvrtc_version() -> Result<(i32, i32)> {
    require_nvrtc("nvrtc_version")?;
    guarded("nvrtc_version", || {
        let (mut major, mut minor) = (0, 0);
        // SAFETY: NVRTC is present (checked above); the pointers are valid.
        check("nvrtc_version", unsafe {
            sys::nvrtcVersion(&mut major, &mut minor)
        })?;
        Ok((major, minor))
    })
}

/// Compiles `family` for a virtual architecture (`"compute_90"`) and
/// returns the PTX text. Needs NVRTC only, no GPU.
pub fn compile_family(family: &Family, arch: &str) -> Result<String> {
    if !arch.starts_with("compute_") {
        return Err(bad_arch(arch));
    }
    let ptx = nvrtc(family, arch)?;
    String::from_utf8(ptx).map_err(|_| Error::internal(OP, "NVRTC returned PTX that is not UTF-8"))
}

/// Compiles `family` to machine code (CUBIN) for a real architecture
/// (`"sm_90"`), as devices load it, bypassing the cache. Needs NVRTC only.
pub fn compile_family_cubin(family: &Family, arch: &str) -> Result<Vec<u8>> {
    if !arch.starts_with("sm_") {
        return Err(bad_arch(arch));
    }
    nvrtc(family, arch)
}

/// The CUBIN of `family` for a real architecture (`"sm_90"`), from the
/// cache or compiled (and cached).
pub(crate) fn cached_cubin(family: &Family, arch: &str) -> Result<Vec<u8>> {
    cached_cubin_in(cache_dir(), family, arch)
}

/// [`cached_cubin`] with the cache in `dir` (None: no cache).
fn cached_cubin_in(dir: Option<PathBuf>, family: &Family, arch: &str) -> Result<Vec<u8>> {
    if !arch.starts_with("sm_") {
        return Err(bad_arch(arch));
    }
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
    let path = dir.map(|d| d.join(format!("{}-{arch}-{key:016x}.cubin", family.name)));
    if let Some(bin) = path.as_ref().and_then(|p| std::fs::read(p).ok()) {
        return Ok(bin);
    }
    let bin = nvrtc(family, arch)?;
    if let Some(path) = path {
        // Write then rename, so a concurrent reader never sees half a file.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&tmp, &bin))
            .and_then(|_| std::fs::rename(&tmp, &path));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    Ok(bin)
}

/// Runs NVRTC on `family` for `arch`: PTX for `compute_XY`, CUBIN for
/// `sm_XY`.
fn nvrtc(family: &Family, arch: &str) -> Result<Vec<u8>> {
    validate_arch(arch)?;
    require_nvrtc(OP)?;
    guarded(OP, || {
        let program = Program::new(family)?;
        let mut options: Vec<String> = OPTIONS.iter().map(|s| s.to_string()).collect();
        options.push(format!("--gpu-architecture={arch}"));
        program.compile(&options, arch)?;
        if arch.starts_with("sm_") {
            program.cubin()
        } else {
            program.ptx()
        }
    })
}

/// An NVRTC program, destroyed on drop.
struct Program {
    handle: sys::nvrtcProgram,
    name: String,
}

impl Program {
    fn new(family: &Family) -> Result<Program> {
        let name = format!("{}.cu", family.name);
        let source = CString::new(program_source(family))
            .map_err(|_| Error::internal(OP, format!("{name} contains a NUL byte")))?;
        let c_name = CString::new(name.clone()).map_err(|_| Error::internal(OP, "bad name"))?;
        let mut handle: sys::nvrtcProgram = std::ptr::null_mut();
        // SAFETY: valid C strings; no headers are passed.
        let status = unsafe {
            sys::nvrtcCreateProgram(
                &mut handle,
                source.as_ptr(),
                c_name.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        check(OP, status)?;
        Ok(Program { handle, name })
    }

    fn compile(&self, options: &[String], arch: &str) -> Result<()> {
        let c_options: Vec<CString> = options
            .iter()
            .map(|o| CString::new(o.as_str()).map_err(|_| Error::internal(OP, "bad option")))
            .collect::<Result<_>>()?;
        let pointers: Vec<*const c_char> = c_options.iter().map(|o| o.as_ptr()).collect();
        // SAFETY: `pointers` holds `len` valid C strings that outlive the call.
        let status =
            unsafe { sys::nvrtcCompileProgram(self.handle, pointers.len() as i32, pointers.as_ptr()) };
        if status == sys::nvrtcResult::NVRTC_SUCCESS {
            return Ok(());
        }
        Err(Error::internal(
            OP,
            format!("NVRTC failed on {} for {arch}:\n{}", self.name, self.log()),
        ))
    }

    /// The compiler's messages.
    fn log(&self) -> String {
        self.output(sys::nvrtcGetProgramLogSize, sys::nvrtcGetProgramLog)
            .map(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .trim_end_matches('\0')
                    .trim()
                    .to_string()
            })
            .unwrap_or_else(|e| e.to_string())
    }

    fn ptx(&self) -> Result<Vec<u8>> {
        let mut ptx = self.output(sys::nvrtcGetPTXSize, sys::nvrtcGetPTX)?;
        // The PTX text ends with a NUL byte.
        while ptx.last() == Some(&0) {
            ptx.pop();
        }
        Ok(ptx)
    }

    fn cubin(&self) -> Result<Vec<u8>> {
        self.output(sys::nvrtcGetCUBINSize, sys::nvrtcGetCUBIN)
    }

    /// Reads one of NVRTC's outputs through its size and copy functions.
    fn output(
        &self,
        size: unsafe fn(sys::nvrtcProgram, *mut usize) -> sys::nvrtcResult,
        copy: unsafe fn(sys::nvrtcProgram, *mut c_char) -> sys::nvrtcResult,
    ) -> Result<Vec<u8>> {
        let mut n = 0usize;
        // SAFETY: a live program; `buf` has the size NVRTC reported.
        check(OP, unsafe { size(self.handle, &mut n) })?;
        let mut buf = vec![0u8; n];
        check(OP, unsafe { copy(self.handle, buf.as_mut_ptr() as *mut c_char) })?;
        Ok(buf)
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: the handle came from nvrtcCreateProgram and is destroyed once.
        unsafe {
            sys::nvrtcDestroyProgram(&mut self.handle);
        }
    }
}

fn check(op: &str, status: sys::nvrtcResult) -> Result<()> {
    if status == sys::nvrtcResult::NVRTC_SUCCESS {
        Ok(())
    } else {
        Err(Error::internal(op, format!("NVRTC error {status:?}")))
    }
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
        Err(bad_arch(arch))
    }
}

fn bad_arch(arch: &str) -> Error {
    Error::arg(
        OP,
        format!("expected an architecture such as \"compute_90\" (PTX) or \"sm_90\" (CUBIN), got {arch:?}"),
    )
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

    /// The disk cache, with NVRTC only (CI has it; elsewhere this skips).
    #[test]
    fn cubins_are_cached_on_disk_per_architecture() {
        if !crate::availability().nvrtc {
            eprintln!("skipped: NVRTC (libnvrtc.so.12) is not on the library path");
            return;
        }
        let dir = std::env::temp_dir().join(format!("myelin-cubin-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let family = crate::kernels::FAMILIES
            .iter()
            .find(|f| f.name == "gather")
            .unwrap();
        let first = cached_cubin_in(Some(dir.clone()), family, "sm_80").unwrap();
        assert_eq!(&first[..4], b"\x7fELF");
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("gather-sm_80-") && name.ends_with(".cubin"),
            "{name}"
        );
        // A second call reads the file rather than compiling: prove it by
        // planting other bytes there.
        std::fs::write(&files[0], b"planted").unwrap();
        assert_eq!(
            cached_cubin_in(Some(dir.clone()), family, "sm_80").unwrap(),
            b"planted"
        );
        // Another architecture is another entry; no cache dir still compiles.
        cached_cubin_in(Some(dir.clone()), family, "sm_90").unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        assert_eq!(&cached_cubin_in(None, family, "sm_90").unwrap()[..4], b"\x7fELF");
        assert!(cached_cubin_in(None, family, "compute_90").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_cache_key_separates_parts() {
        let (a, b, c, d): (&[u8], &[u8], &[u8], &[u8]) = (b"ab", b"c", b"a", b"bc");
        assert_ne!(fnv1a64([a, b].iter()), fnv1a64([c, d].iter()));
        assert_eq!(fnv1a64([a, b].iter()), fnv1a64([a, b].iter()));
    }
}
