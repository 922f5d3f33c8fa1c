"""Sets Myelin's and PyTorch's figures side by side with ratios.

Usage: compare.py MYELIN_FILE TORCH_FILE. Each file holds `name value unit`
lines, a name once per round when bench/run.sh ran several rounds (the two
sides alternating, so a noisy spell on the shared machine hits both): each
side's best round is compared, and the range over rounds is shown. For times
(us, s) the ratio is torch/myelin; for rates (GB/s, GFLOP/s) it is
myelin/torch: above 1.0 means Myelin is faster either way.
"""
import sys


def load(path):
    rows = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3:
                try:
                    value = float(parts[1])
                except ValueError:
                    continue
                rows.setdefault(parts[0], ([], parts[2]))[0].append(value)
    return rows


def is_time(unit):
    return unit in ("us", "s", "ms")


def best(entry):
    values, unit = entry
    return min(values) if is_time(unit) else max(values)


def spread(entry):
    values = entry[0]
    return f"{min(values):.1f}-{max(values):.1f}" if len(values) > 1 else ""


mine, theirs = load(sys.argv[1]), load(sys.argv[2])
print(
    f"{'workload':<22} {'Myelin':>10} {'PyTorch':>10} {'unit':>8} {'speed ratio':>12}"
    f" {'Myelin range':>14} {'PyTorch range':>14}"
)
for name in sorted(set(mine) | set(theirs)):
    m = mine.get(name)
    t = theirs.get(name)
    unit = (m or t)[1]
    ratio = ""
    if m and t and best(m) > 0 and best(t) > 0:
        r = best(t) / best(m) if is_time(unit) else best(m) / best(t)
        ratio = f"{r:.2f}x"
    fmt = lambda v: f"{best(v):.3f}" if v else "-"
    rng = lambda v: spread(v) if v else ""
    print(f"{name:<22} {fmt(m):>10} {fmt(t):>10} {unit:>8} {ratio:>12} {rng(m):>14} {rng(t):>14}")
print("Best round of each side; speed ratio > 1.00x means Myelin is faster.")
