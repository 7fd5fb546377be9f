"""The YANN-RL comparison study: algorithms x seeds x envs -> ``results.json`` + learning-curve PNGs.

:func:`run_comparison` trains every (env, algorithm, seed) in its own run folder (resumable
runs resume; finished runs are read back, not retrained), evaluates the explicit MPC itself on
the same test states, and aggregates the YANN-RL paper's comparison table over seeds: mean test
cost (of the 10 fixed test states) before and after training, its spread over seeds, and the
training episodes with a safety violation. :func:`format_table` renders it as Markdown.

Layout of ``out_dir``: ``<env>/<algorithm>/seed_<s>/`` (runs), ``results.json``,
``curves_<env>.png``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.learning.runs import RunMetrics
from robocritic.utils.atomic import atomic_write, atomic_write_json
from robocritic.yann.config import ALGORITHMS, RLConfig, config_to_dict, default_config
from robocritic.yann.runner import evaluate_explicit_mpc, train

__all__ = ["aggregate", "env_slug", "format_table", "plot_curves", "run_comparison"]


def env_slug(env_id: str) -> str:
    """``"robocritic/ClippedPendulum-v0"`` -> ``"ClippedPendulum-v0"`` (a folder name)."""
    return env_id.split("/")[-1]


def _stats(values: Sequence[float]) -> dict[str, Any]:
    a = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
        "min": float(a.min()),
        "max": float(a.max()),
        "n": int(a.size),
        "values": [float(v) for v in a],
    }


def _mean_cost(run: RunMetrics, name: str) -> float:
    result = getattr(run, name)
    if result is None:
        raise ValueError(f"{run.algorithm} seed {run.seed}: no {name} evaluation (an unfinished run?)")
    return result.mean_cost


def aggregate(runs: Sequence[RunMetrics]) -> dict[str, Any]:
    """Across-seed statistics of one (env, algorithm): test cost before / after (each seed's mean
    over the test states; "after" of the final policy, "after_last" of the last iterate: they
    differ where a validation set selected an earlier snapshot), violating training episodes,
    wall time."""
    last = [_mean_cost(r, "test_after_last" if r.test_after_last is not None else "test_after") for r in runs]
    return {
        "seeds": [r.seed for r in runs],
        "test_cost_before": _stats([_mean_cost(r, "test_before") for r in runs]),
        "test_cost_after": _stats([_mean_cost(r, "test_after") for r in runs]),
        "test_cost_after_last": _stats(last),
        "selected": sum(r.selection is not None for r in runs),
        "training_violations": _stats([r.training_violations for r in runs]),
        "wall_s": _stats([r.curve.wall_s[-1] if r.curve.wall_s else 0.0 for r in runs]),
    }


def run_comparison(
    out_dir: str | Path,
    *,
    env_ids: Sequence[str] = ("robocritic/ClippedPendulum-v0", "robocritic/SafetyCSTR-v0"),
    algorithms: Sequence[str] = ALGORITHMS,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    configs: dict[str, RLConfig] | None = None,
    progress: bool = True,
    plots: bool = True,
) -> dict[str, Any]:
    """Run the study and write ``out_dir/results.json`` (and ``curves_<env>.png`` if ``plots``).

    Args:
        out_dir: study folder. env_ids, algorithms, seeds: the grid.
        configs: per-env configs (default: :func:`~robocritic.yann.config.default_config`).
        progress: tqdm bars. plots: write the learning-curve PNGs (matplotlib, Agg).

    Returns:
        The results dict: per env the explicit-MPC test evaluation, the config, and per algorithm
        the per-seed metrics and their aggregate (:func:`aggregate`).
    """
    unknown = [a for a in algorithms if a not in ALGORITHMS]
    if unknown:
        raise ValueError(f"algorithms: unknown {unknown}; known: {list(ALGORITHMS)}")
    out_dir = Path(out_dir)
    results: dict[str, Any] = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "seeds": list(seeds),
        "envs": {},
    }
    for env_id in env_ids:
        config = (configs or {}).get(env_id) or default_config(env_id)
        mpc = evaluate_explicit_mpc(config)
        env_res: dict[str, Any] = {
            "config": config_to_dict(config),
            "explicit_mpc": mpc.to_json(),
            "algorithms": {},
        }
        for algorithm in algorithms:
            runs: list[RunMetrics] = []
            for seed in seeds:
                run_dir = out_dir / env_slug(env_id) / algorithm / f"seed_{seed}"
                runs.append(train(config, algorithm, seed, run_dir, progress=progress).metrics)
            env_res["algorithms"][algorithm] = {
                "aggregate": aggregate(runs),
                "runs": [r.to_json() for r in runs],
            }
        results["envs"][env_id] = env_res
        if plots:
            plot_curves(env_res, out_dir / f"curves_{env_slug(env_id)}.png", title=env_id)
        atomic_write_json(out_dir / "results.json", results)
    return results


def plot_curves(env_result: dict[str, Any], path: str | Path, *, title: str = "") -> Path:
    """Two panels: mean test cost vs training episode (mean over seeds, band min-max, log scale,
    with the explicit MPC as a line) and the training-episode cost. Written atomically as PNG."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_test, ax_train) = plt.subplots(1, 2, figsize=(11, 4))
    for algorithm, res in env_result["algorithms"].items():
        for ax, key, ep_key in ((ax_test, "test_cost", "eval_curve"), (ax_train, "train_cost", "curve")):
            curves = [r[ep_key] for r in res["runs"]]
            n = min(len(c[key]) for c in curves)
            if n == 0:
                continue
            x = np.asarray(curves[0]["episode"][:n])
            y = np.array([c[key][:n] for c in curves], dtype=np.float64)
            (line,) = ax.plot(x, y.mean(axis=0), label=f"{algorithm} (n={len(curves)})")
            # min-max over seeds: unlike mean +- std it never dips below zero on the log axis
            ax.fill_between(x, y.min(axis=0), y.max(axis=0), color=line.get_color(), alpha=0.2)
    mpc = env_result.get("explicit_mpc")
    if mpc is not None:
        ax_test.axhline(mpc["mean_cost"], color="k", ls="--", lw=1, label="explicit MPC")
    for ax, label in ((ax_test, "mean test cost (10 fixed states)"), (ax_train, "training-episode cost")):
        ax.set_yscale("log")
        ax.set_xlabel("training episode")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    ax_test.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return atomic_write(path, lambda fh: fh.write(buf.getvalue()))


