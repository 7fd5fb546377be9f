"""Bresa: a SAC task policy trained with and without the 1 kHz reflex filter in the loop.

Question: does the 1 kHz safety filter keep a LEARNING task policy safe while it trains
(cumulative training violations), and does the learned policy then do the task as well as the
scripted one?

1. Critic: ``--critic`` (default ``results/bresa/study/critic_seed0.pt`` of
   ``benchmarks/bresa_study.py``); if missing, a quick one is collected and trained here.
2. Training: SAC (:mod:`robocritic.bresa.task_rl`) on the task-level env (20 Hz decisions,
   the collection perturbations: surface 0-3 cm, contact stiffness x0.5-2, 20-50 N pushes), for
   each seed in ``--seeds`` and each condition -- ``sac`` (no filter; a fixed reward penalty of
   10 per unsafe tick), ``sac-lagrangian`` (no filter; the penalty is a Lagrange multiplier
   raised by 0.5 per unsafe tick of each episode) and ``sac+reflex_1khz`` (the reflex filter every
   1 ms tick, during training) -- with the same episode budget.
   Counted: unsafe 1 ms ticks and episodes with a violation, over all of training.
3. Evaluation on held-out perturbation seeds 300000.. (never used in training): each trained
   policy deployed without a filter and with the reflex filter, and the scripted policy (the
   ``none`` and ``reflex_1khz`` methods): success, violating episodes, unsafe ticks, task cost.

Prints a table and writes ``results/bresa/task_rl/task_rl.json`` (run folders, resumable, under
``results/bresa/task_rl/runs/``).

    .venv/bin/python benchmarks/bresa_task_rl.py [--episodes 150] [--seeds 0 1 2] [--workers 2]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread per process: two processes share 2 cores

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "bresa" / "task_rl"
EVAL_SEED0 = 300_000
CONDITIONS: dict[str, dict] = {"sac": {"filter": "none"},
                               "sac-lagrangian": {"filter": "none", "lagrangian_lr": 0.5},
                               "sac+reflex_1khz": {"filter": "reflex_1khz"}}


def _train(job: tuple[str, int, int, str]) -> dict:
    import torch

    from robocritic.bresa.task_rl import TaskRLConfig, train_task_policy

    torch.set_num_threads(1)
    cond, seed, episodes, critic = job
    cfg = TaskRLConfig(**CONDITIONS[cond], critic_path=critic, episodes=episodes)
    t0 = time.perf_counter()
    res = train_task_policy(cfg, seed, OUT / "runs" / f"{cond}_s{seed}", progress=False, tensorboard=False)
    m = res.metrics
    return {"condition": cond, "seed": seed, "episodes": m.episodes_done,
            "train_unsafe_ticks": m.training_violation_steps, "train_violating_episodes": m.training_violations,
            "train_interventions": int(sum(res.interventions)), "train_successes": int(sum(res.successes)),
            "train_cost_last10": float(np.mean(m.curve.train_cost[-10:])), "wall_s": time.perf_counter() - t0,
            "config": cfg.to_json()}


def _evaluate(job: tuple[str, int | None, str, str, list[int]]) -> dict:
    import torch

    from robocritic.bresa.hierarchy import HierarchyConfig
    from robocritic.bresa.policies import ScriptedPressWipe
    from robocritic.bresa.task_rl import evaluate_task_policy, load_task_policy

    torch.set_num_threads(1)
    cond, seed, deploy, critic, seeds = job
    if cond == "scripted":
        policy = ScriptedPressWipe(  # as robocritic.bresa.methods builds it
            decision_period=HierarchyConfig().decision_ticks * 0.001)
    else:
        policy = load_task_policy(OUT / "runs" / f"{cond}_s{seed}")
    rows = evaluate_task_policy(policy, seeds, method=deploy, critic_path=critic)
    return {"condition": cond, "seed": seed, "deploy_filter": deploy,
            "success": float(np.mean([r["success"] for r in rows])),
            "violating_episodes": int(sum(r["violated"] for r in rows)),
            "unsafe_ticks": float(np.mean([r["unsafe_ticks"] for r in rows])),
            "cost": float(np.mean([r["cost"] for r in rows])),
            "band_fraction": float(np.mean([r["band_fraction"] for r in rows])),
            "mean_path_error": float(np.mean([r["mean_path_error"] for r in rows])),
            "n": len(rows)}


def _ensure_critic(path: Path, workers: int) -> Path:
    if path.exists():
        return path
    from robocritic.bresa.collect import collect, concat_datasets
    from robocritic.bresa.critic import save_critic
    from robocritic.bresa.train import train_critic

    print(f"{path} missing: collecting and training a quick critic")
    ds = concat_datasets([collect(40, seed=0, policy="exploration", workers=workers, progress=False),
                          collect(20, seed=1000, policy="scripted", workers=workers, progress=False)])
    critic, _ = train_critic(ds, horizon_ms=30, epochs=5, seed=0)
    out = OUT / "critic.pt"
    out.parent.mkdir(parents=True, exist_ok=True)
    save_critic(critic, out)
    return out


def _ms(values: list[float]) -> str:
    a = np.asarray(values, dtype=float)
    return f"{a.mean():.1f} ± {a.std(ddof=1):.1f}" if a.size > 1 else f"{a.mean():.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=150, help="training episodes per run (2 s each)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--eval-episodes", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--critic", type=Path, default=ROOT / "results" / "bresa" / "study" / "critic_seed0.pt")
    args = ap.parse_args()
    t0 = time.perf_counter()
    critic = str(_ensure_critic(args.critic, args.workers))
    eval_seeds = list(range(EVAL_SEED0, EVAL_SEED0 + args.eval_episodes))
    train_jobs = [(c, s, args.episodes, critic) for s in args.seeds for c in CONDITIONS]
    eval_jobs = [(c, s, d, critic, eval_seeds) for c in CONDITIONS for s in args.seeds for d in ("none", "reflex_1khz")]
    eval_jobs += [("scripted", None, d, critic, eval_seeds) for d in ("none", "reflex_1khz")]
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(args.workers) as pool:
        trained = list(pool.imap(_train, train_jobs))
        evaluated = list(pool.imap(_evaluate, eval_jobs))

    print(f"\nTraining ({args.episodes} episodes of 2 s per run, seeds {args.seeds}; mean ± sd over seeds)")
    print(f"{'condition':<18} {'unsafe ticks':>16} {'violating eps':>14} {'interventions':>16} {'train success':>14}")
    for c in CONDITIONS:
        r = [t for t in trained if t["condition"] == c]
        print(f"{c:<18} {_ms([t['train_unsafe_ticks'] for t in r]):>16} "
              f"{_ms([t['train_violating_episodes'] for t in r]):>14} "
              f"{_ms([t['train_interventions'] for t in r]):>16} {_ms([t['train_successes'] for t in r]):>14}")
    print(f"\nHeld-out evaluation ({args.eval_episodes} perturbation seeds from {EVAL_SEED0}; learned: mean ± sd over "
          "training seeds)")
    print(f"{'policy':<18} {'deploy filter':<14} {'success':>12} {'violating eps':>14} {'unsafe ticks':>14} "
          f"{'task cost':>18}")
    for c in [*CONDITIONS, "scripted"]:
        for d in ("none", "reflex_1khz"):
            r = [e for e in evaluated if e["condition"] == c and e["deploy_filter"] == d]
            print(f"{c:<18} {d:<14} {_ms([e['success'] * 100 for e in r]) + ' %':>12} "
                  f"{_ms([e['violating_episodes'] for e in r]):>14} {_ms([e['unsafe_ticks'] for e in r]):>14} "
                  f"{_ms([e['cost'] for e in r]):>18}")
    OUT.mkdir(parents=True, exist_ok=True)
    from robocritic.utils.atomic import atomic_write_json

    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    atomic_write_json(OUT / "task_rl.json", clean({
        "episodes": args.episodes, "seeds": args.seeds, "eval_seeds": eval_seeds, "critic": critic,
        "training": trained, "evaluation": evaluated, "wall_s": time.perf_counter() - t0,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }))
    print(f"\nwrote {OUT / 'task_rl.json'} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
