"""Env steps per second: robocritic's ClippedPendulum-v0 (MuJoCo, PyBullet) side by side with
Gymnasium's own Pendulum-v1 in the same run, interleaved so machine noise hits all alike.

    .venv/bin/python benchmarks/env_steps.py [--steps 5000] [--repeats 7]
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
from common import RESULTS, command, machine, stats, write_section

import robocritic.envs  # noqa: F401 -- registers the ids

CASES = {
    "Gymnasium Pendulum-v1 (reference)": ("Pendulum-v1", None),
    "robocritic ClippedPendulum-v0 (MuJoCo)": ("robocritic/ClippedPendulum-v0", "mujoco"),
    "robocritic ClippedPendulumBullet-v0 (PyBullet)": ("robocritic/ClippedPendulumBullet-v0", "pybullet"),
}


def steps_per_second(env: gym.Env, steps: int, actions: np.ndarray) -> float:
    env.reset(seed=0)
    start = time.perf_counter()
    for k in range(steps):
        _, _, terminated, truncated, _ = env.step(actions[k])
        if terminated or truncated:
            env.reset()
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--results", type=Path, default=RESULTS, help="file to write (default BENCHMARKS.md)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    actions = np.random.default_rng(0).uniform(-2, 2, size=(args.steps, 1)).astype(np.float32)
    envs = {name: gym.make(env_id) for name, (env_id, dep) in CASES.items()
            if dep is None or importlib.util.find_spec(dep) is not None}
    rates: dict[str, list[float]] = {name: [] for name in envs}
    for _ in range(args.repeats):  # interleave the cases within each repeat
        for name, env in envs.items():
            rates[name].append(steps_per_second(env, args.steps, actions))
    reference = np.array(rates["Gymnasium Pendulum-v1 (reference)"])
    lines = [
        "## Env steps per second",
        "",
        f"Machine: {machine()}. Command: `{command()}`.",
        f"{args.repeats} interleaved repeats of {args.steps} steps (TimeLimit wrapper on; random torques).",
        "Median with the interquartile range; ratio = median of per-repeat ratios to Pendulum-v1.",
        "Pendulum-v1 takes one semi-implicit Euler step in numpy per control step; robocritic's MuJoCo env "
        "takes 10 RK4 steps of 5 ms (state error vs the ODE ~2e-7) and its PyBullet env 50 steps of 1 ms "
        "(~5e-3 rad), plus input validation, delay line and cost/constraint terms in `info`.",
        "",
        "| env | steps/s median [p25, p75] | ratio to Pendulum-v1 |",
        "|---|---|---|",
    ]
    for name, values in rates.items():
        med, p25, p75 = stats(np.array(values))
        ratio = float(np.median(np.array(values) / reference))
        lines.append(f"| {name} | {med:,.0f} [{p25:,.0f}, {p75:,.0f}] | {ratio:.2f} |")
    for env in envs.values():
        env.close()
    body = "\n".join(lines)
    print(body)
    write_section("env_steps", body, args.results)


if __name__ == "__main__":
    main()
