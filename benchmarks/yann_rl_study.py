"""The YANN-RL study: YANN-DDPG, DDPG, TD3, SAC and the explicit MPC on the clipped pendulum and
the safety-critical CSTR, over seeds (the comparison of the YANN-RL paper); writes results.json,
learning-curve PNGs and the table in BENCHMARKS.md (section ``yann_rl``).

    .venv/bin/python benchmarks/yann_rl_study.py [--out results/yann_rl] [--seeds 0 1 2 3 4]

Runs are resumable and finished runs are read back, so the grid can be split over several
processes (``--envs``/``--algorithms`` subsets with ``--results none``) and then aggregated by
one full invocation, which trains nothing new.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from common import RESULTS, command, machine, write_section

from robocritic.yann.comparison import format_table, run_comparison
from robocritic.yann.config import ALGORITHMS

ENVS = ("robocritic/ClippedPendulum-v0", "robocritic/SafetyCSTR-v0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("results/yann_rl"))
    parser.add_argument("--envs", nargs="+", default=list(ENVS))
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--results", default=str(RESULTS), help="BENCHMARKS.md to write, or 'none'")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    results = run_comparison(args.out, env_ids=args.envs, algorithms=args.algorithms, seeds=args.seeds)
    body = "\n".join([
        "## YANN-RL study",
        "",
        f"Machine: {machine()}. Command: `{command()}` (wall {time.perf_counter() - start:.0f} s; "
        "finished runs are read back, so this is the aggregation time when runs already exist).",
        f"Seeds {args.seeds}; mean cost of the 10 fixed test episodes before and after 50 training "
        "episodes (mean +- std over seeds), and training episodes with a safety violation. Full "
        f"per-seed numbers: `{args.out}/results.json`; learning curves: `{args.out}/curves_*.png`.",
        "",
        format_table(results),
    ])
    print(body)
    if args.results != "none":
        write_section("yann_rl", body, Path(args.results))


if __name__ == "__main__":
    main()
