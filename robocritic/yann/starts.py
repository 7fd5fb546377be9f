"""Start-state sets for YANN-RL evaluations and their split into "easy" and "MPC-losing" starts.

* Sets: :func:`grid_starts` (every point of a box on a regular grid) and :func:`uniform_starts`
  (a seeded uniform draw from a box, drawn and rounded like the configs' test states). States are
  absolute, ``(n, n_x)`` float64, in the env's observation units (pendulum: rad, rad/s).
* Files: :func:`save_states` / :func:`load_states` (one plain ``.npy`` array, written atomically,
  read without pickle and with its header checked against the file's size) and
  :func:`save_labels` / :func:`load_labels` (the bool "MPC-losing" flag per start, same rules).
* Episodes: :func:`run_starts` runs a policy once from every start and records each episode's
  cost, final observation and whether it was *lost* (:class:`LossCriterion`).
* Split: :func:`classify_starts` runs the config's explicit MPC (horizon ``mpc_horizon``, 2 for the
  paper's pendulum) for the episode length; a start is *MPC-losing* when that episode is lost,
  *easy* otherwise. :func:`summarize` reports any policy on both groups separately.

Loss criterion (pendulum): an episode is lost when it does not end upright at rest, i.e. the last
observation has ``|theta| > 0.1`` rad (wrapped) or ``|theta_dot| > 0.5`` rad/s, or the env
terminated it (a safety termination). Why the final state and not a cost bound: a cost bound
mixes "fails" with "recovers slowly" (a swing-up that brings the pole back costs hundreds but
ends upright), while the question is whether the pole is upright when the episode ends; the cost
is reported beside it. Why these tolerances: the N-step MPC's outcomes are bimodal (a start is
either caught and settles to within rounding of upright, or the pole falls and ends far from it:
BENCHMARKS.md, section yann_hard_starts, gives the gap), so any tolerance inside the gap gives
the same split; 0.1 rad and 0.5 rad/s sit inside it and still demand a settled pole, not one
passing the top at the last step.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.interfaces import Controller
from robocritic.learning.rollout import Transition, run_episode
from robocritic.learning.runs import progress_bar
from robocritic.utils.atomic import atomic_write
from robocritic.yann.config import RLConfig, draw_start_states
from robocritic.yann.tools import MAX_STATES_BYTES, _load_states

__all__ = [
    "DEFAULT_CRITERIA",
    "MAX_STARTS",
    "LossCriterion",
    "StartOutcomes",
    "classify_starts",
    "default_criterion",
    "grid_starts",
    "load_labels",
    "load_states",
    "run_starts",
    "save_labels",
    "save_states",
    "summarize",
    "uniform_starts",
]

MAX_STARTS = 10**6
"""Most starts a grid or draw may hold (a typo in a resolution must not allocate gigabytes)."""


# -- sets ----------------------------------------------------------------------------------


def _vector(name: str, value: Sequence[float], *, positive: bool) -> np.ndarray:
    v = np.asarray(value, dtype=np.float64)
    if v.ndim != 1 or v.size == 0 or not np.all(np.isfinite(v)) or np.any(v <= 0 if positive else v < 0):
        need = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a non-empty list of finite numbers {need}; "
                         f"got {list(np.atleast_1d(v))}")
    return v


def _center(center: Sequence[float] | None, n_x: int) -> np.ndarray:
    if center is None:
        return np.zeros(n_x)
    c = np.asarray(center, dtype=np.float64)
    if c.shape != (n_x,) or not np.all(np.isfinite(c)):
        raise ValueError(f"center must hold {n_x} finite numbers (like half_width); got {c.tolist()}")
    return c


def grid_starts(
    half_width: Sequence[float], resolution: Sequence[float], center: Sequence[float] | None = None
) -> np.ndarray:
    """Every grid point ``center + k * resolution`` with ``|k * resolution| <= half_width`` per axis.

    Args:
        half_width: ``(n_x,)`` box half-widths (>= 0), state units.
        resolution: ``(n_x,)`` grid spacing (> 0), state units. center: ``(n_x,)``, default 0.

    Returns:
        ``(n, n_x)`` float64, the first axis slowest (rows sorted by state 0, then state 1, ...);
        points symmetric about ``center``, rounded to 1e-10 so that ``0.1 * 3`` is ``0.3``.
    """
    h = _vector("half_width", half_width, positive=False)
    r = _vector("resolution", resolution, positive=True)
    if r.shape != h.shape:
        raise ValueError(f"resolution must have {h.size} entries (like half_width); got {r.size}")
    c = _center(center, h.size)
    # The tolerance keeps a box edge that is a multiple of the spacing (1.2 / 0.1) on the grid.
    k_max = np.floor(h / r + 1e-9).astype(np.int64)
    n = math.prod(int(2 * k + 1) for k in k_max)
    if n > MAX_STARTS:
        raise ValueError(f"resolution: the grid would hold {n} starts, over {MAX_STARTS}; "
                         "use a coarser spacing")
    axes = [np.round(np.arange(-k, k + 1) * step, 10) for k, step in zip(k_max, r)]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1) + c


def uniform_starts(
    half_width: Sequence[float], n: int, seed: int, center: Sequence[float] | None = None
) -> np.ndarray:
    """``(n, n_x)`` starts ``center + U(-h, h)`` from ``default_rng(seed)``, rounded to 4 decimals
    (:func:`~robocritic.yann.config.draw_start_states`: how the configs' test states were drawn)."""
    h = _vector("half_width", half_width, positive=False)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= MAX_STARTS:
        raise ValueError(f"n must be an integer in [1, {MAX_STARTS}]; got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")
    return draw_start_states(_center(center, h.size), h, int(n), int(seed))


# -- files ---------------------------------------------------------------------------------


def save_states(path: str | os.PathLike[str], states: np.ndarray) -> Path:
    """Write ``states`` ``(n, n_x)`` as one float64 ``.npy`` array, atomically; returns the path."""
    x = np.asarray(states, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"states must be a non-empty finite (n, n_x) array; got shape {x.shape}")
    return atomic_write(path, lambda fh: np.save(fh, np.ascontiguousarray(x), allow_pickle=False))


def load_states(path: str | os.PathLike[str], n_x: int) -> np.ndarray:
    """``(n, n_x)`` float64 states from a plain ``.npy`` file (the reader of ``explicit eval``:
    no pickle, header checked against the file size; a ``ValueError`` naming ``--states PATH``)."""
    return _load_states(path, n_x)


def save_labels(path: str | os.PathLike[str], mpc_lost: np.ndarray) -> Path:
    """Write the ``(n,)`` bool "MPC-losing" flags as one ``.npy`` array, atomically."""
    lost = np.asarray(mpc_lost)
    if lost.dtype != np.bool_ or lost.ndim != 1 or lost.size == 0:
        raise ValueError(f"mpc_lost must be a non-empty (n,) bool array; got {lost.dtype} {lost.shape}")
    return atomic_write(path, lambda fh: np.save(fh, lost, allow_pickle=False))


def load_labels(path: str | os.PathLike[str], n: int) -> np.ndarray:
    """The ``(n,)`` bool flags written by :func:`save_labels` (``ValueError`` naming ``--labels PATH``)."""
    where = f"--labels {path}"
    try:
        size = os.path.getsize(path)
        if size > MAX_STATES_BYTES:
            raise ValueError(f"{where}: {size} bytes, over the bound of {MAX_STATES_BYTES}")
        lost = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise ValueError(f"{where}: cannot read: {exc}") from exc
    except (ValueError, EOFError) as exc:
        if str(exc).startswith(where):
            raise
        raise ValueError(f"{where}: not a plain .npy array: {exc}") from exc
    if not isinstance(lost, np.ndarray) or lost.dtype != np.bool_ or lost.shape != (n,):
        got = f"{lost.dtype} {lost.shape}" if isinstance(lost, np.ndarray) else type(lost).__name__
        raise ValueError(f"{where}: must be a bool array of shape ({n},), one flag per start; got {got}")
    return lost


# -- episodes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LossCriterion:
    """An episode is lost when the env terminated it or its last observation is farther than
    ``tolerance`` from the operating point in any entry (observation units, see module docstring)."""

    tolerance: tuple[float, ...]
    """``(n_x,)`` bounds on ``|obs_T - x_eq|``, each > 0."""

    def __post_init__(self) -> None:
        t = self.tolerance
        if not isinstance(t, tuple) or not t or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in t
        ):
            raise ValueError(
                f"LossCriterion.tolerance must be a non-empty tuple of finite numbers > 0; got {t!r}")

    def lost(self, final: np.ndarray, x_eq: np.ndarray, terminated: np.ndarray) -> np.ndarray:
        """``(n,)`` bool: lost episodes, from final observations ``(n, n_x)`` and ``terminated`` ``(n,)``."""
        away = np.abs(np.asarray(final) - np.asarray(x_eq)) > np.asarray(self.tolerance)
        return np.asarray(terminated, dtype=bool) | np.any(away, axis=1)


