"""The planar arm's free-space dynamics model and its planar kinematics.

:class:`PlanarArmModel` is the :class:`~robocritic.dynamics.DynamicsModel` the arm envs are built
on: state ``[q1, q2, q3, qd1, qd2, qd3]`` (rad, rad/s), input the three joint torques (N m), the
joint and speed limits as the state box, the torque limits as the input box. Its ODE is the
rigid-body dynamics of the shipped MJCF (``arm3_planar.xml``) without contacts or joint-limit
constraints, evaluated by MuJoCo:

    M(q) qdd + c(q, qd) + g(q) + D qd = tau

(``M`` with the motors' armature, ``D`` the joint damping). It lives beside the env rather than in
:mod:`robocritic.dynamics` because it reads the MJCF through MuJoCo (ground never imports an
engine); an analytic numpy twin could move down a floor later.

Planar conventions (shared by the task and the tests): the arm moves in the base frame's x-z
plane, every hinge turns about -y, so angles grow from +x towards +z; the tool angle
``phi = q1 + q2 + q3`` is the direction of link3 (and of the tool, which extends along it).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import mujoco
import numpy as np
from robocritic.envs.arm.constants import ARM_LINKS, ARM_MJCF, TCP_SITE, TOOL_BODY
from robocritic.envs.base.assets import asset_path

from robocritic.dynamics import Box, DynamicsModel
from robocritic.utils.fields import is_finite_real
from robocritic.utils.validation import as_real_array, short_repr


@dataclass(frozen=True)
class ArmGeometry:
    """Planar link lengths (m): joint1 -> joint2, joint2 -> joint3, joint3 -> TCP."""

    l1: float
    l2: float
    l3: float

    @classmethod
    def from_mujoco(cls, model: mujoco.MjModel) -> ArmGeometry:
        """Read the lengths from an arm MJCF whose links extend along their body's local +x."""
        link2 = model.body(ARM_LINKS[1]).pos
        link3 = model.body(ARM_LINKS[2]).pos
        tool = model.body(TOOL_BODY).pos + model.site(TCP_SITE).pos
        for name, v in (("link2", link2), ("link3", link3), ("tcp", tool)):
            if abs(v[1]) > 1e-12 or abs(v[2]) > 1e-12:
                raise ValueError(f"arm asset: {name} must lie on its parent's local x axis; got {v}")
        return cls(float(link2[0]), float(link3[0]), float(tool[0]))

    def forward(self, q: np.ndarray) -> np.ndarray:
        """TCP position (x, z) in m and tool angle phi in rad for joint angles ``q`` (3,)."""
        a1, a12 = q[0], q[0] + q[1]
        phi = a12 + q[2]
        x = self.l1 * np.cos(a1) + self.l2 * np.cos(a12) + self.l3 * np.cos(phi)
        z = self.l1 * np.sin(a1) + self.l2 * np.sin(a12) + self.l3 * np.sin(phi)
        return np.array([x, z, phi])

    def inverse(self, x: float, z: float, phi: float) -> np.ndarray:
        """Joint angles (rad) that put the TCP at ``(x, z)`` (m) with tool angle ``phi`` (rad),
        elbow up (``q2 < 0``). Raises ``ValueError`` if the wrist point is out of reach."""
        wx, wz = x - self.l3 * np.cos(phi), z - self.l3 * np.sin(phi)
        c2 = (wx * wx + wz * wz - self.l1**2 - self.l2**2) / (2.0 * self.l1 * self.l2)
        if not -1.0 <= c2 <= 1.0:
            raise ValueError(f"TCP ({x:g}, {z:g}) m with tool angle {phi:g} rad is out of the arm's reach")
        q2 = -np.arccos(c2)
        q1 = np.arctan2(wz, wx) - np.arctan2(self.l2 * np.sin(q2), self.l1 + self.l2 * np.cos(q2))
        return np.array([q1, q2, phi - q1 - q2])


@functools.lru_cache(maxsize=1)
def _free_space_model() -> mujoco.MjModel:
    """The shipped MJCF with every constraint (contacts, joint limits) switched off."""
    model = mujoco.MjModel.from_xml_path(asset_path(ARM_MJCF))
    model.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_CONSTRAINT)
    return model


