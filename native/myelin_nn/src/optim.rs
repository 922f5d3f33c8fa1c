//! Optimizers with PyTorch's update rules (so reference values from
//! `torch.optim` check them), applied in place, one fused loop per
//! parameter over the parameter, its gradient and its state slots.

use myelin_core::{DType, Error, Result, Tensor};
use myelin_cpu::parallel::{chunk_count, scope};
use myelin_cpu::simd::vectorized;
use num_traits::Float;

/// The update rule and its hyperparameters.
#[derive(Clone, Debug, PartialEq)]
pub enum OptimizerKind {
    /// `torch.optim.SGD`: momentum buffer (initialized with the first
    /// gradient), optionally Nesterov.
    Sgd {
        /// Momentum factor (0: plain SGD).
        momentum: f64,
        /// Use Nesterov momentum.
        nesterov: bool,
    },
    /// `torch.optim.Adam` (`decoupled: false`, L2 weight decay added to the
    /// gradient) and `torch.optim.AdamW` (`decoupled: true`).
    Adam {
        /// First-moment decay.
        b1: f64,
        /// Second-moment decay.
        b2: f64,
        /// Added to the denominator.
        eps: f64,
        /// AdamW's decoupled weight decay.
        decoupled: bool,
    },
    /// `torch.optim.RMSprop`.
    RmsProp {
        /// Smoothing constant of the squared-gradient average.
        alpha: f64,
        /// Added to the denominator.
        eps: f64,
        /// Momentum factor.
        momentum: f64,
        /// Normalize by the centered second moment (variance).
        centered: bool,
    },
    /// `torch.optim.Adagrad`.
    Adagrad {
        /// Added to the denominator.
        eps: f64,
        /// Starting value of the squared-gradient sum.
        initial_accumulator: f64,
    },
    /// LAMB (You et al. 2019): Adam's direction scaled per parameter tensor
    /// by the trust ratio ||p|| / ||update||.
    Lamb {
        /// First-moment decay.
        b1: f64,
        /// Second-moment decay.
        b2: f64,
        /// Added to the denominator.
        eps: f64,
    },
}

/// Gradient clipping, applied before the update.
#[derive(Clone, Debug, PartialEq)]
pub enum Clip {
    /// No clipping.
    None,
    /// Scale all gradients so their global L2 norm is at most this
    /// (`torch.nn.utils.clip_grad_norm_`).
    GlobalNorm(f64),
    /// Clamp every gradient element to [-v, v].
    Value(f64),
}

/// An optimizer: the rule, weight decay and clipping.
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer {
    /// The update rule.
    pub kind: OptimizerKind,
    /// Weight decay (L2 in the gradient, or decoupled for AdamW and LAMB).
    pub weight_decay: f64,
    /// Gradient clipping.
    pub clip: Clip,
}

