"""``robocritic navdp eval``: NavDP and its baselines in closed loop on paired episodes, with
metrics and plots.

Every method runs the same episodes: world seed ``w`` of the world preset and episode index
``i < episodes_per_world`` fix the start and the goal (:func:`robocritic.navdp.evaluate.reset_paired`),
whatever the method. The loop, the tracker and the metrics are those of
:mod:`robocritic.navdp.evaluate` (planner at 4 Hz, pure pursuit at 10 Hz, 60 s limit). Written to
``out_dir``:

* ``episodes.json``: one record per (method, world, episode): ``method, preset, world_seed,
  episode, seed, start [x, y, yaw], goal [x, y], euclidean_distance, geodesic_distance,
  expert_length, success, collision, stuck, timeout, outcome, steps, time_s, path_length,
  spl_euclidean, spl_geodesic, final_distance, min_clearance, plans, stop_plans, plan_ms_mean,
  plan_ms_p50, plan_ms_p99, wall_s`` (SI units; ``None`` where undefined);
* ``summary.json``: ``env, preset, worlds, episodes_per_world, checkpoint, loop`` (the loop
  settings), ``wall_s`` and per method: ``episodes``; ``success``, ``success_rate``,
  ``success_ci95`` (95 % Wilson interval) and the same for ``collision``, ``stuck`` and ``timeout``;
  ``spl_euclidean``, ``spl_geodesic`` (means over all episodes), ``path_length_success_mean``,
  ``time_s_success_mean``, ``stop_plan_rate`` and ``plan_ms_p50``, ``plan_ms_p99``,
  ``plan_ms_mean`` (over every planning call);
* ``rates.png`` (outcome rates per method, with the success and collision intervals) and
  ``plots/world_<w>_ep<i>.png`` for the first :data:`PLOT_EPISODES` episodes: the world's occupancy
  top-down, start and goal, each method's executed path and, for the NavDP methods, the ``K``
  candidates of their first plan coloured by critic score.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.utils.atomic import atomic_write, atomic_write_json
from robocritic.utils.stats import wilson_interval

__all__ = ["PLOT_EPISODES", "evaluate", "json_safe", "summarise", "wilson_interval"]

PLOT_EPISODES = 4
"""Episodes (the first ones, in world order) that get a top-down plot."""


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` (JSON has no NaN or inf)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


Job = tuple[str, str | None, str, list[tuple[int, int]], list[tuple[int, int]]]
"""(method, checkpoint, preset, episodes, episodes to trace) of one worker call."""


def _run(job: Job) -> list[dict[str, Any]]:
    """Worker: one method over some episodes (traces kept for the plotted ones)."""
    import torch

    from robocritic.navdp.evaluate import (
        NAVDP_SELECTION,
        EpisodeSpec,
        LoopConfig,
        make_env,
        make_loop_planner,
        run_episode,
    )

    torch.set_num_threads(1)
    method, checkpoint, preset, episodes, traced = job
    model = None
    if method in NAVDP_SELECTION:
        from robocritic.navdp.checkpoint import load_model

        model = load_model(checkpoint)
    config = LoopConfig()
    env = make_env(preset, config)
    planner = make_loop_planner(method, model=model)
    rows = []
    try:
        for world_seed, episode in episodes:
            record = run_episode(env, planner, EpisodeSpec(world_seed, episode), config, method=method,
                                 keep_trace=(world_seed, episode) in traced)
            rows.append({"preset": preset, **record})
    finally:
        env.close()
    return rows


def summarise(rows: Sequence[dict[str, Any]], latencies: Sequence[float]) -> dict[str, Any]:
    """Summary of one method's episode records and all its planning latencies, ms (module docstring)."""
    n = len(rows)
    out: dict[str, Any] = {"episodes": n}
    for key in ("success", "collision", "stuck", "timeout"):
        k = sum(bool(r[key]) for r in rows)
        out.update({key: k, f"{key}_rate": k / n if n else math.nan,
                    f"{key}_ci95": list(wilson_interval(k, n))})
    for key in ("spl_euclidean", "spl_geodesic"):
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = float(np.mean(values)) if values else None
    done = [r for r in rows if r["success"]]
    out["path_length_success_mean"] = float(np.mean([r["path_length"] for r in done])) if done else None
    out["time_s_success_mean"] = float(np.mean([r["time_s"] for r in done])) if done else None
    plans = sum(r["plans"] for r in rows)
    out["stop_plan_rate"] = sum(r["stop_plans"] for r in rows) / plans if plans else None
    lat = np.asarray(latencies, dtype=np.float64)
    out["plan_ms_p50"] = float(np.percentile(lat, 50)) if lat.size else None
    out["plan_ms_p99"] = float(np.percentile(lat, 99)) if lat.size else None
    out["plan_ms_mean"] = float(lat.mean()) if lat.size else None
    return out


