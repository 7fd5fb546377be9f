"""Collecting safety-critic data: unfiltered episodes of the two-rate loop, flattened per tick.

Episode ``i`` of :func:`collect` uses seed ``seed + i`` for the env and the policy, so a dataset
is a pure function of its arguments (also with ``workers > 1``: episodes are gathered in order).

On disk (:func:`save_dataset` / :func:`load_dataset`): one ``.npz`` of plain arrays (no pickles),
names as fixed-width unicode arrays, written atomically, with ``format_version``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.hierarchy import EpisodeTrace, HierarchyConfig, TaskPolicy, run_episode
from robocritic.bresa.labels import violation_labels
from robocritic.bresa.tasks import task_spec
from robocritic.utils.atomic import atomic_write
from robocritic.utils.npz_archive import read_npz

__all__ = [
    "DATASET_FORMAT",
    "DEFAULT_ENV_KWARGS",
    "CriticDataset",
    "collect",
    "concat_datasets",
    "dataset_from_traces",
    "load_dataset",
    "save_dataset",
]

DATASET_FORMAT = 1
"""Version of the ``.npz`` layout; bump on any change."""

ENV_ID = "robocritic/ArmPressWipe-v0"
"""The env :func:`collect` runs by default (the planar arm)."""
DEFAULT_ENV_KWARGS: dict[str, Any] = {
    "contact_stiffness_range": (0.5, 2.0),
    "randomization": {"push_probability": 0.001, "push_force": (20.0, 50.0)},
}
"""Perturbations of collection runs on top of the env's defaults (surface offset 0-3 cm)."""
ENV_KWARGS_BY_ENV: dict[str, dict[str, Any]] = {
    "robocritic/ArmPegInHole-v0": {
        "contact_stiffness_range": (0.5, 2.0),
        "randomization": {"friction_scale": (0.7, 1.5), "push_probability": 0.001, "push_force": (3.0, 8.0)},
    },
    "robocritic/ArmGroove-v0": {
        "contact_stiffness_range": (0.5, 2.0),
        "randomization": {"friction_scale": (0.7, 1.5), "push_probability": 0.001,
                          "push_force": (20.0, 50.0)},
    },
}
"""Per-env perturbations that replace :data:`DEFAULT_ENV_KWARGS` (peg-in-hole: its own hole and
table offsets, friction, and pushes below the 10 N lateral limit: the wrist sensor measures a push
along x as lateral force, so press-and-wipe's 20-50 N pushes would be violations by themselves;
groove: its own groove and table offsets and moving obstacle, friction, and 20-50 N pushes, which
act on the upper arm there, so the sensor sees only what they drive the stylus into)."""


def default_env_kwargs(env_id: str = ENV_ID) -> dict[str, Any]:
    """The collection/evaluation perturbations of ``env_id`` (a fresh dict)."""
    return dict(ENV_KWARGS_BY_ENV.get(env_id, DEFAULT_ENV_KWARGS))

_JITTER_STREAM = 0x1177  # separates the jitter's random stream from the env's and the policy's
_PER_TICK = ("state", "action", "cost", "episode", "force_filtered")
_PER_EPISODE = ("truncated", "seeds")
MAX_DATASET_BYTES = 2**30
"""Largest critic dataset :func:`load_dataset` reads (and its members' total) [bytes]."""


