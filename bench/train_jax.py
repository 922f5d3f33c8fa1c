"""JAX's side of bench/run_train.sh: the same training workloads as
bench/train_bench.exs on 2 CPU threads, printing `name value unit` lines.
The train step (forward, gradients, optax Adam update, and the batch's
gather from the dataset) is one jax.jit'ed function; a Python loop feeds it
the shuffled batch indices.

    bench/.venv/bin/python bench/train_jax.py mlp|cnn
"""
import os
import time
from functools import partial

import numpy as np

import train_common as tc

tc.pin_two_cores()
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads=2"
)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

OPT = optax.adam(1e-3)


def dense_init(key, fan_in, fan_out):
    """Glorot-uniform kernel and zero bias (as Myelin's dense)."""
    limit = np.sqrt(6 / (fan_in + fan_out))
    w = jax.random.uniform(key, (fan_in, fan_out), jnp.float32, -limit, limit)
    return {"w": w, "b": jnp.zeros(fan_out, jnp.float32)}


def dense(p, x):
    return x @ p["w"] + p["b"]


def mlp_init(key):
    k1, k2 = jax.random.split(key)
    return {"d1": dense_init(k1, 784, 128), "d2": dense_init(k2, 128, 10)}


def mlp_apply(p, x):
    return dense(p["d2"], jax.nn.relu(dense(p["d1"], x)))


def conv_init(key, c_in, c_out):
    limit = np.sqrt(6 / (9 * c_in + 9 * c_out))
    w = jax.random.uniform(key, (3, 3, c_in, c_out), jnp.float32, -limit, limit)
    return {"w": w, "b": jnp.zeros(c_out, jnp.float32)}


def conv_relu_pool(p, x):
    """3x3 valid conv + relu + 2x2 max pool, NHWC (Flax's layout)."""
    y = jax.lax.conv_general_dilated(
        x, p["w"], (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    y = jax.nn.relu(y + p["b"])
    return jax.lax.reduce_window(y, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def cnn_init(key):
    k = jax.random.split(key, 4)
    return {
        "c1": conv_init(k[0], 1, 32),
        "c2": conv_init(k[1], 32, 64),
        "d1": dense_init(k[2], 64 * 5 * 5, 128),
        "d2": dense_init(k[3], 128, 10),
    }


def cnn_apply(p, x):
    x = conv_relu_pool(p["c2"], conv_relu_pool(p["c1"], x.reshape(-1, 28, 28, 1)))
    return dense(p["d2"], jax.nn.relu(dense(p["d1"], x.reshape(x.shape[0], -1))))


@partial(jax.jit, static_argnums=0, donate_argnums=(1, 2))
def train_step(apply, params, opt_state, x_all, y_all, idx):
    def loss_fn(p):
        logits = apply(p, x_all[idx])
        return optax.softmax_cross_entropy_with_integer_labels(logits, y_all[idx]).mean()

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = OPT.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def train(apply, state, x, y, rng, steps=None):
    """One shuffled epoch in batches of 128 (the last one 96), or only its
    first `steps` batches; returns (params, opt_state) once computed."""
    params, opt_state = state
    perm = rng.permutation(x.shape[0]).astype(np.int32)
    starts = range(0, x.shape[0], tc.BATCH)
    for i in starts if steps is None else starts[:steps]:
        params, opt_state, _ = train_step(apply, params, opt_state, x, y, perm[i : i + tc.BATCH])
    return jax.block_until_ready((params, opt_state))


def timed(fun):
    t0 = time.perf_counter()
    out = fun()
    return time.perf_counter() - t0, out


def main():
    which = tc.mode()
    x_np, y_np, x_test_np, y_test_np = tc.fashion_mnist()
    x, y = jnp.asarray(x_np), jnp.asarray(y_np.astype(np.int32))
    rng = np.random.default_rng(0)
    key = jax.random.PRNGKey(0)

    if which == "mlp":
        params = mlp_init(key)
        state = (params, OPT.init(params))
        seconds = []
        for _ in range(1 + tc.EPOCHS):
            s, state = timed(lambda: train(mlp_apply, state, x, y, rng))
            seconds.append(s)
        rss = tc.peak_rss_mib()  # before inference, so it is the training run's
        tc.report_epochs(seconds[1:])
        tc.report("mlp_peak_rss_mib", rss, "MiB")

        predict = jax.jit(mlp_apply)
        params = state[0]
        pred = np.asarray(predict(params, jnp.asarray(x_test_np)).argmax(-1))
        tc.report("mlp_test_accuracy_pct", 100 * np.mean(pred == y_test_np), "%")
        tc.report_inference(
            lambda xb: predict(params, xb).block_until_ready(),
            jnp.asarray(x_test_np[:1]),
            jnp.asarray(x_test_np[:1024]),
        )
    else:
        params = cnn_init(key)
        state = (params, OPT.init(params))
        # Warm-up: compile the step for full batches and for the epoch's
        # last one (96 rows for the 60,000 images).
        params, opt_state = train(cnn_apply, state, x, y, rng, steps=tc.CNN_WARMUP)
        last = np.arange(x.shape[0] % tc.BATCH or tc.BATCH, dtype=np.int32)
        params, opt_state, _ = train_step(cnn_apply, params, opt_state, x, y, last)
        state = (params, opt_state)
        s, _ = timed(lambda: train(cnn_apply, state, x, y, rng))
        tc.report("cnn_epoch_s", s, "s")


main()
