"""MPC solve time per control step on the clipped pendulum: cvxpy (declared once, parameters)
versus OSQP and DAQP called directly, side by side in one run.

    .venv/bin/python benchmarks/mpc_solve.py [--states 400] [--repeats 5]

Each repeat times ``LinearMPC.act`` on the same seeded states for every solver in turn
(interleaved), so machine noise hits all solvers alike. ``act`` includes input checks, the QP
update, the solve, the status check and the conversion back to absolute units.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from common import RESULTS, command, machine, stats, write_section

from robocritic.controllers import LinearMPC, MPCConfig
from robocritic.dynamics import PendulumModel

SOLVERS = ("cvxpy", "osqp", "daqp")


def time_per_state(mpc: LinearMPC, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-call seconds (len(states),) and the returned inputs (len(states), n_u)."""
    mpc.reset()
    times, inputs = np.empty(len(states)), np.empty((len(states), 1))
    for i, x in enumerate(states):
        start = time.perf_counter()
        inputs[i] = mpc.act(x)
        times[i] = time.perf_counter() - start
    return times, inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--states", type=int, default=400)
    parser.add_argument("--results", type=Path, default=RESULTS, help="file to write (default BENCHMARKS.md)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)  # house rule for benchmark processes (torch is imported by the stack)
    lin = PendulumModel().linearize()
    # States along a closed-loop-like path: consecutive states are close, as in a control loop,
    # so warm starts matter the way they do on a robot.
    rng = np.random.default_rng(0)
    states = np.cumsum(rng.normal(0, 0.02, size=(args.states, 2)), axis=0)
    states = np.clip(states, [-0.4, -1.0], [0.4, 1.0])
    lines = [
        "## MPC solve time per step (clipped pendulum)",
        "",
        f"Machine: {machine()}. Command: `{command()}`.",
        f"{args.repeats} interleaved repeats over the same {args.states} states (a seeded random walk, "
        "|theta| <= 0.4, |theta_dot| <= 1); Q = I, R = 0.001, box constraints, Riccati terminal cost.",
        "Per-step time of `LinearMPC.act` in microseconds: median of the per-repeat medians, "
        "[p25, p75] of those, and the p99 over all calls. Speed-up = cvxpy median / solver median. "
        "max |du| = largest difference of u0 from the DAQP solution.",
        "",
        "| horizon | solver | median us [p25, p75] | p99 us | speed-up vs cvxpy | max abs du vs DAQP |",
        "|---|---|---|---|---|---|",
    ]
    for horizon in (2, 10):
        ctrls = {s: LinearMPC(lin, MPCConfig(horizon=horizon, Q=np.eye(2), R=[[1e-3]], solver=s)) for s in SOLVERS}
        medians = {s: [] for s in SOLVERS}
        all_times = {s: [] for s in SOLVERS}
        inputs = {}
        for s, c in ctrls.items():  # warm-up: first calls pay for set-up and caches
            time_per_state(c, states[:20])
        for _ in range(args.repeats):
            for s, c in ctrls.items():
                t, inputs[s] = time_per_state(c, states)
                medians[s].append(np.median(t))
                all_times[s].append(t)
        ref = np.median(medians["cvxpy"])
        for s in SOLVERS:
            med, p25, p75 = stats(np.array(medians[s]) * 1e6)
            p99 = np.percentile(np.concatenate(all_times[s]), 99) * 1e6
            du = np.max(np.abs(inputs[s] - inputs["daqp"]))
            lines.append(f"| {horizon} | {s} | {med:,.1f} [{p25:,.1f}, {p75:,.1f}] | {p99:,.1f} | "
                         f"{ref / np.median(medians[s]):.1f}x | {du:.1e} |")
    body = "\n".join(lines)
    print(body)
    write_section("mpc_solve", body, args.results)


if __name__ == "__main__":
    main()
