"""``robocritic bresa eval``: safety methods on a list of perturbation seeds, with metrics and plots.

Every method runs the same seeds (each seed fixes the surface offset, contact stiffness and pushes
of one episode; by default the perturbations of :func:`robocritic.bresa.collect.default_env_kwargs`),
on the env ``env_id`` (the planar arm by default; ``robocritic/Arm7PressWipe-v0`` for the 7-DoF
arm, whose critic features have ``m = 3``). Written to ``OUT``:

* ``episodes.json``: one record per (method, seed) (:meth:`EpisodeTrace.summary` plus the method);
* ``summary.json``: per method, violation, sustained-violation (:data:`SUSTAINED_MS`) and success
  rates with 95 % Wilson intervals, time over the limit, the longest run over it, filtered and raw peak force, impulse over the limit, force-band fraction, path error,
  intervention rate and filter compute time;
* ``violations.png`` (rates with intervals per method) and ``force.png`` (the filtered force of
  each method over one episode -- the first seed, the worst one or a chosen one -- with the limit
  and the interventions marked).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.bresa.collect import default_env_kwargs
from robocritic.utils.atomic import atomic_write, atomic_write_json
from robocritic.utils.stats import wilson_interval

__all__ = ["ENV_ID", "SUSTAINED_MS", "evaluate", "layout_for_env", "load_risk_model", "parse_seeds", "summarise",
           "wilson_interval"]

ENV_ID = "robocritic/ArmPressWipe-v0"
"""The env :func:`evaluate` runs by default."""


SUSTAINED_MS = 10.0
"""A violation is SUSTAINED when the filtered force stays over the limit longer than this [ms] in
one run: two time constants of the 5 ms force filter, longer than an impact spike of 1-2 ms keeps
the filtered force up."""


def parse_seeds(text: str) -> list[int]:
    """``"1000-1199"``, ``"3,5,8"`` or a mix (``"1-3,10"``) -> the seeds, in order, no repeats."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        try:
            if "-" in part[1:]:
                lo, hi = (int(v) for v in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise ValueError(f"seeds: {part!r} is neither an integer nor a range LOW-HIGH (in {text!r})") from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: expected distinct integers >= 0; got {text!r}")
    return seeds


def load_risk_model(path: str | Path, max_batch: int = 64) -> Any:
    """A critic for the filters from a torch-free export (``.npz``) or a trained ``.pt``."""
    if Path(path).suffix == ".npz":
        from robocritic.bresa.export import load_exported

        return load_exported(path, max_batch=max_batch)[0]
    from robocritic.bresa.critic import NumpyCritic, load_critic

    return NumpyCritic.from_module(load_critic(path), max_batch=max_batch)


def layout_for_env(env_id: str) -> Any:
    """The critic's :class:`~robocritic.bresa.features.FeatureLayout` on the env ``env_id``."""
    from robocritic.bresa.features import FeatureLayout
    from robocritic.bresa.tasks import task_spec

    m = task_spec(env_id).n_task
    return FeatureLayout(m=m, axes=("x", "z") if m == 2 else tuple("xyz"[:m]))


def _run(job: tuple[str, str | None, list[int], dict[str, Any], dict[str, Any], frozenset[int] | None, str]
         ) -> list[dict[str, Any]]:
    """Worker: one method over ``seeds``; the force traces of the seeds in ``keep`` (every seed when
    ``None``) are kept for the plot."""
    import gymnasium as gym
    import torch

    import robocritic.envs  # noqa: F401 - registers the env ids
    from robocritic.bresa.hierarchy import HierarchyConfig, run_episode
    from robocritic.bresa.methods import build_method, needs_critic

    torch.set_num_threads(1)
    method, critic_path, seeds, env_kwargs, policy_kwargs, keep, env_id = job
    config = HierarchyConfig()
    layout = layout_for_env(env_id)
    critic = None
    if needs_critic(method):
        if critic_path is None:
            raise ValueError(f"method {method!r} needs a critic (--critic PATH)")
        critic = load_risk_model(critic_path)
        if critic.n_in != layout.n_in:
            raise ValueError(f"critic: {critic_path} takes {critic.n_in} inputs; {env_id} gives {layout.n_in} "
                             f"(m = {layout.m})")
    policy, safety = build_method(method, critic, layout, config, policy_kwargs, env_id=env_id)
    env = gym.make(env_id, **env_kwargs)
    rows = []
    try:
        for seed in seeds:
            trace = run_episode(env, policy, config=config, safety_filter=safety, seed=seed)
            summary = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in trace.summary().items()}
            row: dict[str, Any] = {"method": method, **summary, "seed": seed,
                                   "filter_us_p50": float(np.percentile(trace.filter_us, 50)),
                                   "filter_us_p99": float(np.percentile(trace.filter_us, 99))}
            if keep is None or seed in keep:
                row["trace"] = {"force_filtered": trace.force_filtered, "force_raw": trace.force_raw,
                                "intervened": trace.intervened}
            rows.append(row)
    finally:
        env.close()
    return rows


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Summary of one method's episode records (module docstring)."""
    n = len(rows)
    col = lambda key: np.array([r[key] for r in rows], dtype=np.float64)
    violated, success = int(col("violated").sum()), int(col("success").sum())
    over, longest = col("time_over_limit_ms"), col("longest_violation_ms")
    sustained = int((longest > SUSTAINED_MS).sum())
    return {
        "episodes": n,
        "violations": violated, "violation_rate": violated / n, "violation_ci95": wilson_interval(violated, n),
        "success": success, "success_rate": success / n, "success_ci95": wilson_interval(success, n),
        "sustained": sustained, "sustained_rate": sustained / n, "sustained_ci95": wilson_interval(sustained, n),
        "time_over_limit_ms_mean": float(over.mean()), "time_over_limit_ms_max": float(over.max()),
        "longest_violation_ms_max": float(longest.max()),
        "peak_force_filtered_median": float(np.median(col("peak_force_filtered"))),
        "peak_force_filtered_max": float(col("peak_force_filtered").max()),
        "peak_force_raw_median": float(np.median(col("peak_force_raw"))),
        "peak_force_raw_max": float(col("peak_force_raw").max()),
        "impulse_over_limit_mean": float(col("impulse_over_limit").mean()),
        "band_fraction_mean": float(col("band_fraction").mean()),
        "mean_path_error_mm": float(col("mean_path_error").mean() * 1e3),
        "interventions_per_second_mean": float(col("interventions_per_second").mean()),
        "filter_us_p50_median": float(np.median(col("filter_us_p50"))),
        "filter_us_p99_median": float(np.median(col("filter_us_p99"))),
    }


