"""The whole Bresa 1 kHz loop on one core: physics + impedance law + task layer + critic filter.

Runs :func:`robocritic.bresa.hierarchy.run_episode` on ``robocritic/ArmPressWipe-v0`` (full
2000-tick episodes, the default perturbations) for each method, interleaved, with the shipped
critic (``robocritic/bresa/assets/press_wipe_critic.npz``) as ``NumpyCritic`` float64 (the form
the filters use), as ``FastCritic`` (stacked, float32 and float64) and as ``OnnxCritic`` float32
(split layout; when onnxruntime is installed), and reports the wall time per 1 ms
tick (median and min-max over the episodes) and the real-time factor ``1 ms / tick time``. One
torch thread and one BLAS thread (a 1 kHz loop runs on one pinned core).

    .venv/bin/python benchmarks/bresa_loop.py [--episodes 5] [--profile reflex_1khz]

``--profile METHOD`` instead runs that method alone (numpy critic) under :mod:`cProfile` and prints
the functions with the most own time (the profiler's overhead inflates every Python call).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import gymnasium as gym
import numpy as np
import robocritic.envs  # noqa: F401 - registers the env ids
import torch

from robocritic.bresa.collect import DEFAULT_ENV_KWARGS
from robocritic.bresa.fast_critic import FastCritic
from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.hierarchy import HierarchyConfig, run_episode
from robocritic.bresa.methods import build_method
from robocritic.jobs.bresa_demo import SHIPPED_CRITIC
from robocritic.jobs.bresa_eval import ENV_ID, load_risk_model

METHODS = ("none", "reflex_1khz", "minmod_1khz", "minmod_reflex_1khz")
SEED0 = 950_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--profile", choices=METHODS, default=None,
                        help="profile this method's loop with cProfile instead of timing every method")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config, layout = HierarchyConfig(), FeatureLayout(m=2)
    critics = {"numpy f64": load_risk_model(SHIPPED_CRITIC)}
    for dtype in (np.float32, np.float64):
        critics[f"fast f{np.dtype(dtype).itemsize * 8}"] = FastCritic(critics["numpy f64"], dtype=dtype)
    try:
        from robocritic.bresa.onnx_critic import OnnxCritic

        critics["onnx f32"] = OnnxCritic.from_module(critics["numpy f64"], dtype="float32", layout="split")
    except ImportError:
        print("onnxruntime missing: numpy only")
    env = gym.make(ENV_ID, **DEFAULT_ENV_KWARGS)
    if args.profile is not None:
        profile(env, args.profile, critics["numpy f64"], layout, config, args.episodes)
        return
    cases = [("none", "numpy f64")] + [(m, r) for m in METHODS[1:] for r in critics]
    per_tick: dict[tuple[str, str], list[float]] = {c: [] for c in cases}
    filter_us: dict[tuple[str, str], list[np.ndarray]] = {c: [] for c in cases}
    for i in range(args.episodes + 1):  # episode 0 warms up
        for name, runtime in cases:
            policy, safety = build_method(name, critics[runtime], layout, config)
            trace = run_episode(env, policy, config=config, safety_filter=safety, seed=SEED0 + i)
            if i > 0:
                per_tick[name, runtime].append(trace.wall_s / trace.n_ticks * 1e6)
                filter_us[name, runtime].append(trace.filter_us)
    env.close()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}; {args.episodes} episodes of 2000 ticks per method\n")
    print("| method | critic | tick us (median, min-max) | real-time factor | filter us p50 / p99 |")
    print("|---|---|---|---|---|")
    for name, runtime in cases:
        t = np.array(per_tick[name, runtime])
        f = np.concatenate(filter_us[name, runtime])
        print(f"| {name} | {runtime if name != 'none' else '-'} | {np.median(t):.1f} ({t.min():.1f}-{t.max():.1f}) | "
              f"{1000 / np.median(t):.1f}x | {np.percentile(f, 50):.1f} / {np.percentile(f, 99):.1f} |")


def profile(env: gym.Env, name: str, critic: object, layout: FeatureLayout, config: HierarchyConfig,
            episodes: int) -> None:
    """``episodes`` episodes of method ``name`` under cProfile (after one warm-up), top 25 by own time."""
    profiler = cProfile.Profile()
    for i in range(episodes + 1):
        policy, safety = build_method(name, critic, layout, config)
        if i > 0:
            profiler.enable()
        run_episode(env, policy, config=config, safety_filter=safety, seed=SEED0 + i)
        profiler.disable()
    env.close()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
