"""Latency of one Bresa safety-filter tick: ReflexFilter and MinimalModificationFilter.certify.

Critic: a randomly initialised (seeded) SafetyCritic, n_in = 16 (planar arm, m = 2), twin heads
of hidden (64, 64), tanh, run as a float64 NumpyCritic. Filters: the reflex (one row per tick),
the minimal-modification filter on its default 5 x 5 grid (25 candidates) and on an 8 x 8 grid
(64 candidates, the NumpyCritic's whole ``max_batch``), and, for reference, the bare
``NumpyCritic.risk`` at batch 1 / 25 / 64. The calls cycle through a seeded list of state
features and nominal commands; the threshold is set to the median nominal risk, so the min-mod
filter searches on about half of the ticks (the reflex, once triggered, mostly stays in its
recovery: its cost per tick is the same either way, one batch-1 call plus bookkeeping).
Reports p50 / p99 / p99.9 of the wall time per call in microseconds
(``time.perf_counter_ns`` around each call), one torch thread and one BLAS thread (set before
numpy loads, unless already set, as in ``bresa_critic_latency.py``).

    .venv/bin/python benchmarks/bresa_filter_latency.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import torch

from robocritic.bresa.critic import NumpyCritic, SafetyCritic
from robocritic.bresa.features import FeatureLayout, command
from robocritic.bresa.filters import MinimalModificationFilter, ReflexFilter

LAYOUT = FeatureLayout(2)
HIDDEN = (64, 64)
N_INPUTS = 256  # distinct (state, nominal command) pairs cycled through


def _inputs(rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for _ in range(N_INPUTS):
        s = np.zeros(LAYOUT.n_state)
        s[LAYOUT.position] = (rng.uniform(0.40, 0.55), rng.uniform(-0.27, -0.24))
        s[LAYOUT.velocity] = rng.normal(0.0, 0.05, 2)
        s[LAYOUT.force] = rng.uniform(0.0, 35.0)
        s[LAYOUT.force + 1] = rng.normal(0.0, 500.0)
        s[LAYOUT.force + 2] = s[LAYOUT.force] + rng.normal(0.0, 1.0)
        s[LAYOUT.log_stiffness] = np.log(rng.uniform(300.0, 3000.0, 2))
        s[LAYOUT.error] = rng.normal(0.0, 0.01, 2)
        s[-1] = rng.uniform(0.0, 0.5)
        nominal = command(s[LAYOUT.position] + (rng.normal(0.0, 0.01), -rng.uniform(0.0, 0.03)),
                          np.log(rng.uniform(300.0, 3000.0, 2)))
        out.append((s, nominal))
    return out


def _time(fn, inputs, calls: int, warmup: int = 500) -> np.ndarray:
    n = len(inputs)
    for i in range(warmup):
        fn(*inputs[i % n])
    out = np.empty(calls)
    clock = time.perf_counter_ns
    for i in range(calls):
        s, a = inputs[i % n]
        t0 = clock()
        fn(s, a)
        out[i] = clock() - t0
    return out / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    inputs = _inputs(rng)
    critic = SafetyCritic(LAYOUT.n_in, HIDDEN, "tanh", seed=0).eval()
    critic.set_normalisation(np.stack([LAYOUT.critic_input(s, a) for s, a in inputs]))
    model = NumpyCritic.from_module(critic, max_batch=64)
    nominal_risk = np.array([model.risk(LAYOUT.critic_input(s, a)[None])[0] for s, a in inputs])
    threshold = float(np.clip(np.median(nominal_risk), 0.01, 0.99))

    reflex = ReflexFilter(model, LAYOUT, threshold=threshold)
    minmod25 = MinimalModificationFilter(model, LAYOUT, threshold=threshold)
    minmod64 = MinimalModificationFilter(model, LAYOUT, threshold=threshold,
                                         retreats=np.linspace(0.0, 0.02, 8),
                                         stiffness_scales=np.geomspace(1.0, 0.15, 8))
    batches = {b: np.random.default_rng(b).normal(size=(b, LAYOUT.n_in)) for b in (1, 25, 64)}
    cases = [(f"NumpyCritic.risk, batch {b}", (lambda x: lambda s, a: model.risk(x))(x))
             for b, x in batches.items()]
    cases += [
        ("ReflexFilter.certify", reflex.certify),
        (f"MinMod.certify, {minmod25.n_candidates} candidates", minmod25.certify),
        (f"MinMod.certify, {minmod64.n_candidates} candidates", minmod64.certify),
    ]
    rows = []
    for name, fn in cases:
        t = _time(fn, inputs, args.calls)
        rows.append((name, *np.percentile(t, [50, 99, 99.9])))
    print(f"Bresa filter tick, n_in={LAYOUT.n_in}, NumpyCritic float64 hidden={HIDDEN} x2 heads, "
          f"{args.calls} calls, 1 torch / BLAS thread, threshold={threshold:.3f}")
    print(f"machine: {platform.machine()}, {platform.processor() or platform.platform()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}")
    print(f"| {'call':<34} | p50 us | p99 us | p99.9 us |")
    print(f"|{'-' * 36}|--------|--------|----------|")
    for name, p50, p99, p999 in rows:
        print(f"| {name:<34} | {p50:6.1f} | {p99:6.1f} | {p999:8.1f} |")
    print(f"interventions: reflex {reflex.interventions} (triggers {reflex.triggers}), "
          f"min-mod 25 {minmod25.interventions}, min-mod 64 {minmod64.interventions}")


if __name__ == "__main__":
    main()
