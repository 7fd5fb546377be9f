"""An RL task policy for the Bresa hierarchy: SB3 SAC on :class:`~robocritic.bresa.task_env.TaskLevelEnv`,
with or without a 1 kHz safety filter in the loop WHILE it learns.

The question it serves: does the 1 kHz filter keep a learning task policy safe during training
(CUMULATIVE TRAINING VIOLATIONS: unsafe 1 ms ticks, and training episodes with at least one),
and what does the policy learn under it?

* :class:`TaskRLConfig` -- env, filter, SAC hyper-parameters, episode budget, checkpoint cadence.
* :func:`train_task_policy` -- trains into a :class:`~robocritic.learning.runs.RunFolder`:
  per-episode curves (:class:`~robocritic.learning.runs.CurveLogger`: TensorBoard, a tqdm bar;
  a curve step is a training episode, ``violation_steps`` are unsafe 1 ms TICKS) and resumable
  checkpoints in the learning core's :class:`~robocritic.learning.checkpoint.CheckpointStore`
  (step = training episode): SAC's policy, optimisers and entropy coefficient as a weights-only
  ``state.pt``, the replay buffer as a plain ``.npz``, counters and RNG states as JSON. SB3's own
  ``save`` (pickles) is never used. A run resumed from its checkpoint continues with the next
  episode (episode ``k`` is reset with :func:`~robocritic.learning.rollout.episode_seed`
  ``(seed, k)``, so the episodes are the same as an uninterrupted run's).
* Online critic refresh (``critic_refresh_every > 0``, critic filters only): every so many
  episodes :class:`~robocritic.bresa.refresh.CriticRefresher` rolls out the current policy,
  fine-tunes the filter's critic on that data mixed with the critic's original data and swaps the
  filter's model; the critic's weights and the refresh counter are in the checkpoint (so a resumed
  run repeats the uninterrupted one), the per-refresh records in ``task_rl.json`` and the refreshed
  critic in :data:`REFRESHED_CRITIC`.
* :class:`SB3TaskPolicy` -- a trained actor as a :class:`~robocritic.bresa.hierarchy.TaskPolicy`
  (deterministic mean action -> :func:`~robocritic.bresa.task_env.task_action`), so
  :func:`evaluate_task_policy` runs it with :func:`~robocritic.bresa.hierarchy.run_episode` under
  any method's filter, exactly as the scripted policy is evaluated.

Observations are normalised by a FIXED affine map (:func:`task_obs_normalization`: physical
scales of the press-and-wipe task, no statistics), recorded in the policy sidecar.
"""

from __future__ import annotations

import math
import shutil
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from robocritic.bresa.collect import ENV_ID
from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.hierarchy import HierarchyConfig, run_episode
from robocritic.bresa.methods import METHODS, build_method, needs_critic
from robocritic.bresa.refresh import CriticRefresher, set_filter_model
from robocritic.bresa.task_env import TaskEnvConfig, TaskLevelEnv, base_policy, residual_action, task_action
from robocritic.interfaces import SafetyFilter
from robocritic.learning.checkpoint import (
    Checkpoint,
    CheckpointError,
    CheckpointStore,
    check_module_state,
    check_rng_state,
    load_module_state,
    load_optimizer_state,
    read_json,
    require,
)
from robocritic.learning.rollout import EpisodeResult, episode_seed
from robocritic.learning.runs import CurveLogger, PolicySidecar, RunFolder, RunMetrics, versions
from robocritic.learning.sb3 import build_sb3_policy, require_sb3
from robocritic.learning.spec import ObsNormalization
from robocritic.utils.fields import check_real

__all__ = [
    "REFRESHED_CRITIC",
    "TASK_ENV_ID",
    "SB3TaskPolicy",
    "TaskRLConfig",
    "TaskRLResult",
    "evaluate_task_policy",
    "load_task_policy",
    "make_filter",
    "task_obs_normalization",
    "train_task_policy",
]

TASK_ENV_ID = "bresa/TaskLevel-ArmPressWipe-v0"
"""Name of the task-level env in metrics and sidecars."""
REFRESHED_CRITIC = "critic_refreshed.pt"
"""The online-refreshed critic in a finished run folder (:func:`~robocritic.bresa.critic.save_critic`)."""

# Fixed observation normalisation of the planar press-and-wipe task (13 inner values, then the
# applied command): centres near the working pose, scales of the physical ranges, so that every
# input is O(1) without data-dependent statistics.
_INNER_CENTER = [0.8, -1.6, -0.8, 0, 0, 0, 0.45, -0.22, 0, 0, 10.0, 0.475, 1.0]
_INNER_SCALE = [0.5, 0.5, 0.5, 2.0, 2.0, 2.0, 0.1, 0.05, 0.5, 0.5, 15.0, 0.1, 1.0]


def task_obs_normalization(config: HierarchyConfig) -> ObsNormalization:
    """The fixed normalisation of the :class:`TaskLevelEnv` observation on ArmPressWipe-v0 (17,)."""
    lo, hi = config.log_stiffness_range
    centre = _INNER_CENTER + [0.45, -0.24, 0.5 * (lo + hi), 0.5 * (lo + hi)]
    half = max(0.5 * (hi - lo), 0.5)
    scale = _INNER_SCALE + [0.1, 0.05, half, half]
    return ObsNormalization(np.array(centre, dtype=np.float64), np.array(scale, dtype=np.float64))


