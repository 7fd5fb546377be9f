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
   1 ms tick, during training) -- with the same episode budget. Optional (``--conditions``, not
   run by default): ``sac+reflex_1khz+refresh``, the same with the critic refreshed online
   (:mod:`robocritic.bresa.refresh`: every 25 episodes, 10 rollouts of the current policy with
   command jitter, 2 fine-tune epochs mixed 1:1 with the critic's training data ``--critic-data``
   when it exists); its policies are also evaluated with the refreshed critic in the filter.
   ``sac-residual``, ``sac-residual+reflex_1khz`` and ``sac-residual+reflex_1khz+refresh`` (also
   optional): the same, with SAC's action a residual added to the scripted policy's
   (``TaskEnvConfig.base_policy``; a zero action is the scripted policy), so that learning starts
   from a policy that presses.
   Counted: unsafe 1 ms ticks and episodes with a violation, over all of training.
3. Evaluation on held-out perturbation seeds 300000.. (never used in training): each trained
   policy deployed without a filter and with the reflex filter, and the scripted policy (the
   ``none`` and ``reflex_1khz`` methods): success, violating episodes, unsafe ticks, task cost.

Prints a table and writes ``results/bresa/task_rl/task_rl.json`` (run folders, resumable, under
``results/bresa/task_rl/runs/``; ``--out`` moves both).

    .venv/bin/python benchmarks/bresa_task_rl.py [--episodes 150] [--seeds 0 1 2] [--workers 2]
        [--conditions sac sac-lagrangian sac+reflex_1khz] [--out results/bresa/task_rl]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread per process: two processes share 2 cores

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "bresa" / "task_rl"
EVAL_SEED0 = 300_000
CONDITIONS: dict[str, dict] = {"sac": {"filter": "none"},
                               "sac-lagrangian": {"filter": "none", "lagrangian_lr": 0.5},
                               "sac+reflex_1khz": {"filter": "reflex_1khz"},
                               "sac+reflex_1khz+refresh": {"filter": "reflex_1khz",
                                                           "critic_refresh_every": 25,
                                                           "critic_refresh_episodes": 10,
                                                           "critic_refresh_epochs": 2},
                               # residual RL: SAC's action is added to the scripted policy's
                               "sac-residual": {"filter": "none", "base_policy": "scripted"},
                               "sac-residual+reflex_1khz": {"filter": "reflex_1khz", "base_policy": "scripted"},
                               "sac-residual+reflex_1khz+refresh": {"filter": "reflex_1khz",
                                                                    "base_policy": "scripted",
                                                                    "critic_refresh_every": 25,
                                                                    "critic_refresh_episodes": 10,
                                                                    "critic_refresh_epochs": 2}}
DEFAULT_CONDITIONS = ["sac", "sac-lagrangian", "sac+reflex_1khz"]
REFRESHED = "reflex_1khz_refreshed"  # deploy filter: reflex_1khz with the run's refreshed critic


def _refreshes(cond: str) -> bool:
    return CONDITIONS[cond].get("critic_refresh_every", 0) > 0


def _train(job: tuple[str, int, int, str, str | None, Path]) -> dict:
    import torch

    from robocritic.bresa.task_rl import TaskRLConfig, train_task_policy

    torch.set_num_threads(1)
    cond, seed, episodes, critic, critic_data, out = job
    extra = {"critic_data_path": critic_data} if _refreshes(cond) and critic_data else {}
    settings = dict(CONDITIONS[cond])
    if settings.pop("base_policy", ""):
        settings["env"] = replace(TaskRLConfig().env, base_policy="scripted")
    cfg = TaskRLConfig(**settings, **extra, critic_path=critic, episodes=episodes)
    t0 = time.perf_counter()
    res = train_task_policy(cfg, seed, out / "runs" / f"{cond}_s{seed}", progress=False, tensorboard=False)
    m = res.metrics
    return {"condition": cond, "seed": seed, "episodes": m.episodes_done,
            "train_unsafe_ticks": m.training_violation_steps, "train_violating_episodes": m.training_violations,
            "train_interventions": int(sum(res.interventions)), "train_successes": int(sum(res.successes)),
            "train_cost_last10": float(np.mean(m.curve.train_cost[-10:])), "wall_s": time.perf_counter() - t0,
            "critic_refreshes": res.critic_refreshes, "config": cfg.to_json()}


def _evaluate(job: tuple[str, int | None, str, str, list[int], Path]) -> dict:
    import torch

    from robocritic.bresa.hierarchy import HierarchyConfig
    from robocritic.bresa.policies import ScriptedPressWipe
    from robocritic.bresa.task_rl import evaluate_task_policy, load_task_policy

    torch.set_num_threads(1)
    cond, seed, deploy, critic, seeds, out = job
    if cond == "scripted":
        policy = ScriptedPressWipe(  # as robocritic.bresa.methods builds it
            decision_period=HierarchyConfig().decision_ticks * 0.001)
    else:
        policy = load_task_policy(out / "runs" / f"{cond}_s{seed}")
    method = deploy
    if deploy == REFRESHED:
        from robocritic.bresa.task_rl import REFRESHED_CRITIC

        method, critic = "reflex_1khz", str(out / "runs" / f"{cond}_s{seed}" / REFRESHED_CRITIC)
    rows = evaluate_task_policy(policy, seeds, method=method, critic_path=critic)
    return {"condition": cond, "seed": seed, "deploy_filter": deploy,
            "success": float(np.mean([r["success"] for r in rows])),
            "violating_episodes": int(sum(r["violated"] for r in rows)),
            "unsafe_ticks": float(np.mean([r["unsafe_ticks"] for r in rows])),
            "cost": float(np.mean([r["cost"] for r in rows])),
            "band_fraction": float(np.mean([r["band_fraction"] for r in rows])),
            "mean_path_error": float(np.mean([r["mean_path_error"] for r in rows])),
            "n": len(rows)}


