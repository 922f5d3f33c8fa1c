//! The training step: one planned graph computes the loss, any extra
//! outputs (predictions for metrics) and every parameter's gradient; the
//! optimizer then updates the parameters in place.

use crate::optim::Optimizer;
use myelin_core::{Error, Result, Tensor};
use myelin_graph::{profile, Executable};
use std::time::Instant;

/// What one step returns to the caller.
#[derive(Clone, Debug)]
pub struct StepOutput {
    /// The loss before the update.
    pub loss: f64,
    /// The graph's extra outputs (e.g. predictions), in order.
    pub outputs: Vec<Tensor>,
}

/// A model being trained: its parameters, its non-trainable state (such
/// as batch-norm running statistics) and the optimizer state. The step
/// graphs are separate ([`Executable`]s over the same parameters), so one
/// trainer can run a graph per batch shape (e.g. a smaller last batch).
#[derive(Clone, Debug)]
pub struct Trainer {
    /// Every graph parameter, in graph order.
    params: Vec<Tensor>,
    /// `trainable[i]`: parameter `i` is updated by the optimizer; otherwise
    /// it is state that the step graph recomputes (replaced each step).
    trainable: Vec<bool>,
    optimizer: Optimizer,
    /// Optimizer slots, one list per trainable parameter.
    state: Vec<Vec<Tensor>>,
    step: u64,
}

impl Trainer {
    /// A trainer starting from `params` (in graph order), of which those
    /// marked in `trainable` are optimized, with fresh optimizer state.
    pub fn new(params: Vec<Tensor>, trainable: Vec<bool>, optimizer: Optimizer) -> Result<Trainer> {
        if trainable.len() != params.len() {
            return Err(Error::arg(
                "trainer",
                format!(
                    "expected one trainable flag per parameter ({}), got {}",
                    params.len(),
                    trainable.len()
                ),
            ));
        }
        let learned: Vec<Tensor> = params
            .iter()
            .zip(&trainable)
            .filter(|(_, &t)| t)
            .map(|(p, _)| p.clone())
            .collect();
        let state = optimizer.init_state(&learned)?;
        Ok(Trainer {
            params,
            trainable,
            optimizer,
            state,
            step: 0,
        })
    }

    /// Runs `exe` (forward and backward) on `inputs`, then updates the
    /// parameters with learning rate `lr`. `exe` takes this trainer's
    /// parameters and outputs `[loss, extra_1 .. extra_k, grads.., states..]`:
    /// one gradient per trainable parameter and one new value per state
    /// parameter, each in graph order. `seed` drives dropout for this step.
    pub fn step(
        &mut self,
        exe: &Executable,
        extra: usize,
        inputs: &[Tensor],
        lr: f64,
        seed: u64,
    ) -> Result<StepOutput> {
        if !lr.is_finite() {
            return Err(Error::arg(
                "train_step",
                format!("expected a finite learning rate, got {lr}"),
            ));
        }
        let n = self.params.len();
        if exe.outputs().len() != 1 + extra + n || exe.graph().params().len() != n {
            return Err(Error::arg(
                "train_step",
                format!(
                    "expected a step graph over {n} parameters that outputs the loss, {extra} extra values and {n} gradients or new states, got {} parameters and {} outputs",
                    exe.graph().params().len(),
                    exe.outputs().len()
                ),
            ));
        }
        let mut outs = exe.run(inputs, &self.params, seed)?;
        let tail = outs.split_off(1 + extra);
        let n_learned = self.trainable.iter().filter(|&&t| t).count();
        let (grads, new_states) = tail.split_at(n_learned);
        let loss_t = myelin_cpu::as_type(&outs[0], myelin_core::DType::F64)?;
        let loss = loss_t.as_slice::<f64>()?.first().copied().unwrap_or(f64::NAN);
        self.step += 1;

        // Take the parameters out so the optimizer gets the trainable ones
        // as one slice (and the others get their new values).
        let all = std::mem::take(&mut self.params);
        let (mut learned, mut others) = (Vec::with_capacity(n_learned), Vec::new());
        for (p, &t) in all.into_iter().zip(&self.trainable) {
            if t {
                learned.push(p)
            } else {
                others.push(p)
            }
        }
        let started = profile::enabled().then(Instant::now);
        let result = self
            .optimizer
            .update(&mut learned, grads, &mut self.state, self.step, lr);
        if let Some(started) = started {
            let count: usize = learned.iter().map(|p| p.shape().size()).sum();
            let label = format!("optimizer {} [{count} values]", self.optimizer.name());
            profile::record(label, started.elapsed());
        }
        let mut new_states = new_states.iter();
        let (mut learned, mut others) = (learned.into_iter(), others.into_iter());
        for &t in &self.trainable {
            let p = if t {
                learned.next()
            } else {
                others.next();
                new_states.next().cloned()
            };
            self.params
                .push(p.ok_or_else(|| Error::internal("train_step", "parameter count changed"))?);
        }
        result?;
        Ok(StepOutput {
            loss,
            outputs: outs.split_off(1),
        })
    }

    /// The current parameters (shared, not copied: the next step copies a
    /// parameter before writing it if the caller still holds it).
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// Which parameters the optimizer updates.
    pub fn trainable(&self) -> &[bool] {
        &self.trainable
    }

    /// The optimizer's state tensors, per trainable parameter.
    pub fn state(&self) -> &[Vec<Tensor>] {
        &self.state
    }

    /// The number of updates applied so far.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Replaces parameters, optimizer state and step count (to resume from a
    /// checkpoint). Shapes and types must match the current ones.
    pub fn restore(&mut self, params: Vec<Tensor>, state: Vec<Vec<Tensor>>, step: u64) -> Result<()> {
        let same = |a: &Tensor, b: &Tensor| a.shape() == b.shape() && a.dtype() == b.dtype();
        let params_ok =
            params.len() == self.params.len() && params.iter().zip(&self.params).all(|(a, b)| same(a, b));
        let state_ok = state.len() == self.state.len()
            && state
                .iter()
                .zip(&self.state)
                .all(|(a, b)| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y)));
        if !params_ok || !state_ok {
            return Err(Error::arg(
                "restore",
                "the saved parameters or optimizer state do not match this model's shapes and types",
            ));
        }
        self.params = params;
        self.state = state;
        self.step = step;
        Ok(())
    }
}
