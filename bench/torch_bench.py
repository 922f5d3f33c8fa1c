"""PyTorch's side of bench/run.sh: the same workloads as tensor_bench.exs,
on 2 CPU threads, printing `name value unit` lines."""
import torch

from timing import median_time, per_call, report

torch.set_num_threads(2)


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
