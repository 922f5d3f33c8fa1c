//! Reading a safetensors file: validate the whole header, then read each
//! tensor straight into its own typed buffer (one copy, no staging buffer).

use crate::dtype::swap_le_native;
use crate::header::{self, Entry};
use crate::{Metadata, LOAD_OP};
use myelin_core::{dispatch_dtype, Element, Error, Result, Tensor};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Reads every tensor of the safetensors file at `path`, in file order,
/// and its metadata.
pub fn load(path: &Path) -> Result<(Vec<(String, Tensor)>, Metadata)> {
    let fail = |msg: String| Error::arg(LOAD_OP, format!("{}: {msg}", path.display()));

    let file = File::open(path).map_err(|e| fail(format!("cannot open: {e}")))?;
    let info = file
        .metadata()
        .map_err(|e| fail(format!("cannot read its size: {e}")))?;
    if info.is_dir() {
        return Err(fail("is a directory, expected a safetensors file".into()));
    }
    let file_len = info.len();
    if file_len < 8 {
        return Err(fail(format!(
            "file is {file_len} bytes, too short for a safetensors file (8-byte header length, then the header)"
        )));
    }
    let mut reader = BufReader::new(file);
    let mut len_bytes = [0u8; 8];
    reader
        .read_exact(&mut len_bytes)
        .map_err(|e| fail(format!("cannot read the header length: {e}")))?;
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > file_len - 8 {
        return Err(fail(format!(
            "header length {header_len} exceeds the {} bytes that follow it (not a safetensors file, or truncated)",
            file_len - 8
        )));
    }
    // Bounded by the file's size, checked above.
    let mut header_bytes = vec![0u8; header_len as usize];
    reader
        .read_exact(&mut header_bytes)
        .map_err(|e| fail(format!("cannot read the header: {e}")))?;
    let data_start = 8 + header_len;
    let header = header::parse(&header_bytes, file_len - data_start).map_err(fail)?;

    let mut position = data_start;
    let mut tensors = Vec::with_capacity(header.entries.len());
    for entry in header.entries {
        if position != data_start + entry.begin {
            position = data_start + entry.begin;
            reader
                .seek(SeekFrom::Start(position))
                .map_err(|e| fail(format!("cannot seek to tensor {:?}: {e}", entry.name)))?;
        }
        let tensor = read_tensor(&mut reader, &entry)
            .map_err(|e| fail(format!("cannot read tensor {:?}: {e}", entry.name)))?;
        position += entry.end - entry.begin;
        tensors.push((entry.name, tensor));
    }
    Ok((tensors, header.metadata))
}

/// Reads one tensor's elements. The header has been validated, so the
/// sizes agree and fit in the file.
fn read_tensor(reader: &mut impl Read, entry: &Entry) -> std::io::Result<Tensor> {
    let size = entry.shape.size();
    let to_io = |e: Error| std::io::Error::other(e.message().to_string());
    dispatch_dtype!(entry.dtype, T => {
        let mut data = vec![T::ZERO; size];
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut data);
        reader.read_exact(bytes)?;
        swap_le_native(bytes, <T as Element>::DTYPE.size_in_bytes());
        Tensor::from_vec(entry.shape.clone(), data).map_err(to_io)
    })
}
