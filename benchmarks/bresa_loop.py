"""The whole Bresa 1 kHz loop on one core: physics + impedance law + task layer + critic filter.

Runs :func:`robocritic.bresa.hierarchy.run_episode` on ``robocritic/ArmPressWipe-v0`` (full
2000-tick episodes, the default perturbations) for each method, interleaved, with the shipped
critic (``robocritic/bresa/assets/press_wipe_critic.npz``), and reports the wall time per 1 ms
tick (median and min-max over the episodes) and the real-time factor ``1 ms / tick time``. One
torch thread and one BLAS thread (a 1 kHz loop runs on one pinned core).

    .venv/bin/python benchmarks/bresa_loop.py [--episodes 5]
"""

from __future__ import annotations

import argparse
import os
import platform

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import gymnasium as gym
import numpy as np
import torch

import robocritic.envs  # noqa: F401 - registers the env ids
from robocritic.bresa.collect import DEFAULT_ENV_KWARGS
from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.hierarchy import HierarchyConfig, run_episode
from robocritic.bresa.methods import build_method
from robocritic.jobs.bresa_demo import SHIPPED_CRITIC
from robocritic.jobs.bresa_eval import ENV_ID, load_risk_model

METHODS = ("none", "reflex_1khz", "minmod_1khz")
SEED0 = 950_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config, layout = HierarchyConfig(), FeatureLayout(m=2)
    critic = load_risk_model(SHIPPED_CRITIC)
    env = gym.make(ENV_ID, **DEFAULT_ENV_KWARGS)
    per_tick: dict[str, list[float]] = {m: [] for m in METHODS}
    filter_us: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
    for i in range(args.episodes + 1):  # episode 0 warms up
        for name in METHODS:
            policy, safety = build_method(name, critic, layout, config)
            trace = run_episode(env, policy, config=config, safety_filter=safety, seed=SEED0 + i)
            if i > 0:
                per_tick[name].append(trace.wall_s / trace.n_ticks * 1e6)
                filter_us[name].append(trace.filter_us)
    env.close()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}; {args.episodes} episodes of 2000 ticks per method\n")
    print("| method | tick us (median, min-max) | real-time factor | filter us p50 / p99 |")
    print("|---|---|---|---|")
    for name in METHODS:
        t = np.array(per_tick[name])
        f = np.concatenate(filter_us[name])
        print(f"| {name} | {np.median(t):.1f} ({t.min():.1f}-{t.max():.1f}) | {1000 / np.median(t):.1f}x | "
              f"{np.percentile(f, 50):.1f} / {np.percentile(f, 99):.1f} |")


if __name__ == "__main__":
    main()
