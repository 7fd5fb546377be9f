"""The Bresa two-rate loop: a 10-20 Hz task policy over a 1 kHz impedance controller, with an
optional per-tick safety filter in between.

Every ``decision_ticks`` ticks the :class:`TaskPolicy` returns a *task action*
``[setpoint increment (m,) [m], log_stiffness (m,) [ln(N/m)]]``. The increment is relative to the
currently APPLIED setpoint and clipped per axis to ``max_increment``; the log stiffness is
absolute and clipped to ``stiffness_range``. That target command is reached by a ramp
(:func:`robocritic.controllers.impedance.interpolate`) that starts from the command applied on
the previous tick and ends on the target at the last tick of the decision period.

Every tick (1 ms): state features (:class:`~robocritic.bresa.features.FeatureTracker`) -> nominal
command (the ramp's row) -> ``safety_filter.certify(state_features, nominal)`` if a filter is
given -> torques (the *torque law*: :class:`~robocritic.controllers.impedance.CartesianImpedance`,
or that plus a null-space posture, :class:`~robocritic.controllers.posture.PostureImpedance`, on a
redundant arm whose tool orientation the task does not hold) -> ``env.step``.
Because the next ramp starts from what was applied, the task resumes from wherever an
intervention left the command.

The torque law is anything with ``n_task``, ``reset()`` and ``torques(state, setpoint, gains)``
(:class:`TorqueLaw`); :func:`run_episode` takes one (``law=``) or builds the env's default with
:func:`default_law`: the plain impedance law of :func:`make_controller` for the planar arm, the
same law plus the posture and tool-axis hold for the 7-DoF arm (whose contact moment, away from
the TCP, rolls the tool otherwise).

Commands follow :mod:`robocritic.bresa.features`: ``[setpoint (m,), log_stiffness (m,)]``.

:class:`TwoRateLoop` is that per-tick core with no simulator in it (a node on a robot runs it);
:func:`run_episode` drives it on an env and records an :class:`EpisodeTrace`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from robocritic.bresa.features import FeatureLayout, FeatureTracker
from robocritic.controllers.impedance import CartesianImpedance, ImpedanceGains, interpolate
from robocritic.controllers.posture import NullSpacePosture, PostureImpedance
from robocritic.envs.arm.model7 import dh_tool_rotation_jacobian
from robocritic.envs.arm.press_wipe7_v0 import Arm7PressWipeTask
from robocritic.interfaces import ArmState, SafetyFilter
from robocritic.utils.fields import check_int, check_real, check_vector

__all__ = [
    "DEFAULT_JOINT_DAMPING",
    "POSTURE_GAINS",
    "EpisodeTrace",
    "HierarchyConfig",
    "LawFactory",
    "PostureGains",
    "TaskPolicy",
    "TorqueLaw",
    "TwoRateLoop",
    "default_law",
    "make_controller",
    "policy_rng",
    "posture_law",
    "run_episode",
]

DEFAULT_JOINT_DAMPING = 0.2
"""Controller joint damping ``k_q`` [N m s/rad] when the config leaves it to the env: it damps the
arm's null space (the tool angle), which the 2-D task impedance does not reach."""

@dataclass(frozen=True)
class PostureGains:
    """Gains of the null-space posture and tool-axis hold (:class:`~robocritic.controllers.posture.NullSpacePosture`).

    Attributes:
        stiffness: ``K_p`` towards the start posture [N m/rad]. damping: ``D_p`` [N m s/rad].
        axis_stiffness: ``K_o`` turning the tool axis straight down [N m/rad].
        axis_damping: ``D_o`` [N m s/rad].
    """

    stiffness: float = 1.0
    damping: float = 0.5
    axis_stiffness: float = 50.0
    axis_damping: float = 5.0


POSTURE_GAINS = PostureGains()
"""The 7-DoF arm's default: a weak posture spring (it only keeps the elbow from drifting) and a
stiff tool-axis hold (the contact moment acts on the tool axis)."""

_POLICY_STREAM = 0x7A5C  # spawn key that separates the policy's RNG stream from the env's


@runtime_checkable
class TorqueLaw(Protocol):
    """The 1 kHz joint-torque law under the loop (an impedance law, with or without a posture)."""

    n_task: int

    def reset(self) -> None:
        """Start an episode (forget captured postures, tank levels, ...)."""
        ...

    def torques(self, state: ArmState, setpoint: np.ndarray, gains: ImpedanceGains) -> np.ndarray:
        """Joint torques ``(n,)`` [N m] for the setpoint ``(m,)`` [m] and ``gains`` at ``state``."""
        ...