def _check_inputs(methods: Sequence[str], worlds: Sequence[int], checkpoint: str | Path | None,
                  episodes_per_world: int, preset: str, workers: int) -> None:
    from robocritic.envs.nav.world import PRESETS
    from robocritic.navdp.evaluate import METHODS, NAVDP_SELECTION

    if not methods or len(set(methods)) != len(methods):
        raise ValueError(f"methods: expected distinct names from {', '.join(METHODS)}; got {list(methods)!r}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"methods: unknown {unknown}; known: {', '.join(METHODS)}")
    ok = all(isinstance(w, (int, np.integer)) and not isinstance(w, bool) and w >= 0 for w in worlds)
    if not worlds or not ok or len(set(worlds)) != len(worlds):
        raise ValueError(f"worlds: expected distinct integer world seeds >= 0; got {list(worlds)!r}")
    if (not isinstance(episodes_per_world, int) or isinstance(episodes_per_world, bool)
            or episodes_per_world < 1):
        raise ValueError(f"episodes_per_world must be an integer >= 1; got {episodes_per_world!r}")
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1; got {workers!r}")
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}; got {preset!r}")
    navdp = [m for m in methods if m in NAVDP_SELECTION]
    if navdp and checkpoint is None:
        raise ValueError(f"methods {navdp} need checkpoint= (a NavDP model file written by save_model)")


