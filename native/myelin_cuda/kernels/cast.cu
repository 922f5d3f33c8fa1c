// Dtype casts, `cast_<from>_<to>(const From* x, To* y, u64 n)`, with the
// CPU engine's semantics (Rust's `as`): float to integer truncates toward
// zero and saturates, NaN becomes 0; integer to integer wraps; everything
// else rounds to nearest.

template <typename From, typename To>
struct Convert {
  static __device__ __forceinline__ To run(From x) {
    return Num<To>::store((typename Num<To>::Acc)Num<From>::load(x));
  }
};

// Float to integer: truncate, then saturate at the target's bounds.
template <typename From, typename To>
__device__ __forceinline__ To float_to_int(From x) {
  const double v = (double)Num<From>::load(x);
  const bool is_signed = (To)-1 < (To)0;
  const int bits = 8 * sizeof(To);
  // The first value above To's range: 2^(bits-1) signed, 2^bits unsigned.
  const double above = ldexp(1.0, is_signed ? bits - 1 : bits);
  const To max = is_signed ? (To)(((u64)1 << (bits - 1)) - 1) : (To)~(To)0;
  const To min = is_signed ? (To)((u64)1 << (bits - 1)) : (To)0;
  if (v != v) return (To)0;
  if (v >= above) return max;
  if (is_signed ? v <= -above : v <= -1.0) return min;
  return is_signed ? (To)(s64)v : (To)(u64)v;
}

#define FLOAT_TO_INT(FROM, TO)                                     \
  template <>                                                      \
  struct Convert<FROM, TO> {                                       \
    static __device__ __forceinline__ TO run(FROM x) { return float_to_int<FROM, TO>(x); } \
  };
#define FLOAT_TO_INTS(FROM) \
  FLOAT_TO_INT(FROM, u8) FLOAT_TO_INT(FROM, u16) FLOAT_TO_INT(FROM, u32) FLOAT_TO_INT(FROM, u64) \
  FLOAT_TO_INT(FROM, s8) FLOAT_TO_INT(FROM, s16) FLOAT_TO_INT(FROM, s32) FLOAT_TO_INT(FROM, s64)
FLOAT_TO_INTS(f16)
FLOAT_TO_INTS(bf16)
FLOAT_TO_INTS(f32)
FLOAT_TO_INTS(f64)

// Half to half goes through f32, which holds both exactly.
template <>
struct Convert<f16, bf16> {
  static __device__ __forceinline__ bf16 run(f16 x) { return f32_to_bf16(f16_to_f32(x)); }
};
template <>
struct Convert<bf16, f16> {
  static __device__ __forceinline__ f16 run(bf16 x) { return f32_to_f16(bf16_to_f32(x)); }
};
// f64 to a half type rounds once, through float, like the CPU's half crate
// for every value not within half an f32 ulp of a tie (documented).

#define CAST_KERNEL(NAME, FROM, TO)                                          \
  extern "C" __global__ void NAME(const FROM* x, TO* y, u64 n) {             \
    FOR_EACH_INDEX(i, n) { y[i] = Convert<FROM, TO>::run(x[i]); }            \
  }

// CASTS_FROM(f32) defines cast_f32_f16 ... cast_f32_s64, to all 12 dtypes.
#define CASTS_FROM(FROM)                                                       \
  CAST_KERNEL(cast_##FROM##_f16, FROM, f16) CAST_KERNEL(cast_##FROM##_bf16, FROM, bf16) \
  CAST_KERNEL(cast_##FROM##_f32, FROM, f32) CAST_KERNEL(cast_##FROM##_f64, FROM, f64)   \
  CAST_KERNEL(cast_##FROM##_u8, FROM, u8) CAST_KERNEL(cast_##FROM##_u16, FROM, u16)     \
  CAST_KERNEL(cast_##FROM##_u32, FROM, u32) CAST_KERNEL(cast_##FROM##_u64, FROM, u64)   \
  CAST_KERNEL(cast_##FROM##_s8, FROM, s8) CAST_KERNEL(cast_##FROM##_s16, FROM, s16)     \
  CAST_KERNEL(cast_##FROM##_s32, FROM, s32) CAST_KERNEL(cast_##FROM##_s64, FROM, s64)
CASTS_FROM(f16)
CASTS_FROM(bf16)
CASTS_FROM(f32)
CASTS_FROM(f64)
CASTS_FROM(u8)
CASTS_FROM(u16)
CASTS_FROM(u32)
CASTS_FROM(u64)
CASTS_FROM(s8)
CASTS_FROM(s16)
CASTS_FROM(s32)
CASTS_FROM(s64)
