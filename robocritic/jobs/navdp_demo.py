"""The NavDP part of ``robocritic demo``: the shipped NavDP model against DWA in held-out worlds.

Episode ``i`` runs in world seed :data:`DEMO_WORLD0` ``+ i`` of the ``default`` preset (episode
index 0 of that world, :class:`~robocritic.navdp.evaluate.EpisodeSpec`), so both methods get the
same start and goal. Those worlds are held out: the shipped model was trained on worlds 0-399 and
the NavDP benchmark uses worlds 5000 and up. The loop, the tracker and the metrics are those of
:mod:`robocritic.navdp.evaluate` (planner at 4 Hz, pure pursuit at 10 Hz). Written to ``out_dir``:

* ``topdown.png``: one panel per episode: the world's privileged occupancy grid, start and goal,
  the ``K`` candidates of NavDP's first plan coloured by critic score with the picked one
  highlighted, and both executed paths with their outcomes;
* ``summary.json``: the settings, the per-method summary
  (:func:`robocritic.jobs.navdp_eval.summarise`) and the per-episode records with their traces
  (the per-call latency lists dropped).

Nothing here is tuned: the table reports what the shipped model does in these worlds.
"""

from __future__ import annotations

import hashlib
import math
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from robocritic.jobs.navdp_eval import json_safe, summarise
from robocritic.utils.atomic import atomic_write, atomic_write_json

if TYPE_CHECKING:  # the NavDP stack (torch) loads only when the part runs
    from robocritic.navdp.evaluate import LoopConfig

__all__ = ["DEMO_METHODS", "DEMO_PRESET", "DEMO_WORLD0", "format_navdp_summary", "run_navdp_demo"]

DEMO_METHODS = ("navdp", "dwa")
"""NavDP with the critic's pick of the sampled candidates, and the DWA baseline."""
DEMO_PRESET = "default"
"""World preset of the demo (the one the model was trained on)."""
DEMO_WORLD0 = 9000
"""First world seed of the demo. Held out: training used worlds 0-399, the benchmark 5000 and up."""

#: Executed-path colours; kept apart from the viridis map of the critic scores.
_COLOURS = {"navdp": "tab:red", "dwa": "tab:blue"}
_LABELS = {"navdp": "NavDP", "dwa": "DWA"}


def _checkpoint() -> tuple[Path, str]:
    """The shipped model file and the SHA-256 of its bytes (names the exact weights in the record)."""
    from robocritic.navdp.assets import small_model_path

    path = small_model_path()
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _display_path(path: Path) -> str:
    """``path`` relative to the folder holding the ``robocritic`` package, when it lies under it."""
    import robocritic

    root = Path(robocritic.__file__).resolve().parents[1]
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def _check_pairing(rows: list[dict[str, Any]]) -> None:
    """Both methods saw the same seed, start and goal in every world (else RuntimeError)."""
    seen: dict[int, tuple] = {}
    for r in rows:
        value = (r["seed"], tuple(r["start"]), tuple(r["goal"]))
        if seen.setdefault(r["world_seed"], value) != value:
            raise RuntimeError(f"world {r['world_seed']}: methods saw different episodes "
                               f"({seen[r['world_seed']]} vs {value})")


def _run_episodes(episodes: int, checkpoint: Path, loop: LoopConfig,
                  progress: bool) -> tuple[list[dict[str, Any]], dict[int, Any]]:
    """Every method on every demo world; returns the records (with traces) and each world
    (the env's privileged :class:`~robocritic.envs.nav.world.World`, for the plot)."""
    from tqdm import tqdm

    from robocritic.navdp.checkpoint import load_model
    from robocritic.navdp.evaluate import EpisodeSpec, make_env, make_loop_planner, run_episode

    model = load_model(checkpoint)
    planners = {m: make_loop_planner(m, model=model) for m in DEMO_METHODS}
    env = make_env(DEMO_PRESET, loop)
    rows: list[dict[str, Any]] = []
    worlds: dict[int, Any] = {}
    try:
        for i in tqdm(range(episodes), desc="navdp demo", unit="ep", file=sys.stderr, disable=not progress):
            spec = EpisodeSpec(DEMO_WORLD0 + i, 0)
            for method in DEMO_METHODS:
                rows.append(run_episode(env, planners[method], spec, loop, method=method, keep_trace=True))
                # run_episode leaves the env in this episode's world until the next reset
                worlds[spec.world_seed] = env.unwrapped.world
    finally:
        env.close()
    return rows, worlds


