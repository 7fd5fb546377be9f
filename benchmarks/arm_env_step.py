"""Per-call time of ArmPressWipe-v0 at 1 kHz physics: ``env.step(tau)`` followed by
``env.arm_state()`` (what an outside 1 kHz impedance loop does each period), median and p99 in
microseconds, a breakdown of the step into its parts, and the whole Bresa tick. Prints only; the
figures are copied by hand into BENCHMARKS.md (bresa_budget).

The torque law is a written-out Cartesian force law (``tau = J' F + bias - D qd``: press 12 N down,
PD on the stroke in x) so the calls include contact. Cases, interleaved per repeat:

* ``gym.make`` env (TimeLimit, order enforcing and passive checker wrappers), step + arm_state;
* the unwrapped env, step + arm_state;
* the unwrapped env, step alone, and arm_state alone right after it (cached: the step built it);
* parts of the step, each timed once per step on the state the step left (they do not change it):
  ``_prepare_action`` (validation, saturation, delay line), ``arm_state`` rebuilt (Jacobian, mass
  matrix, bias, wrench), ``_cost_info``, ``_force_info`` and the observation; the rest of a step
  is the physics (``mj_step2`` + ``mj_step1``) and the sensor copies between them;
* bare MuJoCo on the same model (``mj_step2`` + ``mj_step1``), the floor under the env;
* the Bresa tick: ``robocritic.bresa.hierarchy.run_episode`` wall time per tick (task policy,
  ramp, features, impedance law, ``env.step`` and the recording; no safety filter) with the
  scripted policy and with the exploration policy (a new gains object most ticks).

With ``--baseline REV`` every case also runs on the env, the impedance law and the env bases as
of git revision ``REV`` (read with ``git show``, loaded beside the working tree's), interleaved,
so the two columns share the machine's state.

    .venv/bin/python benchmarks/arm_env_step.py [--steps 2000] [--repeats 5] [--baseline HEAD]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import robocritic.envs  # noqa: F401 -- registers the ids
from common import ROOT, command, machine
from robocritic.envs.arm.press_wipe_v0 import stroke_reference

from robocritic.bresa import hierarchy
from robocritic.bresa.policies import ExplorationPolicy, ScriptedPressWipe

ENV_ID = "robocritic/ArmPressWipe-v0"
BASELINE_ID = "robocritic-baseline/ArmPressWipe-v0"
#: The modules a baseline replaces, in import order (each may import the ones before it).
BASELINE_MODULES = (
    ("robocritic.controllers.impedance", "controllers/impedance.py"),
    ("robocritic.envs.base.robocritic_env", "envs/base/robocritic_env.py"),
    ("robocritic.envs.base.mujoco_env", "envs/base/mujoco_env.py"),
    ("robocritic.envs.arm.model", "envs/arm/model.py"),
    ("robocritic.envs.arm.task", "envs/arm/task.py"),
    ("robocritic.envs.arm.mujoco_arm", "envs/arm/mujoco_arm.py"),
    ("robocritic.envs.arm.press_wipe_v0", "envs/arm/press_wipe_v0.py"),
)


def load_baseline(rev: str, modules=BASELINE_MODULES) -> dict[str, types.ModuleType]:
    """``modules`` as of git revision ``rev``, as fresh module objects. While they load, each one
    stands in ``sys.modules`` under its real name, so the later ones import the baseline versions
    of the earlier ones; the working tree's modules are put back afterwards."""
    out: dict[str, types.ModuleType] = {}
    saved = {name: sys.modules.get(name) for name, _ in modules}
    tmp = Path(tempfile.mkdtemp(prefix="robocritic-baseline-"))
    try:
        for name, path in modules:
            source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True,
                                    capture_output=True, text=True).stdout
            file = tmp / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(source)
            spec = importlib.util.spec_from_file_location(name, file)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            out[name] = module
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return out


def law(state, t: float) -> np.ndarray:
    v = state.jacobian @ state.qd
    f = np.array([2500.0 * (stroke_reference(t) - state.x[0]) - 100.0 * v[0], -12.0 - 40.0 * v[1]])
    return state.jacobian.T @ f + state.bias - 0.5 * state.qd


