"""PyTorch's side of bench/run.sh: the same workloads as tensor_bench.exs,
on 2 CPU threads, printing `name value unit` lines."""
import time

import torch

torch.set_num_threads(2)


def median_time(fn, reps):
    for _ in range(max(reps // 10, 1)):
        fn()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return sorted(samples)[reps // 2]


def per_call(fn, n):
    for _ in range(1000):
        fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def report(name, value, unit):
    print(f"{name} {value:.3f} {unit}")


one = torch.tensor([1.0])
report("small_op_negate_us", per_call(lambda: torch.neg(one), 200_000) * 1e6, "us")
report("small_op_add_us", per_call(lambda: torch.add(one, one), 200_000) * 1e6, "us")

n = 1 << 24
a = torch.rand(n)
b = torch.rand(n)
copy_s = median_time(lambda: a.clone(), 20)
report("memcpy_gbs", 2 * 4 * n / copy_s / 1e9, "GB/s")
add_s = median_time(lambda: torch.add(a, b), 20)
report("add_2p24_gbs", 3 * 4 * n / add_s / 1e9, "GB/s")

for size in (128, 512, 2048):
    x = torch.rand(size, size)
    y = torch.rand(size, size)
    reps = 5 if size == 2048 else 30
    s = median_time(lambda: torch.mm(x, y), reps)
    report(f"gemm_{size}_gflops", 2 * size**3 / s / 1e9, "GFLOP/s")
