"""The differential-drive robot: its parameters, its unicycle model and its MJCF body.

Coordinate contract (the one every NavDP module follows): world frame x, y (m), yaw (rad)
counter-clockwise from +x; robot frame x forward, y left. A command ``(v, omega)`` drives the
robot forward at ``v`` m/s and turns it at ``omega`` rad/s, positive = left (counter-clockwise
seen from above).

The robot is a cylinder on three planar joints (slide x, slide y, hinge yaw). The env moves it
kinematically: each physics sub-step integrates the unicycle exactly (an arc) and asks MuJoCo's
collision detection whether the cylinder touches an obstacle; on contact it stays at the last
contact-free pose (a bumper stop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from robocritic.envs.nav.constants import CAMERA_SITE, ROBOT_BODY, ROBOT_GEOM, ROBOT_JOINTS

from robocritic.dynamics import Box, DynamicsModel
from robocritic.utils.fields import is_real

__all__ = ["RobotSpec", "UnicycleModel", "integrate_unicycle", "wrap_angle"]


@dataclass(frozen=True)
class RobotSpec:
    """Geometry and speed limits of the robot.

    Attributes:
        radius: base cylinder radius, m.
        height: base cylinder height, m (from 2 cm above the floor).
        v_min, v_max: forward speed range, m/s (``v_min`` < 0 allows reversing).
        omega_max: turn-rate limit, rad/s (symmetric).
    """

    radius: float = 0.2
    height: float = 0.3
    v_min: float = 0.0
    v_max: float = 0.5
    omega_max: float = 1.0

    def __post_init__(self) -> None:
        for name in ("radius", "height", "v_max", "omega_max"):
            v = getattr(self, name)
            if not (is_real(v) and math.isfinite(v) and v > 0):
                raise ValueError(f"RobotSpec.{name} must be a positive finite number; got {v!r}")
        if not (is_real(self.v_min) and math.isfinite(self.v_min) and self.v_min <= 0):
            raise ValueError(f"RobotSpec.v_min must be a finite number <= 0 m/s; got {self.v_min!r}")

    def mjcf(self) -> str:
        """The robot body (three planar joints, the base cylinder, a nose marker and the camera
        site), for ``World.mjcf(bodies=...)``. Only the base collides (contype 1, conaffinity 0)."""
        r, h = self.radius, self.height
        z = 0.02 + 0.5 * h
        jx, jy, jyaw = ROBOT_JOINTS
        return "\n".join([
            f'    <body name="{ROBOT_BODY}">',
            f'      <joint name="{jx}" type="slide" axis="1 0 0" limited="false"/>',
            f'      <joint name="{jy}" type="slide" axis="0 1 0" limited="false"/>',
            f'      <joint name="{jyaw}" type="hinge" axis="0 0 1" limited="false"/>',
            (f'      <geom name="{ROBOT_GEOM}" type="cylinder" size="{r:.9g} {0.5 * h:.9g}" '
             f'pos="0 0 {z:.9g}" contype="1" conaffinity="0" rgba="0.9 0.55 0.1 1" mass="10"/>'),
            (f'      <geom name="robot_nose" type="box" size="{0.25 * r:.9g} {0.15 * r:.9g} 0.01" '
             f'pos="{0.7 * r:.9g} 0 {0.02 + h + 0.01:.9g}" contype="0" conaffinity="0" '
             'rgba="0.1 0.1 0.1 1" mass="0"/>'),
            f'      <site name="{CAMERA_SITE}" pos="0 0 {0.02 + h:.9g}" size="0.02"/>',
            "    </body>",
        ])


def wrap_angle(a: np.ndarray | float) -> np.ndarray | float:
    """Angle(s) wrapped to ``[-pi, pi)``, rad (an array for an array, else a float)."""
    if isinstance(a, np.ndarray):
        return (a + math.pi) % (2 * math.pi) - math.pi
    return (float(a) + math.pi) % (2 * math.pi) - math.pi


def integrate_unicycle(x: float, y: float, yaw: float, v: float, omega: float, h: float,
                       ) -> tuple[float, float, float]:
    """Exact pose after ``h`` s at constant ``(v, omega)`` (an arc; a line when ``omega`` ~ 0).
    Yaw is not wrapped."""
    if abs(omega) < 1e-9:
        return x + v * h * math.cos(yaw), y + v * h * math.sin(yaw), yaw
    yaw1 = yaw + omega * h
    k = v / omega
    return x + k * (math.sin(yaw1) - math.sin(yaw)), y - k * (math.cos(yaw1) - math.cos(yaw)), yaw1


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
