"""Sets Myelin's and PyTorch's figures side by side with ratios.

Usage: compare.py MYELIN_FILE TORCH_FILE. Each file holds `name value unit`
lines. For times (us, s) the ratio is torch/myelin; for rates (GB/s,
GFLOP/s) it is myelin/torch: above 1.0 means Myelin is faster either way.
"""
import sys


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                try:
                    rows[parts[0]] = (float(parts[1]), parts[2])
                except ValueError:
                    pass
    return rows


mine, theirs = load(sys.argv[1]), load(sys.argv[2])
print(f"{'workload':<22} {'Myelin':>12} {'PyTorch':>12} {'unit':>8} {'speed ratio':>12}")
for name in sorted(set(mine) | set(theirs)):
    m = mine.get(name)
    t = theirs.get(name)
    unit = (m or t)[1]
    ratio = ""
    if m and t and m[0] > 0 and t[0] > 0:
        r = t[0] / m[0] if unit in ("us", "s", "ms") else m[0] / t[0]
        ratio = f"{r:.2f}x"
    fmt = lambda v: f"{v[0]:.3f}" if v else "-"
    print(f"{name:<22} {fmt(m):>12} {fmt(t):>12} {unit:>8} {ratio:>12}")
print("speed ratio > 1.00x means Myelin is faster.")