def run_navdp_demo(episodes: int, out_dir: str | Path, *, progress: bool = True,
                   max_time: float | None = None) -> dict[str, Any]:
    """NavDP and DWA on ``episodes`` paired episodes in the held-out worlds ``DEMO_WORLD0 ..``;
    writes ``topdown.png`` and ``summary.json`` into ``out_dir`` (module docstring) and returns
    the record written to ``summary.json``.

    Args:
        episodes: paired episodes (one per world), >= 1.
        out_dir: folder for the outputs (created).
        progress: show a progress bar over episodes on stderr.
        max_time: episode time limit, s (default: the loop's); shorter runs are for tests.

    Raises:
        ValueError: naming the argument, for ``episodes`` < 1 or a non-positive ``max_time``.
        CheckpointError: if the shipped model file cannot be read.
    """
    import torch

    from robocritic.navdp.evaluate import ENV_ID, LoopConfig

    if not isinstance(episodes, int) or isinstance(episodes, bool) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1; got {episodes!r}")
    loop = LoopConfig() if max_time is None else LoopConfig(max_time=max_time)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    path, sha = _checkpoint()
    threads = torch.get_num_threads()
    # One thread: the latency is that of one control core, and the sampled plans do not depend on
    # how the host splits the matrix products.
    torch.set_num_threads(1)
    try:
        rows, worlds = _run_episodes(episodes, path, loop, progress)
    finally:
        torch.set_num_threads(threads)
    _check_pairing(rows)
    latencies = {m: [v for r in rows if r["method"] == m for v in r["plan_ms"]] for m in DEMO_METHODS}
    for r in rows:
        r.pop("plan_ms")  # one entry per planning call: bulky, and the summary keeps its percentiles
        if r["method"] != "navdp":
            # DWA's first plan is its velocity-window rollouts under its own cost (no critic): bulky, unplotted
            r["trace"].pop("first_plan")
    record = json_safe({
        "env": ENV_ID, "preset": DEMO_PRESET, "worlds": sorted(worlds), "episode_index": 0,
        "held_out_note": "training used worlds 0-399; the NavDP benchmark uses worlds 5000+",
        "checkpoint": _display_path(path), "checkpoint_sha256": sha, "loop": loop.to_dict(),
        "methods": {m: summarise([r for r in rows if r["method"] == m], latencies[m]) for m in DEMO_METHODS},
        "episodes": rows,
        "files": {"plot": str(out / "topdown.png"), "record": str(out / "summary.json")},
        "wall_s": time.perf_counter() - t0,
    })
    _plot_topdown(record, worlds, out / "topdown.png")
    atomic_write_json(out / "summary.json", record)
    return record


def _outcome_label(r: dict[str, Any]) -> str:
    return f"{_LABELS[r['method']]}: {r['outcome']} at {r['time_s']:.1f} s"


def _score_norm(pairs: list[dict[str, Any]]) -> Any:
    """One colour scale for the critic scores of every panel (``None`` without a finite score)."""
    from matplotlib.colors import Normalize

    firsts = [r["trace"]["first_plan"] for r in pairs if r["method"] == "navdp" and r.get("trace")]
    scores = [s for first in firsts if first is not None for s in first["scores"] if s is not None]
    if not scores:
        return None
    return Normalize(min(scores), max(scores) + 1e-9)


def _draw_candidates(ax: Any, first: dict[str, Any], norm: Any) -> None:
    """The first plan's candidates coloured by score (grey where unscored); the pick drawn thick."""
    from matplotlib import colormaps

    cmap = colormaps["viridis"]

    def colour(score: float | None) -> Any:
        return "0.6" if norm is None or score is None else cmap(norm(score))

    cand = np.asarray(first["candidates"], dtype=np.float64)
    for c, s in zip(cand, first["scores"]):
        ax.plot(c[:, 0], c[:, 1], color=colour(s), lw=0.8, alpha=0.85, zorder=2)
    best = cand[first["best"]]
    pick = "first plan: stop (best shown)" if first["stop"] else "NavDP's pick, first plan"
    ax.plot(best[:, 0], best[:, 1], color="k", lw=3.4, zorder=3)
    ax.plot(best[:, 0], best[:, 1], color=colour(first["scores"][first["best"]]), lw=1.8, zorder=3, label=pick)


