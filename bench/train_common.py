"""What bench/train_torch.py and bench/train_jax.py share: Fashion-MNIST from
its IDX .gz files, the run settings from the environment, the `name value
unit` output, the peak-memory reading and the inference timings."""
import gzip
import os
import re
import sys
import time

import numpy as np

BATCH = 128
DATA = os.environ.get("BENCH_DATA", "/usr/share/datasets/fashion-mnist")
EPOCHS = int(os.environ.get("BENCH_EPOCHS", "3"))
CNN_WARMUP = int(os.environ.get("BENCH_CNN_WARMUP", "20"))
INFER_CALLS = int(os.environ.get("BENCH_INFER_CALLS", "5000"))


def pin_two_cores():
    """On a machine with more than 2 cores, keep this process on 2 of them."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 2:
        os.sched_setaffinity(0, cpus[:2])


def read_idx(path):
    """An IDX file of unsigned bytes as a numpy array of its shape."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"read_idx: {path} is not an IDX file of unsigned bytes")
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def fashion_mnist():
    """(x_train, y_train, x_test, y_test): images as f32 in [0, 1], shape
    (n, 784); labels as int64 (what Myelin.Datasets.mnist gives)."""

    def images(name):
        x = read_idx(os.path.join(DATA, name))
        return (x.reshape(x.shape[0], -1).astype(np.float32)) / 255.0

    def labels(name):
        return read_idx(os.path.join(DATA, name)).astype(np.int64)

    return (
        images("train-images-idx3-ubyte.gz"),
        labels("train-labels-idx1-ubyte.gz"),
        images("t10k-images-idx3-ubyte.gz"),
        labels("t10k-labels-idx1-ubyte.gz"),
    )


def report(name, value, unit):
    print(f"{name} {value:.4f} {unit}", flush=True)


def peak_rss_mib():
    """This process's peak resident set size (VmHWM), in MiB."""
    with open("/proc/self/status") as f:
        kb = re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1)
    return int(kb) / 1024


def report_epochs(seconds):
    """seconds: the timed epochs (the warm-up one already left out)."""
    report("mlp_epoch_best_s", min(seconds), "s")
    report("mlp_epoch_median_s", sorted(seconds)[len(seconds) // 2], "s")


def report_inference(predict, x1, x1024):
    """Batch-1 latency percentiles and batch-1024 throughput of `predict`
    (which must return only once the result is computed)."""
    for _ in range(500):
        predict(x1)
    samples = []
    for _ in range(INFER_CALLS):
        t0 = time.perf_counter_ns()
        predict(x1)
        samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    pick = lambda p: samples[min(round(p * len(samples)), len(samples) - 1)]
    report("infer_b1_p50_us", pick(0.5) / 1000, "us")
    report("infer_b1_p99_us", pick(0.99) / 1000, "us")

    for _ in range(10):
        predict(x1024)
    times = []
    for _ in range(50):
        t0 = time.perf_counter_ns()
        predict(x1024)
        times.append(time.perf_counter_ns() - t0)
    median = sorted(times)[len(times) // 2]
    report("infer_b1024_samples_per_s", 1024 / (median / 1e9), "samples/s")


def mode():
    if len(sys.argv) != 2 or sys.argv[1] not in ("mlp", "cnn"):
        sys.exit(f"usage: {sys.argv[0]} mlp|cnn (got {sys.argv[1:]})")
    return sys.argv[1]
