"""Per-call time of ArmPressWipe-v0 at 1 kHz physics: ``env.step(tau)`` followed by
``env.arm_state()`` (what an outside 1 kHz impedance loop does each period), median and p99 in
microseconds. Prints only; the figures are copied by hand into BENCHMARKS.md (bresa_budget).

The torque law is a written-out Cartesian force law (``tau = J' F + bias - D qd``: press 12 N down,
PD on the stroke in x) so the calls include contact. Cases, interleaved per repeat:

* ``gym.make`` env (TimeLimit, order enforcing and passive checker wrappers), step + arm_state;
* the unwrapped env, step + arm_state;
* the unwrapped env, step alone, and arm_state alone right after it (cached: the step built it);
* bare MuJoCo on the same model (``mj_step2`` + ``mj_step1``), the floor under the env.

    .venv/bin/python benchmarks/arm_env_step.py [--steps 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import mujoco
import numpy as np
import robocritic.envs  # noqa: F401 -- registers the ids
from common import command, machine
from robocritic.envs.arm.press_wipe_v0 import stroke_reference

ENV_ID = "robocritic/ArmPressWipe-v0"


def law(state, t: float) -> np.ndarray:
    v = state.jacobian @ state.qd
    f = np.array([2500.0 * (stroke_reference(t) - state.x[0]) - 100.0 * v[0], -12.0 - 40.0 * v[1]])
    return state.jacobian.T @ f + state.bias - 0.5 * state.qd


def time_env(env: gym.Env, steps: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-call ns of step + arm_state, and of each part alone."""
    u = env.unwrapped
    env.reset(seed=seed)
    both, step_only, state_only = (np.empty(steps) for _ in range(3))
    clock = time.perf_counter_ns
    state = u.arm_state()
    for k in range(steps):
        tau = law(state, u.time)
        t0 = clock()
        env.step(tau)
        t1 = clock()
        state = u.arm_state()
        t2 = clock()
        both[k], step_only[k], state_only[k] = t2 - t0, t1 - t0, t2 - t1
    return both, step_only, state_only


def time_mujoco(model: mujoco.MjModel, data: mujoco.MjData, steps: int) -> np.ndarray:
    out = np.empty(steps)
    clock = time.perf_counter_ns
    mujoco.mj_forward(model, data)
    for k in range(steps):
        t0 = clock()
        data.ctrl[:] = data.qfrc_bias
        mujoco.mj_step2(model, data)
        mujoco.mj_step1(model, data)
        out[k] = clock() - t0
    return out


def summary(name: str, ns: np.ndarray) -> str:
    us = ns / 1e3
    p50, p99, worst = np.percentile(us, [50, 99, 100])
    return f"| {name} | {p50:.1f} | {p99:.1f} | {worst:.0f} | {1e6 / us.mean():.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000, help="steps per episode (2000 = one full episode)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    wrapped = gym.make(ENV_ID)
    bare = gym.make(ENV_ID).unwrapped
    samples: dict[str, list[np.ndarray]] = {k: [] for k in (
        "gym.make env: step + arm_state", "unwrapped: step + arm_state", "unwrapped: step",
        "unwrapped: arm_state (after step)", "MuJoCo mj_step2 + mj_step1")}
    for r in range(args.repeats):
        both, _, _ = time_env(wrapped, args.steps, seed=r)
        samples["gym.make env: step + arm_state"].append(both)
        both, step_only, state_only = time_env(bare, args.steps, seed=r)
        samples["unwrapped: step + arm_state"].append(both)
        samples["unwrapped: step"].append(step_only)
        samples["unwrapped: arm_state (after step)"].append(state_only)
        samples["MuJoCo mj_step2 + mj_step1"].append(time_mujoco(bare.model, bare.data, args.steps))
    print(f"Machine: {machine()}. Command: `{command()}`.")
    print(f"{args.repeats} interleaved repeats of {args.steps} steps (1 ms physics, one step per call), "
          "pressing and wiping in contact; warm-up: none.")
    print()
    print("| case | median us | p99 us | max us | calls/s (mean) |")
    print("|---|---|---|---|---|")
    for name, runs in samples.items():
        print(summary(name, np.concatenate(runs)))
    wrapped.close()
    bare.close()


if __name__ == "__main__":
    main()
