"""Latency of one Bresa safety-critic evaluation: torch eager vs NumpyCritic, batch 1 and 64.

Critic: n_in = 12, twin heads of hidden (64, 64), tanh, float64 (and NumpyCritic in float32).
Reports p50 / p99 / p99.9 of the wall time per call in microseconds (``time.perf_counter_ns``
around each call). One torch thread and one BLAS thread (``OPENBLAS_NUM_THREADS`` etc. set before
numpy loads, unless already set): a multi-threaded BLAS makes the batch-64 numpy tail
milliseconds long on a busy 2-core machine, and a 1 kHz loop runs on one pinned core anyway.
Prints a table (copied by hand into BENCHMARKS.md, bresa_budget).

    .venv/bin/python benchmarks/bresa_critic_latency.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import torch

from robocritic.bresa.critic import NumpyCritic, SafetyCritic

N_IN, HIDDEN = 12, (64, 64)


def _time(fn, x, calls: int, warmup: int = 500) -> np.ndarray:
    for _ in range(warmup):
        fn(x)
    out = np.empty(calls)
    clock = time.perf_counter_ns
    for i in range(calls):
        t0 = clock()
        fn(x)
        out[i] = clock() - t0
    return out / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    critic = SafetyCritic(N_IN, HIDDEN, "tanh", seed=0).eval()
    critic.set_normalisation(np.random.default_rng(0).normal(size=(1000, N_IN)))
    critic32 = SafetyCritic(N_IN, HIDDEN, "tanh", dtype="float32", seed=0).eval()
    np64 = NumpyCritic.from_module(critic)
    np32 = NumpyCritic.from_module(critic, dtype=np.float32)

    def torch_risk(module):
        def f(x):
            with torch.inference_mode():
                return module.risk(x)
        return f

    rows = []
    for batch in (1, 64):
        x = np.random.default_rng(1).normal(size=(batch, N_IN))
        cases = [
            ("torch eager float64", torch_risk(critic), torch.from_numpy(x)),
            ("torch eager float32", torch_risk(critic32), torch.from_numpy(x.astype(np.float32))),
            ("NumpyCritic float64", np64.risk, x),
            ("NumpyCritic float32", np32.risk, x.astype(np.float32)),
        ]
        for name, fn, arg in cases:
            t = _time(fn, arg, args.calls)
            p50, p99, p999 = np.percentile(t, [50, 99, 99.9])
            rows.append((name, batch, p50, p99, p999))
    print(f"Bresa critic risk(x), n_in={N_IN}, hidden={HIDDEN} x2 heads, {args.calls} calls, 1 torch thread")
    print(f"| {'implementation':<20} | batch | p50 us | p99 us | p99.9 us |")
    print(f"|{'-' * 22}|-------|--------|--------|----------|")
    for name, batch, p50, p99, p999 in rows:
        print(f"| {name:<20} | {batch:>5} | {p50:6.1f} | {p99:6.1f} | {p999:8.1f} |")


if __name__ == "__main__":
    main()