@dataclass(frozen=True)
class TaskRLConfig:
    """A task-policy training run (validated; errors name the field).

    Attributes:
        env: the task-level env (decision rate, perturbations, penalty, reward scale).
        filter: method of :mod:`robocritic.bresa.methods` whose FILTER sits in the training loop
            ("none": no filter; "reflex_1khz", "minmod_1khz", "force_clamp", ...).
        critic_path: critic file (:func:`~robocritic.bresa.critic.save_critic`) for critic filters.
        episodes: training episodes (the budget). checkpoint_every: episodes between checkpoints.
        keep_checkpoints: newest checkpoints kept.
        learning_rate, buffer_size, learning_starts (decision steps of random actions first),
        batch_size, tau, gamma, train_freq, gradient_steps, net_arch, ent_coef: SAC's.
        lagrangian_lr: 0 (default): the penalty per unsafe tick stays ``env.violation_penalty``
            (reward penalty). > 0: a Lagrangian method: after every training episode the penalty
            ``lambda`` (starting at ``env.violation_penalty``) becomes
            ``max(0, lambda + lagrangian_lr * (unsafe ticks - cost_budget))``.
        cost_budget: unsafe 1 ms ticks per episode the Lagrangian method tolerates (>= 0).
        critic_refresh_every: training episodes between online refreshes of the filter's critic
            (:mod:`robocritic.bresa.refresh`); 0 (default): never. Needs a critic filter. A
            refresh runs at the first episode boundary at or after each multiple, not after the
            last episode.
        critic_refresh_episodes: rollouts of the current policy per refresh (>= 2; 20 % of them,
            at least one, are held out to measure the critic before and after).
        critic_refresh_epochs: fine-tune passes over the mixed data per refresh.
        critic_refresh_lr: the fine-tune's Adam step size.
        critic_data_path: the critic's original training data (a ``.npz`` of
            :func:`~robocritic.bresa.collect.save_dataset`), mixed into every fine-tune; ``None``:
            the new data only (the critic may then forget the original data).
        critic_replay_ratio: original ticks per new training tick in the mix (>= 0).
        critic_horizon_ms: label horizon of the refresh data [ms] (the critic's own, 30 in the study).
        critic_refresh_jitter: :class:`~robocritic.bresa.collect.CommandJitter`'s start
            probability per tick in the refresh rollouts.
    """

    env: TaskEnvConfig = field(default_factory=lambda: TaskEnvConfig(reward_scale=1e-3, violation_penalty=10.0))
    filter: str = "none"
    critic_path: str | None = None
    episodes: int = 200
    checkpoint_every: int = 25
    keep_checkpoints: int = 2
    learning_rate: float = 3e-4
    buffer_size: int = 100_000
    learning_starts: int = 400
    batch_size: int = 256
    tau: float = 0.005
    gamma: float = 0.97
    train_freq: int = 1
    gradient_steps: int = 1
    net_arch: tuple[int, ...] = (128, 128)
    ent_coef: str | float = "auto"
    lagrangian_lr: float = 0.0
    cost_budget: float = 0.0
    critic_refresh_every: int = 0
    critic_refresh_episodes: int = 10
    critic_refresh_epochs: int = 2
    critic_refresh_lr: float = 3e-4
    critic_data_path: str | None = None
    critic_replay_ratio: float = 1.0
    critic_horizon_ms: float = 30.0
    critic_refresh_jitter: float = 0.01

    def __post_init__(self) -> None:
        name = "TaskRLConfig"
        if self.filter != "none" and (self.filter not in METHODS or self.filter == "low_stiffness"):
            raise ValueError(f"{name}.filter must be 'none' or a filtering method of robocritic.bresa.methods "
                             f"({', '.join(m for m in METHODS if m not in ('none', 'low_stiffness'))}); "
                             f"got {self.filter!r}")
        if needs_critic(self.filter) and not self.critic_path:
            raise ValueError(f"{name}.critic_path is required by filter {self.filter!r}")
        for f in ("episodes", "checkpoint_every", "keep_checkpoints", "buffer_size", "batch_size",
                  "train_freq", "gradient_steps"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}.{f} must be an integer >= 1; got {v!r}")
        if isinstance(self.learning_starts, bool) or not isinstance(self.learning_starts, int) \
                or self.learning_starts < 0:
            raise ValueError(f"{name}.learning_starts must be an integer >= 0; got {self.learning_starts!r}")
        for f, lo, hi in (("learning_rate", 0.0, math.inf), ("tau", 0.0, 1.0), ("gamma", 0.0, 1.0)):
            v = getattr(self, f)
            if not (isinstance(v, (int, float)) and lo < v <= hi):
                raise ValueError(f"{name}.{f} must lie in ({lo}, {hi}]; got {v!r}")
        object.__setattr__(self, "net_arch", tuple(int(h) for h in self.net_arch))
        if not self.net_arch or any(h < 1 for h in self.net_arch):
            raise ValueError(f"{name}.net_arch must be widths >= 1; got {self.net_arch!r}")
        if not (self.ent_coef == "auto" or (isinstance(self.ent_coef, (int, float)) and self.ent_coef > 0)):
            raise ValueError(f"{name}.ent_coef must be 'auto' or a number > 0; got {self.ent_coef!r}")
        for f in ("lagrangian_lr", "cost_budget"):
            check_real(name, f, getattr(self, f), low=0.0)
        v = self.critic_refresh_every
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{name}.critic_refresh_every must be an integer >= 0; got {v!r}")
        if v > 0 and not needs_critic(self.filter):
            raise ValueError(f"{name}.critic_refresh_every: refreshing needs a critic filter (reflex_*, "
                             f"minmod_*); filter is {self.filter!r}")
        for f, lo in (("critic_refresh_episodes", 2), ("critic_refresh_epochs", 1)):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{name}.{f} must be an integer >= {lo}; got {v!r}")
        for f in ("critic_refresh_lr", "critic_horizon_ms"):
            check_real(name, f, getattr(self, f), low=0.0, low_open=True)
        check_real(name, "critic_replay_ratio", self.critic_replay_ratio, low=0.0)
        check_real(name, "critic_refresh_jitter", self.critic_refresh_jitter, low=0.0, high=1.0)
        if self.critic_data_path is not None:
            object.__setattr__(self, "critic_data_path", str(self.critic_data_path))  # a Path too
        if self.critic_data_path is not None and self.critic_refresh_every == 0:
            raise ValueError(f"{name}.critic_data_path is only used by a refresh; set critic_refresh_every "
                             f"> 0 or leave it None (got {self.critic_data_path!r})")

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form (what checkpoints compare and the sidecar records)."""
        env = {"hierarchy": asdict(self.env.hierarchy), "env_kwargs": _jsonable(dict(self.env.env_kwargs)),
               "violation_penalty": self.env.violation_penalty, "reward_scale": self.env.reward_scale}
        if self.env.base_policy:  # only then: records written before the option stay comparable
            env.update(base_policy=self.env.base_policy, residual_scale=self.env.residual_scale)
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "env"}
        out["net_arch"] = list(self.net_arch)
        return _jsonable({**out, "env": env})


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


_RESUMABLE_CHANGES = {"episodes", "checkpoint_every", "keep_checkpoints"}
# Fields added after checkpoints were first written: a stored config without them had their default.
_ADDED_FIELDS = ("critic_refresh_every", "critic_refresh_episodes", "critic_refresh_epochs",
                 "critic_refresh_lr", "critic_data_path", "critic_replay_ratio", "critic_horizon_ms",
                 "critic_refresh_jitter")
_ADDED_DEFAULTS = {f.name: f.default for f in fields(TaskRLConfig) if f.name in _ADDED_FIELDS}


# -- filters and env --------------------------------------------------------------------------


def make_filter(name: str, critic_path: str | Path | None, hierarchy: HierarchyConfig) -> SafetyFilter | None:
    """The safety filter of method ``name`` (``None`` for "none"), its critic loaded from
    ``critic_path`` when the method needs one (torch-free :class:`NumpyCritic`)."""
    if name == "none":
        return None
    critic = None
    if needs_critic(name):
        if critic_path is None:
            raise ValueError(f"critic_path: method {name!r} needs a critic file")
        from robocritic.bresa.critic import NumpyCritic, load_critic

        critic = NumpyCritic.from_module(load_critic(critic_path), max_batch=64)
    return build_method(name, critic, FeatureLayout(m=2), hierarchy)[1]


class _EpisodeSeeds(gym.Wrapper):
    """Resets training episode ``k`` (from 1) with ``episode_seed(seed, k)``; ``episode`` is the
    number of resets so far (restored on resume)."""

    def __init__(self, env: gym.Env, seed: int, episode: int = 0) -> None:
        super().__init__(env)
        self._seed, self.episode = int(seed), int(episode)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self.episode += 1
        return self.env.reset(seed=episode_seed(self._seed, self.episode), options=options)


class _NormalizedObs(gym.ObservationWrapper):
    def __init__(self, env: gym.Env, normalization: ObsNormalization) -> None:
        super().__init__(env)
        self.normalization = normalization
        self.observation_space = normalization.observation_space()

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return self.normalization(observation)


# -- the trained policy as a TaskPolicy -------------------------------------------------------


class SB3TaskPolicy:
    """An SB3 actor as a :class:`~robocritic.bresa.hierarchy.TaskPolicy` (deterministic).

    ``decide`` builds the :class:`TaskLevelEnv` observation ``[obs, applied]``, normalises it,
    takes the actor's mean action in [-1, 1] and maps it with :func:`task_action`, or, for a
    residual policy (``base`` given), adds :func:`residual_action` of it to ``base``'s action.
    """

    def __init__(self, policy: Any, normalization: ObsNormalization, hierarchy: HierarchyConfig,
                 base: Any = None, residual_scale: float = 0.25) -> None:
        self.policy, self.normalization, self.hierarchy = policy, normalization, hierarchy
        self.base, self.residual_scale = base, float(residual_scale)

    def reset(self, rng: np.random.Generator) -> None:
        """The actor is deterministic; a base policy draws from ``rng`` as it would alone."""
        if self.base is not None:
            self.base.reset(rng)

    def decide(self, obs: np.ndarray, info: dict[str, Any], applied: np.ndarray) -> np.ndarray:
        x = np.concatenate([np.asarray(obs, dtype=np.float64), np.asarray(applied, dtype=np.float64)])
        # float32 first: the same rounding as TaskLevelEnv's observation
        z = self.normalization(x.astype(np.float32))
        action, _ = self.policy.predict(z, deterministic=True)
        a = np.asarray(action, dtype=np.float64)
        if self.base is None:
            return task_action(a, self.hierarchy)
        base = np.asarray(self.base.decide(obs, info, applied), dtype=np.float64)
        return base + residual_action(a, self.residual_scale, self.hierarchy)


# -- training -------------------------------------------------------------------------------


@dataclass
class TaskRLResult:
    """A training run: its folder, metrics, whether it finished, and (when finished) the policy.

    ``interventions`` / ``successes``: per training episode, the filter's intervened ticks and the
    env's success flag (the counts :class:`RunMetrics` has no field for). ``critic_refreshes``: one
    :meth:`~robocritic.bresa.refresh.RefreshRecord.to_json` per online critic refresh.
    """

    run_dir: Path
    metrics: RunMetrics
    finished: bool
    interventions: list[int]
    successes: list[bool]
    policy: SB3TaskPolicy | None = None
    critic_refreshes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def training_unsafe_ticks(self) -> int:
        return self.metrics.training_violation_steps

    @property
    def training_violating_episodes(self) -> int:
        return self.metrics.training_violations


def _make_model(config: TaskRLConfig, env: gym.Env, seed: int) -> Any:
    sb3 = require_sb3()
    return sb3.SAC(
        "MlpPolicy", env, learning_rate=config.learning_rate, buffer_size=config.buffer_size,
        learning_starts=config.learning_starts, batch_size=config.batch_size, tau=config.tau,
        gamma=config.gamma, train_freq=config.train_freq, gradient_steps=config.gradient_steps,
        ent_coef=config.ent_coef, policy_kwargs={"net_arch": list(config.net_arch)}, seed=int(seed),
        device="cpu", verbose=0)


def _model_state(model: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "policy": model.policy.state_dict(),
        "actor_optimizer": model.actor.optimizer.state_dict(),
        "critic_optimizer": model.critic.optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
    }
    if getattr(model, "log_ent_coef", None) is not None:
        state["log_ent_coef"] = model.log_ent_coef.detach().clone()
        state["ent_coef_optimizer"] = model.ent_coef_optimizer.state_dict()
    return state


def _load_model_state(model: Any, ckpt: Checkpoint) -> None:
    """The SAC model's networks, optimisers, entropy coefficient and the torch RNG from ``ckpt``.

    Raises:
        CheckpointError: naming ``state.pt`` and the key that is missing or does not fit.
    """
    path = ckpt.path / "state.pt"
    load_module_state(model.policy, ckpt.entry("policy"), path, "policy")
    load_optimizer_state(model.actor.optimizer, ckpt.entry("actor_optimizer"), path, "actor_optimizer")
    load_optimizer_state(model.critic.optimizer, ckpt.entry("critic_optimizer"), path, "critic_optimizer")
    if "log_ent_coef" in ckpt.state:
        mine = getattr(model, "log_ent_coef", None)
        value = ckpt.entry("log_ent_coef", torch.Tensor)
        if mine is None or value.shape != mine.shape:
            raise CheckpointError(f"{path}: 'log_ent_coef' {tuple(value.shape)} does not fit the model's "
                                  f"{None if mine is None else tuple(mine.shape)}")
        load_optimizer_state(model.ent_coef_optimizer, ckpt.entry("ent_coef_optimizer"), path, "ent_coef_optimizer")
        with torch.no_grad():
            mine.copy_(value)
    torch.set_rng_state(check_rng_state(ckpt.entry("torch_rng"), path, "torch_rng"))


_BUFFER_FIELDS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def _save_buffer(buffer: Any):
    n = buffer.buffer_size if buffer.full else buffer.pos

    def write(fh: Any) -> None:
        np.savez(fh, pos=np.int64(buffer.pos), full=np.bool_(buffer.full),
                 **{k: getattr(buffer, k)[:n] for k in _BUFFER_FIELDS})

    return write


def _load_buffer(buffer: Any, path: Path) -> None:
    """The SB3 replay buffer from ``path`` (:func:`_save_buffer`).

    Raises:
        CheckpointError: naming ``path`` and the field, for an unreadable file, a missing field, or
            a field of another shape.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            pos, full = _replay_position(z, buffer.buffer_size, path)
            n = buffer.buffer_size if full else pos
            for k in _BUFFER_FIELDS:
                arr = z[k]
                if arr.shape[:1] != (n,) or arr.shape[1:] != getattr(buffer, k).shape[1:]:
                    raise CheckpointError(f"{path}: replay field {k!r} has shape {arr.shape}, expected "
                                          f"({n}, *{getattr(buffer, k).shape[1:]})")
                getattr(buffer, k)[:n] = arr
    except CheckpointError:
        raise
    # KeyError: a missing field; ValueError: an object array (pickle refused) or a damaged header;
    # RuntimeError / zlib.error: a damaged zip header (see robocritic.bresa.export).
    except (KeyError, ValueError, TypeError, OSError, EOFError, RuntimeError, zipfile.BadZipFile, zlib.error) as exc:
        raise CheckpointError(f"{path}: unreadable replay buffer: {type(exc).__name__}: {str(exc)[:200]}") from exc
    buffer.pos, buffer.full = pos, full


