"""Bresa: does a guarded approach remove the first-touch violations the 1 kHz critic cannot
foresee, and what does it cost the task?

The study (``bresa_study.py``) leaves 1-4 sustained violations per 100 episodes under the 1 kHz
methods, nearly all at the first touch of a table raised by an unobserved 0-3 cm, hit at the
scripted policy's full 0.3 m/s approach. A guarded move slows the scripted policy to its contact
speed (0.1 m/s) not 5 mm above the NOMINAL table (its default ``slow_height``) but above the
highest the table may be (``slow_height`` 3.5 cm: the 3 cm band plus 5 mm). Settings:

* ``default`` -- ArmPressWipe-v0, the study's policy (5 mm);
* ``guarded`` -- ArmPressWipe-v0 with the guard: v0's contact phase starts 0.3 s after reset
  whether or not the tool has arrived, so the guard costs success there;
* ``v1`` -- ArmPressWipe-v1, whose 0.8 s approach window leaves time for the guard (the scripted
  policy's v1 default).

Everything else is the study's: the held-out perturbation seeds (200000..), its critics
(``results/bresa/study/critic_seed<N>.pt``, so run ``bresa_study.py`` first; trained on v0 data:
the physics and the critic's features are the same on v1, which only moves the task's clock),
the same methods. Critic methods run once per critic in ``--critic-seeds``.

    .venv/bin/python benchmarks/bresa_guard.py [--settings default guarded v1] [--critic-seeds 0]
        [--episodes 100] [--workers 2]

Results: ``results/bresa/guard/guard.json`` (the settings of earlier runs are kept, a rerun
replaces its own) and per-episode files beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from robocritic.bresa.methods import needs_critic
from robocritic.jobs.bresa_eval import evaluate
from robocritic.utils.atomic import atomic_write_json

ROOT = Path(__file__).resolve().parents[1]
STUDY_SEED0 = 200_000  # bresa_study.py's held-out closed-loop seeds
METHODS = ["none", "force_clamp", "reflex_20hz", "minmod_20hz", "reflex_1khz", "minmod_1khz", "minmod_reflex_1khz"]
SETTINGS = {
    "default": ("robocritic/ArmPressWipe-v0", {"slow_height": 0.005},
                "v0, default (5 mm above the nominal table)"),
    "guarded": ("robocritic/ArmPressWipe-v0", {"slow_height": 0.035},
                "v0, guarded (3.5 cm: the whole band)"),
    "v1": ("robocritic/ArmPressWipe-v1", {}, "v1 (0.8 s approach), guarded"),
}
"""Setting name -> (env id, scripted-policy overrides, label)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--critic-seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=METHODS,
                        help="a subset re-runs only these; the setting's other results are kept")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    study = ROOT / "results" / "bresa" / "study"
    critics = {s: study / f"critic_seed{s}.pt" for s in args.critic_seeds}
    missing = [str(p) for p in critics.values() if not p.is_file()]
    if missing:
        raise SystemExit(f"{', '.join(missing)} missing: run benchmarks/bresa_study.py first")
    out = ROOT / "results" / "bresa" / "guard"
    seeds = list(range(STUDY_SEED0, STUDY_SEED0 + args.episodes))
    free = [m for m in args.methods if not needs_critic(m)]
    scored = [m for m in args.methods if needs_critic(m)]
    t0 = time.perf_counter()
    path = out / "guard.json"
    rows = json.loads(path.read_text())["settings"] if path.is_file() else {}
    for name in args.settings:
        env_id, policy_kwargs, label = SETTINGS[name]
        runs = rows.get(name, {}).get("runs", {}) if args.methods != METHODS else {}
        groups = {"critic-free": (free, None)} if free else {}
        groups.update({f"critic_seed{s}": (scored, critic) for s, critic in critics.items()} if scored else {})
        for run, (methods, critic) in groups.items():
            folder = out / name / run.replace("-", "_") / ("_".join(methods) if args.methods != METHODS else "")
            results = evaluate(methods, seeds, folder, env_id=env_id, critic_path=critic,
                               policy_kwargs=policy_kwargs, workers=args.workers)["methods"]
            runs[run] = {**runs.get(run, {}), **results}
        rows[name] = {"label": label, "env_id": env_id, "policy_kwargs": policy_kwargs, "seeds": [seeds[0], seeds[-1]],
                      "critics": [str(p.relative_to(ROOT)) for p in critics.values()], "runs": runs,
                      "wall_s": round(time.perf_counter() - t0, 1)}
    record = {"machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
                         f"torch {torch.__version__}",
              "settings": rows}
    atomic_write_json(path, record)
    print(f"{'setting':<10} {'run':<13} {'method':<12} {'over':>5} {'sustained':>9} {'success':>7}")
    for name in args.settings:
        for run, methods in rows[name]["runs"].items():
            for m, r in methods.items():
                print(f"{name:<10} {run:<13} {m:<12} {r['violations']:>5} {r['sustained']:>9} {r['success']:>7}")
    print(json.dumps({"wall_s": round(time.perf_counter() - t0, 1)}))


if __name__ == "__main__":
    main()
