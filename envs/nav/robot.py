"""The differential-drive robot: its parameters, its unicycle model and its MJCF body.

Coordinate contract (the one every NavDP module follows): world frame x, y (m), yaw (rad)
counter-clockwise from +x; robot frame x forward, y left. A command ``(v, omega)`` drives the
robot forward at ``v`` m/s and turns it at ``omega`` rad/s, positive = left (counter-clockwise
seen from above).

The robot is a cylinder on three planar joints (slide x, slide y, hinge yaw). The env moves it
kinematically: each physics sub-step integrates the unicycle exactly (an arc) and asks MuJoCo's
collision detection whether the cylinder touches an obstacle; on contact it stays at the last
contact-free pose (a bumper stop).

The unicycle kinematics live in :mod:`robocritic.dynamics.unicycle` (one model shared by the env,
its trackers and planners); :class:`UnicycleModel`, :func:`integrate_unicycle` and
:func:`wrap_angle` are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass

from robocritic.envs.nav.constants import CAMERA_SITE, ROBOT_BODY, ROBOT_GEOM, ROBOT_JOINTS

from robocritic.dynamics.unicycle import UnicycleModel, integrate_unicycle, wrap_angle
from robocritic.utils.fields import is_finite_real

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
            if not (is_finite_real(v) and v > 0):
                raise ValueError(f"RobotSpec.{name} must be a positive finite number; got {v!r}")
        if not (is_finite_real(self.v_min) and self.v_min <= 0):
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
