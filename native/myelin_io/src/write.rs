//! Writing a safetensors file atomically: a temporary file in the target's
//! directory, flushed to disk, then renamed over the target.

use crate::dtype::swap_le_native;
use crate::header::{self, Entry};
use crate::{Metadata, MAX_HEADER_BYTES, SAVE_OP};
use myelin_core::{Error, Result, Tensor};
use std::cmp::Reverse;
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `tensors` and `metadata` to `path` as a safetensors file,
/// replacing any file there. Either the whole new file appears or nothing
/// changes.
pub fn save(path: &Path, tensors: &[(String, Tensor)], metadata: &Metadata) -> Result<()> {
    let fail = |msg: String| Error::arg(SAVE_OP, format!("{}: {msg}", path.display()));

    let entries = layout(tensors).map_err(fail)?;
    let header = header::build(entries.iter().map(|(e, _)| e), metadata);
    if header.len() > MAX_HEADER_BYTES {
        return Err(fail(format!(
            "the header would be {} bytes, more than the {MAX_HEADER_BYTES} that Python's safetensors reads",
            header.len()
        )));
    }

    let file_name = path
        .file_name()
        .ok_or_else(|| fail("expected a path that ends in a file name".into()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(temp_name(file_name));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(|e| fail(format!("cannot create the temporary file {}: {e}", tmp.display())))?;

    let written = write_contents(file, &header, &entries)
        .map_err(|e| format!("cannot write the temporary file {}: {e}", tmp.display()))
        .and_then(|()| {
            fs::rename(&tmp, path)
                .map_err(|e| format!("cannot rename the temporary file {} to it: {e}", tmp.display()))
        });
    if let Err(msg) = written {
        // Best effort: the error being reported matters more than this one.
        let _ = fs::remove_file(&tmp);
        return Err(fail(msg));
    }
    sync_dir(&dir);
    Ok(())
}

/// Checks the names and assigns each tensor its bytes: larger elements
/// first (then by name), back to back, so that every tensor starts at a
/// multiple of its element size, as Python's safetensors lays them out.
fn layout(tensors: &[(String, Tensor)]) -> std::result::Result<Vec<(Entry, &Tensor)>, String> {
    let mut seen = HashSet::new();
    for (name, _) in tensors {
        if name.is_empty() || name == "__metadata__" {
            return Err(format!(
                "tensor name {name:?} is not allowed (names must be non-empty and not \"__metadata__\")"
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(format!("tensor name {name:?} is given twice"));
        }
    }
    let mut order: Vec<&(String, Tensor)> = tensors.iter().collect();
    order.sort_by_key(|(name, t)| (Reverse(t.dtype().size_in_bytes()), name.as_str()));

    let mut offset = 0u64;
    let mut entries = Vec::with_capacity(tensors.len());
    for (name, t) in order {
        let begin = offset;
        offset += t.as_bytes().map_err(|e| e.to_string())?.len() as u64;
        let entry = Entry {
            name: name.clone(),
            dtype: t.dtype(),
            shape: t.shape().clone(),
            begin,
            end: offset,
        };
        entries.push((entry, t));
    }
    Ok(entries)
}

/// `.<name>.<pid>-<n>.tmp`: hidden, and unique per process and call, so
/// concurrent saves to the same path never write the same temporary file.
fn temp_name(file_name: &std::ffi::OsStr) -> std::ffi::OsString {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut name = std::ffi::OsString::from(".");
    name.push(file_name);
    name.push(format!(".{}-{n}.tmp", std::process::id()));
    name
}

fn write_contents(file: File, header: &[u8], entries: &[(Entry, &Tensor)]) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, file);
    out.write_all(&(header.len() as u64).to_le_bytes())?;
    out.write_all(header)?;
    for (_, t) in entries {
        let bytes = t.as_bytes().map_err(|e| std::io::Error::other(e.to_string()))?;
        if cfg!(target_endian = "big") {
            let mut le = bytes.to_vec();
            swap_le_native(&mut le, t.dtype().size_in_bytes());
            out.write_all(&le)?;
        } else {
            out.write_all(bytes)?;
        }
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    // On disk before the rename, so a crash after it cannot expose a file
    // whose name is new but whose data never arrived.
    file.sync_all()
}

/// Makes the rename itself durable. Best effort: some file systems refuse
/// to sync a directory, and the file is already complete either way.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
