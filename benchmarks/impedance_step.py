"""Per-call time of the Cartesian impedance law (``CartesianImpedance.torques``) at 1 kHz sizes.

Sizes: a planar arm (n = 3 joints, m = 2 task axes) and a spatial 7-DoF arm (n = 7, m = 3).
Variants, each over the same pool of seeded random states (SPD mass matrix, random Jacobian and
velocities, so no result is cached between calls):

* ``plain``: fixed gains (their range check is done once per gains object);
* ``tank+limits``: with an energy tank and per-joint torque limits;
* ``ramped gains``: a new ``ImpedanceGains`` every call, as when a 20 Hz decision is interpolated
  into per-tick gains; its construction and range check are inside the timing.

With ``--baseline REV`` every variant also runs with ``controllers/impedance.py`` as of git
revision ``REV`` (read with ``git show``, loaded beside the working tree's), interleaved, so both
rows of a variant share the machine's state.

Prints one table (median and p99 in microseconds over all calls of all repeats) and the load
average before and after; it writes no file; the figures are copied by hand into BENCHMARKS.md (bresa_budget).

    .venv/bin/python benchmarks/impedance_step.py [--calls 20000] [--repeats 3] [--baseline HEAD]
"""

from __future__ import annotations

import argparse
import gc
import os
import time

import numpy as np
import robocritic.controllers.impedance as impedance_now
from arm_env_step import load_baseline
from common import command, machine

from robocritic.interfaces import ArmState

SIZES = ((3, 2), (7, 3))
POOL = 256
WARMUP = 500


def states(n: int, m: int, rng: np.random.Generator) -> list[ArmState]:
    out = []
    for _ in range(POOL):
        a = rng.normal(size=(n, n))
        out.append(
            ArmState(
                q=rng.normal(size=n),
                qd=rng.normal(size=n),
                x=rng.normal(size=m) * 0.05,
                jacobian=rng.normal(size=(m, n)),
                mass_matrix=a @ a.T + n * np.eye(n),
                bias=rng.normal(size=n),
            )
        )
    return out


def time_calls(step, calls: int) -> np.ndarray:
    """Seconds per call of ``step(i)`` for ``i = 0..calls-1``, after a warm-up, GC off."""
    for i in range(WARMUP):
        step(i)
    times = np.empty(calls)
    gc.disable()
    try:
        for i in range(calls):
            start = time.perf_counter()
            step(i)
            times[i] = time.perf_counter() - start
    finally:
        gc.enable()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", metavar="REV", help="also time the law as of this git revision")
    args = parser.parse_args()
    versions = {"": impedance_now}
    if args.baseline:
        module = "robocritic.controllers.impedance"
        base = load_baseline(args.baseline, ((module, "controllers/impedance.py"),))[module]
        versions = {f"{args.baseline}: ": base, "now: ": impedance_now}
    load_before = os.getloadavg()
    rng = np.random.default_rng(0)
    rows = []
    for n, m in SIZES:
        pool = states(n, m, rng)
        setpoint = np.zeros(m)
        variants = {}
        for label, imp in versions.items():
            gains = imp.ImpedanceGains(np.linspace(300.0, 900.0, m), 0.8)
            ramp = imp.interpolate(
                (setpoint, imp.ImpedanceGains(np.full(m, 200.0), 0.7)),
                (setpoint, imp.ImpedanceGains(np.full(m, 1500.0))),
                50,
            )
            plain = imp.CartesianImpedance(n, m, stiffness_max=2000.0, joint_damping=0.5)
            guarded = imp.CartesianImpedance(
                n,
                m,
                stiffness_min=100.0,
                stiffness_max=2000.0,
                joint_damping=0.5,
                torque_limit=50.0,
                tank=imp.EnergyTank(initial=0.5, maximum=2.0, period=1e-3),
            )
            variants[label + "plain"] = lambda i, law=plain, pool=pool, sp=setpoint, g=gains: law.torques(
                pool[i % POOL], sp, g
            )
            variants[label + "tank+limits"] = lambda i, law=guarded, pool=pool, sp=setpoint, g=gains: law.torques(
                pool[i % POOL], sp, g
            )
            variants[label + "ramped gains"] = lambda i, law=plain, pool=pool, sp=setpoint, r=ramp, imp=imp: (
                law.torques(pool[i % POOL], sp, imp.ImpedanceGains(r.stiffness[i % 50], r.damping_ratio[i % 50]))
            )
        times = {name: [] for name in variants}
        for _ in range(args.repeats):  # interleaved, so machine noise hits every variant alike
            for name, step in variants.items():
                times[name].append(time_calls(step, args.calls))
        for name in sorted(variants, key=lambda v: (v.split(": ")[-1], v)):
            t = np.concatenate(times[name]) * 1e6
            rows.append(f"| {n} | {m} | {name} | {np.median(t):.1f} | {np.percentile(t, 99):.1f} |")
    load_after = os.getloadavg()
    print(f"Machine: {machine()}. Command: `{command()}`.")
    print(
        f"{args.repeats} repeats x {args.calls} calls per variant; load average (1, 5, 15 min) "
        f"before {load_before[0]:.2f}, {load_before[1]:.2f}, {load_before[2]:.2f}; "
        f"after {load_after[0]:.2f}, {load_after[1]:.2f}, {load_after[2]:.2f}."
    )
    print()
    print("| n | m | variant | median us | p99 us |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
