//! NIFs for devices: which CUDA libraries and GPUs this process can use,
//! and moving tensors between host and GPU memory. They run on dirty IO
//! schedulers: probing loads shared libraries, opening a GPU creates a
//! context, and transfers wait for the copy.

use crate::codec::{encode_tensor, tensor};
use crate::guard::run;
use crate::resource::TensorRef;
use myelin_core::Error;
use rustler::{Encoder, Env, Term};

rustler::atoms! { cpu, cuda, driver, nvrtc, cublas, ordinal, name, compute_capability, total_memory }

/// `%{driver: bool, nvrtc: bool, cublas: bool}`: the CUDA libraries found.
#[rustler::nif(schedule = "DirtyIo")]
fn cuda_libraries(env: Env) -> Term {
    run(env, "cuda_libraries", || {
        let a = myelin_cuda::availability();
        Term::map_from_pairs(
            env,
            &[
                (driver().encode(env), a.driver.encode(env)),
                (nvrtc().encode(env), a.nvrtc.encode(env)),
                (cublas().encode(env), a.cublas.encode(env)),
            ],
        )
        .map_err(|_| Error::internal("cuda_libraries", "could not build the map"))
    })
}

/// How many GPUs the driver reports: initializes the driver, creates no
/// context (cheap enough to ask at startup).
#[rustler::nif(schedule = "DirtyIo")]
fn cuda_device_count(env: Env) -> Term {
    run(env, "cuda_device_count", || {
        Ok(myelin_cuda::device_count()?.encode(env))
    })
}

/// Every GPU, as maps of ordinal, name, compute capability and memory; an
/// error saying what is missing when CUDA is not available.
#[rustler::nif(schedule = "DirtyIo")]
fn cuda_devices(env: Env) -> Term {
    run(env, "cuda_devices", || {
        myelin_cuda::availability().require("cuda_devices")?;
        let count = myelin_cuda::device_count()?;
        let mut out = Vec::with_capacity(count);
        for i in 0..count {
            let info = myelin_cuda::device_info(i)?;
            let map = Term::map_from_pairs(
                env,
                &[
                    (ordinal().encode(env), info.ordinal.encode(env)),
                    (name().encode(env), info.name.encode(env)),
                    (
                        compute_capability().encode(env),
                        info.compute_capability.encode(env),
                    ),
                    (total_memory().encode(env), info.total_memory.encode(env)),
                ],
            )
            .map_err(|_| Error::internal("cuda_devices", "could not build the map"))?;
            out.push(map);
        }
        Ok(out.encode(env))
    })
}

/// The tensor on `device` (`:cpu` or `{:cuda, ordinal}`; Elixir has
/// validated the term). No copy when it is already there.
#[rustler::nif(schedule = "DirtyIo")]
fn backend_transfer<'a>(env: Env<'a>, t: TensorRef, device: Term<'a>) -> Term<'a> {
    run(env, "backend_transfer", || {
        let t = tensor(&t);
        let moved = if let Ok(a) = device.decode::<rustler::Atom>() {
            if a != cpu() {
                return Err(Error::arg(
                    "backend_transfer",
                    "expected :cpu or {:cuda, ordinal}",
                ));
            }
            myelin_cuda::to_cpu(t)?
        } else {
            let (a, n): (rustler::Atom, usize) = device
                .decode()
                .map_err(|_| Error::arg("backend_transfer", "expected :cpu or {:cuda, ordinal}"))?;
            if a != cuda() {
                return Err(Error::arg(
                    "backend_transfer",
                    "expected :cpu or {:cuda, ordinal}",
                ));
            }
            myelin_cuda::to_device(t, n)?
        };
        encode_tensor(env, moved)
    })
}