DEFAULT_CRITERIA: dict[str, LossCriterion] = {
    "robocritic/ClippedPendulum-v0": LossCriterion((0.1, 0.5)),
    "robocritic/ClippedPendulum-v1": LossCriterion((0.1, 0.5)),
}
"""The documented criterion per env id (rad and rad/s for the pendulum)."""


def default_criterion(env_id: str) -> LossCriterion:
    """The :data:`DEFAULT_CRITERIA` entry of ``env_id`` (``ValueError`` if it has none)."""
    try:
        return DEFAULT_CRITERIA[env_id]
    except KeyError:
        raise ValueError(
            f"env_id: no loss criterion for {env_id!r}; known: {sorted(DEFAULT_CRITERIA)} (pass one)"
        ) from None


@dataclass(frozen=True, eq=False)
class StartOutcomes:
    """One policy's episodes, one per start.

    Attributes:
        states: ``(n, n_x)`` starts. costs: ``(n,)`` total ``info["cost"]`` per episode.
        steps, violation_steps: ``(n,)`` int64. terminated: ``(n,)`` bool (ended by the env).
        final: ``(n, n_x)`` last observation of each episode. lost: ``(n,)`` bool.
    """

    states: np.ndarray
    costs: np.ndarray
    steps: np.ndarray
    violation_steps: np.ndarray
    terminated: np.ndarray
    final: np.ndarray
    lost: np.ndarray

    def episodes_json(self, mpc_lost: np.ndarray | None = None) -> list[dict[str, Any]]:
        """One JSON record per episode (``mpc_losing``: the start's group, where known)."""
        return [
            {
                "start": [float(v) for v in self.states[i]],
                "cost": float(self.costs[i]),
                "steps": int(self.steps[i]),
                "violation_steps": int(self.violation_steps[i]),
                "terminated": bool(self.terminated[i]),
                "final": [float(v) for v in self.final[i]],
                "lost": bool(self.lost[i]),
                "mpc_losing": None if mpc_lost is None else bool(mpc_lost[i]),
            }
            for i in range(len(self.costs))
        ]