def evaluate(
    methods: Sequence[str],
    seeds: Sequence[int],
    out_dir: str | Path,
    *,
    critic_path: str | Path | None = None,
    env_kwargs: dict[str, Any] | None = None,
    policy_kwargs: dict[str, Any] | None = None,
    workers: int = 1,
    progress: bool = True,
    env_id: str = ENV_ID,
    plot: int | str = "first",
) -> dict[str, Any]:
    """Run every method on every seed; write the files of the module docstring; return the summary.

    ``policy_kwargs`` change the scripted task policy of every method (e.g. its approach speed);
    ``env_id`` is the press-and-wipe env (the critic must have been trained on it). ``plot``: the
    seed ``force.png`` shows -- ``"first"``, ``"worst"`` (the longest violation under the first
    method, e.g. no safety layer; the first seed when it has none) or a seed of ``seeds``.
    """
    from tqdm import tqdm

    from robocritic.bresa.methods import METHODS

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods: unknown {unknown}; known: {', '.join(METHODS)}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1; got {workers}")
    layout_for_env(env_id)  # an unknown env fails here, before any worker starts
    if plot not in ("first", "worst") and (isinstance(plot, bool) or plot not in seeds):
        raise ValueError(f"plot: expected 'first', 'worst' or one of the seeds; got {plot!r}")
    keep = None if plot == "worst" else frozenset([int(seeds[0]) if plot == "first" else int(plot)])
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kwargs = default_env_kwargs(env_id) if env_kwargs is None else dict(env_kwargs)
    critic = None if critic_path is None else str(critic_path)
    # chunks of seeds so that a progress bar moves and both cores stay busy
    chunk = max(1, min(10, len(seeds) // max(1, workers)))
    jobs = [(m, critic, list(seeds[i: i + chunk]), kwargs, dict(policy_kwargs or {}), keep, env_id)
            for m in methods for i in range(0, len(seeds), chunk)]
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(methods) * len(seeds), desc="bresa eval", unit="ep", file=sys.stderr,
               disable=not progress)
    try:
        if workers == 1:
            parts = map(_run, jobs)
            for part in parts:
                rows.extend(part)
                bar.update(len(part))
        else:
            with mp.get_context("spawn").Pool(workers) as pool:  # MuJoCo/EGL state must not be forked
                for part in pool.imap(_run, jobs):
                    rows.extend(part)
                    bar.update(len(part))
    finally:
        bar.close()
    shown = _plotted_seed(rows, methods[0], seeds, plot)
    traces = {r["method"]: r["trace"] for r in rows if r["seed"] == shown and "trace" in r}
    for r in rows:
        r.pop("trace", None)
    summary = {
        "env": env_id, "env_kwargs": kwargs, "policy_kwargs": dict(policy_kwargs or {}), "seeds": list(seeds),
        "critic": critic,
        "methods": {m: summarise([r for r in rows if r["method"] == m]) for m in methods},
    }
    atomic_write_json(out / "episodes.json", rows)
    atomic_write_json(out / "summary.json", summary)
    _plot_rates(summary, out / "violations.png")
    offset = next(float(r["surface_offset"]) for r in rows if r["seed"] == shown)
    _plot_forces(traces, shown, offset, out / "force.png", env_id)
    return summary


def _plotted_seed(rows: list[dict[str, Any]], first_method: str, seeds: Sequence[int], plot: int | str) -> int:
    """The seed ``force.png`` shows (:func:`evaluate`'s ``plot``)."""
    if plot == "first":
        return int(seeds[0])
    if plot != "worst":
        return int(plot)
    longest = {r["seed"]: r["longest_violation_ms"] for r in rows if r["method"] == first_method}
    worst = max(seeds, key=lambda s: longest[s])  # the first of equals: max keeps the earliest
    return int(worst) if longest[worst] > 0 else int(seeds[0])


def _save(fig: Any, path: Path) -> None:
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))


