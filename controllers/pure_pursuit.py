"""Pure pursuit: a path in the robot frame -> a unicycle command ``(v, omega)``.

Frames: the robot frame at the time of the call, x forward, y left (m); ``+omega`` turns left
(counter-clockwise), as in :mod:`robocritic.dynamics.unicycle`.

Law. The path is a polyline of waypoints ``(N, 2)`` (a ``(N, 3)`` path's heading column is
ignored). The robot's foot point is the closest point of the polyline to the robot (the origin);
the target is the first point beyond the foot point, along the path, that lies ``lookahead`` m
from the robot (the path's end if the rest of the path is closer). For a target at ``(x, y)``,
distance ``L``, the arc through the robot and the target, tangent to the heading, has curvature
``kappa = 2 y / L^2``; the command is ``omega = kappa v``. The speed is ``v_max``, lowered so that
``|omega| <= omega_max`` (the arc is kept, the robot just drives it slower) and ramped down
linearly over the last ``slow_down_distance`` m of the path (to ``min_speed``). A target more than
``rotate_angle`` rad off the heading (behind the robot, say) is turned to in place first:
``v = 0``, ``omega = clip(rotate_gain * bearing, +-omega_max)``. Within ``goal_tolerance`` m of the
path's end the command is ``(0, 0)`` and :attr:`PursuitCommand.done` is set.

Env-free and stateless: call :meth:`PurePursuit.act` every control step with the path expressed
in the current robot frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robocritic.utils.fields import check_real

__all__ = ["PurePursuit", "PurePursuitConfig", "PursuitCommand"]

_OWNER = "PurePursuitConfig"


@dataclass(frozen=True)
class PurePursuitConfig:
    """Settings of a :class:`PurePursuit` tracker.

    Attributes:
        lookahead: distance from the robot to the target point, m.
        v_max: forward speed limit, m/s.
        omega_max: turn-rate limit (symmetric), rad/s.
        goal_tolerance: stop (and report ``done``) this close to the path's end, m.
        slow_down_distance: the speed ramps down over this much remaining path, m (0 = none).
        min_speed: least speed on the ramp, m/s (so the robot does reach the end).
        rotate_angle: a target farther off the heading than this is turned to in place, rad.
        rotate_gain: turn rate per radian of bearing when turning in place, 1/s.
    """

    lookahead: float = 0.4
    v_max: float = 0.5
    omega_max: float = 1.0
    goal_tolerance: float = 0.1
    slow_down_distance: float = 0.5
    min_speed: float = 0.1
    rotate_angle: float = 0.5
    rotate_gain: float = 2.0

    def __post_init__(self) -> None:
        for name in ("lookahead", "v_max", "omega_max", "rotate_gain"):
            check_real(_OWNER, name, getattr(self, name), low=0.0, low_open=True)
        check_real(_OWNER, "goal_tolerance", self.goal_tolerance, low=0.0)
        check_real(_OWNER, "slow_down_distance", self.slow_down_distance, low=0.0)
        check_real(_OWNER, "min_speed", self.min_speed, low=0.0, high=self.v_max)
        check_real(_OWNER, "rotate_angle", self.rotate_angle, low=0.0, low_open=True, high=math.pi)


@dataclass(frozen=True)
class PursuitCommand:
    """One tracker decision.

    Attributes:
        v: forward speed, m/s. omega: turn rate, rad/s (+ = left).
        target: ``(2,)`` the pursued point in the robot frame, m.
        curvature: of the commanded arc, 1/m (``nan`` when turning in place or stopped).
        remaining: path length from the foot point to the end, m.
        done: the robot is within ``goal_tolerance`` of the path's end (command ``(0, 0)``).
    """

    v: float
    omega: float
    target: np.ndarray
    curvature: float
    remaining: float
    done: bool

    @property
    def action(self) -> np.ndarray:
        """``[v, omega]`` float64 (m/s, rad/s)."""
        return np.array([self.v, self.omega])


def _foot_point(points: np.ndarray) -> tuple[int, float, np.ndarray]:
    """Segment index, fraction along it and the point of the polyline ``(N, 2)`` closest to the
    origin (the first such segment on ties)."""
    a, b = points[:-1], points[1:]
    d = b - a
    length2 = np.einsum("ij,ij->i", d, d)
    t = np.where(length2 > 0, -np.einsum("ij,ij->i", a, d) / np.where(length2 > 0, length2, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    foot = a + t[:, None] * d
    k = int(np.argmin(np.einsum("ij,ij->i", foot, foot)))
    return k, float(t[k]), foot[k]


class PurePursuit:
    """The pure-pursuit tracker of the module docstring.

    Args:
        config: settings (defaults: the NavDP robot's limits, 0.5 m/s and 1 rad/s).
    """

    def __init__(self, config: PurePursuitConfig | None = None) -> None:
        self.config = config or PurePursuitConfig()

    def act(self, path: np.ndarray) -> np.ndarray:
        """``[v, omega]`` (m/s, rad/s) that follows ``path`` ``(N, 2)`` or ``(N, 3)`` m (robot frame)."""
        return self.command(path).action

    def command(self, path: np.ndarray) -> PursuitCommand:
        """The full decision for ``path`` ``(N, 2)`` or ``(N, 3)`` m in the robot frame (``N >= 1``;
        a single point is the segment from the robot to it)."""
        cfg = self.config
        p = np.asarray(path, dtype=np.float64)
        if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] not in (2, 3):
            raise ValueError(f"path must have shape (N, 2) or (N, 3) with N >= 1 [m]; got {p.shape}")
        p = p[:, :2]
        if not np.isfinite(p).all():
            raise ValueError("path must be finite")
        if len(p) == 1:
            p = np.concatenate([np.zeros((1, 2)), p])
        k, t, foot = _foot_point(p)
        seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
        remaining = float((1.0 - t) * seg[k] + seg[k + 1:].sum())
        end = p[-1]
        end_distance = float(np.hypot(*end))
        if end_distance <= cfg.goal_tolerance:
            return PursuitCommand(0.0, 0.0, end.copy(), math.nan, remaining, True)
        target = self._target(p, k, foot)
        distance = float(np.hypot(*target))
        bearing = math.atan2(target[1], target[0])
        if abs(bearing) > cfg.rotate_angle:
            omega = float(np.clip(cfg.rotate_gain * bearing, -cfg.omega_max, cfg.omega_max))
            return PursuitCommand(0.0, omega, target, math.nan, remaining, False)
        curvature = 2.0 * float(target[1]) / max(distance, 1e-9) ** 2
        v = cfg.v_max
        if cfg.slow_down_distance > 0:
            v = min(v, max(cfg.min_speed, cfg.v_max * remaining / cfg.slow_down_distance))
        if abs(curvature) * v > cfg.omega_max:
            v = cfg.omega_max / abs(curvature)
        omega = float(np.clip(curvature * v, -cfg.omega_max, cfg.omega_max))
        return PursuitCommand(float(v), omega, target, curvature, remaining, False)

    def _target(self, p: np.ndarray, k: int, foot: np.ndarray) -> np.ndarray:
        """First point at ``lookahead`` m from the origin beyond ``foot`` on segment ``k`` (the
        path's end if none)."""
        ld = self.config.lookahead
        if float(np.hypot(*foot)) >= ld:  # off the path by more than the lookahead: head for it
            return foot.copy()
        starts = np.concatenate([foot[None], p[k + 1:-1]])
        ends = p[k + 1:]
        for a, b in zip(starts, ends, strict=True):
            if float(np.hypot(*b)) < ld:
                continue
            # |a + s (b - a)| = ld with |a| < ld <= |b|: the larger root in [0, 1].
            d = b - a
            qa, qb, qc = float(d @ d), 2.0 * float(a @ d), float(a @ a) - ld * ld
            if qa <= 0:
                return b.copy()
            s = (-qb + math.sqrt(max(qb * qb - 4 * qa * qc, 0.0))) / (2 * qa)
            return a + min(max(s, 0.0), 1.0) * d
        return p[-1].copy()