def _replay_position(z: Any, size: int, path: Path) -> tuple[int, bool]:
    """``pos`` (0 .. size) and ``full`` of a replay file."""
    pos, full = z["pos"], z["full"]
    if pos.shape != () or pos.dtype.kind not in "iu" or not 0 <= int(pos) <= size:
        raise CheckpointError(f"{path}: replay field 'pos' must be an integer in [0, {size}]; got {pos!r:.60}")
    if full.shape != () or full.dtype.kind != "b":
        raise CheckpointError(f"{path}: replay field 'full' must be a boolean; got {full!r:.60}")
    return int(pos), bool(full)


def _np_global_state() -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"name": name, "keys": keys.tolist(), "pos": int(pos), "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached)}


def _set_np_global_state(s: dict[str, Any]) -> None:
    np.random.set_state((s["name"], np.array(s["keys"], dtype=np.uint32), s["pos"], s["has_gauss"],
                         s["cached_gaussian"]))


def _check_task_meta(ckpt: Checkpoint) -> RunMetrics:
    """The metrics of a task-RL checkpoint, after checking every ``meta.json`` entry the resume
    reads (so that restoring it cannot fail half-way on a malformed value).

    Raises:
        CheckpointError: naming ``meta.json`` and the key.
    """
    where = ckpt.path / "meta.json"
    for key in ("num_timesteps", "n_updates", "episode_num"):
        if ckpt.meta_entry(key, int) < 0:
            raise CheckpointError(f"{where}: '{key}' must be >= 0; got {ckpt.meta[key]}")
    ckpt.meta_entry("numpy_global_rng", dict)
    ckpt.meta_entry("action_space_rng", dict)
    for key, default, kinds in (("interventions", None, (int,)), ("successes", None, (bool, int)),
                                ("penalties", [], (int, float)), ("refresh_log", [], (dict,))):
        values = ckpt.meta_entry(key, list) if default is None else ckpt.meta.get(key, default)
        if not isinstance(values, list) or not all(isinstance(v, kinds) for v in values):
            raise CheckpointError(f"{where}: '{key}' must be a list of {'/'.join(k.__name__ for k in kinds)}")
    if type(ckpt.meta.get("critic_refreshes", 0)) is not int:
        raise CheckpointError(f"{where}: 'critic_refreshes' must be an integer")
    try:
        return RunMetrics.from_json(ckpt.meta_entry("metrics", dict))
    except ValueError as exc:
        raise CheckpointError(f"{where}: {exc}") from None


