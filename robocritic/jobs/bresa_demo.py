"""The Bresa part of ``robocritic demo``: press-and-wipe with and without the 1 kHz critic.

The shipped critic (:data:`SHIPPED_CRITIC`, a torch-free export) is the one
``scripts/train_bresa_critic.sh`` trains; the demo runs on :data:`DEMO_ENV` (the task with time
for a guarded approach, so the violations left are the ones a critic can foresee) the scripted
task policy on a few
perturbation seeds that no training run used, with no safety layer, with the critic checked at
the 20 Hz decision rate, and with the Bresa reflex and the minimal-modification filter at 1 kHz,
then prints the violation summary and plots the filtered force of every method on the seed with
the longest violation under no safety layer (limit and interventions marked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from robocritic.jobs.bresa_eval import evaluate

__all__ = ["DEMO_ENV", "DEMO_METHODS", "DEMO_SEED0", "SHIPPED_CRITIC", "format_bresa_summary", "run_bresa_demo"]

SHIPPED_CRITIC = Path(__file__).parents[1] / "bresa" / "assets" / "press_wipe_critic.npz"
"""The critic that ships with the package (``scripts/train_bresa_critic.sh`` rebuilds it)."""
DEMO_ENV = "robocritic/ArmPressWipe-v1"
"""The demo's env (the critic is trained on v0 data: the same physics and features)."""
DEMO_METHODS = ("none", "reflex_20hz", "reflex_1khz", "minmod_1khz", "minmod_reflex_1khz")
DEMO_SEED0 = 900_000
"""First perturbation seed of the demo (disjoint from the seeds of the training data and the study)."""


def run_bresa_demo(episodes: int, out_dir: str | Path, *, progress: bool = True) -> dict[str, Any]:
    """Every demo method on seeds ``DEMO_SEED0 ..``; files as :func:`robocritic.jobs.bresa_eval.evaluate`."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1; got {episodes}")
    seeds = list(range(DEMO_SEED0, DEMO_SEED0 + episodes))
    return evaluate(list(DEMO_METHODS), seeds, out_dir, critic_path=SHIPPED_CRITIC, progress=progress,
                    env_id=DEMO_ENV, plot="worst")


def format_bresa_summary(summary: dict[str, Any]) -> str:
    """The table the demo prints."""
    n = len(summary["seeds"])
    lines = [f"Bresa, {DEMO_ENV} (planar arm, 1 kHz), {n} perturbation seeds, force limit 30 N",
             f"{'method':<18} {'over limit':>10} {'sustained':>10} {'time over':>10} {'peak N':>8} "
             f"{'success':>8} {'interv./s':>9}"]
    for name, r in summary["methods"].items():
        lines.append(f"{name:<18} {r['violations']:>6}/{n:<3} {r['sustained']:>6}/{n:<3} "
                     f"{r['time_over_limit_ms_mean']:>7.1f} ms {r['peak_force_filtered_max']:>8.1f} "
                     f"{r['success']:>4}/{n:<3} {r['interventions_per_second_mean']:>9.2f}")
    lines.append("sustained: over the limit for more than 10 ms in one run; time over: mean per episode")
    return "\n".join(lines)
