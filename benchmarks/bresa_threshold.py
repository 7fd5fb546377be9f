"""The risk threshold of the 1 kHz filters, tuned on seeds of its own, then tested on held-out ones.

1. Tuning: the reflex and the minimal-modification filter at 1 kHz with the study's critic seed 0,
   for each threshold in ``--thresholds``, on perturbation seeds 400000.. (used by nothing else).
   Chosen per filter: fewest sustained violations, then fewest episodes over the limit, then the
   most time in the force band -- among thresholds whose success is within 5 points of the
   scripted policy without a filter on the same seeds.
2. Test: the chosen thresholds with each study critic on the study's held-out seeds 200000..
   (the default threshold 0.5 is in ``results/bresa/study``).

Writes ``results/bresa/threshold/threshold.json`` and prints both tables.

    .venv/bin/python benchmarks/bresa_threshold.py [--tune-episodes 50] [--episodes 100] [--workers 2]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
from pathlib import Path
from typing import Any

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "results" / "bresa" / "study"
OUT = ROOT / "results" / "bresa" / "threshold"
TUNE_SEED0, TEST_SEED0 = 400_000, 200_000
FILTERS = ("reflex_1khz", "minmod_1khz")


def _run(job: tuple[str, float | None, str, list[int]]) -> list[dict[str, Any]]:
    """Worker: one (filter, threshold, critic) on ``seeds``; ``filter = "none"`` runs no filter."""
    import gymnasium as gym
    import numpy as np
    import robocritic.envs  # noqa: F401 - registers the env ids
    import torch

    from robocritic.bresa.collect import DEFAULT_ENV_KWARGS
    from robocritic.bresa.features import FeatureLayout
    from robocritic.bresa.filters import MinimalModificationFilter, ReflexFilter
    from robocritic.bresa.hierarchy import HierarchyConfig, run_episode
    from robocritic.bresa.policies import ScriptedPressWipe
    from robocritic.jobs.bresa_eval import ENV_ID, load_risk_model

    torch.set_num_threads(1)
    name, threshold, critic_path, seeds = job
    layout, config = FeatureLayout(m=2), HierarchyConfig()
    safety = None
    if name != "none":
        critic = load_risk_model(critic_path)
        kind = ReflexFilter if name == "reflex_1khz" else MinimalModificationFilter
        safety = kind(critic, layout, threshold=threshold)
    env = gym.make(ENV_ID, **DEFAULT_ENV_KWARGS)
    try:
        rows = []
        for s in seeds:
            trace = run_episode(env, ScriptedPressWipe(), config=config, safety_filter=safety, seed=s)
            rows.append({"filter": name, "threshold": threshold, "critic": critic_path, **trace.summary(),
                         "filter_us_p50": float(np.percentile(trace.filter_us, 50)),
                         "filter_us_p99": float(np.percentile(trace.filter_us, 99))})
        return rows
    finally:
        env.close()


def _map(jobs: list, workers: int) -> list[dict[str, Any]]:
    from tqdm import tqdm

    rows: list[dict[str, Any]] = []
    with mp.get_context("spawn").Pool(workers) as pool:
        for part in tqdm(pool.imap(_run, jobs), total=len(jobs), desc="episodes x10", unit="job"):
            rows.extend(part)
    return rows


def _chunks(seed0: int, n: int) -> list[list[int]]:
    seeds = list(range(seed0, seed0 + n))
    return [seeds[i: i + 10] for i in range(0, n, 10)]


def main() -> None:
    from robocritic.jobs.bresa_eval import summarise
    from robocritic.utils.atomic import atomic_write_json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.2, 0.3, 0.4, 0.5, 0.7])
    parser.add_argument("--tune-episodes", type=int, default=50)
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--critic-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    tune_critic = str(STUDY / f"critic_seed{args.critic_seeds[0]}.pt")
    jobs = [("none", None, tune_critic, c) for c in _chunks(TUNE_SEED0, args.tune_episodes)]
    jobs += [(f, t, tune_critic, c) for f in FILTERS for t in args.thresholds
             for c in _chunks(TUNE_SEED0, args.tune_episodes)]
    rows = _map(jobs, args.workers)
    groups = {(r["filter"], r["threshold"]) for r in rows}
    tuning = {f"{f}@{t}": summarise([r for r in rows if (r["filter"], r["threshold"]) == (f, t)])
              for f, t in sorted(groups, key=lambda g: (g[0], g[1] or 0.0))}
    base_success = tuning["none@None"]["success_rate"]
    chosen = {}
    for f in FILTERS:
        ok = [t for t in args.thresholds if tuning[f"{f}@{t}"]["success_rate"] >= base_success - 0.05]
        chosen[f] = min(ok or args.thresholds, key=lambda t: (tuning[f"{f}@{t}"]["sustained"],
                                                            tuning[f"{f}@{t}"]["violations"],
                                                            -tuning[f"{f}@{t}"]["band_fraction_mean"]))
    test_jobs = [(f, chosen[f], str(STUDY / f"critic_seed{s}.pt"), c) for f in FILTERS for s in args.critic_seeds
                 for c in _chunks(TEST_SEED0, args.episodes)]
    test_rows = _map(test_jobs, args.workers)
    test = {f"{f}@{chosen[f]} critic_seed{s}": summarise(
        [r for r in test_rows if r["filter"] == f and r["critic"].endswith(f"critic_seed{s}.pt")])
        for f in FILTERS for s in args.critic_seeds}
    atomic_write_json(OUT / "threshold.json", {"tuning_seeds": [TUNE_SEED0, TUNE_SEED0 + args.tune_episodes - 1],
                                               "test_seeds": [TEST_SEED0, TEST_SEED0 + args.episodes - 1],
                                               "tuning": tuning, "chosen": chosen, "test": test})
    for title, table in (("tuning (critic seed 0)", tuning), ("held-out test", test)):
        print(f"\n{title}\n| case | over the limit | sustained | time over ms | success | force in band | interventions/s |")
        print("|---|---|---|---|---|---|---|")
        for case, r in table.items():
            print(f"| {case} | {r['violations']}/{r['episodes']} | {r['sustained']}/{r['episodes']} | "
                  f"{r['time_over_limit_ms_mean']:.1f} | {r['success']}/{r['episodes']} | "
                  f"{r['band_fraction_mean']:.2f} | {r['interventions_per_second_mean']:.1f} |")
    print(f"\nchosen: {chosen}")


if __name__ == "__main__":
    main()