impl Optimizer {
    /// The rule's name, as `Myelin.Optimizers` names it.
    pub fn name(&self) -> &'static str {
        match self.kind {
            OptimizerKind::Sgd { .. } => "sgd",
            OptimizerKind::Adam { decoupled: false, .. } => "adam",
            OptimizerKind::Adam { decoupled: true, .. } => "adamw",
            OptimizerKind::RmsProp { .. } => "rmsprop",
            OptimizerKind::Adagrad { .. } => "adagrad",
            OptimizerKind::Lamb { .. } => "lamb",
        }
    }

    /// How many state tensors the rule keeps per parameter.
    pub fn slot_count(&self) -> usize {
        match self.kind {
            OptimizerKind::Sgd { momentum, .. } => usize::from(momentum != 0.0),
            OptimizerKind::Adam { .. } | OptimizerKind::Lamb { .. } => 2,
            OptimizerKind::RmsProp { .. } => 3,
            OptimizerKind::Adagrad { .. } => 1,
        }
    }

    /// Fresh state for `params`: `slot_count` tensors per parameter (zeros,
    /// or Adagrad's initial accumulator).
    pub fn init_state(&self, params: &[Tensor]) -> Result<Vec<Vec<Tensor>>> {
        let fill = match self.kind {
            OptimizerKind::Adagrad {
                initial_accumulator, ..
            } => initial_accumulator,
            _ => 0.0,
        };
        params
            .iter()
            .map(|p| {
                (0..self.slot_count())
                    .map(|_| {
                        let t = Tensor::full(p.shape().clone(), fill)?;
                        myelin_cpu::as_type(&t, p.dtype())
                    })
                    .collect()
            })
            .collect()
    }

    /// Applies one update in place. `step` counts updates from 1 (bias
    /// correction); `lr` is this step's learning rate.
    pub fn update(
        &self,
        params: &mut [Tensor],
        grads: &[Tensor],
        state: &mut [Vec<Tensor>],
        step: u64,
        lr: f64,
    ) -> Result<()> {
        if params.len() != grads.len() || params.len() != state.len() {
            return Err(Error::internal(
                "optimizer",
                "parameter, gradient and state counts differ",
            ));
        }
        let scale = match self.clip {
            Clip::GlobalNorm(max) => {
                let norm = global_norm(grads)?;
                if norm > max {
                    max / (norm + 1e-6)
                } else {
                    1.0
                }
            }
            _ => 1.0,
        };
        let clip_value = match self.clip {
            Clip::Value(v) => Some(v),
            _ => None,
        };
        for ((p, g), s) in params.iter_mut().zip(grads).zip(state.iter_mut()) {
            let h = Hyper {
                lr,
                step,
                scale,
                clip_value,
                wd: self.weight_decay,
            };
            match p.dtype() {
                // The update loops vectorized for this CPU (AVX-512 makes
                // Adam's sqrt and division 4x wider than baseline SSE2).
                DType::F32 => vectorized(
                    #[inline(always)]
                    || update_one::<f32>(&self.kind, &h, p, g, s),
                )?,
                DType::F64 => vectorized(
                    #[inline(always)]
                    || update_one::<f64>(&self.kind, &h, p, g, s),
                )?,
                dt => {
                    return Err(Error::arg(
                        "optimizer",
                        format!("expected f32 or f64 parameters, got {dt}"),
                    ))
                }
            }
        }
        Ok(())
    }
}

/// The square root of the sum of squares of every gradient element.
pub fn global_norm(grads: &[Tensor]) -> Result<f64> {
    let mut sum = 0.0f64;
    for g in grads {
        match g.dtype() {
            DType::F32 => {
                sum += g
                    .as_slice::<f32>()?
                    .iter()
                    .map(|&x| (x as f64) * (x as f64))
                    .sum::<f64>()
            }
            DType::F64 => sum += g.as_slice::<f64>()?.iter().map(|&x| x * x).sum::<f64>(),
            dt => {
                return Err(Error::arg(
                    "optimizer",
                    format!("expected f32 or f64 gradients, got {dt}"),
                ))
            }
        }
    }
    Ok(sum.sqrt())
}

/// Flushes a subnormal optimizer state to zero.
///
/// Moving averages of gradients that are mostly zero (the weights of a
/// rarely lit input pixel) decay geometrically into the subnormal range,
/// where every multiply takes a microcode assist: on the Fashion-MNIST MLP
/// that made Adam's update 30% of a step from the second epoch on. A state
/// below `T::min_positive_value()` (1.2e-38 in f32) changes no update
/// measurably (it is divided by `sqrt(v) + eps`), so it becomes zero, and
/// zero stays zero without assists. The select compiles branch-free.
#[inline(always)]
fn flush<T: Float>(x: T) -> T {
    if x.abs() < T::min_positive_value() {
        T::zero()
    } else {
        x
    }
}

/// Elements per thread from which Adam's plain update is split across
/// threads. Its square root and division make it compute-bound (about
/// 0.8 ns per f32 element on one AMD EPYC core, where the AVX-512 square
/// root and division are slow), so unlike a memory-bound elementwise op it
/// gains from a second core well below
/// [`myelin_cpu::parallel::ELEMENTWISE_GRAIN`]: the MLP's update (101,770
/// values) went from 84 to 49 µs on two threads.
const ADAM_GRAIN: usize = 1 << 15;

