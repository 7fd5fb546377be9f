"""Which runtime should the 1 kHz loop use for the Bresa critic: numpy forms vs ONNX Runtime.

Critic: a seeded SafetyCritic, n_in = 16 (planar arm, as ``bresa_filter_latency.py``), twin heads
of hidden (64, 64), tanh, normalisation set on random data. Runtimes, each at batch 1 (the reflex),
25 (the default min-mod grid) and 64 (an 8 x 8 grid, the target):

* ``NumpyCritic`` float64 / float32 (fused block-diagonal twins);
* ``FastCritic`` (``robocritic.bresa.fast_critic``): folded normalisation and biases, twins
  ``stacked`` as (2, B, h) or ``fused``;
* ``OnnxCritic`` (``robocritic.bresa.onnx_critic``): ONNX Runtime, preallocated IOBinding, graph
  ``fused`` or ``split`` per head, float32 and float64.

Each call is timed alone (``time.perf_counter_ns``); the (runtime, batch) cases are interleaved:
``--repeats`` rounds, each running every case for ``--calls`` calls in a freshly shuffled order,
so a burst of load from other processes lands on all cases alike. Reported: p50 / p99 / p99.9 in
microseconds over all calls of all rounds, and the spread (min..max over rounds) of the per-round
p50 and p99. Inputs cycle through 16 seeded arrays per batch; every runtime is checked against
NumpyCritic float64 (and torch) before timing. One thread everywhere: OMP/OPENBLAS/MKL_NUM_THREADS=1
before numpy loads, ``torch.set_num_threads(1)``, one ONNX Runtime intra/inter-op thread.

    .venv/bin/python benchmarks/bresa_critic_runtime.py [--calls 2000] [--repeats 7] [--quick]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import numpy as np
import torch

from robocritic.bresa.critic import NumpyCritic, SafetyCritic
from robocritic.bresa.fast_critic import FastCritic

N_IN, HIDDEN, BATCHES, N_INPUTS = 16, (64, 64), (1, 25, 64), 16


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _time(fn, inputs: list[np.ndarray], calls: int, warmup: int = 200) -> np.ndarray:
    n = len(inputs)
    for i in range(warmup):
        fn(inputs[i % n])
    out = np.empty(calls)
    clock = time.perf_counter_ns
    for i in range(calls):
        x = inputs[i % n]
        t0 = clock()
        fn(x)
        out[i] = clock() - t0
    return out / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per case per round")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds")
    parser.add_argument("--quick", action="store_true", help="200 calls x 2 rounds (smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.repeats = 200, 2
    torch.set_num_threads(1)
    critic = SafetyCritic(N_IN, HIDDEN, "tanh", seed=0).eval()
    critic.set_normalisation(np.random.default_rng(0).normal(0.5, 2.0, size=(1000, N_IN)))
    runtimes: dict[str, object] = {
        "NumpyCritic f64": NumpyCritic.from_module(critic),
        "NumpyCritic f32": NumpyCritic.from_module(critic, dtype=np.float32),
        "FastCritic stacked f64": FastCritic.from_module(critic, layout="stacked"),
        "FastCritic stacked f32": FastCritic.from_module(critic, dtype=np.float32, layout="stacked"),
        "FastCritic fused f32": FastCritic.from_module(critic, dtype=np.float32, layout="fused"),
    }
    try:
        import onnxruntime

        from robocritic.bresa.onnx_critic import OnnxCritic

        for dtype, tag in (("float32", "f32"), ("float64", "f64")):
            for layout in ("fused", "split"):
                runtimes[f"OnnxCritic {layout} {tag}"] = OnnxCritic.from_module(critic, dtype=dtype,
                                                                                layout=layout)
        ort_version = onnxruntime.__version__
    except ImportError as exc:
        print(f"(no ONNX rows: {exc})")
        ort_version = "-"

    inputs = {B: [np.random.default_rng(100 * B + k).normal(0.5, 2.0, size=(B, N_IN))
                  for k in range(N_INPUTS)] for B in BATCHES}
    x_check = np.random.default_rng(7).normal(0.5, 2.0, size=(64, N_IN))
    with torch.inference_mode():
        expected = critic.risk(torch.from_numpy(x_check)).numpy()
    errors = {name: float(np.abs(rt.risk(x_check) - expected).max()) for name, rt in runtimes.items()}

    cases = [(name, B) for name in runtimes for B in BATCHES]
    samples: dict[tuple[str, int], list[np.ndarray]] = {c: [] for c in cases}
    order_rng = np.random.default_rng(1)
    for _ in range(args.repeats):
        for k in order_rng.permutation(len(cases)):
            name, B = cases[k]
            samples[(name, B)].append(_time(runtimes[name].risk, inputs[B], args.calls))

    print(f"Bresa critic risk(x): n_in={N_IN}, hidden={HIDDEN} x2 heads, tanh; "
          f"{args.repeats} interleaved rounds x {args.calls} calls per case; one thread")
    print(f"machine: {_cpu()}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
          f"Python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"onnxruntime {ort_version}")
    print()
    print(f"| {'runtime':<24} | batch | p50 us | p99 us | p99.9 us | p50 spread   | p99 spread     "
          f"| max err vs torch |")
    print(f"|{'-' * 26}|------:|-------:|-------:|---------:|--------------|----------------"
          f"|-----------------:|")
    for B in BATCHES:
        for name in runtimes:
            rounds = samples[(name, B)]
            p50, p99, p999 = np.percentile(np.concatenate(rounds), [50, 99, 99.9])
            r50 = [np.percentile(r, 50) for r in rounds]
            r99 = [np.percentile(r, 99) for r in rounds]
            print(f"| {name:<24} | {B:>5} | {p50:6.1f} | {p99:6.1f} | {p999:8.1f} | "
                  f"{min(r50):5.1f}..{max(r50):5.1f} | {min(r99):6.1f}..{max(r99):6.1f} | "
                  f"{errors[name]:16.1e} |")


if __name__ == "__main__":
    main()