def format_table(results: dict[str, Any]) -> str:
    """The paper's table as Markdown: per env and algorithm, test cost before -> after (mean +-
    std over seeds; the last iterate and the final policy, which is the validation-selected
    snapshot where the run had a validation set) and violating training episodes (mean, max),
    plus the explicit MPC's cost."""
    lines = [
        (
            "| env | algorithm | seeds | test cost before | after, last iterate | after, final policy "
            "| training violations (mean / max) |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for env_id, env_res in results["envs"].items():
        lines.append(
            f"| {env_slug(env_id)} | explicit MPC | - | {env_res['explicit_mpc']['mean_cost']:.4g} | - | - | - |"
        )
        for algorithm, res in env_res["algorithms"].items():
            a = res["aggregate"]
            b, v = a["test_cost_before"], a["training_violations"]
            last = a.get("test_cost_after_last", a["test_cost_after"])
            final = a["test_cost_after"]
            chosen = f"{final['mean']:.4g} +- {final['std']:.2g}" if a.get("selected") else "(last iterate)"
            lines.append(
                f"| {env_slug(env_id)} | {algorithm} | {b['n']} | {b['mean']:.4g} +- {b['std']:.2g} | "
                f"{last['mean']:.4g} +- {last['std']:.2g} | {chosen} | {v['mean']:.3g} / {v['max']:.0f} |"
            )
    return "\n".join(lines)