@runtime_checkable
class TaskPolicy(Protocol):
    """The slow (10-20 Hz) task layer: decides impedance targets from what the robot observes."""

    def reset(self, rng: np.random.Generator) -> None:
        """Start an episode; all randomness of the episode comes from ``rng``."""
        ...

    def decide(self, obs: np.ndarray, info: dict[str, Any], applied: np.ndarray) -> np.ndarray:
        """Task action ``(2 m,)``: ``[setpoint increment [m] relative to applied[:m],
        log_stiffness [ln(N/m)], absolute]``. ``applied (2 m,)`` is the command applied last tick."""
        ...


def policy_rng(seed: int) -> np.random.Generator:
    """The policy's generator for an episode seeded ``seed`` (a stream independent of the env's)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(_POLICY_STREAM,)))


@dataclass(frozen=True)
class HierarchyConfig:
    """Settings of the two-rate loop (validated; errors name the field).

    Attributes:
        decision_ticks: control ticks per task decision (50 = 20 Hz at 1 kHz).
        stiffness_range: ``(low, high)`` per-axis stiffness [N/m], ``0 < low <= high``.
        max_increment: largest setpoint change per decision and axis [m], ``> 0``.
        damping_ratio: task damping ratio ``zeta >= 0`` (1 = critical).
        joint_damping: controller joint damping [N m s/rad], ``None``: :data:`DEFAULT_JOINT_DAMPING`.
        torque_limit: per-joint torque clip [N m], ``None``: the env model's torque limits.
        initial_stiffness: stiffness [N/m] applied before the first decision (clipped to the range).
        max_ticks: stop after this many ticks (marked truncated), ``None``: run until the env ends.
    """

    decision_ticks: int = 50
    stiffness_range: tuple[float, float] = (150.0, 3000.0)
    max_increment: float = 0.02
    damping_ratio: float = 1.0
    joint_damping: float | None = None
    torque_limit: tuple[float, ...] | None = None
    initial_stiffness: float = 1000.0
    max_ticks: int | None = None

    def __post_init__(self) -> None:
        name = "HierarchyConfig"
        check_int(name, "decision_ticks", self.decision_ticks, low=1)
        try:
            lo, hi = (float(v) for v in self.stiffness_range)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{name}.stiffness_range must be a (low, high) pair; got {self.stiffness_range!r}") from exc
        if not (math.isfinite(hi) and 0 < lo <= hi):
            raise ValueError(
                f"{name}.stiffness_range must satisfy 0 < low <= high < inf; got {self.stiffness_range!r}")
        object.__setattr__(self, "stiffness_range", (lo, hi))
        check_real(name, "max_increment", self.max_increment, low=0.0, low_open=True)
        check_real(name, "damping_ratio", self.damping_ratio, low=0.0)
        check_real(name, "initial_stiffness", self.initial_stiffness, low=0.0, low_open=True)
        if self.joint_damping is not None:
            check_real(name, "joint_damping", self.joint_damping, low=0.0)
        if self.torque_limit is not None:
            limit = self.torque_limit
            limit = tuple(limit) if isinstance(limit, (list, tuple, np.ndarray)) else limit  # [N m], per joint
            check_vector(name, "torque_limit", limit, positive=True)
            object.__setattr__(self, "torque_limit", tuple(float(v) for v in limit))
        if self.max_ticks is not None:
            check_int(name, "max_ticks", self.max_ticks, low=1)

    @property
    def log_stiffness_range(self) -> tuple[float, float]:
        return math.log(self.stiffness_range[0]), math.log(self.stiffness_range[1])


@dataclass
class EpisodeTrace:
    """One episode of the two-rate loop, per tick (``T`` ticks; tick ``t`` acts on the state after
    step ``t - 1``, and its cost is that of the step it commands).

    Arrays: ``state_features (T, n_s)`` (what the filter saw), ``nominal (T, 2 m)`` (ramp
    command), ``applied (T, 2 m)`` (after the filter), ``cost (T,)`` 0/1 (``info["unsafe"]`` after
    the step), ``force_filtered``, ``force_raw``, ``contact_force_true`` ``(T,)`` [N] after the step,
    ``intervened (T,)`` bool, ``risk (T,)`` (NaN without a filter or when it reports none),
    ``filter_us (T,)`` filter compute time [us] (0 without a filter).
    """

    state_features: np.ndarray
    nominal: np.ndarray
    applied: np.ndarray
    cost: np.ndarray
    force_filtered: np.ndarray
    force_raw: np.ndarray
    contact_force_true: np.ndarray
    intervened: np.ndarray
    risk: np.ndarray
    filter_us: np.ndarray
    success: bool
    band_fraction: float
    mean_path_error: float
    truncated: bool
    terminated: bool
    seed: int
    surface_offset: float
    dt: float = 0.001
    force_limit: float = 30.0
    wall_s: float = field(default=0.0, compare=False)

    @property
    def n_ticks(self) -> int:
        return int(self.cost.shape[0])

    @property
    def m(self) -> int:
        return int(self.nominal.shape[1] // 2)

    @property
    def duration(self) -> float:
        """Episode length [s]."""
        return self.n_ticks * self.dt

    @property
    def violated(self) -> bool:
        """Any step over the force limit."""
        return bool(self.cost.any())

    @property
    def time_over_limit_ms(self) -> float:
        """Time with the filtered force over the limit [ms]."""
        return float(np.count_nonzero(self.cost)) * self.dt * 1e3

    @property
    def longest_violation_ms(self) -> float:
        """Longest uninterrupted time over the limit [ms] (0 without a violation)."""
        edges = np.diff(np.concatenate([[0], (self.cost > 0).astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        return float((ends - starts).max(initial=0)) * self.dt * 1e3

    @property
    def peak_force_filtered(self) -> float:
        return float(self.force_filtered.max(initial=0.0))

    @property
    def peak_force_raw(self) -> float:
        return float(self.force_raw.max(initial=0.0))

    @property
    def impulse_over_limit(self) -> float:
        """``sum max(f_filtered - limit, 0) dt`` [N s]."""
        return float(np.maximum(self.force_filtered - self.force_limit, 0.0).sum() * self.dt)

    @property
    def intervention_fraction(self) -> float:
        """Fraction of ticks on which the filter changed the command."""
        return float(self.intervened.mean()) if self.n_ticks else 0.0

    @property
    def intervention_onsets(self) -> int:
        """Number of interventions (runs of consecutive intervened ticks)."""
        iv = self.intervened
        return int(np.count_nonzero(iv[1:] & ~iv[:-1]) + (1 if iv.size and iv[0] else 0))

    @property
    def interventions_per_second(self) -> float:
        """:attr:`intervention_onsets` per second of episode [1/s]."""
        return self.intervention_onsets / self.duration if self.n_ticks else 0.0

    def mean_correction(self, *, only_intervened: bool = False) -> tuple[float, float]:
        """Mean ``|applied - nominal|`` (Euclidean per block): ``(setpoint [m], log stiffness)``,
        over all ticks or only the intervened ones (0 when there are none)."""
        m = self.m
        diff = self.applied - self.nominal
        if only_intervened:
            diff = diff[self.intervened]
        if diff.shape[0] == 0:
            return 0.0, 0.0
        return (float(np.linalg.norm(diff[:, :m], axis=1).mean()),
                float(np.linalg.norm(diff[:, m:], axis=1).mean()))

    def summary(self) -> dict[str, float]:
        """The episode's metrics as one flat dict (for tables)."""
        corr_x, corr_k = self.mean_correction()
        finite = self.risk[np.isfinite(self.risk)]
        return {
            "seed": float(self.seed), "surface_offset": self.surface_offset, "success": float(self.success),
            "band_fraction": self.band_fraction, "mean_path_error": self.mean_path_error,
            "violated": float(self.violated), "time_over_limit_ms": self.time_over_limit_ms,
            "longest_violation_ms": self.longest_violation_ms,
            "peak_force_filtered": self.peak_force_filtered, "peak_force_raw": self.peak_force_raw,
            "impulse_over_limit": self.impulse_over_limit,
            "interventions_per_second": self.interventions_per_second,
            "intervention_fraction": self.intervention_fraction,
            "mean_correction_setpoint": corr_x, "mean_correction_log_k": corr_k,
            "max_risk": float(finite.max()) if finite.size else float("nan"),
            "filter_us_mean": float(self.filter_us.mean()) if self.n_ticks else 0.0,
            "filter_us_max": float(self.filter_us.max(initial=0.0)),
            "wall_s": self.wall_s,
        }