/// Adam without clipping or weight decay (the common case), as its own
/// branch-free loop so that it vectorizes.
struct PlainAdam<T> {
    b1: T,
    b2: T,
    eps: T,
    /// `lr / (1 - b1^t)`.
    step_size: T,
    /// `1 / sqrt(1 - b2^t)`: a multiply instead of a second division per
    /// element (torch divides by `sqrt(1 - b2^t)`; the two round
    /// differently in the last bits of the denominator).
    inv_sqrt_bc2: T,
}

impl<T: Float + Send + Sync> PlainAdam<T> {
    /// Updates `p`, `m` and `v` in place from `g`, in chunks of at least
    /// [`ADAM_GRAIN`] elements on separate threads. Each element's update
    /// reads only its own values, so the bits do not depend on the split.
    fn apply(&self, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
        let chunks = chunk_count(p.len(), ADAM_GRAIN);
        if chunks <= 1 {
            vectorized(
                #[inline(always)]
                || self.run(p, g, m, v),
            );
            return;
        }
        let per = p.len().div_ceil(chunks);
        scope(|s| {
            let mut pieces = p
                .chunks_mut(per)
                .zip(g.chunks(per))
                .zip(m.chunks_mut(per))
                .zip(v.chunks_mut(per));
            let first = pieces.next();
            for (((p, g), m), v) in pieces {
                s.spawn(move || {
                    vectorized(
                        #[inline(always)]
                        || self.run(p, g, m, v),
                    )
                });
            }
            if let Some((((p, g), m), v)) = first {
                vectorized(
                    #[inline(always)]
                    || self.run(p, g, m, v),
                );
            }
        });
    }

    #[inline(always)]
    fn run(&self, p: &mut [T], g: &[T], m: &mut [T], v: &mut [T]) {
        let (b1, b2, eps) = (self.b1, self.b2, self.eps);
        for (((pi, &gi), mi), vi) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
            *mi = flush(b1 * *mi + (T::one() - b1) * gi);
            *vi = flush(b2 * *vi + (T::one() - b2) * gi * gi);
            *pi = *pi - self.step_size * (*mi / (vi.sqrt() * self.inv_sqrt_bc2 + eps));
        }
    }
}

/// Per-step values shared by every parameter's update.
struct Hyper {
    lr: f64,
    step: u64,
    scale: f64,
    clip_value: Option<f64>,
    wd: f64,
}