def time_env(env: gym.Env, steps: int, seed: int, parts: dict[str, np.ndarray] | None = None):
    """Per-call ns of step + arm_state, and of each part alone (``parts``: filled per step)."""
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
        if parts is not None:
            x = u._true_state()
            saturations = u.action_saturation_count
            t0 = clock()
            u._prepare_action(tau)  # delay line: one in, one out
            t1 = clock()
            u.action_saturation_count = saturations
            u._arm_state_cache = None
            state = u.arm_state()
            t2 = clock()
            u._cost_info(x, tau, 0.0, unsafe=False)
            t3 = clock()
            u._force_info()
            t4 = clock()
            u._observe(u._get_obs())
            t5 = clock()
            for name, ns in (("_prepare_action", t1 - t0), ("arm_state rebuilt", t2 - t1),
                             ("_cost_info", t3 - t2), ("_force_info", t4 - t3), ("observation", t5 - t4)):
                parts.setdefault(name, []).append(ns)
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


@contextlib.contextmanager
def hierarchy_law(module: types.ModuleType | None):
    """Run the hierarchy with the impedance law of ``module`` (``None``: the working tree's)."""
    if module is None:
        yield
        return
    names = ("CartesianImpedance", "ImpedanceGains", "interpolate")
    saved = {name: getattr(hierarchy, name) for name in names}
    try:
        for name in names:
            setattr(hierarchy, name, getattr(module, name))
        yield
    finally:
        for name, value in saved.items():
            setattr(hierarchy, name, value)


def time_tick(env: gym.Env, policy, seed: int, impedance: types.ModuleType | None) -> float:
    """Wall ns per tick of one run_episode."""
    with hierarchy_law(impedance):
        trace = hierarchy.run_episode(env, policy, seed=seed)
    return trace.wall_s * 1e9 / trace.n_ticks


def summary(name: str, ns: np.ndarray) -> str:
    us = np.asarray(ns, dtype=np.float64) / 1e3
    p50, p99, worst = np.percentile(us, [50, 99, 100])
    return f"| {name} | {p50:.1f} | {p99:.1f} | {worst:.0f} | {1e6 / us.mean():.0f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000, help="steps per episode (2000 = one full episode)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", metavar="REV", help="also time the code as of this git revision")
    args = parser.parse_args()
    versions: dict[str, tuple[str, types.ModuleType | None]] = {"": (ENV_ID, None)}
    if args.baseline:
        base = load_baseline(args.baseline)
        gym.register(id=BASELINE_ID, entry_point=base["robocritic.envs.arm.press_wipe_v0"].ArmPressWipeEnv,
                     max_episode_steps=2000)
        versions = {f"{args.baseline}: ": (BASELINE_ID, base["robocritic.controllers.impedance"]),
                    "now: ": (ENV_ID, None)}
    samples: dict[str, dict[str, list]] = {}  # case -> version label -> runs
    envs = {label: (gym.make(env_id), gym.make(env_id).unwrapped, impedance)
            for label, (env_id, impedance) in versions.items()}
    for r in range(args.repeats):
        for label, (wrapped, bare, impedance) in envs.items():
            def add(case: str, values, label=label) -> None:
                samples.setdefault(case, {}).setdefault(label, []).append(np.atleast_1d(values))
            both, _, _ = time_env(wrapped, args.steps, seed=r)
            add("gym.make env: step + arm_state", both)
            parts: dict[str, list] = {}
            both, step_only, state_only = time_env(bare, args.steps, seed=r, parts=parts)
            add("unwrapped: step + arm_state", both)
            add("unwrapped: step", step_only)
            add("unwrapped: arm_state (after step)", state_only)
            for name, ns in parts.items():
                add(f"part of step: {name}", ns)
            add("MuJoCo mj_step2 + mj_step1", time_mujoco(bare.model, bare.data, args.steps))
            add("Bresa tick, scripted policy (run_episode)", time_tick(wrapped, ScriptedPressWipe(), r, impedance))
            add("Bresa tick, exploration policy (run_episode)", time_tick(wrapped, ExplorationPolicy(), r, impedance))
    print(f"Machine: {machine()}. Command: `{command()}`.")
    print(f"{args.repeats} interleaved repeats of {args.steps} steps (1 ms physics, one step per call), "
          "pressing and wiping in contact; warm-up: none. Bresa ticks: one 2000-tick episode per repeat "
          "and policy, so their columns are over the repeats' per-tick means.")
    print()
    print("| case | median us | p99 us | max us | calls/s (mean) |")
    print("|---|---|---|---|---|")
    for case, runs in samples.items():
        for label, values in runs.items():
            print(summary(label + case, np.concatenate(values)))
    for wrapped, bare, _ in envs.values():
        wrapped.close()
        bare.close()


if __name__ == "__main__":
    main()
