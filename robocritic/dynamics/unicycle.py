"""The unicycle (differential-drive) model shared by the navigation envs, their trackers and local
planners: one set of kinematics for simulator and controller (STYLE 13).

Coordinate contract (every NavDP module follows it): world frame x, y (m), yaw (rad)
counter-clockwise from +x; robot frame x forward, y left. A command ``(v, omega)`` drives the
robot forward at ``v`` m/s and turns it at ``omega`` rad/s, positive = left (counter-clockwise
seen from above).

Besides the :class:`UnicycleModel` (a :class:`~robocritic.dynamics.base.DynamicsModel`), the
module holds the exact arc integration (:func:`integrate_unicycle`), its batched form from the
origin (:func:`unicycle_arcs`, the rollouts of a dynamic-window planner) and the pose transforms
between the world and the robot frame (:func:`to_robot_frame`, :func:`to_world_frame`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robocritic.dynamics.base import Box, DynamicsModel
from robocritic.utils.fields import is_real

__all__ = ["UnicycleModel", "integrate_unicycle", "to_robot_frame", "to_world_frame", "unicycle_arcs",
           "wrap_angle"]

#: Below this turn rate (rad/s) an arc is integrated as a straight line.
_STRAIGHT = 1e-9


def wrap_angle(a: np.ndarray | float) -> np.ndarray | float:
    """Angle(s) wrapped to ``[-pi, pi)``, rad (an array for an array, else a float)."""
    if isinstance(a, np.ndarray):
        return (a + math.pi) % (2 * math.pi) - math.pi
    return (float(a) + math.pi) % (2 * math.pi) - math.pi


def integrate_unicycle(x: float, y: float, yaw: float, v: float, omega: float, h: float,
                       ) -> tuple[float, float, float]:
    """Exact pose after ``h`` s at constant ``(v, omega)`` (an arc; a line when ``omega`` ~ 0).
    Yaw is not wrapped."""
    if abs(omega) < _STRAIGHT:
        return x + v * h * math.cos(yaw), y + v * h * math.sin(yaw), yaw
    yaw1 = yaw + omega * h
    k = v / omega
    return x + k * (math.sin(yaw1) - math.sin(yaw)), y - k * (math.cos(yaw1) - math.cos(yaw)), yaw1


def unicycle_arcs(v: np.ndarray, omega: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Poses ``(K, T, 3)`` ``[x, y, yaw]`` (m, m, rad; yaw not wrapped) reached from the origin
    (robot frame) after each of ``times`` ``(T,)`` s at the constant commands ``v`` ``(K,)`` m/s and
    ``omega`` ``(K,)`` rad/s: exact arcs, as :func:`integrate_unicycle`."""
    v = np.asarray(v, dtype=np.float64).reshape(-1, 1)
    w = np.asarray(omega, dtype=np.float64).reshape(-1, 1)
    if v.shape != w.shape:
        raise ValueError(f"v and omega must have the same length; got {v.shape[0]} and {w.shape[0]}")
    t = np.asarray(times, dtype=np.float64).reshape(1, -1)
    yaw = w * t
    straight = np.abs(w) < _STRAIGHT
    safe_w = np.where(straight, 1.0, w)
    x = np.where(straight, v * t, v / safe_w * np.sin(yaw))
    y = np.where(straight, 0.0, v / safe_w * (1.0 - np.cos(yaw)))
    return np.stack(np.broadcast_arrays(x, y, yaw), axis=-1)


def to_robot_frame(pose: np.ndarray, points: np.ndarray) -> np.ndarray:
    """World points ``(..., 2)`` m in the frame of a robot at ``pose`` ``[x, y, yaw]`` (x forward,
    y left), ``(..., 2)`` m."""
    p = np.asarray(points, dtype=np.float64)
    c, s = math.cos(float(pose[2])), math.sin(float(pose[2]))
    dx, dy = p[..., 0] - float(pose[0]), p[..., 1] - float(pose[1])
    return np.stack([c * dx + s * dy, -s * dx + c * dy], axis=-1)


def to_world_frame(pose: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Robot-frame points ``(..., 2)`` m of a robot at ``pose`` ``[x, y, yaw]`` in the world frame,
    ``(..., 2)`` m (inverse of :func:`to_robot_frame`)."""
    p = np.asarray(points, dtype=np.float64)
    c, s = math.cos(float(pose[2])), math.sin(float(pose[2]))
    return np.stack([float(pose[0]) + c * p[..., 0] - s * p[..., 1],
                     float(pose[1]) + s * p[..., 0] + c * p[..., 1]], axis=-1)


@dataclass(frozen=True)
class UnicycleModel(DynamicsModel):
    """Unicycle ``dx/dt = v cos(yaw)``, ``dy/dt = v sin(yaw)``, ``dyaw/dt = omega``.

    State ``[x (m), y (m), yaw (rad)]``, input ``[v (m/s), omega (rad/s)]``; the state box is
    the free interior of the arena (``|x| <= x_limit``, ``|y| <= y_limit``), yaw unbounded.
    """

    dt: float = 0.1  # s
    v_min: float = 0.0  # m/s
    v_max: float = 0.5  # m/s
    omega_max: float = 1.0  # rad/s
    x_limit: float = math.inf  # m
    y_limit: float = math.inf  # m

    state_names = ("x", "y", "yaw")
    input_names = ("v", "omega")

    def __post_init__(self) -> None:
        for name in ("dt", "v_max", "omega_max", "x_limit", "y_limit"):
            v = getattr(self, name)
            if not (is_real(v) and v > 0 and not math.isnan(v)):
                raise ValueError(f"UnicycleModel.{name} must be a positive number; got {v!r}")
        if not (is_real(self.v_min) and math.isfinite(self.v_min) and self.v_min <= 0):
            raise ValueError(f"UnicycleModel.v_min must be a finite number <= 0; got {self.v_min!r}")

    def f(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        return np.array([u[0] * math.cos(x[2]), u[0] * math.sin(x[2]), u[1]])

    def jacobians(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = math.cos(x[2]), math.sin(x[2])
        A = np.array([[0.0, 0.0, -u[0] * s], [0.0, 0.0, u[0] * c], [0.0, 0.0, 0.0]])
        B = np.array([[c, 0.0], [s, 0.0], [0.0, 1.0]])
        return A, B

    def step(self, x: np.ndarray, u: np.ndarray, dt: float | None = None) -> np.ndarray:
        """Exact integration (:func:`integrate_unicycle`) over ``dt`` s (default :attr:`dt`)."""
        h = self.dt if dt is None else float(dt)
        pose = integrate_unicycle(float(x[0]), float(x[1]), float(x[2]), float(u[0]), float(u[1]), h)
        return np.array(pose)

    @property
    def state_box(self) -> Box:
        high = np.array([self.x_limit, self.y_limit, np.inf])
        return Box(-high, high)

    @property
    def input_box(self) -> Box:
        return Box(np.array([self.v_min, -self.omega_max]), np.array([self.v_max, self.omega_max]))

    @property
    def x_eq(self) -> np.ndarray:
        return np.zeros(3)

    @property
    def u_eq(self) -> np.ndarray:
        return np.zeros(2)
