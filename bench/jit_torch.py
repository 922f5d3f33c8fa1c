"""PyTorch's side of bench/run_jit.sh: the residual-GELU chain of 10
elementwise ops on 2^20 f32, eager and under torch.compile (when it works
here), and a small function's per-call cost, on 2 CPU threads."""
import torch

from timing import median_time, per_call, report

torch.set_num_threads(2)


def chain(x):
    inner = x * x * x * 0.044715 + x
    t = torch.tanh(inner * 0.7978845608)
    return (t + 1.0) * x * 0.5 + x


def small_fun(v):
    return v * 2.0 + 1.0


x = torch.randn(1 << 20)
small = torch.randn(10)
with torch.no_grad():
    report("chain10_2p20_eager_us", median_time(lambda: chain(x), 40) * 1e6, "us")
    report("small_eager_call_us", per_call(lambda: small_fun(small), 100_000) * 1e6, "us")
    try:
        compiled = torch.compile(chain)
        compiled_small = torch.compile(small_fun)
        compiled(x)
        compiled_small(small)
        report("chain10_2p20_jit_us", median_time(lambda: compiled(x), 40) * 1e6, "us")
        report("small_jit_call_us", per_call(lambda: compiled_small(small), 20_000) * 1e6, "us")
        report("chain10_10_jit_us", per_call(lambda: compiled(small), 20_000) * 1e6, "us")
    except Exception as e:  # torch.compile needs a working C++ toolchain
        print(f"# torch.compile failed: {type(e).__name__}: {e}".splitlines()[0])
