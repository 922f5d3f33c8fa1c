//! The training step: one planned graph computes the loss, any extra
//! outputs (predictions for metrics) and every parameter's gradient; the
//! optimizer then updates the parameters in place.

use crate::optim::Optimizer;
use myelin_core::{Error, Result, Tensor};
use myelin_graph::Executable;

/// What one step returns to the caller.
#[derive(Clone, Debug)]
pub struct StepOutput {
    /// The loss before the update.
    pub loss: f64,
    /// The graph's extra outputs (e.g. predictions), in order.
    pub outputs: Vec<Tensor>,
}

/// A model being trained: its parameters and optimizer state. The step
/// graphs are separate ([`Executable`]s over the same parameters), so one
/// trainer can run a graph per batch shape (e.g. a smaller last batch).
#[derive(Clone, Debug)]
pub struct Trainer {
    params: Vec<Tensor>,
    optimizer: Optimizer,
    state: Vec<Vec<Tensor>>,
    step: u64,
}

impl Trainer {
    /// A trainer starting from `params`, with fresh optimizer state.
    pub fn new(params: Vec<Tensor>, optimizer: Optimizer) -> Result<Trainer> {
        let state = optimizer.init_state(&params)?;
        Ok(Trainer {
            params,
            optimizer,
            state,
            step: 0,
        })
    }

    /// Runs `exe` (forward and backward) on `inputs`, then updates the
    /// parameters with learning rate `lr`. `exe` must output `[loss, extra_1
    /// .. extra_k, grad_1 .. grad_n]`, one gradient per parameter, and take
    /// this trainer's parameters. `seed` drives dropout for this step.
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
                    "expected a step graph over {n} parameters that outputs the loss, {extra} extra values and {n} gradients, got {} parameters and {} outputs",
                    exe.graph().params().len(),
                    exe.outputs().len()
                ),
            ));
        }
        let mut outs = exe.run(inputs, &self.params, seed)?;
        let grads = outs.split_off(1 + extra);
        let loss_t = myelin_cpu::as_type(&outs[0], myelin_core::DType::F64)?;
        let loss = loss_t.as_slice::<f64>()?.first().copied().unwrap_or(f64::NAN);
        self.step += 1;
        self.optimizer
            .update(&mut self.params, &grads, &mut self.state, self.step, lr)?;
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

    /// The optimizer's state tensors, per parameter.
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