class _LastObs:
    """The latest observation of an episode (the reset's, then each step's ``next_obs``)."""

    obs: np.ndarray

    def on_reset(self, obs: np.ndarray, _info: dict[str, Any]) -> None:
        self.obs = np.asarray(obs, dtype=np.float64)

    def on_step(self, t: Transition) -> None:
        self.obs = np.asarray(t.next_obs, dtype=np.float64)


def run_starts(
    policy: Controller | Callable[[np.ndarray], np.ndarray],
    make_env: Callable[[], Any],
    states: np.ndarray,
    x_eq: np.ndarray,
    criterion: LossCriterion,
    *,
    progress: bool = False,
    desc: str = "episodes",
) -> StartOutcomes:
    """Run ``policy`` once from each of ``states`` ``(n, n_x)`` (absolute), one fresh env for all.

    Episode ``i`` resets the env with seed ``i`` (as :class:`~robocritic.learning.rollout.TestSet`
    does) and runs to the env's time limit or termination; a Controller is reset before each.
    """
    x = np.asarray(states, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"states must be a non-empty (n, n_x) array; got shape {x.shape}")
    if len(criterion.tolerance) != x.shape[1]:
        raise ValueError(f"criterion.tolerance must have {x.shape[1]} entries (one per state); "
                         f"got {len(criterion.tolerance)}")
    act = policy.act if isinstance(policy, Controller) else policy
    n = x.shape[0]
    costs, final = np.zeros(n), np.zeros_like(x)
    steps, violations = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    terminated = np.zeros(n, dtype=bool)
    env = make_env()
    bar = progress_bar(n, 0, desc, progress)
    try:
        for i, x0 in enumerate(x):
            last = _LastObs()
            if isinstance(policy, Controller):
                policy.reset()
            result = run_episode(env, act, x0, seed=i, on_reset=last.on_reset, on_step=last.on_step)
            costs[i], steps[i], violations[i] = result.cost, result.steps, result.violation_steps
            terminated[i] = result.terminated
            final[i] = last.obs
            bar.update(1)
    finally:
        bar.close()
        env.close()
    lost = criterion.lost(final, x_eq, terminated)
    return StartOutcomes(x, costs, steps, violations, terminated, final, lost)