def _env_torque_limit(arm: Any) -> np.ndarray | None:
    dyn = getattr(arm, "dynamics", None)
    limit = getattr(dyn, "torque_limit", None)
    return None if limit is None else np.asarray(limit, dtype=np.float64)


def impedance_law(n_joints: int, n_task: int, config: HierarchyConfig,
                  torque_limit: np.ndarray | None) -> CartesianImpedance:
    """The plain impedance law: ``config``'s stiffness range and joint damping; its own
    ``torque_limit`` wins over the one given (``(n,)`` [N m], ``None``: no clip)."""
    limit = config.torque_limit if config.torque_limit is not None else torque_limit
    joint_damping = DEFAULT_JOINT_DAMPING if config.joint_damping is None else config.joint_damping
    lo, hi = config.stiffness_range
    return CartesianImpedance(n_joints, n_task, stiffness_max=hi, stiffness_min=lo,
                              joint_damping=joint_damping, torque_limit=limit)


def posture_law(law: CartesianImpedance, gains: PostureGains = POSTURE_GAINS) -> PostureImpedance:
    """``law`` plus the 7-DoF arm's null-space posture (captured at reset) and tool-axis hold
    (kinematics from the Panda DH chain, so the same on a robot as in the env)."""
    posture = NullSpacePosture(law.n_joints, gains.stiffness, gains.damping,
                               kinematics=dh_tool_rotation_jacobian,
                               axis_stiffness=gains.axis_stiffness, axis_damping=gains.axis_damping)
    return PostureImpedance(law, posture)


