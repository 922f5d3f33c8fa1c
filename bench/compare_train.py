"""Sets Myelin's, PyTorch's and JAX's training figures side by side, with
the ratios and issue 3's targets, as a Markdown table.

Usage: compare_train.py MYELIN_FILE TORCH_FILE JAX_FILE. Each file holds
`name value unit` lines, or `name n/a reason` for a figure that could not
be measured. Ratios are Myelin's figure over the other's: below 1.00 is
better for times and memory, above 1.00 for samples/s.
"""
import sys

# name, label, and the target as (text, check(myelin, torch, jax) -> bool).
ROWS = [
    ("mlp_epoch_median_s", "MLP epoch, median",
     ("≤ 0.7x PyTorch and < JAX", lambda m, t, j: m <= 0.7 * t and m < j)),
    ("mlp_epoch_best_s", "MLP epoch, best", None),
    ("cnn_epoch_s", "CNN epoch", ("≤ 0.7x PyTorch", lambda m, t, j: m <= 0.7 * t)),
    ("infer_b1_p50_us", "predict batch 1, p50", ("≤ 12 µs", lambda m, t, j: m <= 12)),
    ("infer_b1_p99_us", "predict batch 1, p99", None),
    ("infer_b1024_samples_per_s", "predict batch 1024", ("≥ PyTorch", lambda m, t, j: m >= t)),
    ("mlp_peak_rss_mib", "MLP training peak RSS", ("< PyTorch", lambda m, t, j: m < t)),
    ("mlp_test_accuracy_pct", "MLP test accuracy (check)", None),
]


def load(path):
    """{name: (value or None, unit or reason)}"""
    rows = {}
    with open(path) as f:
        for line in f:
            parts = line.split(maxsplit=2)
            if len(parts) < 3:
                continue
            try:
                rows[parts[0]] = (float(parts[1]), parts[2].strip())
            except ValueError:
                if parts[1] == "n/a":
                    rows[parts[0]] = (None, "n/a (" + parts[2].strip() + ")")
    return rows


def fmt(entry):
    if entry is None:
        return "-"
    value, unit = entry
    if value is None:
        return unit
    if unit == "samples/s":
        return f"{value:,.0f}"
    if unit in ("MiB", "us"):
        return f"{value:.1f}"
    if unit == "%":
        return f"{value:.2f}"
    return f"{value:.3f}"


def ratio(m, other):
    if m and other and m[0] and other[0]:
        return f"{m[0] / other[0]:.2f}"
    return "-"


def verdict(target, m, t, j):
    """The target and whether Myelin meets it; "not measured" when a figure
    it compares is missing (a NaN makes every comparison false)."""
    if not target:
        return ""
    text, check = target
    value = lambda e: e[0] if e and e[0] is not None else None
    needed = [m] + ([t] if "PyTorch" in text else []) + ([j] if "JAX" in text else [])
    if any(value(e) is None for e in needed):
        return f"{text}: not measured"
    nan = float("nan")
    met = check(*[value(e) if value(e) is not None else nan for e in (m, t, j)])
    return f"{text}: **{'met' if met else 'not met'}**"


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: compare_train.py MYELIN_FILE TORCH_FILE JAX_FILE")
    mine, torch, jax = (load(p) for p in sys.argv[1:])
    print("| workload | Myelin | PyTorch | JAX | unit | Myelin/PyTorch | Myelin/JAX | target |")
    print("|---|---:|---:|---:|---|---:|---:|---|")
    for name, label, target in ROWS:
        m, t, j = mine.get(name), torch.get(name), jax.get(name)
        if not (m or t or j):
            continue
        measured = [e for e in (m, t, j) if e and e[0] is not None]
        unit = measured[0][1].replace("us", "µs") if measured else ""
        print(f"| {label} | {fmt(m)} | {fmt(t)} | {fmt(j)} | {unit} | "
              f"{ratio(m, t)} | {ratio(m, j)} | {verdict(target, m, t, j)} |")
    print()
    print("Ratios are Myelin's figure over the other's: below 1.00 is better for "
          "times and memory, above 1.00 for samples/s.")


main()
