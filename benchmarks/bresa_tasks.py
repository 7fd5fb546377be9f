"""Bresa beyond the planar press-and-wipe: the 7-DoF arm, peg-in-hole and groove following, one critic each.

For each task: collect exploration and scripted episodes (command jitter, the task's default
perturbations), train one BCE critic (seed 0, 10 epochs), then run every method of
``robocritic.bresa.methods`` (no filter, fixed low stiffness, the force clamp, the reflex and the
minimal-modification filter at 20 Hz and at 1 kHz) on held-out perturbation seeds 200000.. (used
by nothing else). Peg-in-hole runs its scripted policy
with a STIFF lateral axis during insertion (3000 N/m; its compliant default never reaches the
lateral limit), so that there is something to prevent. Groove following likewise runs its scripted
policy with a stiff lateral axis during the traverse (3000 N/m; its compliant default, 500 N/m,
rides over the moving obstacle and meets the end wall below the 12 N wall-force limit in most
episodes). ``arm7_press_wipe_v1`` is the 7-DoF task with the 0.8 s approach window, where the
scripted policy crosses the band the table may lie in at a guarded 0.07 m/s (its v1 default).

Writes ``results/bresa/tasks/<task>/`` (JSON, plots) and ``results/bresa/tasks/tasks.json``
(``--out`` elsewhere; ``--tasks`` a comma-separated subset of the task names below; the other
tasks' figures already in ``tasks.json`` are kept). A task whose critic exists (trained with the
same ``--train``) is evaluated again with it; ``--fresh`` collects and trains anew.

    .venv/bin/python benchmarks/bresa_tasks.py [--episodes 100] [--train 80] [--workers 2] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from robocritic.bresa.collect import collect, concat_datasets, save_dataset
from robocritic.bresa.critic import save_critic
from robocritic.bresa.train import train_critic
from robocritic.jobs.bresa_eval import evaluate
from robocritic.utils.atomic import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "bresa" / "tasks"
TASKS = {
    "arm7_press_wipe": ("robocritic/Arm7PressWipe-v0", {}),
    "arm7_press_wipe_v1": ("robocritic/Arm7PressWipe-v1", {}),
    "peg_in_hole_stiff": ("robocritic/ArmPegInHole-v0", {"insert_stiffness_x": 3000.0}),
    "groove_stiff": ("robocritic/ArmGroove-v0", {"traverse_stiffness": (3000.0, 500.0)}),
}
METHODS = ["none", "low_stiffness", "force_clamp", "reflex_20hz", "minmod_20hz", "reflex_1khz", "minmod_1khz",
           "minmod_reflex_1khz"]
SEED0 = 200_000


_TRAINING_KEYS = ("train", "train_ticks", "train_violation_tick_rate", "val_loss", "base_rate_val",
                  "data_and_training_s")


def _train(env_id: str, out: Path, episodes: int, workers: int) -> dict:
    """Collect ``episodes`` exploration and half as many scripted episodes, train the critic into
    ``out``; the record's training fields (:data:`_TRAINING_KEYS`)."""
    t0 = time.perf_counter()
    data = concat_datasets([
        collect(episodes, seed=0, policy="exploration", env_id=env_id, workers=workers),
        collect(episodes // 2, seed=1000, policy="scripted", env_id=env_id, workers=workers),
    ])
    save_dataset(data, out / "train.npz")
    critic, history = train_critic(data, epochs=10, seed=0, batch_size=512)
    save_critic(critic, out / "critic.pt")
    return {"train": episodes, "train_ticks": int(data.cost.size), "train_violation_tick_rate": float(data.cost.mean()),
            "val_loss": history.val_loss[-1], "base_rate_val": history.base_rate_val,
            "data_and_training_s": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100, help="closed-loop episodes per method")
    parser.add_argument("--train", type=int, default=80, help="exploration episodes (and half as many scripted)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated task names (default: all)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder")
    parser.add_argument("--fresh", action="store_true", help="collect and train again even if a critic exists")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS,
                        help="a subset runs only these (in a subfolder) and keeps the task's other results")
    args = parser.parse_args()
    names = [n.strip() for n in args.tasks.split(",") if n.strip()]
    unknown = [n for n in names if n not in TASKS]
    if unknown or not names:
        parser.error(f"--tasks: unknown {unknown}; known: {', '.join(TASKS)}")
    command = f"benchmarks/bresa_tasks.py --episodes {args.episodes} --train {args.train} --workers {args.workers}"
    if names != list(TASKS):
        command += f" --tasks {','.join(names)}"
    if args.methods != METHODS:
        command += f" --methods {' '.join(args.methods)}"  # the task's other rows come from an earlier run
    path = args.out / "tasks.json"
    record: dict = {"tasks": json.loads(path.read_text())["tasks"] if path.is_file() else {}}
    for name in names:
        env_id, policy_kwargs = TASKS[name]
        out = args.out / name
        out.mkdir(parents=True, exist_ok=True)
        prev = record["tasks"].get(name, {})
        if not args.fresh and (out / "critic.pt").is_file() and prev.get("train") == args.train:
            training = {k: prev[k] for k in _TRAINING_KEYS}  # the same critic: reuse it and its record
        else:
            training = _train(env_id, out, args.train, args.workers)
        subset = args.methods != METHODS
        summary = evaluate(args.methods, list(range(SEED0, SEED0 + args.episodes)),
                           out / "_".join(args.methods) if subset else out, critic_path=out / "critic.pt",
                           env_id=env_id, policy_kwargs=policy_kwargs, workers=args.workers)
        methods = {**prev.get("methods", {}), **summary["methods"]} if subset else summary["methods"]
        record["tasks"][name] = {"command": command, "env_id": env_id, "policy_kwargs": policy_kwargs, **training,
                                 "methods": methods}
        atomic_write_json(path, record)
    for name in names:
        task = record["tasks"][name]
        print(f"\n{name} ({task['env_id']}): {task['train_ticks']} training ticks, held-out BCE "
              f"{task['val_loss']:.3f} vs base rate {task['base_rate_val']:.3f}")
        print("| method | over the limit | sustained | time over ms | peak filtered N (median / max) | success | "
              "force in band | interventions/s |")
        print("|---|---|---|---|---|---|---|---|")
        for m, r in task["methods"].items():
            print(f"| {m} | {r['violations']}/{r['episodes']} | {r['sustained']}/{r['episodes']} | "
                  f"{r['time_over_limit_ms_mean']:.1f} | {r['peak_force_filtered_median']:.1f} / "
                  f"{r['peak_force_filtered_max']:.1f} | {r['success']}/{r['episodes']} | "
                  f"{r['band_fraction_mean']:.2f} | {r['interventions_per_second_mean']:.1f} |")


if __name__ == "__main__":
    main()