def _set_rngs(model: Any, ckpt: Checkpoint) -> None:
    """numpy's global RNG and the action space's RNG from ``meta.json``."""
    where = ckpt.path / "meta.json"
    generator = model.action_space.np_random.bit_generator
    for key, restore in (("numpy_global_rng", _set_np_global_state),
                         ("action_space_rng", lambda s: setattr(generator, "state", s))):
        try:
            restore(ckpt.meta[key])
        # numpy rejects a malformed generator state with any of these.
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise CheckpointError(f"{where}: '{key}' is not a valid RNG state: {str(exc)[:200]}") from exc


def _sidecar(config: TaskRLConfig, seed: int, normalization: ObsNormalization) -> PolicySidecar:
    sb3 = require_sb3()
    return PolicySidecar(kind="bresa.task_rl", algorithm="sac", seed=int(seed), env_id=TASK_ENV_ID,
                         config=config.to_json(), weights=RunFolder.WEIGHTS, observation=normalization,
                         versions=versions(stable_baselines3=sb3.__version__))


def train_task_policy(
    config: TaskRLConfig,
    seed: int,
    run_dir: str | Path,
    *,
    stop_after: int | None = None,
    resume: bool = True,
    progress: bool = True,
    tensorboard: bool = True,
) -> TaskRLResult:
    """Train SAC on :class:`TaskLevelEnv` for ``config.episodes`` episodes (module docstring).

    Args:
        config: the run. seed: SB3's seed (weights, exploration, minibatches) and the episode seeds.
        run_dir: the run folder; a finished one (``metrics.json``) is read back, not retrained.
        stop_after: stop after this many episodes in this call (a checkpoint is written; a later
            call resumes). resume: continue from the folder's checkpoint if there is one.
        progress: tqdm bar. tensorboard: scalars under ``run_dir/tb``.

    Raises:
        CheckpointError: the folder's checkpoint belongs to another seed or config, or
            ``resume=False`` with a checkpoint present.
    """
    torch.set_num_threads(1)
    run = RunFolder(run_dir)
    store = CheckpointStore(run.checkpoints, keep=config.keep_checkpoints)
    if run.finished():
        extra = _read_extra(run)
        return TaskRLResult(run.path, run.read_metrics(), True, extra["interventions"], extra["successes"],
                            load_task_policy(run.path), extra["critic_refreshes"])
    latest = store.latest()
    if latest is not None and not resume:
        raise CheckpointError(f"{store.directory}: a checkpoint exists; pass resume=True or use a new run_dir")
    if latest is None and run.tensorboard.exists():  # a partial attempt without checkpoint: restart
        shutil.rmtree(run.tensorboard)
    run.path.mkdir(parents=True, exist_ok=True)

    hcfg = config.env.hierarchy
    normalization = task_obs_normalization(hcfg)
    safety = make_filter(config.filter, config.critic_path, hcfg)
    refresher = _make_refresher(config, seed) if config.critic_refresh_every else None
    seeds_env = _EpisodeSeeds(TaskLevelEnv(config.env, safety), seed)
    env = _NormalizedObs(seeds_env, normalization)
    model = _make_model(config, env, seed)
    task_env = seeds_env.unwrapped  # the TaskLevelEnv: its violation_penalty is the Lagrangian's lambda
    algo = ("sac" + ("-residual" if config.env.base_policy else "")
            + ("" if config.filter == "none" else f"+{config.filter}")
            + ("-lagrangian" if config.lagrangian_lr > 0 else "")
            + ("+refresh" if config.critic_refresh_every else ""))
    metrics = RunMetrics(TASK_ENV_ID, algo, int(seed))
    interventions: list[int] = []
    successes: list[bool] = []
    penalties: list[float] = []  # lambda after each training episode
    refreshes_done = 0  # index of the last critic refresh (episodes_done // critic_refresh_every)
    refresh_log: list[dict[str, Any]] = []
    resumed = False
    if latest is not None:
        ckpt = store.load(latest)
        meta = ckpt.meta
        if meta.get("seed") != int(seed):
            raise CheckpointError(f"{ckpt.path}: checkpoint of seed {meta.get('seed')!r:.40}; asked for seed {seed}")
        stored, current = ckpt.meta_entry("config", dict), config.to_json()
        stored = {**{k: _ADDED_DEFAULTS[k] for k in _ADDED_FIELDS}, **stored}
        diff = sorted(k for k in set(stored) | set(current)
                      if stored.get(k) != current.get(k) and k not in _RESUMABLE_CHANGES)
        if diff:
            raise CheckpointError(f"{ckpt.path}: written with another config (differs in {diff}); use a new run_dir")
        metrics = _check_task_meta(ckpt)
        _load_model_state(model, ckpt)
        if ckpt.replay_path is not None:
            _load_buffer(model.replay_buffer, ckpt.replay_path)
        model.num_timesteps = int(meta["num_timesteps"])
        model._n_updates = int(meta["n_updates"])
        model._episode_num = int(meta["episode_num"])
        _set_rngs(model, ckpt)
        interventions, successes = list(meta["interventions"]), [bool(s) for s in meta["successes"]]
        penalties = [float(p) for p in meta.get("penalties", [])]
        if penalties:
            task_env.violation_penalty = penalties[-1]
        seeds_env.episode = metrics.episodes_done
        if refresher is not None and "safety_critic" in ckpt.state:
            check_module_state(refresher.critic, ckpt.state["safety_critic"], ckpt.path / "state.pt", "safety_critic")
            refresher.load_state_dict(ckpt.state["safety_critic"])
            set_filter_model(safety, refresher.numpy_critic(_max_batch(safety)))
        refreshes_done = int(meta.get("critic_refreshes", 0))
        refresh_log = list(meta.get("refresh_log", []))
        resumed = True

    log = CurveLogger(metrics, tb_dir=run.tensorboard if tensorboard else None,
                      purge_step=metrics.episodes_done if resumed else None, total=config.episodes,
                      desc=f"{algo} s{seed}", progress=progress)
    from stable_baselines3.common.callbacks import BaseCallback

    class _Episodes(BaseCallback):
        """Sums each training episode's inner cost, unsafe ticks and interventions."""

        def __init__(self) -> None:
            super().__init__()
            self.reset_counts()

        def reset_counts(self) -> None:
            self.cost, self.steps, self.unsafe, self.interventions = 0.0, 0, 0, 0

        def _on_step(self) -> bool:
            info = self.locals["infos"][0]
            self.cost += float(info["cost"])
            self.steps += 1
            self.unsafe += int(info["unsafe_ticks"])
            self.interventions += int(info["interventions"])
            if self.locals["dones"][0]:
                truncated = bool(info.get("TimeLimit.truncated", False))
                log.episode(EpisodeResult(self.cost, self.steps, self.unsafe, not truncated))
                interventions.append(self.interventions)
                successes.append(bool(info["success"]))
                if config.lagrangian_lr > 0:  # dual ascent on the episode's unsafe ticks
                    step = config.lagrangian_lr * (self.unsafe - config.cost_budget)
                    task_env.violation_penalty = max(0.0, task_env.violation_penalty + step)
                penalties.append(task_env.violation_penalty)
                log.advance(self.cost)
                self.reset_counts()
            return True

    def save_checkpoint() -> None:
        log.flush()
        meta = {"seed": int(seed), "config": config.to_json(), "num_timesteps": int(model.num_timesteps),
                "n_updates": int(model._n_updates), "episode_num": int(model._episode_num),
                "numpy_global_rng": _np_global_state(),
                "action_space_rng": model.action_space.np_random.bit_generator.state,
                "metrics": metrics.to_json(), "interventions": interventions,
                "successes": successes, "penalties": penalties, "critic_refreshes": refreshes_done,
                "refresh_log": refresh_log}
        state = _model_state(model)
        if refresher is not None:
            state["safety_critic"] = refresher.state_dict()
        store.save(metrics.episodes_done, state, _jsonable(meta), replay=_save_buffer(model.replay_buffer))

    def refresh_critic() -> None:
        nonlocal refreshes_done
        refreshes_done = metrics.episodes_done // config.critic_refresh_every
        rec = refresher.refresh(refreshes_done, metrics.episodes_done,
                                SB3TaskPolicy(model.policy, normalization, hcfg), safety)
        refresh_log.append(rec.to_json())
        if log.writer is not None:
            for when, q in (("before", rec.before), ("after", rec.after)):
                for k in ("bce", "auroc"):
                    if math.isfinite(q.get(k, math.nan)):
                        log.writer.add_scalar(f"critic_refresh/{k}_{when}", q[k], metrics.episodes_done)
            log.writer.add_scalar("critic_refresh/wall_s", rec.wall_s, metrics.episodes_done)

    callback = _Episodes()
    max_len = math.ceil(_episode_ticks(config) / hcfg.decision_ticks)
    last_ckpt = metrics.episodes_done
    episodes_run = 0
    try:
        while metrics.episodes_done < config.episodes:
            if stop_after is not None and episodes_run >= stop_after:
                break
            before = metrics.episodes_done
            # learn() up to the longest possible end of the current episode: every call ends on an
            # episode boundary unless an episode ended early (then the next call finishes the one
            # it started), so checkpoints are written between episodes, with nothing in flight.
            model.learn(total_timesteps=max_len - callback.steps, callback=callback,
                        reset_num_timesteps=False, progress_bar=False)
            episodes_run += metrics.episodes_done - before
            at_boundary = callback.steps == 0
            # a refresh comes before the checkpoint of the same boundary, which then holds its critic
            if (refresher is not None and at_boundary and metrics.episodes_done < config.episodes
                    and metrics.episodes_done // config.critic_refresh_every > refreshes_done):
                refresh_critic()
            due = metrics.episodes_done - last_ckpt >= config.checkpoint_every
            stopping = (metrics.episodes_done >= config.episodes
                        or (stop_after is not None and episodes_run >= stop_after))
            if at_boundary and (due or stopping):
                save_checkpoint()
                last_ckpt = metrics.episodes_done
    finally:
        log.close()
        env.close()
    finished = metrics.episodes_done >= config.episodes
    policy = SB3TaskPolicy(model.policy, normalization, hcfg)
    if finished:
        model.policy.set_training_mode(False)
        run.write_policy({"policy": model.policy.state_dict()}, _sidecar(config, seed, normalization))
        if refresher is not None:
            from robocritic.bresa.critic import save_critic

            save_critic(refresher.critic, run.path / REFRESHED_CRITIC)
        from robocritic.utils.atomic import atomic_write_json

        atomic_write_json(run.path / "task_rl.json", {"interventions": interventions, "successes": successes,
                                                      "penalties": penalties, "config": config.to_json(),
                                                      "critic_refreshes": refresh_log})
        metrics.versions = versions(stable_baselines3=require_sb3().__version__)
        run.write_metrics(metrics)
    return TaskRLResult(run.path, metrics, finished, interventions, successes, policy if finished else None,
                        refresh_log)


def _make_refresher(config: TaskRLConfig, seed: int) -> CriticRefresher:
    """The online refresher of the critic at ``config.critic_path`` (its own torch copy)."""
    from robocritic.bresa.collect import load_dataset
    from robocritic.bresa.critic import load_critic

    with torch.random.fork_rng(devices=[]):  # building a module draws initial weights: keep the global RNG
        critic = load_critic(config.critic_path)
    old = load_dataset(config.critic_data_path) if config.critic_data_path else None
    training_seeds = {episode_seed(seed, k) for k in range(1, config.episodes + 1)}
    return CriticRefresher(
        critic, method=config.filter, hierarchy=config.env.hierarchy, env_kwargs=config.env.env_kwargs,
        seed=seed, episodes=config.critic_refresh_episodes, epochs=config.critic_refresh_epochs,
        lr=config.critic_refresh_lr, horizon_ms=config.critic_horizon_ms, jitter=config.critic_refresh_jitter,
        old_data=old, replay_ratio=config.critic_replay_ratio, avoid_seeds=training_seeds)


def _max_batch(safety: SafetyFilter | None) -> int:
    return int(getattr(getattr(getattr(safety, "inner", safety), "model", None), "max_batch", 64))


def _episode_ticks(config: TaskRLConfig) -> int:
    """Longest episode in ticks: the inner env's time limit, or ``max_ticks`` if shorter."""
    limit = config.env.env_kwargs.get("max_episode_steps")
    if limit is None:
        spec = gym.spec(ENV_ID)
        limit = spec.max_episode_steps or 2000
    mt = config.env.hierarchy.max_ticks
    return int(min(limit, mt) if mt is not None else limit)


def _read_extra(run: RunFolder) -> dict[str, Any]:
    """``task_rl.json`` of a finished run. Raises CheckpointError naming it and the key."""
    path = run.path / "task_rl.json"
    data = read_json(path)
    refreshes = require({"critic_refreshes": [], **data} if isinstance(data, dict) else data,
                        "critic_refreshes", path, list)
    return {"interventions": list(require(data, "interventions", path, list)),
            "successes": [bool(s) for s in require(data, "successes", path, list)],
            "critic_refreshes": list(refreshes)}


def load_task_policy(run_dir: str | Path) -> SB3TaskPolicy:
    """The trained policy of a finished run folder (weights-only ``actor.pt`` + ``actor.json``).

    Raises:
        CheckpointError: naming the file and the key: a missing or invalid sidecar or weights
            file, a ``weights`` entry leading out of the run folder, or weights that do not fit
            the recorded network.
    """
    run = RunFolder(run_dir)
    sidecar = run.read_sidecar()
    if sidecar.kind != "bresa.task_rl" or sidecar.observation is None:
        raise CheckpointError(f"{run.sidecar_path}: not a Bresa task policy (kind {sidecar.kind!r:.60})")
    hcfg, net_arch = _policy_config(run.sidecar_path, sidecar.config)
    m = 2
    space = gym.spaces.Box(-1.0, 1.0, shape=(2 * m,), dtype=np.float32)
    try:
        policy = build_sb3_policy("sac", sidecar.observation, space, net_arch)
    except (ValueError, TypeError, OverflowError, RuntimeError) as exc:  # e.g. a width too large to build
        raise CheckpointError(f"{run.sidecar_path}: cannot build its policy: {str(exc)[:200]}") from exc
    weights = run.member(sidecar.weights, run.sidecar_path)
    state = run.read_weights(sidecar)
    load_module_state(policy, require(state, "policy", weights), weights, "policy")
    policy.set_training_mode(False)
    env_cfg = sidecar.config.get("env", {})
    name, scale = env_cfg.get("base_policy", ""), env_cfg.get("residual_scale", 0.25)
    try:
        TaskEnvConfig(base_policy=name, residual_scale=scale)  # validates both
    except ValueError as exc:
        raise CheckpointError(f"{run.sidecar_path}: config.env: {exc}") from None
    base = base_policy(name, ENV_ID, hcfg) if name else None
    return SB3TaskPolicy(policy, sidecar.observation, hcfg, base, scale)


def _policy_config(where: Path, cfg: dict[str, Any]) -> tuple[HierarchyConfig, list[int]]:
    """The hierarchy and the network widths of a task policy's recorded config."""
    try:
        hcfg_d = dict(cfg["env"]["hierarchy"])
        for k in ("stiffness_range", "torque_limit"):
            if hcfg_d.get(k) is not None:
                hcfg_d[k] = tuple(hcfg_d[k])
        hcfg = HierarchyConfig(**hcfg_d)
    # the record is plain JSON: a missing key or a value of the wrong type surfaces as any of these
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: config.env.hierarchy: {type(exc).__name__}: {str(exc)[:200]}") from None
    net_arch = cfg.get("net_arch")
    if not isinstance(net_arch, list) or not all(type(w) is int and w >= 1 for w in net_arch):
        raise CheckpointError(f"{where}: config.net_arch must be a list of layer widths >= 1; got {net_arch!r:.60}")
    return hcfg, net_arch


# -- evaluation -------------------------------------------------------------------------------


def evaluate_task_policy(
    policy: Any,
    seeds: Sequence[int],
    *,
    method: str = "none",
    critic_path: str | Path | None = None,
    hierarchy: HierarchyConfig | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> list[dict[str, float]]:
    """Run ``policy`` (a :class:`TaskPolicy`, e.g. :class:`SB3TaskPolicy`) on ``seeds`` with the
    filter of ``method`` through :func:`run_episode`; one :meth:`EpisodeTrace.summary` per seed
    plus ``"cost"`` (the summed inner task cost [-]) and ``"unsafe_ticks"``."""
    from robocritic.bresa.collect import DEFAULT_ENV_KWARGS

    hcfg = hierarchy or getattr(policy, "hierarchy", None) or HierarchyConfig()
    safety = make_filter(method, critic_path, hcfg)
    env = _CostTap(gym.make(ENV_ID, **dict(DEFAULT_ENV_KWARGS if env_kwargs is None else env_kwargs)))
    rows = []
    try:
        for s in seeds:
            env.total = 0.0
            trace = run_episode(env, policy, config=hcfg, safety_filter=safety, seed=int(s))
            rows.append({**trace.summary(), "method": method, "cost": env.total,
                         "unsafe_ticks": float(np.count_nonzero(trace.cost))})
    finally:
        env.close()
    return rows


class _CostTap(gym.Wrapper):
    """Sums the inner ``info["cost"]`` (``run_episode`` records only the 0/1 safety cost)."""

    total = 0.0

    def step(self, action: Any):
        out = self.env.step(action)
        self.total += float(out[4]["cost"])
        return out
