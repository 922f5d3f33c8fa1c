//! NIFs of the training engine: a trainer (parameters + optimizer state)
//! that runs whole steps of a compiled graph.
//!
//! A step runs on a dirty CPU scheduler and takes a few milliseconds; the
//! Elixir loop calls it once per batch, so the calling process stays
//! responsive between steps and a run stops when its process dies.

use crate::codec::{encode_tensor, op_name, tensor};
use crate::graph::ExecutableResource;
use crate::guard::run;
use crate::pair::Refs;
use crate::resource::TensorRef;
use myelin_core::{Error, Result, Tensor};
use myelin_nn::{Clip, Optimizer, OptimizerKind, Trainer};
use rustler::{Atom, Encoder, Env, ResourceArc, Term};
use std::sync::Mutex;

/// A trainer owned by the BEAM; freed when no process holds it.
pub struct TrainerResource(pub Mutex<Trainer>);

#[rustler::resource_impl]
impl rustler::Resource for TrainerResource {}

type TrainerRef = ResourceArc<TrainerResource>;

fn lock<'a>(t: &'a TrainerRef) -> Result<std::sync::MutexGuard<'a, Trainer>> {
    t.0.lock()
        .map_err(|_| Error::internal("trainer", "trainer lock poisoned by an earlier failure"))
}

fn tensors(list: &[TensorRef]) -> Vec<Tensor> {
    list.iter().map(|r| tensor(r).clone()).collect()
}

fn encode_list<'a>(env: Env<'a>, ts: &[Tensor]) -> Result<Term<'a>> {
    Ok(ts
        .iter()
        .map(|t| encode_tensor(env, t.clone()))
        .collect::<Result<Vec<Term>>>()?
        .encode(env))
}

/// The update rule from its name and hyperparameters (in the order
/// `Myelin.Optimizers` sends them).
fn decode_kind(name: &str, h: &[f64]) -> Result<OptimizerKind> {
    let need = |n: usize| {
        if h.len() == n {
            Ok(())
        } else {
            Err(Error::arg(
                name,
                format!("expected {n} hyperparameters, got {}", h.len()),
            ))
        }
    };
    Ok(match name {
        "sgd" => {
            need(2)?;
            OptimizerKind::Sgd {
                momentum: h[0],
                nesterov: h[1] != 0.0,
            }
        }
        "adam" | "adamw" => {
            need(3)?;
            OptimizerKind::Adam {
                b1: h[0],
                b2: h[1],
                eps: h[2],
                decoupled: name == "adamw",
            }
        }
        "rmsprop" => {
            need(4)?;
            OptimizerKind::RmsProp {
                alpha: h[0],
                eps: h[1],
                momentum: h[2],
                centered: h[3] != 0.0,
            }
        }
        "adagrad" => {
            need(2)?;
            OptimizerKind::Adagrad {
                eps: h[0],
                initial_accumulator: h[1],
            }
        }
        "lamb" => {
            need(3)?;
            OptimizerKind::Lamb {
                b1: h[0],
                b2: h[1],
                eps: h[2],
            }
        }
        other => return Err(Error::arg("optimizer", format!("unknown optimizer {other:?}"))),
    })
}

#[rustler::nif]
fn trainer_new<'a>(
    env: Env<'a>,
    params: Refs,
    trainable: Vec<bool>,
    kind: Atom,
    hyper: Vec<f64>,
    weight_decay: f64,
    clip: (Atom, f64),
) -> Term<'a> {
    run(env, "trainer_new", || {
        let kind = decode_kind(&op_name(env, "optimizer", kind)?, &hyper)?;
        let (clip, clip_value) = clip;
        let clip = match op_name(env, "optimizer", clip)?.as_str() {
            "none" => Clip::None,
            "global_norm" => Clip::GlobalNorm(clip_value),
            "value" => Clip::Value(clip_value),
            other => return Err(Error::arg("optimizer", format!("unknown clipping {other:?}"))),
        };
        let optimizer = Optimizer {
            kind,
            weight_decay,
            clip,
        };
        let trainer = Trainer::new(tensors(&params), trainable, optimizer)?;
        Ok(ResourceArc::new(TrainerResource(Mutex::new(trainer))).encode(env))
    })
}

/// One training step: `{loss, [extra outputs]}`.
#[rustler::nif(schedule = "DirtyCpu")]
fn trainer_step(
    env: Env,
    trainer: TrainerRef,
    exe: ResourceArc<ExecutableResource>,
    extra: usize,
    inputs: Refs,
    lr: f64,
    seed: u64,
) -> Term {
    run(env, "train_step", || {
        let out = lock(&trainer)?.step(&exe.0, extra, &tensors(&inputs), lr, seed)?;
        Ok((out.loss, encode_list(env, &out.outputs)?).encode(env))
    })
}

/// `{params, state, step}`: the parameters, the optimizer's state tensors
/// per parameter, and the update count.
#[rustler::nif]
fn trainer_snapshot(env: Env, trainer: TrainerRef) -> Term {
    run(env, "trainer_snapshot", || {
        let t = lock(&trainer)?;
        let state = t
            .state()
            .iter()
            .map(|slots| encode_list(env, slots))
            .collect::<Result<Vec<Term>>>()?;
        Ok((encode_list(env, t.params())?, state, t.step_count()).encode(env))
    })
}

/// Restores a snapshot (to resume training exactly).
#[rustler::nif]
fn trainer_restore(env: Env, trainer: TrainerRef, params: Refs, state: Vec<Refs>, step: u64) -> Term {
    run(env, "trainer_restore", || {
        let state = state.iter().map(|s| tensors(s)).collect();
        lock(&trainer)?.restore(tensors(&params), state, step)?;
        Ok(rustler::types::atom::ok().encode(env))
    })
}
