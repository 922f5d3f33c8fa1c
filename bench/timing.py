"""Timing helpers shared by the Python benchmark scripts (the Python twin of
bench_lib.exs)."""
import time


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
    print(f"{name} {value:.3f} {unit}", flush=True)