def asset_geometry() -> ArmGeometry:
    """Link lengths of the shipped asset."""
    return ArmGeometry.from_mujoco(_free_space_model())


@dataclass(frozen=True)
class PlanarArmModel(DynamicsModel):
    """Planar 3-link arm in free space. State ``[q (rad), qd (rad/s)]``, input joint torques (N m).

    The limits are the env's: joint ranges and torque limits are written into the MuJoCo model
    when the env loads (so they may be changed here), ``max_speed`` is a state constraint only.
    The operating point is the home pose: TCP at :attr:`HOME_TCP` with the tool pointing straight
    down, at rest, held by the gravity torques.
    """

    dt: float = 0.001  # s, the physics step = control step
    torque_limit: tuple[float, float, float] = (40.0, 30.0, 10.0)  # N m
    joint_low: tuple[float, float, float] = (-0.5, -2.8, -2.6)  # rad
    joint_high: tuple[float, float, float] = (2.0, -0.15, 1.0)  # rad; q2 <= -0.15 keeps the elbow bent
    max_speed: float = 2.5  # rad/s, every joint (state constraint)

    state_names = ("q1", "q2", "q3", "qd1", "qd2", "qd3")
    input_names = ("tau1", "tau2", "tau3")
    #: Home TCP position (x, z) in m, base frame, and tool angle (rad): the centre of the
    #: press-and-wipe start box, 6.5 cm above the nominal contact height.
    HOME_TCP: ClassVar[tuple[float, float]] = (0.40, -0.185)
    HOME_TOOL_ANGLE: ClassVar[float] = -np.pi / 2

    def __post_init__(self) -> None:
        owner = "PlanarArmModel"
        if not (is_finite_real(self.dt) and self.dt > 0):
            raise ValueError(
                f"{owner}.dt must be a positive finite number of seconds; got {short_repr(self.dt)}")
        if not (is_finite_real(self.max_speed) and self.max_speed > 0):
            raise ValueError(
                f"{owner}.max_speed must be a positive finite number; got {short_repr(self.max_speed)}")
        for name in ("torque_limit", "joint_low", "joint_high"):
            v = as_real_array(f"{owner}.{name}", getattr(self, name), max_size=3, finite=False)
            if v.shape != (3,) or not np.all(np.isfinite(v)):
                raise ValueError(
                    f"{owner}.{name} must be 3 finite numbers; got {short_repr(getattr(self, name))}")
            object.__setattr__(self, name, tuple(float(a) for a in v))
        if min(self.torque_limit) <= 0:
            raise ValueError(f"{owner}.torque_limit must be > 0; got {self.torque_limit!r}")
        if any(lo >= hi for lo, hi in zip(self.joint_low, self.joint_high)):
            raise ValueError(f"{owner}.joint_low must be below joint_high; got {self.joint_low} and {self.joint_high}")

    def f(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        model = _free_space_model()
        data = mujoco.MjData(model)
        data.qpos[:] = x[:3]
        data.qvel[:] = x[3:]
        data.qfrc_applied[:] = u  # unsaturated: the ODE is linear in the input
        mujoco.mj_forward(model, data)
        return np.concatenate([x[3:], data.qacc])

    @property
    def state_box(self) -> Box:
        return Box(
            np.concatenate([self.joint_low, np.full(3, -self.max_speed)]),
            np.concatenate([self.joint_high, np.full(3, self.max_speed)]),
        )

    @property
    def input_box(self) -> Box:
        return Box.symmetric(self.torque_limit)

    @property
    def q_home(self) -> np.ndarray:
        """Joint angles of the home pose (rad)."""
        return asset_geometry().inverse(*self.HOME_TCP, self.HOME_TOOL_ANGLE)

    @property
    def x_eq(self) -> np.ndarray:
        return np.concatenate([self.q_home, np.zeros(3)])

    @property
    def u_eq(self) -> np.ndarray:
        """Gravity torques at the home pose (N m): what holds it at rest."""
        model = _free_space_model()
        data = mujoco.MjData(model)
        data.qpos[:] = self.q_home
        mujoco.mj_forward(model, data)
        return data.qfrc_bias.copy()