def evaluate(
    methods: Sequence[str],
    worlds: Sequence[int],
    out_dir: str | Path,
    *,
    checkpoint: str | Path | None = None,
    episodes_per_world: int = 1,
    preset: str = "default",
    workers: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Run every method on every paired episode; write the files of the module docstring; return
    the summary.

    Args:
        methods: names from :data:`robocritic.navdp.evaluate.METHODS` (``straight``, ``dwa``,
            ``navdp``, ``navdp_critic_only``, ``navdp_first``, ``navdp_random``, ``expert``).
        worlds: world seeds (integers >= 0) of the preset.
        out_dir: folder for the outputs (created).
        checkpoint: a NavDP model file (:func:`robocritic.navdp.checkpoint.save_model`); needed by
            the ``navdp*`` methods.
        episodes_per_world: paired episodes per world.
        preset: world preset (``"default"``, ``"dense"``, ``"empty"``).
        workers: processes (spawned; MuJoCo state is not forked).
        progress: show a progress bar on stderr.

    Raises:
        ValueError: naming the argument, for unknown methods, bad world seeds or counts, an unknown
            preset, or a NavDP method without ``checkpoint``.
        CheckpointError: if ``checkpoint`` cannot be read as a NavDP model file.
    """
    from tqdm import tqdm

    from robocritic.envs.nav.sensors import DepthConfig
    from robocritic.navdp.evaluate import ENV_ID, NAVDP_SELECTION, LoopConfig

    _check_inputs(methods, worlds, checkpoint, episodes_per_world, preset, workers)
    worlds = [int(w) for w in worlds]
    ckpt = None
    if checkpoint is not None and any(m in NAVDP_SELECTION for m in methods):
        from robocritic.navdp.checkpoint import load_model

        cfg = load_model(checkpoint).config  # fails here, before any worker starts
        depth = DepthConfig()
        if (cfg.depth_height, cfg.depth_width) != (depth.height, depth.width):
            raise ValueError(f"checkpoint: {checkpoint} takes {cfg.depth_height} x {cfg.depth_width} depth "
                             f"images; the env gives {depth.height} x {depth.width}")
        ckpt = str(checkpoint)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    episodes = [(w, e) for w in worlds for e in range(episodes_per_world)]
    traced = episodes[:PLOT_EPISODES]
    chunk = max(1, min(10, len(episodes) // max(1, workers)))
    jobs = [(m, ckpt, preset, episodes[i: i + chunk], traced) for m in methods
            for i in range(0, len(episodes), chunk)]
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(methods) * len(episodes), desc="navdp eval", unit="ep", file=sys.stderr,
               disable=not progress)
    try:
        if workers == 1:
            for part in map(_run, jobs):
                rows.extend(part)
                bar.update(len(part))
        else:
            with mp.get_context("spawn").Pool(workers) as pool:
                for part in pool.imap(_run, jobs):
                    rows.extend(part)
                    bar.update(len(part))
    finally:
        bar.close()
    _check_pairing(rows)
    latencies = {m: [v for r in rows if r["method"] == m for v in r["plan_ms"]] for m in methods}
    traces: dict[tuple[int, int], dict[str, Any]] = {}
    for r in rows:
        r.pop("plan_ms")
        if "trace" in r:
            traces.setdefault((r["world_seed"], r["episode"]), {})[r["method"]] = r.pop("trace")
    order = {m: i for i, m in enumerate(methods)}
    rows.sort(key=lambda r: (order[r["method"]], worlds.index(r["world_seed"]), r["episode"]))
    summary = {
        "env": ENV_ID, "preset": preset, "worlds": worlds, "episodes_per_world": episodes_per_world,
        "checkpoint": ckpt, "loop": LoopConfig().to_dict(),
        "methods": {m: summarise([r for r in rows if r["method"] == m], latencies[m]) for m in methods},
        "wall_s": time.perf_counter() - t0,
    }
    rows, summary = json_safe(rows), json_safe(summary)
    atomic_write_json(out / "episodes.json", rows)
    atomic_write_json(out / "summary.json", summary)
    _plot_rates(summary, out / "rates.png")
    by_key = {(r["world_seed"], r["episode"]): r for r in rows}
    for key in traced:
        name = f"world_{key[0]}_ep{key[1]}.png"
        _plot_episode(preset, by_key[key], traces.get(key, {}), out / "plots" / name)
    return summary


def _check_pairing(rows: Sequence[dict[str, Any]]) -> None:
    """Every method saw the same start and goal in each episode (else RuntimeError)."""
    seen: dict[tuple[int, int], tuple] = {}
    for r in rows:
        key = (r["world_seed"], r["episode"])
        value = (r["seed"], tuple(r["start"]), tuple(r["goal"]))
        if seen.setdefault(key, value) != value:
            raise RuntimeError(f"world {key[0]}, episode {key[1]}: methods saw different episodes "
                               f"({seen[key]} vs {value})")


def _save(fig: Any, path: Path) -> None:
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))


def _plot_rates(summary: dict[str, Any], path: Path) -> None:
    from matplotlib.figure import Figure

    names = list(summary["methods"])
    fig = Figure(figsize=(max(6.0, 1.4 * len(names) + 2), 3.6), constrained_layout=True)
    ax = fig.add_subplot()
    x = np.arange(len(names))
    keys = ("success", "collision", "stuck", "timeout")
    width = 0.8 / len(keys)
    for j, key in enumerate(keys):
        rate = np.array([summary["methods"][n][f"{key}_rate"] for n in names], dtype=np.float64)
        err = None
        if key in ("success", "collision"):
            ci = np.array([summary["methods"][n][f"{key}_ci95"] for n in names], dtype=np.float64)
            err = np.abs(ci.T - rate)
        ax.bar(x + (j - 1.5) * width, rate, width=width, label=key, yerr=err, capsize=3)
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction of episodes (95 % CI)")
    n = summary["methods"][names[0]]["episodes"]
    ax.set_title(f"NavPointGoal-v0, preset {summary['preset']}: {n} paired episodes per method")
    ax.legend(fontsize=8, ncol=4)
    _save(fig, path)


def _plot_episode(preset: str, record: dict[str, Any], traces: dict[str, dict[str, Any]], path: Path) -> None:
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    from robocritic.envs.nav.world import generate_world

    world = generate_world(record["world_seed"], preset)
    grid = world.grid
    lo = grid.origin
    hi = lo + np.array(grid.size)
    fig = Figure(figsize=(6.4, 6.0), constrained_layout=True)
    ax = fig.add_subplot()
    ax.imshow(world.occupancy.T, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap="Greys",
              vmin=0, vmax=1.5, interpolation="nearest")
    for name, trace in traces.items():
        first = trace.get("first_plan")
        if name.startswith("navdp") and first is not None and not first["stop"]:
            cand = np.asarray(first["candidates"])
            scores = np.array([np.nan if s is None else s for s in first["scores"]], dtype=np.float64)
            finite = np.isfinite(scores)
            norm = Normalize(*(scores[finite].min(), scores[finite].max() + 1e-9)) if finite.any() else None
            cmap = colormaps["viridis"]
            for k, c in enumerate(cand):
                colour = cmap(norm(scores[k])) if norm is not None and finite[k] else "0.6"
                ax.plot(c[:, 0], c[:, 1], color=colour, lw=2.0 if k == first["best"] else 0.7, alpha=0.9)
            if norm is not None:
                fig.colorbar(_mappable(norm), ax=ax, shrink=0.7,
                             label=f"{name}: critic score of the first plan's candidates")
    for name, trace in traces.items():
        xy = np.asarray(trace["xy"])
        ax.plot(xy[:, 0], xy[:, 1], lw=1.5, label=name)
    start, goal = record["start"], record["goal"]
    ax.plot(start[0], start[1], "o", color="tab:green", ms=7, label="start")
    ax.arrow(start[0], start[1], 0.4 * math.cos(start[2]), 0.4 * math.sin(start[2]), width=0.03,
             color="tab:green")
    ax.plot(goal[0], goal[1], "*", color="tab:red", ms=12, label="goal")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(f"preset {preset}, world {record['world_seed']}, episode {record['episode']}")
    ax.legend(fontsize=7, loc="upper right")
    _save(fig, path)


def _mappable(norm: Any) -> Any:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable

    return ScalarMappable(norm=norm, cmap=colormaps["viridis"])
