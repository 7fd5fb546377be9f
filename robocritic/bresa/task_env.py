"""The press-and-wipe task at the DECISION rate: one env step = one task action of the hierarchy.

:class:`TaskLevelEnv` wraps ``robocritic/ArmPressWipe-v0`` (1 kHz, joint torques) in the Bresa
two-rate loop (:class:`~robocritic.bresa.hierarchy.TwoRateLoop`): a call of :meth:`step` hands
one task action to the loop, which ramps the impedance command towards it and runs
``decision_ticks`` 1 ms ticks (impedance law, and the optional safety filter every tick) on the
inner env. An RL task policy learns on it at 10-20 Hz while the 1 kHz layers stay as they are.

Action ``a (2 m,)`` in ``[-1, 1]`` (float32; values outside are clipped), mapped by
:func:`task_action`:

* ``a[:m]`` -> setpoint increment ``a * max_increment`` [m] relative to the applied setpoint;
* ``a[m:]`` -> log stiffness ``log_lo + (a + 1) / 2 * (log_hi - log_lo)`` [ln(N/m)], absolute,
  over the config's ``stiffness_range`` (``-1``: the softest, ``+1``: the stiffest).

With ``TaskEnvConfig.base_policy = "scripted"`` the agent's action is a RESIDUAL on the env's
scripted task policy (residual RL): the task action is the scripted one plus
:func:`residual_action` of ``a`` (``residual_scale`` of the increment range and of half the
stiffness range), so a zero action reproduces the scripted policy exactly and learning starts
from a policy that already does the task.

Observation ``(n_obs + 2 m,)`` float32, unbounded: the inner observation at the decision tick
(for ArmPressWipe-v0, 13 values: q, qd, TCP x/z, TCP velocity, filtered force, stroke reference,
time; see its docstring) followed by the command applied on the last tick
``[setpoint (m,) m, log_stiffness (m,) ln(N/m)]`` -- what the next increment is relative to, and
what a filter's intervention left.

Reward: ``-reward_scale * (sum of the inner info["cost"] over the period + violation_penalty *
unsafe ticks)``. An episode ends when the inner one does (terminated / truncated as it says), or
truncated after ``HierarchyConfig.max_ticks`` ticks.

``info`` (every step): ``ticks`` (inner steps of this period), ``cost`` (their summed inner
cost), ``unsafe_ticks``, ``interventions`` (ticks the filter changed the command),
``episode_ticks`` / ``episode_unsafe_ticks`` / ``episode_interventions`` (so far), ``applied``,
``peak_force`` (largest filtered force of the period [N]) and the inner env's ``success``,
``band_fraction``, ``mean_path_error`` of the last tick (final at the episode's end).

Seeds: ``reset(seed=s)`` seeds the inner env with ``s`` (perturbations, pushes) exactly as
:func:`~robocritic.bresa.hierarchy.run_episode` does, so a policy behaves identically here and
under ``run_episode`` with :func:`task_action` applied to its outputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from robocritic.bresa.collect import DEFAULT_ENV_KWARGS, ENV_ID
from robocritic.bresa.hierarchy import HierarchyConfig, TwoRateLoop, make_controller, policy_rng
from robocritic.interfaces import SafetyFilter

__all__ = ["BASE_POLICIES", "ResidualPolicy", "TaskEnvConfig", "TaskLevelEnv", "base_policy", "normalised_action",
           "residual_action", "task_action"]

BASE_POLICIES = ("", "scripted")
"""What the agent's action is added to: nothing (``""``: the action is the task action) or the
env's scripted task policy."""


def task_action(action: np.ndarray, config: HierarchyConfig) -> np.ndarray:
    """Normalised action ``(2 m,)`` in [-1, 1] (clipped) -> task action ``[increment [m],
    log_stiffness [ln(N/m)]]`` of :class:`~robocritic.bresa.hierarchy.TaskPolicy` (module docstring)."""
    a = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0)
    if a.size % 2 or not np.all(np.isfinite(a)):
        raise ValueError(f"action: expected an even number of finite values; got {action!r}")
    m = a.size // 2
    lo, hi = config.log_stiffness_range
    return np.concatenate([a[:m] * config.max_increment, lo + 0.5 * (a[m:] + 1.0) * (hi - lo)])


def residual_action(action: np.ndarray, scale: float, config: HierarchyConfig) -> np.ndarray:
    """Normalised residual ``(2 m,)`` in [-1, 1] (clipped) -> task-action offset ``[scale * a *
    max_increment [m], scale * a * (log_hi - log_lo) / 2 [ln(N/m)]]``."""
    a = np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0)
    m = a.size // 2
    lo, hi = config.log_stiffness_range
    return np.concatenate([a[:m] * (scale * config.max_increment), a[m:] * (scale * 0.5 * (hi - lo))])