def make_controller(arm: Any, config: HierarchyConfig, n_task: int) -> CartesianImpedance:
    """The plain impedance law for ``arm`` (the unwrapped env) under ``config``."""
    n_joints = int(arm.arm_state().q.shape[0])
    return impedance_law(n_joints, n_task, config, _env_torque_limit(arm))


def uses_posture(arm: Any) -> bool:
    """Whether ``arm`` (the unwrapped env) gets the posture law by default: the 7-DoF arm."""
    return isinstance(arm, Arm7PressWipeTask)


def default_law(arm: Any, config: HierarchyConfig, n_task: int) -> TorqueLaw:
    """The env's default torque law (module docstring): :func:`make_controller`'s, plus
    :func:`posture_law` on the 7-DoF arm."""
    law = make_controller(arm, config, n_task)
    return posture_law(law) if uses_posture(arm) else law


LawFactory = Callable[[Any, HierarchyConfig, int], TorqueLaw]
"""``(arm (the unwrapped env), config, n_task) -> TorqueLaw``, e.g. :func:`default_law`."""


class TwoRateLoop:
    """The per-tick core of the hierarchy, free of any simulator: what a robot's node runs too.

    Every :meth:`tick` (one control period) it asks the task policy for a decision when one is
    due, steps the ramp, builds the state features, lets the safety filter certify the command
    and returns the impedance torques. After a tick, :attr:`features`, :attr:`nominal`,
    :attr:`applied` ``(2 m,)``, :attr:`intervened`, :attr:`risk` and :attr:`filter_us` describe it.

    Args:
        policy: the task policy. law: the torque law of the arm (:class:`TorqueLaw`). config: loop settings.
        dt: control period [s]. safety_filter: optional (module docstring).
    """

    def __init__(
        self,
        policy: TaskPolicy,
        law: TorqueLaw,
        config: HierarchyConfig,
        dt: float,
        safety_filter: SafetyFilter | None = None,
    ) -> None:
        self.policy, self.law, self.config, self.safety_filter = policy, law, config, safety_filter
        m = law.n_task
        self.layout = FeatureLayout(m=m, axes=("x", "z") if m == 2 else tuple("xyz"[:m]))
        self.tracker = FeatureTracker(self.layout, dt)
        self._ratio = np.full(m, config.damping_ratio)
        self._ramp = np.empty((config.decision_ticks, 2 * m))
        self.applied = np.zeros(2 * m)
        self.nominal = np.zeros(2 * m)
        self.features = np.zeros(self.layout.n_state)
        self._log_k_range = config.log_stiffness_range
        self._applied_values: list[float] = self.applied.tolist()
        self.ticks = 0

    def reset(self, state: ArmState, rng: np.random.Generator) -> None:
        """Start an episode at ``state``: setpoint at the TCP, the initial stiffness on every axis."""
        cfg, m = self.config, self.law.n_task
        k0 = min(max(cfg.initial_stiffness, cfg.stiffness_range[0]), cfg.stiffness_range[1])
        self.applied = np.concatenate([np.asarray(state.x, dtype=np.float64), np.full(m, math.log(k0))])
        self._gains = ImpedanceGains(np.full(m, k0), self._ratio)
        self._gains_log_k = self.applied[m:].tolist()
        self._applied_values = self.applied.tolist()
        self.tracker.reset()
        self.law.reset()
        self.policy.reset(rng)
        if self.safety_filter is not None and hasattr(self.safety_filter, "reset"):
            self.safety_filter.reset()
        self.ticks = 0
        self.intervened, self.risk, self.filter_us = False, math.nan, 0.0

    def _decide(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        cfg, m = self.config, self.law.n_task
        log_lo, log_hi = cfg.log_stiffness_range
        action = np.asarray(self.policy.decide(obs, info, self.applied.copy()), dtype=np.float64)
        if action.shape != (2 * m,) or not np.all(np.isfinite(action)):
            raise ValueError(f"policy action: expected {2 * m} finite values [increment, log_stiffness]; "
                             f"got {action!r}")
        target_x = self.applied[:m] + np.clip(action[:m], -cfg.max_increment, cfg.max_increment)
        target_log_k = np.clip(action[m:], log_lo, log_hi)
        r = interpolate((self.applied[:m], ImpedanceGains(np.exp(self.applied[m:]), self._ratio)),
                        (target_x, ImpedanceGains(np.exp(target_log_k), self._ratio)), cfg.decision_ticks)
        self._ramp[:, :m] = r.setpoint
        self._ramp[:, m:] = np.log(r.stiffness)
        self._ramp[-1, m:] = target_log_k  # exact endpoint in log space

    def tick(
        self, state: ArmState, force_filtered: float, force_raw: float, obs: np.ndarray, info: dict[str, Any]
    ) -> np.ndarray:
        """Joint torques ``(n,)`` [N m] for this control period.

        Args:
            state: the arm now. force_filtered, force_raw: normal contact force now [N].
            obs, info: what the task policy decides from (the env's observation and info).
        """
        cfg, m = self.config, self.law.n_task
        j = self.ticks % cfg.decision_ticks
        if j == 0:
            self._decide(obs, info)
        self.ticks += 1
        # The tracker reads last tick's applied command as the list already made from it below
        # (its own shape check is for outside callers; this list always has 2 m values).
        self.features = self.tracker._update(state, force_filtered, force_raw, self._applied_values)
        cmd = self._ramp[j]
        self.nominal = cmd.copy()
        if self.safety_filter is None:
            # applied as it is (the clip below is on a filter's command only)
            values = self.nominal.tolist()
            self.applied = cmd.copy()
        else:
            t0 = time.perf_counter()
            out, finfo = self.safety_filter.certify(self.features, cmd.copy())
            self.filter_us = (time.perf_counter() - t0) * 1e6
            values = self._certified_values(out)
            self.applied = np.array(values)
            self.intervened = bool(finfo.get("intervened", False))
            rv = finfo.get("risk")
            self.risk = math.nan if rv is None else float(rv)
        self._applied_values = values
        # A new gains object (validated) only when the stiffness changed (lists: cheaper to compare).
        log_k = values[m:]
        if log_k != self._gains_log_k:
            self._gains_log_k = log_k
            # exp(log(k)) can round just outside the range the controller enforces
            lo, hi = cfg.stiffness_range
            k = np.exp(log_k)
            np.maximum(k, lo, out=k)
            np.minimum(k, hi, out=k)
            self._gains = ImpedanceGains(k, self._ratio)
        return self.law.torques(state, self.applied[:m], self._gains)

    def _certified_values(self, out: Any) -> list[float]:
        """The filter's command as a list of ``2 m`` finite floats, its log stiffness clipped to the
        range (the filter is any :class:`~robocritic.interfaces.SafetyFilter`: checked every tick).
        Python floats: at 2 m values numpy's per-call overhead would dominate the check and clip."""
        m = self.law.n_task
        if type(out) is np.ndarray and out.dtype == np.float64 and out.shape == (2 * m,):
            values = out.tolist()
        else:
            arr = np.array(out, dtype=np.float64)
            if arr.shape != (2 * m,):
                raise ValueError(f"safety filter command: expected {2 * m} finite values; got {out!r}")
            values = arr.tolist()
        for v in values:
            if not -math.inf < v < math.inf:  # False for NaN too
                raise ValueError(f"safety filter command: expected {2 * m} finite values; got {out!r}")
        lo, hi = self._log_k_range
        for i in range(m, 2 * m):
            v = values[i]
            if v < lo:
                values[i] = lo
            elif v > hi:
                values[i] = hi
        return values


def run_episode(
    env: gym.Env,
    policy: TaskPolicy,
    *,
    config: HierarchyConfig | None = None,
    safety_filter: SafetyFilter | None = None,
    seed: int,
    options: dict[str, Any] | None = None,
    law: TorqueLaw | LawFactory | None = None,
) -> EpisodeTrace:
    """Run one episode of the two-rate loop (module docstring) and record it.

    Args:
        env: an arm env with ``info["arm_state"]``, ``force_filtered``, ``force_raw`` (e.g.
            ``robocritic/ArmPressWipe-v0``).
        policy: the task policy; reset with :func:`policy_rng` ``(seed)``.
        config: loop settings (default :class:`HierarchyConfig`).
        safety_filter: ``certify(state_features (n_s,), nominal (2 m,)) -> (command (2 m,), info)``
            with ``info["intervened"]`` and optionally ``info["risk"]``; ``reset()`` is called at
            the start if it has one. Its command's log stiffness is clipped to the range.
        seed: seeds ``env.reset`` and the policy.
        options: passed to ``env.reset``.
        law: the torque law (:class:`TorqueLaw`, reset by the loop), a :data:`LawFactory` called
            after ``env.reset``, or ``None``: :func:`default_law` (the env's default).
    """
    cfg = config or HierarchyConfig()
    arm = env.unwrapped
    obs, info = env.reset(seed=int(seed), options=options)
    state = info["arm_state"]
    m = int(np.shape(state.x)[0])
    dt = float(getattr(arm, "step_dt", getattr(arm, "dt", 0.001)))
    if law is None or (callable(law) and not hasattr(law, "torques")):
        law = (law or default_law)(arm, cfg, m)
    if int(law.n_task) != m:
        raise ValueError(f"law.n_task is {law.n_task} but the env's task space has m = {m}")
    loop = TwoRateLoop(policy, law, cfg, dt, safety_filter)
    loop.reset(state, policy_rng(seed))

    spec_steps = getattr(getattr(env, "spec", None), "max_episode_steps", None)
    cap = cfg.max_ticks or spec_steps or 2000
    if cfg.max_ticks and spec_steps:
        cap = min(cap, spec_steps)
    n_s, n_c = loop.layout.n_state, 2 * m
    states = np.empty((cap, n_s))
    nominal = np.empty((cap, n_c))
    applied_log = np.empty((cap, n_c))
    cost = np.zeros(cap)
    f_filt = np.empty(cap)
    f_raw = np.empty(cap)
    f_true = np.empty(cap)
    intervened = np.zeros(cap, dtype=bool)
    risk = np.full(cap, np.nan)
    filter_us = np.zeros(cap)
    perf = time.perf_counter
    t_start = perf()

    terminated = truncated = False
    t = 0
    while t < cap:
        tau = loop.tick(state, info["force_filtered"], info["force_raw"], obs, info)
        states[t] = loop.features
        nominal[t] = loop.nominal
        applied_log[t] = loop.applied
        if safety_filter is not None:
            intervened[t], risk[t], filter_us[t] = loop.intervened, loop.risk, loop.filter_us
        obs, _, terminated, truncated, info = env.step(tau)
        state = info["arm_state"]
        cost[t] = 1.0 if info["unsafe"] else 0.0
        f_filt[t] = info["force_filtered"]
        f_raw[t] = info["force_raw"]
        f_true[t] = info["contact_force_true"]
        t += 1
        if terminated or truncated:
            break
    if t >= cap and not terminated:
        truncated = True
    sl = slice(0, t)
    return EpisodeTrace(
        state_features=states[sl].copy(), nominal=nominal[sl].copy(), applied=applied_log[sl].copy(),
        cost=cost[sl].copy(), force_filtered=f_filt[sl].copy(), force_raw=f_raw[sl].copy(),
        contact_force_true=f_true[sl].copy(), intervened=intervened[sl].copy(), risk=risk[sl].copy(),
        filter_us=filter_us[sl].copy(),
        success=bool(info.get("success", False)), band_fraction=float(info.get("band_fraction", 0.0)),
        mean_path_error=float(info.get("mean_path_error", 0.0)), truncated=bool(truncated),
        terminated=bool(terminated), seed=int(seed), surface_offset=float(info.get("surface_offset", 0.0)),
        dt=dt, force_limit=float(getattr(arm, "force_limit", 30.0)), wall_s=perf() - t_start,
    )
