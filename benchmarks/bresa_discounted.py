"""The Recovery-RL discounted critic against the BCE "violation within 30 ms" critic, on the data,
held-out episodes and closed-loop seeds of ``benchmarks/bresa_study.py`` (run that first).

For each critic seed: ``train_discounted`` (gamma from 30 ms, twin heads, Polyak target network)
started from that seed's BCE critic, then both critics' quality on the held-out episodes
(AUROC, precision / recall at 0.5, lead time, false triggers) and the 1 kHz reflex and
minimal-modification filter with each on the study's held-out seeds. Writes
``results/bresa/discounted/discounted.json`` and prints a table.

    .venv/bin/python benchmarks/bresa_discounted.py [--episodes 100] [--critic-seeds 0 1 2] [--epochs 5]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np
import torch

from robocritic.bresa.collect import load_dataset
from robocritic.bresa.critic import NumpyCritic, load_critic, save_critic
from robocritic.bresa.discounted import train_discounted
from robocritic.bresa.evaluate import critic_report
from robocritic.bresa.features import CONTACT_THRESHOLD
from robocritic.jobs.bresa_eval import evaluate
from robocritic.utils.atomic import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "results" / "bresa" / "study"
OUT = ROOT / "results" / "bresa" / "discounted"
SEED0 = 200_000  # the study's held-out closed-loop seeds
METHODS = ["reflex_1khz", "minmod_1khz"]


def _quality(path: Path, held_out) -> dict:
    critic = NumpyCritic.from_module(load_critic(path), max_batch=4096)
    x = held_out.features
    risk = np.concatenate([critic.risk(x[i: i + 4096]).copy() for i in range(0, len(x), 4096)])
    labels, mask = held_out.labels(30)
    return critic_report(risk, labels, mask, held_out.episode, held_out.cost,
                         held_out.force_filtered > CONTACT_THRESHOLD).to_json()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--critic-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    train, held_out = load_dataset(STUDY / "train.npz"), load_dataset(STUDY / "held_out.npz")
    seeds = list(range(SEED0, SEED0 + args.episodes))
    record: dict = {"command": "benchmarks/bresa_discounted.py " + " ".join(
        f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in vars(args).items()),
        "critics": {}}
    for s in args.critic_seeds:
        bce = STUDY / f"critic_seed{s}.pt"
        disc = OUT / f"discounted_seed{s}.pt"
        t0 = time.perf_counter()
        if not disc.exists():
            critic, history = train_discounted(train, epochs=args.epochs, seed=s, init_from=load_critic(bce),
                                               batch_size=512)
            save_critic(critic, disc)
            atomic_write_json(disc.with_suffix(".history.json"), {
                "td_loss": history.td_loss, "val_bce": history.val_bce, "val_auroc": history.val_auroc})
        entry = {"train_s": time.perf_counter() - t0}
        for name, path in (("bce", bce), ("discounted", disc)):
            closed = evaluate(METHODS, seeds, OUT / f"{name}_seed{s}", critic_path=path, workers=args.workers)
            entry[name] = {"quality": _quality(path, held_out), "closed_loop": closed["methods"]}
        record["critics"][str(s)] = entry
        atomic_write_json(OUT / "discounted.json", record)
    print("| critic | seed | AUROC | precision / recall @0.5 | warned >= 5 ms | false triggers /s | "
          "method | over the limit | sustained | time over ms | force in band |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for s, entry in record["critics"].items():
        for name in ("bce", "discounted"):
            q = entry[name]["quality"]
            for m, r in entry[name]["closed_loop"].items():
                print(f"| {name} | {s} | {q['auroc']:.3f} | {q['precision']:.3f} / {q['recall']:.3f} | "
                      f"{q['warned_ahead']['5ms']:.2f} | {q['false_triggers_per_s']:.1f} | {m} | "
                      f"{r['violations']}/{r['episodes']} | {r['sustained']}/{r['episodes']} | "
                      f"{r['time_over_limit_ms_mean']:.1f} | {r['band_fraction_mean']:.2f} |")


if __name__ == "__main__":
    main()
