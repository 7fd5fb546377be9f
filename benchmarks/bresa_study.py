"""Bresa on ArmPressWipe-v0: does a critic that scores every 1 ms step prevent force-limit
violations that a check at the 20 Hz decision rate misses, while the task still gets done?

1. Data: unfiltered episodes of the exploration policy (seeds 0..) and of the scripted task
   policy (seeds 1000..), with the default perturbations (surface 0-3 cm, contact stiffness
   x0.5-2, 20-50 N pushes); violations kept.
2. Critics: one per seed in ``--critic-seeds``, BCE on "violation within 30 ms", episodes split
   80/20 (``robocritic.bresa.train``).
3. The critic itself, on held-out episodes (exploration seeds 100000.., scripted 101000..):
   precision / recall / AUROC, lead time, false triggers in nominal contact, calibration.
4. Closed loop on perturbation seeds 200000.. never used above: every method of
   ``robocritic.bresa.methods`` on the same seeds; the critic methods once per critic.
5. The impact-spike axis: the scripted policy's approach speed at 0.1 and 0.5 m/s (0.3 m/s is
   step 4) for the main methods, half as many seeds, the first critic.

Everything lands in ``results/bresa/study/`` (``study.json`` with every figure; the data set,
critics and per-step files are cached there, so a rerun resumes; ``--fresh`` starts over).

    .venv/bin/python benchmarks/bresa_study.py [--episodes 100] [--workers 2] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread per process: two processes share 2 cores

import numpy as np
import torch

from robocritic.bresa.collect import collect, concat_datasets, load_dataset, save_dataset
from robocritic.bresa.critic import NumpyCritic, load_critic, save_critic
from robocritic.bresa.evaluate import critic_report, plot_reliability
from robocritic.bresa.features import CONTACT_THRESHOLD
from robocritic.bresa.methods import METHODS, needs_critic
from robocritic.bresa.train import train_critic
from robocritic.jobs.bresa_eval import evaluate
from robocritic.utils.atomic import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
HORIZON_MS = 30.0
TRAIN_SEEDS = {"exploration": 0, "scripted": 1000}
HELD_OUT_SEEDS = {"exploration": 100_000, "scripted": 101_000}
STUDY_SEED0 = 200_000
SPEED_METHODS = ["none", "force_clamp", "reflex_20hz", "reflex_1khz", "minmod_1khz"]
APPROACH_SPEEDS = (0.1, 0.5)  # m/s; the scripted policy's default 0.3 m/s is the main study


def _data(path: Path, seeds: dict[str, int], n: dict[str, int], workers: int):
    if path.exists():
        return load_dataset(path)
    parts = [collect(n[p], seed=s, policy=p, workers=workers) for p, s in seeds.items()]
    ds = concat_datasets(parts)
    save_dataset(ds, path)
    return ds


def _critic(path: Path, ds, seed: int, epochs: int) -> dict:
    if path.exists() and path.with_suffix(".history.json").exists():
        return json.loads(path.with_suffix(".history.json").read_text())
    t0 = time.perf_counter()
    critic, history = train_critic(ds, horizon_ms=HORIZON_MS, epochs=epochs, seed=seed, batch_size=512)
    save_critic(critic, path)
    record = {"seed": seed, "train_s": time.perf_counter() - t0, "train_loss": history.train_loss,
              "val_loss": history.val_loss, "base_rate_val": history.base_rate_val,
              "label_rate_train": history.label_rate_train}
    atomic_write_json(path.with_suffix(".history.json"), record)
    return record


def _critic_quality(path: Path, held_out, out: Path) -> dict:
    torch.set_num_threads(1)
    critic = NumpyCritic.from_module(load_critic(path), max_batch=4096)
    x = held_out.features
    risk = np.concatenate([critic.risk(x[i: i + 4096]).copy() for i in range(0, len(x), 4096)])
    labels, mask = held_out.labels(int(round(HORIZON_MS)))
    report = critic_report(risk, labels, mask, held_out.episode, held_out.cost,
                           held_out.force_filtered > CONTACT_THRESHOLD)
    plot_reliability(report, out)
    return report.to_json()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=100, help="closed-loop episodes per method")
    parser.add_argument("--critic-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="a small smoke run into study_quick/")
    parser.add_argument("--fresh", action="store_true", help="ignore cached data, critics and results")
    args = parser.parse_args()
    quick = args.quick
    out = ROOT / "results" / "bresa" / ("study_quick" if quick else "study")
    if args.fresh and out.exists():
        import shutil

        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    n_train = {"exploration": 8, "scripted": 4} if quick else {"exploration": 160, "scripted": 80}
    n_held = {"exploration": 4, "scripted": 2} if quick else {"exploration": 40, "scripted": 20}
    episodes = 4 if quick else args.episodes
    epochs = 2 if quick else args.epochs

    t0 = time.perf_counter()
    train = _data(out / "train.npz", TRAIN_SEEDS, n_train, args.workers)
    held_out = _data(out / "held_out.npz", HELD_OUT_SEEDS, n_held, args.workers)
    data_s = time.perf_counter() - t0
    critics = {s: _critic(out / f"critic_seed{s}.pt", train, s, epochs) for s in args.critic_seeds}
    quality = {s: _critic_quality(out / f"critic_seed{s}.pt", held_out, out / f"reliability_seed{s}.png")
               for s in args.critic_seeds}

    seeds = list(range(STUDY_SEED0, STUDY_SEED0 + episodes))
    free = [m for m in METHODS if not needs_critic(m)]
    with_critic = [m for m in METHODS if needs_critic(m)]
    t1 = time.perf_counter()
    closed_loop = {"critic_free": evaluate(free, seeds, out / "critic_free", workers=args.workers)}
    for s in args.critic_seeds:
        closed_loop[f"critic_seed{s}"] = evaluate(with_critic, seeds, out / f"critic_seed{s}",
                                                  critic_path=out / f"critic_seed{s}.pt", workers=args.workers)
    first = args.critic_seeds[0]
    speed_seeds = seeds[: max(1, len(seeds) // 2)]
    speed_axis = {
        str(v): evaluate(SPEED_METHODS, speed_seeds, out / f"approach_{v}", critic_path=out / f"critic_seed{first}.pt",
                         policy_kwargs={"approach_speed": v}, workers=args.workers)
        for v in APPROACH_SPEEDS
    }
    study = {
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"torch {torch.__version__}, numpy {np.__version__}",
        "command": "benchmarks/bresa_study.py " + " ".join(
            f"--{k.replace('_', '-')}" + ("" if v is True else " " + " ".join(map(str, v if isinstance(v, list) else [v])))
            for k, v in vars(args).items() if v not in (False, None)),
        "horizon_ms": HORIZON_MS, "train_episodes": n_train, "held_out_episodes": n_held,
        "train_ticks": int(train.cost.size), "train_violation_tick_rate": float(train.cost.mean()),
        "data_s": data_s, "closed_loop_s": time.perf_counter() - t1,
        "critics": critics, "critic_quality": quality, "closed_loop": closed_loop, "approach_speed": speed_axis,
    }
    atomic_write_json(out / "study.json", study)
    _print(study)
    return 0


def _fmt_ci(ci: list[float] | tuple[float, float]) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def _print(study: dict) -> None:
    print(f"machine: {study['machine']}\n")
    print("critic on held-out episodes (threshold 0.5):")
    print("| seed | precision | recall | AUROC | warned >= 5 ms ahead | false triggers / s in contact | ECE |")
    print("|---|---|---|---|---|---|---|")
    for s, q in study["critic_quality"].items():
        print(f"| {s} | {q['precision']:.3f} | {q['recall']:.3f} | {q['auroc']:.3f} | {q['warned_ahead']['5ms']:.2f} | "
              f"{q['false_triggers_per_s']:.2f} | {q['ece']:.3f} |")
    print("\nclosed loop (sustained: over the limit > 10 ms in one run):")
    _table(study["closed_loop"])
    for v, summary in study["approach_speed"].items():
        print(f"\napproach speed {v} m/s:")
        _table({"": summary})


def _table(groups: dict) -> None:
    print("| method | critic | episodes over limit (95% CI) | sustained (95% CI) | longest run ms | "
          "time over limit ms (mean) | peak filtered N (median / max) | peak raw N (median / max) | success | "
          "band fraction | interventions/s | filter us p50/p99 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for group, summary in groups.items():
        for m, r in summary["methods"].items():
            print(f"| {m} | {group} | {r['violations']}/{r['episodes']} {_fmt_ci(r['violation_ci95'])} | "
                  f"{r['sustained']}/{r['episodes']} {_fmt_ci(r['sustained_ci95'])} | {r['longest_violation_ms_max']:.0f} | "
                  f"{r['time_over_limit_ms_mean']:.1f} | {r['peak_force_filtered_median']:.1f} / "
                  f"{r['peak_force_filtered_max']:.1f} | {r['peak_force_raw_median']:.1f} / {r['peak_force_raw_max']:.1f} | "
                  f"{r['success']}/{r['episodes']} | {r['band_fraction_mean']:.2f} | "
                  f"{r['interventions_per_second_mean']:.2f} | {r['filter_us_p50_median']:.0f}/{r['filter_us_p99_median']:.0f} |")

if __name__ == "__main__":
    raise SystemExit(main())