def base_policy(name: str, env_id: str, config: HierarchyConfig) -> Any:
    """The base task policy ``name`` (:data:`BASE_POLICIES`, not ``""``) of the Bresa env ``env_id``."""
    from robocritic.bresa.methods import CONTROL_DT  # deferred: it imports every task's policies
    from robocritic.bresa.tasks import task_spec

    if name != "scripted":
        raise ValueError(f"base_policy must be one of {BASE_POLICIES[1:]}; got {name!r}")
    return task_spec(env_id).policy("scripted", decision_period=config.decision_ticks * CONTROL_DT)


class ResidualPolicy:
    """A :class:`~robocritic.bresa.hierarchy.TaskPolicy`: ``base.decide(...) + residual`` (task units)."""

    def __init__(self, base: Any, n: int) -> None:
        self.base = base
        self.residual = np.zeros(n)

    def reset(self, rng: np.random.Generator) -> None:
        self.base.reset(rng)

    def decide(self, obs: np.ndarray, info: dict[str, Any], applied: np.ndarray) -> np.ndarray:
        return np.asarray(self.base.decide(obs, info, applied), dtype=np.float64) + self.residual


def normalised_action(task: np.ndarray, config: HierarchyConfig) -> np.ndarray:
    """Inverse of :func:`task_action` (after clipping to the increment and stiffness ranges)."""
    t = np.asarray(task, dtype=np.float64).reshape(-1)
    m = t.size // 2
    lo, hi = config.log_stiffness_range
    inc = np.clip(t[:m] / config.max_increment, -1.0, 1.0)
    k = np.clip(2.0 * (t[m:] - lo) / (hi - lo) - 1.0, -1.0, 1.0) if hi > lo else np.zeros(m)
    return np.concatenate([inc, k])


@dataclass(frozen=True)
class TaskEnvConfig:
    """Settings of :class:`TaskLevelEnv` (validated; errors name the field).

    Attributes:
        hierarchy: the two-rate loop (decision rate, ranges, optional ``max_ticks``).
        env_kwargs: ``gym.make`` arguments of the inner env (default: the collection
            perturbations, :data:`~robocritic.bresa.collect.DEFAULT_ENV_KWARGS`).
        violation_penalty: added cost per unsafe tick (>= 0).
        reward_scale: reward multiplier (> 0).
        base_policy: ``""`` (the action is the task action) or ``"scripted"`` (a residual on the
            env's scripted policy; module docstring).
        residual_scale: the residual's share of the action ranges, in (0, 1].
    """

    hierarchy: HierarchyConfig = field(default_factory=HierarchyConfig)
    env_kwargs: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_ENV_KWARGS))
    violation_penalty: float = 0.0
    reward_scale: float = 1.0
    base_policy: str = ""
    residual_scale: float = 0.25

    def __post_init__(self) -> None:
        if self.base_policy not in BASE_POLICIES:
            raise ValueError(f"TaskEnvConfig.base_policy must be one of {BASE_POLICIES}; got {self.base_policy!r}")
        v = self.residual_scale
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
            raise ValueError(f"TaskEnvConfig.residual_scale must lie in (0, 1]; got {v!r}")
        if not isinstance(self.hierarchy, HierarchyConfig):
            raise ValueError(f"TaskEnvConfig.hierarchy must be a HierarchyConfig; got {self.hierarchy!r}")
        if not isinstance(self.env_kwargs, Mapping):
            raise ValueError(f"TaskEnvConfig.env_kwargs must be a mapping; got {self.env_kwargs!r}")
        for name, low_ok in (("violation_penalty", True), ("reward_scale", False)):
            v = getattr(self, name)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) \
                and (v >= 0 if low_ok else v > 0)
            if not ok:
                raise ValueError(f"TaskEnvConfig.{name} must be a finite number {'>= 0' if low_ok else '> 0'}; "
                                 f"got {v!r}")


class _PendingAction:
    """The loop's TaskPolicy inside the env: returns the action :meth:`TaskLevelEnv.step` set."""

    def __init__(self, n: int) -> None:
        self.action = np.zeros(n)

    def reset(self, rng: np.random.Generator) -> None:
        """Nothing to draw: the agent outside decides."""

    def decide(self, obs: np.ndarray, info: dict[str, Any], applied: np.ndarray) -> np.ndarray:
        return self.action


