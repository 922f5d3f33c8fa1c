//! Copying a dense tensor's elements into a permuted axis order, used to
//! bring reduced axes together and to lay `dot` operands out as matrices.

/// Returns `data` (row-major, dims `dims`) with its axes reordered so that
/// output axis `i` is input axis `perm[i]`. `perm` must be a permutation of
/// `0..dims.len()` (callers build it from validated axes).
pub fn permute<T: Copy>(data: &[T], dims: &[usize], perm: &[usize]) -> Vec<T> {
    debug_assert_eq!(dims.len(), perm.len());
    if perm.iter().enumerate().all(|(i, &p)| i == p) || data.is_empty() {
        return data.to_vec();
    }
    let mut in_strides = vec![1usize; dims.len()];
    for i in (0..dims.len().saturating_sub(1)).rev() {
        in_strides[i] = in_strides[i + 1] * dims[i + 1];
    }
    let out_dims: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let rank = out_dims.len();
    // The last output axis is walked in a tight loop; the others by an
    // odometer over the index, carrying the input offset along.
    let last = rank - 1;
    let (inner_len, inner_stride) = (out_dims[last], strides[last]);
    let mut out = Vec::with_capacity(data.len());
    let mut index = vec![0usize; rank];
    let mut offset = 0usize;
    while out.len() < data.len() {
        out.extend((0..inner_len).map(|j| data[offset + j * inner_stride]));
        let mut axis = last;
        while axis > 0 {
            axis -= 1;
            index[axis] += 1;
            offset += strides[axis];
            if index[axis] < out_dims[axis] {
                break;
            }
            offset -= strides[axis] * out_dims[axis];
            index[axis] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes() {
        let d: Vec<u32> = (0..6).collect();
        assert_eq!(permute(&d, &[2, 3], &[1, 0]), vec![0, 3, 1, 4, 2, 5]);
        assert_eq!(permute(&d, &[2, 3], &[0, 1]), d);
        let d: Vec<u32> = (0..24).collect();
        let p = permute(&d, &[2, 3, 4], &[2, 0, 1]);
        // out[k][i][j] = in[i][j][k]
        assert_eq!(p[0..6], [0, 4, 8, 12, 16, 20]);
        assert_eq!(p[6], 1);
        assert!(permute::<u8>(&[], &[0, 3], &[1, 0]).is_empty());
    }
}
