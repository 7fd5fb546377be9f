"""The YANN-RL comparison study: algorithms x seeds x envs -> ``results.json`` + learning-curve PNGs.

:func:`run_comparison` trains every (env, algorithm, seed) in its own run folder (resumable
runs resume; finished runs are read back, not retrained), evaluates the explicit MPC itself on
the same test states, and aggregates the YANN-RL paper's comparison table over seeds: mean test
cost (of the 10 fixed test states) before and after training, its spread over seeds, and the
training episodes with a safety violation. :func:`format_table` renders it as Markdown.

Where the env has a loss criterion (:data:`~robocritic.yann.starts.DEFAULT_CRITERIA`), the test
states are also split into *easy* and *MPC-losing* starts (the N=2 explicit MPC's episode is
lost, :func:`~robocritic.yann.starts.classify_starts`) and :func:`split_costs` /
:func:`format_split_table` report every run on both groups against the MPC, with the targets of
the paper protocol: on MPC-losing starts the final policy's mean cost at most half the MPC's, on
easy starts at most 1 % above it, in every seed.

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

__all__ = [
    "EASY_TOLERANCE",
    "HARD_TARGET",
    "aggregate",
    "env_slug",
    "format_split_table",
    "format_table",
    "plot_curves",
    "run_comparison",
    "split_costs",
]

HARD_TARGET = 0.5
"""Target on MPC-losing starts: final mean cost <= this fraction of the explicit MPC's."""
EASY_TOLERANCE = 0.01
"""Target on easy starts: final mean cost <= (1 + this) times the explicit MPC's."""


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
    split: bool = True,
) -> dict[str, Any]:
    """Run the study and write ``out_dir/results.json`` (and ``curves_<env>.png`` if ``plots``).

    Args:
        out_dir: study folder. env_ids, algorithms, seeds: the grid.
        configs: per-env configs (default: :func:`~robocritic.yann.config.default_config`).
        progress: tqdm bars. plots: write the learning-curve PNGs (matplotlib, Agg).
        split: label the test states easy / MPC-losing where the env has a loss criterion
            (``env_res["mpc_losing"]``, one bool per test state; runs the explicit MPC once more).

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
        if split:
            labels = _mpc_losing(config)
            if labels is not None:
                env_res["mpc_losing"] = [bool(v) for v in labels]
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


def _mpc_losing(config: RLConfig) -> np.ndarray | None:
    """``(n_test,)`` bool: the test states the explicit MPC loses; None without a loss criterion."""
    from robocritic.yann.starts import DEFAULT_CRITERIA, classify_starts

    if config.env_id not in DEFAULT_CRITERIA:
        return None
    return classify_starts(config, config.test_state_array()).lost


def _group_mean(costs: Sequence[float], mask: np.ndarray) -> float | None:
    c = np.asarray(costs, dtype=np.float64)[mask]
    return float(c.mean()) if c.size else None


def split_costs(env_result: dict[str, Any]) -> dict[str, Any]:
    """Per algorithm and seed, the mean test cost on easy and on MPC-losing starts (final policy
    and last iterate), its ratio to the explicit MPC's on the same starts, and whether the targets
    (:data:`HARD_TARGET`, :data:`EASY_TOLERANCE`) hold in every seed.

    Args:
        env_result: one env of :func:`run_comparison`'s results, with ``mpc_losing``.

    Raises:
        ValueError: ``env_result`` has no ``mpc_losing`` labels, or they do not match the costs.
    """
    if "mpc_losing" not in env_result:
        raise ValueError("env_result has no 'mpc_losing' labels (run_comparison with split=True)")
    hard = np.asarray(env_result["mpc_losing"], dtype=bool)
    mpc_costs = env_result["explicit_mpc"]["costs"]
    if len(mpc_costs) != hard.size:
        raise ValueError(f"mpc_losing has {hard.size} labels for {len(mpc_costs)} test states")
    mpc = {"easy": _group_mean(mpc_costs, ~hard), "hard": _group_mean(mpc_costs, hard)}

    def ratio(v: float | None, ref: float | None) -> float | None:
        return None if v is None or ref is None or ref == 0 else v / ref

    out: dict[str, Any] = {"n_easy": int((~hard).sum()), "n_hard": int(hard.sum()), "explicit_mpc": mpc,
                           "algorithms": {}}
    for algorithm, res in env_result["algorithms"].items():
        seeds = []
        for run in res["runs"]:
            row: dict[str, Any] = {"seed": run["seed"]}
            for key, name in (("final", "test_after"), ("last", "test_after_last")):
                ev = run.get(name) or run["test_after"]
                for group, mask in (("easy", ~hard), ("hard", hard)):
                    v = _group_mean(ev["costs"], mask)
                    row[f"{key}_{group}"] = v
                    row[f"{key}_{group}_ratio"] = ratio(v, mpc[group])
            seeds.append(row)
        hard_ok = all(r["final_hard_ratio"] is not None and r["final_hard_ratio"] <= HARD_TARGET for r in seeds)
        easy_ok = all(r["final_easy_ratio"] is None or r["final_easy_ratio"] <= 1.0 + EASY_TOLERANCE
                      for r in seeds)
        out["algorithms"][algorithm] = {"seeds": seeds, "hard_target_met": hard_ok and out["n_hard"] > 0,
                                        "easy_target_met": easy_ok}
    return out


def _fmt(v: float | None, spec: str = ".4g") -> str:
    return "-" if v is None else format(v, spec)


def format_split_table(results: dict[str, Any]) -> str:
    """Markdown: per env with labels, algorithm and seed, the mean test cost on easy and on
    MPC-losing starts and its ratio to the explicit MPC, for the final policy and (in brackets)
    the last iterate."""
    lines = [
        "| env | algorithm | seed | easy: cost (last iterate) | easy / MPC (last iterate) "
        "| MPC-losing: cost (last iterate) | MPC-losing / MPC (last iterate) |",
        "|---|---|---|---|---|---|---|",
    ]
    for env_id, env_res in results["envs"].items():
        if "mpc_losing" not in env_res:
            continue
        split = split_costs(env_res)
        m = split["explicit_mpc"]
        lines.append(f"| {env_slug(env_id)} | explicit MPC | - | {_fmt(m['easy'])} (n={split['n_easy']}) | 1 "
                     f"| {_fmt(m['hard'])} (n={split['n_hard']}) | 1 |")
        for algorithm, res in split["algorithms"].items():
            for r in res["seeds"]:
                lines.append(
                    f"| {env_slug(env_id)} | {algorithm} | {r['seed']} | {_fmt(r['final_easy'])} "
                    f"({_fmt(r['last_easy'])}) | {_fmt(r['final_easy_ratio'], '.3f')} "
                    f"({_fmt(r['last_easy_ratio'], '.3f')}) | {_fmt(r['final_hard'])} ({_fmt(r['last_hard'])}) "
                    f"| {_fmt(r['final_hard_ratio'], '.3f')} ({_fmt(r['last_hard_ratio'], '.3f')}) |")
    return "\n".join(lines)


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
    for ax, label in ((ax_test, "mean test cost (fixed test states)"), (ax_train, "training-episode cost")):
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