class TaskLevelEnv(gym.Env):
    """Press-and-wipe at the decision rate (module docstring).

    Args:
        config: env settings. safety_filter: certifies every 1 ms command (``None``: none);
            reset at each episode start.
        env: an inner arm env to use instead of ``gym.make(ENV_ID, **config.env_kwargs)``
            (closed with this env).
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        config: TaskEnvConfig | None = None,
        safety_filter: SafetyFilter | None = None,
        *,
        env: gym.Env | None = None,
    ) -> None:
        super().__init__()
        self.config = config or TaskEnvConfig()
        self.safety_filter = safety_filter
        self.inner = env if env is not None else gym.make(ENV_ID, **dict(self.config.env_kwargs))
        arm = self.inner.unwrapped
        self.dt = float(getattr(arm, "step_dt", getattr(arm, "dt", 0.001)))
        state = arm.arm_state()
        self.m = int(np.shape(state.x)[0])
        hcfg = self.config.hierarchy
        cfg = self.config
        self._policy: _PendingAction | ResidualPolicy = (
            ResidualPolicy(base_policy(cfg.base_policy, getattr(self.inner.spec, "id", ENV_ID), hcfg), 2 * self.m)
            if cfg.base_policy else _PendingAction(2 * self.m))
        self.loop = TwoRateLoop(self._policy, make_controller(arm, hcfg, self.m), hcfg, self.dt, safety_filter)
        n_inner = int(np.prod(self.inner.observation_space.shape))
        self.n_inner_obs = n_inner
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(n_inner + 2 * self.m,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(2 * self.m,), dtype=np.float32)
        self._obs: np.ndarray | None = None
        self._info: dict[str, Any] = {}
        self._done = True
        #: Cost per unsafe tick in the reward; starts at the config's, a Lagrangian trainer moves it
        #: between episodes.
        self.violation_penalty = float(self.config.violation_penalty)

    def _observe(self) -> np.ndarray:
        return np.concatenate([np.asarray(self._obs, dtype=np.float64), self.loop.applied]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        obs, info = self.inner.reset(seed=seed, options=options)
        # Seeded like run_episode: a base policy draws from this stream as it would there.
        self.loop.reset(info["arm_state"], policy_rng(0 if seed is None else int(seed)))
        self._obs, self._info, self._done = obs, info, False
        self._episode_ticks = self._episode_unsafe = self._episode_interventions = 0
        return self._observe(), {"applied": self.loop.applied.copy(), "episode_ticks": 0}

    def step(self, action: np.ndarray):
        if self._done:
            raise RuntimeError("TaskLevelEnv.step: call reset() first (the episode has ended)")
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (2 * self.m,) or not np.all(np.isfinite(a)):
            raise ValueError(f"action: expected {2 * self.m} finite values in [-1, 1]; got {action!r}")
        hcfg = self.config.hierarchy
        if isinstance(self._policy, ResidualPolicy):
            self._policy.residual = residual_action(a, self.config.residual_scale, hcfg)
        else:
            self._policy.action = task_action(a, hcfg)
        obs, info = self._obs, self._info
        cost = 0.0
        unsafe = interventions = ticks = 0
        peak = -math.inf
        terminated = truncated = False
        for _ in range(hcfg.decision_ticks):
            tau = self.loop.tick(info["arm_state"], info["force_filtered"], info["force_raw"], obs, info)
            interventions += int(self.safety_filter is not None and self.loop.intervened)
            obs, _, terminated, truncated, info = self.inner.step(tau)
            ticks += 1
            cost += float(info["cost"])
            unsafe += int(bool(info["unsafe"]))
            peak = max(peak, float(info["force_filtered"]))
            if hcfg.max_ticks is not None and self._episode_ticks + ticks >= hcfg.max_ticks and not terminated:
                truncated = True
            if terminated or truncated:
                break
        self._obs, self._info = obs, info
        self._episode_ticks += ticks
        self._episode_unsafe += unsafe
        self._episode_interventions += interventions
        self._done = bool(terminated or truncated)
        reward = -self.config.reward_scale * (cost + self.violation_penalty * unsafe)
        out_info = {
            "ticks": ticks, "cost": cost, "unsafe_ticks": unsafe, "interventions": interventions,
            "episode_ticks": self._episode_ticks, "episode_unsafe_ticks": self._episode_unsafe,
            "episode_interventions": self._episode_interventions, "applied": self.loop.applied.copy(),
            "peak_force": peak, "success": bool(info.get("success", False)),
            "band_fraction": float(info.get("band_fraction", 0.0)),
            "mean_path_error": float(info.get("mean_path_error", 0.0)),
        }
        return self._observe(), float(reward), bool(terminated), bool(truncated), out_info

    def close(self) -> None:
        self.inner.close()
        super().close()