def _draw_panel(ax: Any, world: Any, rows: dict[str, dict[str, Any]], norm: Any) -> None:
    """One episode: occupancy, NavDP's first plan, both executed paths, start and goal."""
    grid = world.grid
    lo = grid.origin
    hi = lo + np.array(grid.size)
    ax.imshow(world.occupancy.T, origin="lower", extent=(lo[0], hi[0], lo[1], hi[1]), cmap="Greys",
              vmin=0, vmax=1.5, interpolation="nearest", zorder=0)
    first = rows["navdp"].get("trace", {}).get("first_plan")
    if first is not None:
        _draw_candidates(ax, first, norm)
    for method, r in rows.items():
        xy = np.asarray(r["trace"]["xy"], dtype=np.float64)
        ax.plot(xy[:, 0], xy[:, 1], color=_COLOURS[method], lw=1.8, zorder=4, label=_outcome_label(r))
        if not r["success"]:  # where it ended: the contact, or where it gave up
            ax.plot(xy[-1, 0], xy[-1, 1], "X", color=_COLOURS[method], ms=8, mec="k", zorder=5)
    r = rows["navdp"]
    start, goal = r["start"], r["goal"]
    ax.plot(start[0], start[1], "o", color="tab:green", ms=7, mec="k", zorder=6, label="start")
    ax.arrow(start[0], start[1], 0.4 * math.cos(start[2]), 0.4 * math.sin(start[2]), width=0.03,
             color="tab:green", zorder=6)
    ax.plot(goal[0], goal[1], "*", color="gold", ms=14, mec="k", zorder=6, label="goal")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(f"world {r['world_seed']} (held out), {r['euclidean_distance']:.1f} m to goal", fontsize=9)
    # below the map: inside it would hide the start or the end of a path in some world
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)


def _plot_topdown(record: dict[str, Any], worlds: dict[int, Any], path: Path) -> None:
    """``topdown.png``: one panel per episode (module docstring), one shared score colour bar."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.figure import Figure

    seeds = record["worlds"]
    by_world = {w: {r["method"]: r for r in record["episodes"] if r["world_seed"] == w} for w in seeds}
    cols = min(3, len(seeds))
    nrows = math.ceil(len(seeds) / cols)
    fig = Figure(figsize=(4.6 * cols + 0.8, 5.4 * nrows + 0.4), constrained_layout=True)
    axes = np.atleast_1d(fig.subplots(nrows, cols, squeeze=False)).ravel()
    norm = _score_norm(record["episodes"])
    for ax, w in zip(axes, seeds):
        _draw_panel(ax, worlds[w], by_world[w], norm)
    for ax in axes[len(seeds):]:
        ax.set_visible(False)
    if norm is not None:
        fig.colorbar(ScalarMappable(norm=norm, cmap=colormaps["viridis"]), ax=list(axes[:len(seeds)]),
                     shrink=0.8, label="critic score of NavDP's first-plan candidates")
    sep = "\n" if cols < 3 else ", "  # one narrow panel cannot hold the title on one line
    fig.suptitle(f"NavDP ({Path(record['checkpoint']).name}) vs DWA{sep}{record['env']}, preset "
                 f"{record['preset']}{sep}paired episodes in held-out worlds", fontsize=10)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))


def format_navdp_summary(record: dict[str, Any]) -> str:
    """The table the demo prints: outcomes, SPL and planning latency per method, then one line per
    episode."""
    worlds = record["worlds"]
    n = len(worlds)
    span = f"{worlds[0]}" if n == 1 else f"{worlds[0]}-{worlds[-1]}"
    loop = record["loop"]
    lines = [
        (f"NavDP, {record['env']} (preset {record['preset']}), {n} paired episodes in held-out worlds {span} "
         "(training used 0-399, the benchmark 5000+)"),
        (f"checkpoint {record['checkpoint']} (sha256 {record['checkpoint_sha256'][:12]}), "
         f"planner {1 / loop['replan_period']:g} Hz, limit {loop['max_time']:g} s"),
        (f"{'method':<8} {'success':>8} {'collision':>10} {'stuck':>7} {'timeout':>8} {'SPL mean':>9} "
         f"{'plan ms p50':>12}"),
    ]
    for name, m in record["methods"].items():
        spl = "-" if m["spl_euclidean"] is None else f"{m['spl_euclidean']:.2f}"
        p50 = "-" if m["plan_ms_p50"] is None else f"{m['plan_ms_p50']:.1f}"
        k = m["episodes"]
        lines.append(f"{name:<8} {m['success']:>4}/{k:<3} {m['collision']:>6}/{k:<3} {m['stuck']:>3}/{k:<3} "
                     f"{m['timeout']:>4}/{k:<3} {spl:>9} {p50:>12}")
    for w in worlds:
        rows = [r for r in record["episodes"] if r["world_seed"] == w]
        lines.append(f"  world {w}: " + ", ".join(f"{r['method']} {r['outcome']} at {r['time_s']:.1f} s"
                                                  for r in rows))
    lines.append("navdp: the shipped model, its sampled candidates picked by critic score plus goal progress (selection 'critic'); "
                 "dwa: dynamic window on the same depth image")
    lines.append("SPL: success x Euclidean start-goal distance / max(that, path length), mean over all episodes")
    return "\n".join(lines)