def _plot_rates(summary: dict[str, Any], path: Path) -> None:
    from matplotlib.figure import Figure

    names = list(summary["methods"])
    fig = Figure(figsize=(8, 3.6), constrained_layout=True)
    ax = fig.add_subplot()
    x = np.arange(len(names))
    for offset, key, label in ((-0.2, "violation", "episodes over the force limit"), (0.2, "success", "task success")):
        rate = np.array([summary["methods"][n][f"{key}_rate"] for n in names])
        ci = np.array([summary["methods"][n][f"{key}_ci95"] for n in names])
        ax.bar(x + offset, rate, width=0.38, label=label,
               yerr=np.abs(ci.T - rate), capsize=3)
    ax.set_xticks(x, names, rotation=20)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction of episodes (95 % CI)")
    ax.set_title(f"{summary['env'].split('/')[-1]}, {len(summary['seeds'])} perturbation seeds per method")
    ax.legend(fontsize=8)
    _save(fig, path)


def _plot_forces(traces: dict[str, dict[str, list]], seed: int, offset: float, path: Path,
                 env_id: str = ENV_ID) -> None:
    from matplotlib.figure import Figure

    from robocritic.bresa.tasks import task_spec

    task = task_spec(env_id)

    fig = Figure(figsize=(9, 4), constrained_layout=True)
    ax = fig.add_subplot()
    for name, tr in traces.items():
        f = np.asarray(tr["force_filtered"])
        t = np.arange(1, f.size + 1) * 1e-3
        (line,) = ax.plot(t, f, lw=1, label=name)
        hits = np.flatnonzero(tr["intervened"])
        if hits.size:
            ax.plot(t[hits], np.full(hits.size, -1.0), "|", color=line.get_color(), ms=4)
    ax.axhline(task.force_limit, color="red", ls="--", lw=1, label="limit")
    if task.force_band is not None:
        ax.axhspan(*task.force_band, color="green", alpha=0.08, label="task band")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(task.force_label)
    ax.set_title(f"seed {seed} (surface +{offset * 100:.1f} cm); ticks below 0: interventions")
    ax.legend(fontsize=7, ncol=2)
    _save(fig, path)
