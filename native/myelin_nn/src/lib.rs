//! Training on top of the graph IR.
//!
//! * [`optim`]: the optimizers (SGD with momentum/Nesterov, Adam, AdamW,
//!   RMSprop, Adagrad, LAMB), weight decay and gradient clipping, each one
//!   fused loop over all parameters, updating them in place.
//! * [`Trainer`]: a planned forward + backward graph, the parameters and the
//!   optimizer state; one call runs a whole training step.

pub mod optim;
mod trainer;

pub use optim::{Clip, Optimizer, OptimizerKind};
pub use trainer::{StepOutput, Trainer};
