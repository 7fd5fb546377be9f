"""The controller node's per-state path in one process: a JointState's fields through
:class:`~robocritic.nodes.controller_logic.ControllerLogic` (decoding by the profile's JointMap,
input checks, watchdog, the law, effort clipping) and out as the command message.

    .venv/bin/python benchmarks/node_shell.py [--states 20000] [--filter]

The law is a fixed gain, so what is timed is the shell around it, not a solver. The loop calls
what the checkout's controller node calls per state (``tick`` where the checkout has it, else
``command``; its command-message encoding), so pointing ``PYTHONPATH`` at another checkout times
that checkout's shell (benchmarks/node_shell_ab.py does, for an A/B comparison). ``--filter`` adds
a pass-through safety filter at the control rate (the filter stage's own cost). Prints one JSON
line: per-state wall time p50, p99 and mean [us], after a warm-up, with the GC frozen as node
executables do once set up.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import time

import numpy as np

GAINS = (30.0, 8.0)
WARMUP = 2000


class Gains:
    """u = -(k0 q + k1 dq): a law that costs next to nothing."""

    def reset(self) -> None:
        pass

    def act(self, x: np.ndarray) -> np.ndarray:
        return -(GAINS[0] * x[:1] + GAINS[1] * x[1:])


class PassThrough:
    """A safety filter that certifies every action unchanged."""

    def certify(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict]:
        return action, {}


def measure(states: int, with_filter: bool) -> dict[str, float]:
    """Per-state wall times [us] of ``states`` JointStates through the shell (after a warm-up)."""
    from robocritic.nodes.controller_logic import ControllerLogic
    from robocritic.profiles import load_profile
    from robocritic.ros.msgs.convert import numpy_to_float64_multi_array, numpy_to_joint_state, time_to_ns

    joint_map = load_profile("pendulum_sim").joint_map
    extra = {"safety_filter": PassThrough()} if with_filter else {}
    logic = ControllerLogic(
        Gains(), joint_map, effort_limits=joint_map.effort_limit, safe_command=[0.0],
        state_timeout_ns=150_000_000, control_period_ns=1_000_000, now_ns=0, **extra,
    )  # fmt: skip
    step = getattr(logic, "tick", logic.command)
    if hasattr(logic, "joints"):
        encode = logic.joints.command_message
    else:  # a checkout from before the joint I/O split: what its controller node did per command

        def encode(effort: np.ndarray):
            return numpy_to_float64_multi_array(joint_map.effort_to_robot(effort), labels=["joints"])

    total = WARMUP + states
    messages = [
        numpy_to_joint_state(["hinge"], [0.3 * math.sin(0.01 * k)], [0.05], stamp_ns=k * 1_000_000)
        for k in range(total)
    ]
    times = np.empty(total)
    gc.collect()
    gc.freeze()
    clock = time.perf_counter_ns
    for k, msg in enumerate(messages):
        start = clock()
        stamp = time_to_ns(msg.header.stamp)
        logic.on_state(msg.name, msg.position, msg.velocity, stamp, stamp)
        encode(step(stamp).effort)
        times[k] = clock() - start
    if logic.commands_sent != total or logic.rejected:
        raise SystemExit(f"the shell did not answer every state: {logic.counters()}")
    us = times[WARMUP:] / 1e3
    return {"p50_us": float(np.median(us)), "p99_us": float(np.percentile(us, 99)), "mean_us": float(us.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--states", type=int, default=20_000, help="timed states (default 20000)")
    parser.add_argument("--filter", action="store_true", help="with a pass-through safety filter")
    args = parser.parse_args()
    print(json.dumps(measure(args.states, args.filter)))


if __name__ == "__main__":
    main()