# -- split and summary ---------------------------------------------------------------------


def classify_starts(
    config: RLConfig,
    states: np.ndarray,
    *,
    criterion: LossCriterion | None = None,
    progress: bool = False,
) -> StartOutcomes:
    """The config's explicit MPC (horizon ``config.mpc_horizon``; ``config.law_path`` if set) from
    every start, for the episode length; ``.lost`` marks the MPC-losing starts."""
    from robocritic.yann.references import build_reference

    criterion = criterion or default_criterion(config.env_id)
    ref = build_reference("mpc2", config)
    return run_starts(ref.policy, ref.make_env, states, ref.x_eq, criterion, progress=progress,
                      desc="classify (explicit MPC)")


def _group(costs: np.ndarray, lost: np.ndarray, violations: np.ndarray) -> dict[str, Any]:
    if costs.size == 0:
        return {"starts": 0, "lost": 0, "violating": 0, "cost_median": None, "cost_p25": None,
                "cost_p75": None, "cost_mean": None}
    p25, med, p75 = np.percentile(costs, [25, 50, 75])
    return {"starts": int(costs.size), "lost": int(lost.sum()),
            "violating": int(np.count_nonzero(violations)),
            "cost_median": float(med), "cost_p25": float(p25), "cost_p75": float(p75),
            "cost_mean": float(costs.mean())}


def summarize(outcomes: StartOutcomes, mpc_lost: np.ndarray | None) -> dict[str, Any]:
    """Starts lost and cost median / IQR (p25, p75) / mean over all starts and, where ``mpc_lost``
    ``(n,)`` is given, over the easy and the MPC-losing starts separately."""
    o = outcomes
    out = {"all": _group(o.costs, o.lost, o.violation_steps)}
    if mpc_lost is not None:
        m = np.asarray(mpc_lost, dtype=bool)
        if m.shape != o.costs.shape:
            raise ValueError(f"mpc_lost must have shape {o.costs.shape} (one flag per start); got {m.shape}")
        out["easy"] = _group(o.costs[~m], o.lost[~m], o.violation_steps[~m])
        out["mpc_losing"] = _group(o.costs[m], o.lost[m], o.violation_steps[m])
    return out
