"""What the task policies of the planar LATERAL-force tasks share (:mod:`~robocritic.bresa.peg_policies`,
:mod:`~robocritic.bresa.groove_policies`): the observation layout they read, argument checks, the
scripted policies' descent of the z setpoint, the exploration policies' noisy command with
stiffness jumps, and the ``*_policy_for_env`` look-up.

Commands are ``[x increment, z increment [m], log K_x, log K_z [ln(N/m)]]`` (``m = 2``), relative to
the applied command ``[x_sp, z_sp, log K_x, log K_z]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

#: Observation indices of the lateral-force envs (``envs/arm/lateral_task.py``): TCP x, TCP z [m],
#: filtered lateral force, filtered normal force [N], time [s].
OBS_X, OBS_Z, OBS_F_LAT, OBS_F_N, OBS_T = 6, 7, 10, 11, -1


def check_positive(owner: str, name: str, value: float) -> float:
    """``value`` as a float; ValueError naming ``owner.name`` unless a finite number > 0."""
    if isinstance(value, bool) or not (isinstance(value, (int, float, np.integer, np.floating))
                                       and math.isfinite(value) and value > 0):
        raise ValueError(f"{owner}.{name} must be a finite number > 0; got {value!r}")
    return float(value)


def check_finite(owner: str, name: str, value: float) -> float:
    """``value`` as a float; ValueError naming ``owner.name`` unless a finite number [m]."""
    if isinstance(value, bool) or not (isinstance(value, (int, float, np.integer, np.floating))
                                       and math.isfinite(value)):
        raise ValueError(f"{owner}.{name} must be finite [m]; got {value!r}")
    return float(value)


def check_stiffness(owner: str, name: str, value: Any) -> np.ndarray:
    """``(K_x, K_z)`` [N/m] as an array; ValueError naming ``owner.name`` unless two finite values > 0."""
    k = np.asarray(value, dtype=np.float64)
    if k.shape != (2,) or not np.all(np.isfinite(k)) or np.any(k <= 0):
        raise ValueError(f"{owner}.{name} must be two finite values > 0 (K_x, K_z) [N/m]; got {value!r}")
    return k


def check_applied(owner: str, applied: np.ndarray) -> None:
    """ValueError unless the applied command has the 4 values of ``m = 2``."""
    if np.shape(applied) != (4,):
        raise ValueError(f"{owner}: the applied command must have 4 values (m = 2: x, z); "
                         f"got shape {np.shape(applied)}")


def check_ranges(owner: str, ranges: dict[str, tuple[float, float]], aim_range: tuple[float, float]) -> None:
    """An exploration policy's draw ranges: each of ``ranges`` a finite ``(low, high)`` with
    ``0 <= low <= high`` (``low > 0`` for ``stiffness_range`` and ``speed_range``),
    ``jump_probability_range`` within [0, 1], ``aim_range`` finite with ``low <= high`` [m]."""
    for name, (lo, hi) in ranges.items():
        ok_low = lo > 0 if name in ("stiffness_range", "speed_range") else lo >= 0
        if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi and ok_low):
            raise ValueError(f"{owner}.{name} must be a finite (low, high) with 0 <= low <= high "
                             f"(low > 0 for stiffness and speed); got {(lo, hi)!r}")
    if not (math.isfinite(aim_range[0]) and math.isfinite(aim_range[1]) and aim_range[0] <= aim_range[1]):
        raise ValueError(f"{owner}.aim_range must be a finite (low, high) [m]; got {aim_range!r}")
    jump = ranges["jump_probability_range"]
    if jump[1] > 1:
        raise ValueError(f"{owner}.jump_probability_range must lie in [0, 1]; got {jump!r}")


def descend(z_sp: float, aligned: bool, slow_from: float, hover: float, press: float, fast_speed: float,
            slow_speed: float, period: float) -> tuple[float, bool]:
    """A scripted descent of the z setpoint ``z_sp`` [m] over one decision ``period`` [s]: at
    ``fast_speed`` [m/s] down to exactly ``slow_from``, then at ``slow_speed`` down to ``press``; held
    at ``hover`` above ``slow_from`` until ``aligned``. Returns the target [m] and whether it is in
    the slow phase."""
    floor = press if aligned or z_sp <= slow_from else hover
    step = (fast_speed if z_sp > slow_from else slow_speed) * period
    z_target = max(z_sp - step, floor)
    if z_sp > slow_from:
        z_target = max(z_target, slow_from)  # the slow phase starts exactly at slow_from
    return z_target, z_target <= slow_from + 1e-12


def ramp(value: float, goal: float, step: float) -> float:
    """``value`` moved towards ``goal`` by at most ``step``."""
    return goal if abs(goal - value) <= step else value + math.copysign(step, goal - value)


class RandomizedPolicy:
    """Base of the exploration policies: the episode's ``rng`` (kept by ``reset``) and the noisy
    command with stiffness jumps. A subclass draws ``log_k``, ``noise`` and ``jump_probability`` in
    its ``reset`` and sets ``log_k_range``."""

    log_k_range: tuple[float, float]
    log_k: np.ndarray
    noise: float
    jump_probability: float
    _rng: np.random.Generator | None = None

    def _episode_rng(self) -> np.random.Generator:
        """The episode's ``rng``; RuntimeError before ``reset``."""
        if self._rng is None:
            raise RuntimeError(f"{type(self).__name__}.decide before reset")
        return self._rng

    def _command(self, rng: np.random.Generator, increment: list[float]) -> np.ndarray:
        """``[increment + N(0, noise) (2,), log_k]``; with ``jump_probability`` a new ``log_k``
        drawn log-uniformly from the stiffness range first."""
        inc = np.array(increment) + rng.normal(0.0, self.noise, size=2)
        if rng.random() < self.jump_probability:
            self.log_k = rng.uniform(*self.log_k_range, size=2)
        return np.concatenate([inc, self.log_k])


def policy_for(policy: str, env_id: str, geometries: dict[str, dict[str, Any]], task: str,
               makers: dict[str, Callable[..., Any]], kwargs: dict[str, Any]) -> Any:
    """``makers[policy]`` called with the geometry of ``env_id`` in ``geometries`` (``n_task`` left
    out) and ``kwargs`` (which win); ValueError naming ``env_id`` or ``policy`` otherwise."""
    if env_id not in geometries:
        raise ValueError(f"env_id: no {task} geometry for {env_id!r}; known: {sorted(geometries)}")
    geometry = {k: v for k, v in geometries[env_id].items() if k != "n_task"}
    if policy not in makers:
        *first, last = list(makers)
        raise ValueError(f"policy: expected {', '.join(map(repr, first))} or {last!r}; got {policy!r}")
    return makers[policy](**{**geometry, **kwargs})