def _ensure_critic(path: Path, workers: int, out_dir: Path) -> Path:
    if path.exists():
        return path
    from robocritic.bresa.collect import collect, concat_datasets
    from robocritic.bresa.critic import save_critic
    from robocritic.bresa.train import train_critic

    print(f"{path} missing: collecting and training a quick critic")
    ds = concat_datasets([collect(40, seed=0, policy="exploration", workers=workers, progress=False),
                          collect(20, seed=1000, policy="scripted", workers=workers, progress=False)])
    critic, _ = train_critic(ds, horizon_ms=30, epochs=5, seed=0)
    out = out_dir / "critic.pt"
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
    ap.add_argument("--critic-data", type=Path, default=ROOT / "results" / "bresa" / "study" / "train.npz",
                    help="the critic's training data, mixed into online refreshes (if it exists)")
    ap.add_argument("--conditions", nargs="+", choices=list(CONDITIONS), default=DEFAULT_CONDITIONS)
    ap.add_argument("--out", type=Path, default=OUT, help="results folder (task_rl.json, runs/)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    out = args.out
    conditions = list(dict.fromkeys(args.conditions))
    critic = str(_ensure_critic(args.critic, args.workers, out))
    critic_data = str(args.critic_data) if args.critic_data.exists() else None
    if critic_data is None and any(_refreshes(c) for c in conditions):
        print(f"{args.critic_data} missing: online refreshes fine-tune on their new data only")
    eval_seeds = list(range(EVAL_SEED0, EVAL_SEED0 + args.eval_episodes))
    train_jobs = [(c, s, args.episodes, critic, critic_data, out) for s in args.seeds for c in conditions]

    def deploys(c: str) -> tuple[str, ...]:
        return ("none", "reflex_1khz", REFRESHED) if _refreshes(c) else ("none", "reflex_1khz")

    eval_jobs = [(c, s, d, critic, eval_seeds, out)
                 for c in conditions for s in args.seeds for d in deploys(c)]
    eval_jobs += [("scripted", None, d, critic, eval_seeds, out) for d in ("none", "reflex_1khz")]
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(args.workers) as pool:
        trained = list(pool.imap(_train, train_jobs))
        evaluated = list(pool.imap(_evaluate, eval_jobs))

    print(f"\nTraining ({args.episodes} episodes of 2 s per run, seeds {args.seeds}; mean ± sd over seeds)")
    print(f"{'condition':<24} {'unsafe ticks':>16} {'violating eps':>14} {'interventions':>16} "
          f"{'train success':>14}")
    for c in conditions:
        r = [t for t in trained if t["condition"] == c]
        print(f"{c:<24} {_ms([t['train_unsafe_ticks'] for t in r]):>16} "
              f"{_ms([t['train_violating_episodes'] for t in r]):>14} "
              f"{_ms([t['train_interventions'] for t in r]):>16} {_ms([t['train_successes'] for t in r]):>14}")
    refreshes = [dict(rec, seed=t["seed"], condition=t["condition"])
                 for t in trained for rec in t["critic_refreshes"]]
    if refreshes:
        print("\nOnline critic refreshes (quality on the refresh's held-out rollouts, before -> after the "
              "fine-tune; old: BCE on the critic's original data)")
        print(f"{'condition':<24} {'seed':>4} {'ep':>4} {'wall s':>7} {'BCE':>19} {'base BCE':>8} "
              f"{'AUROC':>13} {'old BCE':>15} {'rollout unsafe':>14}")

        def pair(a, b, fmt):
            return "-" if a is None or b is None else f"{a:{fmt}} -> {b:{fmt}}"

        for r in refreshes:
            b, a = r["before"], r["after"]
            print(f"{r['condition']:<24} {r['seed']:>4} {r['episode']:>4} {r['wall_s']:>7.1f} "
                  f"{pair(b.get('bce'), a.get('bce'), '.3g'):>19} {b.get('base_bce') or float('nan'):>8.3f} "
                  f"{pair(b.get('auroc'), a.get('auroc'), '.3f'):>13} "
                  f"{pair(r['old_bce_before'], r['old_bce_after'], '.3f'):>15} "
                  f"{r['rollout_unsafe_ticks']:>14}")
    print(f"\nHeld-out evaluation ({args.eval_episodes} perturbation seeds from {EVAL_SEED0}; learned: mean ± sd over "
          "training seeds)")
    print(f"{'policy':<24} {'deploy filter':<22} {'success':>12} {'violating eps':>14} {'unsafe ticks':>14} "
          f"{'task cost':>18}")
    for c in [*conditions, "scripted"]:
        for d in (deploys(c) if c != "scripted" else ("none", "reflex_1khz")):
            r = [e for e in evaluated if e["condition"] == c and e["deploy_filter"] == d]
            print(f"{c:<24} {d:<22} {_ms([e['success'] * 100 for e in r]) + ' %':>12} "
                  f"{_ms([e['violating_episodes'] for e in r]):>14} {_ms([e['unsafe_ticks'] for e in r]):>14} "
                  f"{_ms([e['cost'] for e in r]):>18}")
    out.mkdir(parents=True, exist_ok=True)
    from robocritic.utils.atomic import atomic_write_json

    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    atomic_write_json(out / "task_rl.json", clean({
        "episodes": args.episodes, "seeds": args.seeds, "eval_seeds": eval_seeds, "critic": critic,
        "conditions": conditions, "critic_data": critic_data,
        "training": trained, "evaluation": evaluated, "wall_s": time.perf_counter() - t0,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }))
    print(f"\nwrote {out / 'task_rl.json'} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