/// One parameter's update. Always inlined, so that it is compiled inside
/// [`vectorized`]'s AVX-512 and AVX2 copies.
#[inline(always)]
fn update_one<T: Float + myelin_core::Element>(
    kind: &OptimizerKind,
    h: &Hyper,
    p: &mut Tensor,
    g: &Tensor,
    slots: &mut [Tensor],
) -> Result<()> {
    let c = |v: f64| T::from(v).unwrap_or_else(T::zero);
    let (lr, wd) = (c(h.lr), c(h.wd));
    // Gradient after clipping (and, for the coupled rules, L2 decay).
    let prep = |gi: T, pi: T, coupled: bool| {
        let mut gi = gi * c(h.scale);
        if let Some(v) = h.clip_value {
            gi = gi.max(c(-v)).min(c(v));
        }
        if coupled {
            gi = gi + wd * pi;
        }
        gi
    };
    let p = p.as_mut_slice::<T>()?;
    let g = g.as_slice::<T>()?;
    let t = h.step as i32;
    match *kind {
        OptimizerKind::Sgd { momentum, nesterov } => {
            let mu = c(momentum);
            if slots.is_empty() {
                for (pi, &gi) in p.iter_mut().zip(g) {
                    *pi = *pi - lr * prep(gi, *pi, true);
                }
            } else {
                let buf = slots[0].as_mut_slice::<T>()?;
                for ((pi, &gi), bi) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                    let gi = prep(gi, *pi, true);
                    *bi = flush(if h.step == 1 { gi } else { mu * *bi + gi });
                    let d = if nesterov { gi + mu * *bi } else { *bi };
                    *pi = *pi - lr * d;
                }
            }
        }
        OptimizerKind::Adam {
            b1,
            b2,
            eps,
            decoupled,
        } => {
            let (b1_f64, b2_f64) = (b1, b2);
            let (bc1, bc2) = (c(1.0 - b1.powi(t)), c(1.0 - b2.powi(t)));
            let (b1, b2, eps) = (c(b1), c(b2), c(eps));
            let (m, rest) = slots.split_at_mut(1);
            let (m, v) = (m[0].as_mut_slice::<T>()?, rest[0].as_mut_slice::<T>()?);
            let step = |pi: &mut T, gi: T, mi: &mut T, vi: &mut T| {
                if decoupled {
                    *pi = *pi * (T::one() - lr * wd);
                }
                let gi = prep(gi, *pi, !decoupled);
                *mi = flush(b1 * *mi + (T::one() - b1) * gi);
                *vi = flush(b2 * *vi + (T::one() - b2) * gi * gi);
                let denom = (*vi / bc2).sqrt() + eps;
                *pi = *pi - lr * (*mi / bc1) / denom;
            };
            // The common case (no value clipping, no decay) as its own
            // loop: with the branches gone it vectorizes.
            let plain = h.clip_value.is_none() && wd == T::zero() && h.scale == 1.0;
            if plain {
                // Both factors in f64, rounded once (torch computes its
                // step size in Python floats too).
                let (bc1, bc2) = (1.0 - b1_f64.powi(t), 1.0 - b2_f64.powi(t));
                let rule = PlainAdam {
                    b1,
                    b2,
                    eps,
                    step_size: c(h.lr / bc1),
                    inv_sqrt_bc2: c(1.0 / bc2.sqrt()),
                };
                rule.apply(p, g, m, v);
            } else {
                let elements = p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut());
                for (((pi, &gi), mi), vi) in elements {
                    step(pi, gi, mi, vi);
                }
            }
        }
        OptimizerKind::RmsProp {
            alpha,
            eps,
            momentum,
            centered,
        } => {
            let (alpha, eps, mu) = (c(alpha), c(eps), c(momentum));
            let [sq, avg, buf] = slots else {
                return Err(Error::internal("rmsprop", "expected three state slots"));
            };
            let (sq, avg, buf) = (
                sq.as_mut_slice::<T>()?,
                avg.as_mut_slice::<T>()?,
                buf.as_mut_slice::<T>()?,
            );
            for i in 0..p.len() {
                let gi = prep(g[i], p[i], true);
                sq[i] = flush(alpha * sq[i] + (T::one() - alpha) * gi * gi);
                let var = if centered {
                    avg[i] = flush(alpha * avg[i] + (T::one() - alpha) * gi);
                    sq[i] - avg[i] * avg[i]
                } else {
                    sq[i]
                };
                let denom = var.sqrt() + eps;
                if momentum > 0.0 {
                    buf[i] = flush(mu * buf[i] + gi / denom);
                    p[i] = p[i] - lr * buf[i];
                } else {
                    p[i] = p[i] - lr * gi / denom;
                }
            }
        }
        OptimizerKind::Adagrad { eps, .. } => {
            let eps = c(eps);
            let sum = slots[0].as_mut_slice::<T>()?;
            for ((pi, &gi), si) in p.iter_mut().zip(g).zip(sum.iter_mut()) {
                let gi = prep(gi, *pi, true);
                *si = *si + gi * gi;
                *pi = *pi - lr * gi / (si.sqrt() + eps);
            }
        }
        OptimizerKind::Lamb { b1, b2, eps } => {
            let (bc1, bc2) = (c(1.0 - b1.powi(t)), c(1.0 - b2.powi(t)));
            let (b1, b2, eps) = (c(b1), c(b2), c(eps));
            let (m, rest) = slots.split_at_mut(1);
            let (m, v) = (m[0].as_mut_slice::<T>()?, rest[0].as_mut_slice::<T>()?);
            // Two passes: the update direction and its norm, then the step.
            let mut r = vec![T::zero(); p.len()];
            let (mut p_norm, mut r_norm) = (T::zero(), T::zero());
            for i in 0..p.len() {
                let gi = prep(g[i], p[i], false);
                m[i] = flush(b1 * m[i] + (T::one() - b1) * gi);
                v[i] = flush(b2 * v[i] + (T::one() - b2) * gi * gi);
                r[i] = (m[i] / bc1) / ((v[i] / bc2).sqrt() + eps) + wd * p[i];
                p_norm = p_norm + p[i] * p[i];
                r_norm = r_norm + r[i] * r[i];
            }
            let (p_norm, r_norm) = (p_norm.sqrt(), r_norm.sqrt());
            let trust = if p_norm > T::zero() && r_norm > T::zero() {
                p_norm / r_norm
            } else {
                T::one()
            };
            for i in 0..p.len() {
                p[i] = p[i] - lr * trust * r[i];
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use myelin_core::Shape;

    fn vector(values: &[f32]) -> Tensor {
        Tensor::from_vec(Shape::new(vec![values.len()]), values.to_vec()).unwrap()
    }

    #[test]
    fn plain_adam_gives_the_same_bits_in_one_piece_or_split_across_threads() {
        let n = 4 * ADAM_GRAIN + 3;
        let wave = |scale: f32, phase: f32| -> Vec<f32> {
            (0..n)
                .map(|i| ((i as f32) * 0.37 + phase).sin() * scale)
                .collect()
        };
        let rule = PlainAdam {
            b1: 0.9f32,
            b2: 0.999,
            eps: 1e-8,
            step_size: 1e-3,
            inv_sqrt_bc2: 3.0,
        };
        let g = wave(0.01, 1.0);
        let (mut p1, mut m1, mut v1) = (wave(0.1, 0.0), wave(0.001, 2.0), wave(1e-4, 3.0));
        v1.iter_mut().for_each(|v| *v = v.abs());
        let (mut p2, mut m2, mut v2) = (p1.clone(), m1.clone(), v1.clone());
        assert!(chunk_count(n, ADAM_GRAIN) > 1 || myelin_cpu::parallel::num_threads() == 1);
        rule.apply(&mut p1, &g, &mut m1, &mut v1);
        rule.run(&mut p2, &g, &mut m2, &mut v2);
        let bits = |x: &[f32]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&p1), bits(&p2));
        assert_eq!(bits(&m1), bits(&m2));
        assert_eq!(bits(&v1), bits(&v2));
    }

    #[test]
    fn adam_flushes_subnormal_moments_to_zero_and_keeps_normal_ones() {
        let adam = Optimizer {
            kind: OptimizerKind::Adam {
                b1: 0.9,
                b2: 0.999,
                eps: 1e-8,
                decoupled: false,
            },
            weight_decay: 0.0,
            clip: Clip::None,
        };
        let mut params = vec![vector(&[1.0, 1.0])];
        let mut state = adam.init_state(&params).unwrap();
        // The first moment of element 0 sits just above the subnormal
        // range; one decay by b1 would take it below.
        state[0][0] = vector(&[1.25e-38, 0.5]);
        state[0][1] = vector(&[1.0e-6, 1.0e-6]);
        let grads = vec![vector(&[0.0, 0.1])];
        adam.update(&mut params, &grads, &mut state, 10, 1e-3).unwrap();
        let m = state[0][0].as_slice::<f32>().unwrap();
        assert_eq!(m[0], 0.0, "0.9 * 1.25e-38 is subnormal and flushed");
        assert!((m[1] - (0.9 * 0.5 + 0.1 * 0.1)).abs() < 1e-7);
        let p = params[0].as_slice::<f32>().unwrap();
        assert_eq!(p[0], 1.0, "a zero moment moves nothing");
        assert!(p[1] < 1.0);
    }

    #[test]
    fn flush_only_touches_subnormals() {
        assert_eq!(flush(1.0e-39f32), 0.0);
        assert_eq!(flush(-1.0e-39f32), 0.0);
        assert_eq!(flush(f32::MIN_POSITIVE), f32::MIN_POSITIVE);
        assert_eq!(flush(-3.5f64), -3.5);
        assert_eq!(flush(1.0e-310f64), 0.0);
    }
}