@dataclass
class CriticDataset:
    """Per-tick critic data of ``E`` episodes, ``N`` ticks in all.

    Attributes:
        state: ``(N, n_s)`` state features. action: ``(N, n_a)`` action features of the applied
            command (:meth:`FeatureLayout.action_features`). cost: ``(N,)`` 0/1 force-limit cost of
            the step. episode: ``(N,)`` int episode index ``0..E-1`` (ticks of an episode are
            contiguous and in order). force_filtered: ``(N,)`` [N] after the step.
        truncated: ``(E,)`` bool, the episode was cut by a time limit. seeds: ``(E,)`` int.
        feature_names: ``n_s + n_a`` names. format_version: :data:`DATASET_FORMAT`.
    """

    state: np.ndarray
    action: np.ndarray
    cost: np.ndarray
    episode: np.ndarray
    truncated: np.ndarray
    seeds: np.ndarray
    force_filtered: np.ndarray
    feature_names: tuple[str, ...]
    format_version: int = DATASET_FORMAT

    @property
    def n_episodes(self) -> int:
        return int(self.seeds.shape[0])

    @property
    def features(self) -> np.ndarray:
        """Critic input ``(N, n_s + n_a)``."""
        return np.concatenate([self.state, self.action], axis=1)

    def episode_slices(self) -> list[slice]:
        """Tick range of each episode (``E`` slices)."""
        bounds = np.searchsorted(self.episode, np.arange(self.n_episodes + 1))
        return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

    def labels(self, horizon_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """``(labels (N,), mask (N,))``: "violation within ``horizon_steps``" and the censoring
        mask, per episode (:func:`robocritic.bresa.labels.violation_labels`)."""
        labels = np.zeros(self.cost.shape[0])
        mask = np.ones(self.cost.shape[0], dtype=bool)
        for e, sl in enumerate(self.episode_slices()):
            labels[sl], mask[sl] = violation_labels(self.cost[sl], horizon_steps,
                                                    truncated=bool(self.truncated[e]))
        return labels, mask


def dataset_from_traces(traces: Sequence[EpisodeTrace], layout: FeatureLayout | None = None) -> CriticDataset:
    """Flatten episode traces into a :class:`CriticDataset` (episode ``i`` = ``traces[i]``)."""
    if not traces:
        raise ValueError("traces: need at least one episode")
    m = traces[0].m
    layout = layout or FeatureLayout(m=m, axes=("x", "z") if m == 2 else tuple("xyz"[:m]))
    state = np.concatenate([t.state_features for t in traces])
    action = np.concatenate([layout.action_features(t.state_features, t.applied) if t.n_ticks else
                             np.empty((0, layout.n_action)) for t in traces])
    return CriticDataset(
        state=state, action=action,
        cost=np.concatenate([t.cost for t in traces]),
        episode=np.concatenate([np.full(t.n_ticks, i, dtype=np.int64) for i, t in enumerate(traces)]),
        truncated=np.array([t.truncated for t in traces], dtype=bool),
        seeds=np.array([t.seed for t in traces], dtype=np.int64),
        force_filtered=np.concatenate([t.force_filtered for t in traces]),
        feature_names=layout.state_names() + layout.action_names(),
    )


def concat_datasets(parts: Sequence[CriticDataset]) -> CriticDataset:
    """One dataset of every episode of ``parts``, in order (episode ids renumbered)."""
    if not parts:
        raise ValueError("parts: need at least one dataset")
    names = parts[0].feature_names
    if any(tuple(p.feature_names) != tuple(names) for p in parts):
        raise ValueError("parts: the datasets have different feature names")
    offsets = np.cumsum([0] + [p.n_episodes for p in parts[:-1]])
    return CriticDataset(
        state=np.concatenate([p.state for p in parts]),
        action=np.concatenate([p.action for p in parts]),
        cost=np.concatenate([p.cost for p in parts]),
        episode=np.concatenate([p.episode + o for p, o in zip(parts, offsets, strict=True)]),
        truncated=np.concatenate([p.truncated for p in parts]),
        seeds=np.concatenate([p.seeds for p in parts]),
        force_filtered=np.concatenate([p.force_filtered for p in parts]),
        feature_names=tuple(names),
    )


class CommandJitter:
    """Tick-level exploration for critic data, used in the filter slot of the loop.

    The task policy's commands change smoothly, so on its own data the command a tick applies is
    nearly the one the state already holds, and a critic cannot learn what a DIFFERENT command
    (a retreat, a softer or stiffer spring) would do. This perturbs the nominal command: while no
    perturbation runs, one starts with ``start_probability`` per tick and lasts 5-40 ticks, adding
    a normal-axis setpoint offset from ``normal_offset`` [m] (positive = away from the surface),
    a tangential one from ``tangential_offset`` [m] and a log-stiffness offset per axis from
    ``log_stiffness_offset``. Seeded by ``rng``; ``start_probability = 0`` changes nothing.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        start_probability: float = 0.01,
        normal_offset: tuple[float, float] = (-0.01, 0.02),
        tangential_offset: tuple[float, float] = (-0.005, 0.005),
        log_stiffness_offset: tuple[float, float] = (-2.0, 0.7),
    ) -> None:
        if not 0.0 <= start_probability <= 1.0:
            raise ValueError(f"start_probability must be in [0, 1]; got {start_probability!r}")
        self.rng, self.start_probability = rng, float(start_probability)
        self.normal_offset, self.tangential_offset = normal_offset, tangential_offset
        self.log_stiffness_offset = log_stiffness_offset
        self._left = 0
        self._offset: np.ndarray | None = None

    def reset(self) -> None:
        self._left = 0

    def certify(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        m = action.shape[0] // 2
        if self._left == 0 and self.start_probability > 0 and self.rng.random() < self.start_probability:
            offset = np.empty(2 * m)
            offset[: m - 1] = self.rng.uniform(*self.tangential_offset, size=m - 1)
            offset[m - 1] = self.rng.uniform(*self.normal_offset)  # the normal axis is the last one
            offset[m:] = self.rng.uniform(*self.log_stiffness_offset, size=m)
            self._offset, self._left = offset, int(self.rng.integers(5, 41))
        if self._left == 0:
            return action, {"intervened": False}
        self._left -= 1
        return action + self._offset, {"intervened": True}


def _make_policy(policy: str | TaskPolicy, env_id: str = ENV_ID) -> TaskPolicy:
    if isinstance(policy, str):
        if policy not in ("exploration", "scripted"):
            raise ValueError(f"policy: expected 'exploration', 'scripted' or a TaskPolicy; got {policy!r}")
        return task_spec(env_id).policy(policy)  # with the env's geometry
    return policy


def _run_range(
    args: tuple[list[int], dict[str, Any], str | TaskPolicy, HierarchyConfig, float, str],
) -> list[EpisodeTrace]:
    seeds, env_kwargs, policy, config, jitter, env_id = args
    env = gym.make(env_id, **env_kwargs)
    pol = _make_policy(policy, env_id)
    try:
        return [run_episode(env, pol, config=config, seed=s,
                            safety_filter=CommandJitter(np.random.default_rng([s, _JITTER_STREAM]), jitter))
                for s in seeds]
    finally:
        env.close()


def collect(
    n_episodes: int,
    *,
    seed: int,
    env_kwargs: dict[str, Any] | None = None,
    policy: str | TaskPolicy = "exploration",
    config: HierarchyConfig | None = None,
    progress: bool = True,
    workers: int = 1,
    jitter: float = 0.01,
    env_id: str = ENV_ID,
) -> CriticDataset:
    """Run ``n_episodes`` episodes (seeds ``seed .. seed + n - 1``) into a dataset, with no safety
    filter but with :class:`CommandJitter` perturbing the commands (``jitter`` = its start
    probability per tick; 0 = the task policy's commands as they are).

    Args:
        env_kwargs: ``gym.make`` arguments (``None``: :func:`default_env_kwargs`; give ``{}`` for
            the env's own defaults). ``max_episode_steps`` shortens episodes.
        policy: "exploration", "scripted" (built for ``env_id``:
            :func:`robocritic.bresa.policies.policy_for_env`) or a :class:`TaskPolicy` instance
            (reset per episode).
        config: loop settings. progress: a tqdm bar on stderr.
        workers: processes (``1``: in this process); the result does not depend on it.
        env_id: the press-and-wipe env (the planar arm by default; ``"robocritic/Arm7PressWipe-v0"``
            for the 7-DoF arm, whose features have ``m = 3`` axes x, y, z).
    """
    if isinstance(n_episodes, bool) or int(n_episodes) != n_episodes or n_episodes < 1:
        raise ValueError(f"n_episodes must be an integer >= 1; got {n_episodes!r}")
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be an integer >= 1; got {workers!r}")
    if env_id not in gym.registry:
        raise ValueError(f"env_id: {env_id!r} is not a registered env")
    kwargs = default_env_kwargs(env_id) if env_kwargs is None else dict(env_kwargs)
    cfg = config or HierarchyConfig()
    seeds = [int(seed) + i for i in range(int(n_episodes))]
    from tqdm import tqdm  # only when collecting

    bar = tqdm(total=len(seeds), desc="collect", unit="ep", file=sys.stderr, disable=not progress)
    traces: list[EpisodeTrace] = []
    jobs = [([s], kwargs, policy, cfg, float(jitter), env_id) for s in seeds]
    with bar, contextlib.ExitStack() as stack:
        if workers == 1:
            parts: Any = map(_run_range, jobs)
        else:
            import multiprocessing as mp

            # spawn: MuJoCo/EGL state must not be forked
            parts = stack.enter_context(mp.get_context("spawn").Pool(int(workers))).imap(_run_range, jobs)
        for part in parts:
            traces.extend(part)
            bar.update(len(part))
    return dataset_from_traces(traces)


# ---- on disk ------------------------------------------------------------------------------------
def save_dataset(ds: CriticDataset, path: str | os.PathLike[str]) -> Path:
    """Write ``ds`` to one ``.npz`` (plain arrays, atomic). Returns ``path``."""
    arrays = {name: np.asarray(getattr(ds, name)) for name in _PER_TICK + _PER_EPISODE}
    arrays["feature_names"] = np.array(ds.feature_names, dtype=np.str_)
    arrays["format_version"] = np.array(int(ds.format_version), dtype=np.int64)
    return atomic_write(path, lambda fh: np.savez(fh, **arrays))


def load_dataset(path: str | os.PathLike[str]) -> CriticDataset:
    """Read a dataset written by :func:`save_dataset`.

    Raises:
        ValueError: naming the file and the field, for a missing key, a pickled
            (object) array, a wrong version, dtype or shape, or inconsistent sizes.
    """
    path = Path(path)
    keys = set(_PER_TICK + _PER_EPISODE + ("feature_names", "format_version"))
    # Bounded and pickle-free; a damaged zip (any header, CRC or deflate error) is a named ValueError.
    data = read_npz(path, sorted(keys), max_bytes=MAX_DATASET_BYTES, what="a critic dataset .npz")
    if set(data) != keys:
        raise ValueError(f"{path}: dataset keys differ: missing {sorted(keys - set(data))}")

    def bad(field: str, why: str) -> ValueError:
        return ValueError(f"{path}: field {field!r}: {why}")

    version = data["format_version"]
    if version.shape != () or not np.issubdtype(version.dtype, np.integer) or int(version) != DATASET_FORMAT:
        raise bad("format_version", f"expected {DATASET_FORMAT}, got {version!r}")
    names = data["feature_names"]
    if names.ndim != 1 or names.dtype.kind != "U":
        raise bad("feature_names", f"expected a 1-D unicode array, got {names.dtype} {names.shape}")
    state, action = data["state"], data["action"]
    for k in ("state", "action"):
        if data[k].ndim != 2 or data[k].dtype.kind != "f":
            raise bad(k, f"expected a 2-D float array, got {data[k].dtype} {data[k].shape}")
    n = state.shape[0]
    if state.shape[1] + action.shape[1] != names.shape[0]:
        raise bad("feature_names",
                  f"{names.shape[0]} names for {state.shape[1]} + {action.shape[1]} features")
    for k, kind in (("action", "f"), ("cost", "f"), ("episode", "i"), ("force_filtered", "f")):
        if data[k].shape[0] != n or (k != "action" and data[k].ndim != 1) or data[k].dtype.kind != kind:
            raise bad(k, f"expected {n} rows of kind {kind!r}, got {data[k].dtype} {data[k].shape}")
    n_ep = data["seeds"].shape[0]
    if data["seeds"].ndim != 1 or data["seeds"].dtype.kind != "i":
        raise bad("seeds", f"expected a 1-D int array, got {data['seeds'].dtype} {data['seeds'].shape}")
    if data["truncated"].shape != (n_ep,) or data["truncated"].dtype != np.bool_:
        tr = data["truncated"]
        raise bad("truncated", f"expected ({n_ep},) bool, got {tr.dtype} {tr.shape}")
    ep = data["episode"]
    if n and (ep.min() < 0 or ep.max() >= n_ep or np.any(np.diff(ep) < 0)):
        raise bad("episode", f"expected sorted indices in [0, {n_ep})")
    return CriticDataset(
        state=state, action=action, cost=data["cost"], episode=ep, truncated=data["truncated"],
        seeds=data["seeds"], force_filtered=data["force_filtered"],
        feature_names=tuple(str(s) for s in names), format_version=int(version),
    )
