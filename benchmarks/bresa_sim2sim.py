"""Sim-to-sim check of a trained Bresa critic: the same methods and perturbation seeds on MuJoCo
(``robocritic/ArmPressWipe-v0``, where the critic was trained) and on PyBullet
(``robocritic/ArmPressWipeBullet-v0``, never seen by it).

Prints a side-by-side table (episodes over the limit, sustained violations, time over the limit,
peak forces, success) and writes both evaluations under ``results/bresa/sim2sim/``.

    .venv/bin/python benchmarks/bresa_sim2sim.py [--episodes 100] [--critic PATH] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from robocritic.jobs.bresa_eval import evaluate

ROOT = Path(__file__).resolve().parents[1]
ENGINES = {"MuJoCo": "robocritic/ArmPressWipe-v0", "PyBullet": "robocritic/ArmPressWipeBullet-v0"}
METHODS = ["none", "force_clamp", "reflex_20hz", "reflex_1khz", "minmod_1khz"]
SEED0 = 200_000  # the study's held-out seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--critic", default=str(ROOT / "results" / "bresa" / "study" / "critic_seed0.pt"))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    seeds = list(range(SEED0, SEED0 + args.episodes))
    out = ROOT / "results" / "bresa" / "sim2sim"
    results = {name: evaluate(METHODS, seeds, out / name.lower(), critic_path=args.critic, env_id=env_id,
                              workers=args.workers)
               for name, env_id in ENGINES.items()}
    print(f"\n{len(seeds)} seeds from {SEED0}, critic {args.critic}\n")
    print("| method | engine | over the limit | sustained | time over limit ms (mean) | peak filtered N "
          "(median / max) | peak raw N (median / max) | success | force in band |")
    print("|---|---|---|---|---|---|---|---|---|")
    for m in METHODS:
        for name, summary in results.items():
            r = summary["methods"][m]
            print(f"| {m} | {name} | {r['violations']}/{r['episodes']} | {r['sustained']}/{r['episodes']} | "
                  f"{r['time_over_limit_ms_mean']:.1f} | {r['peak_force_filtered_median']:.1f} / "
                  f"{r['peak_force_filtered_max']:.1f} | {r['peak_force_raw_median']:.1f} / "
                  f"{r['peak_force_raw_max']:.1f} | {r['success']}/{r['episodes']} | {r['band_fraction_mean']:.2f} |")


if __name__ == "__main__":
    main()
