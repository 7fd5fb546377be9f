"""NavDP in closed loop against the baselines on held-out worlds, per world preset.

Methods (``robocritic.jobs.navdp_eval``): straight-to-goal with an emergency stop, DWA on a costmap
built from the same depth, NavDP (critic score plus goal progress, the default selection), NavDP
with the critic's score alone (the goal-blind ablation), NavDP's first sample (no critic), and the
privileged expert (an upper bound). Paired episodes: every method gets the same worlds, starts and
goals. The model is the shipped ``robocritic/navdp/assets/navdp_small.pt`` unless ``--checkpoint``
names another. World seeds from 5000 were never used for training or tuning
(``scripts/train_navdp.sh`` trains on worlds 0-399 and checks on 1000-1019; the selection's
progress weight was tuned on worlds 7000-7029).

Writes ``OUT/<preset>/`` (episodes.json, summary.json, plots) and ``OUT/study.json``, and prints a
table; ``OUT`` is ``results/navdp/study`` unless ``--out`` names another folder (e.g. for another
model, so that the shipped model's results stay).

    .venv/bin/python benchmarks/navdp_study.py [--worlds 5000-5029] [--presets default dense] [--workers 2] \
        [--checkpoint MODEL.pt --out results/navdp/study_MODEL]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread per process: the workers share the cores

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "navdp" / "study"
METHODS = ("straight", "dwa", "navdp", "navdp_critic_only", "navdp_first", "expert")


def main() -> None:
    from robocritic.jobs.navdp_eval import evaluate
    from robocritic.navdp.assets import small_model_path
    from robocritic.navdp.generate import parse_worlds
    from robocritic.utils.atomic import atomic_write_json

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", default="5000-5029")
    ap.add_argument("--presets", nargs="+", default=["default", "dense"])
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help=f"output folder (default {OUT.relative_to(ROOT)})")
    args = ap.parse_args()
    out = Path(args.out) if args.out else OUT
    methods = args.methods.split(",")
    checkpoint = args.checkpoint or str(small_model_path())
    record = {"command": "benchmarks/navdp_study.py " + " ".join(
        f"--{k.replace('_', '-')} {' '.join(v) if isinstance(v, list) else v}" for k, v in vars(args).items()
        if v is not None), "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "checkpoint": checkpoint, "presets": {}}
    for preset in args.presets:
        t0 = time.perf_counter()
        summary = evaluate(methods, parse_worlds(args.worlds), out / preset, checkpoint=checkpoint, preset=preset,
                           workers=args.workers)
        record["presets"][preset] = {"wall_s": time.perf_counter() - t0, "methods": summary["methods"]}
        atomic_write_json(out / "study.json", record)
    print("| preset | method | success [95 % CI] | collision | stuck | timeout | SPL (Euclidean / geodesic) | plan ms p50 / p99 |")
    print("|---|---|---|---|---|---|---|---|")
    for preset, entry in record["presets"].items():
        for name, m in entry["methods"].items():
            lo, hi = m["success_ci95"]
            print(f"| {preset} | {name} | {m['success_rate']:.2f} [{lo:.2f}, {hi:.2f}] | {m['collision_rate']:.2f} | "
                  f"{m['stuck_rate']:.2f} | {m['timeout_rate']:.2f} | {m['spl_euclidean']:.2f} / {m['spl_geodesic']:.2f} | "
                  f"{m['plan_ms_p50']:.1f} / {m['plan_ms_p99']:.1f} |")


if __name__ == "__main__":
    main()
