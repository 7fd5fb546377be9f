"""The 7-DoF arm (``arm7_panda.xml``): its free-space dynamics model, the Panda's DH forward
kinematics and a damped-least-squares inverse kinematics on the MuJoCo model.

:class:`Arm7Model` is the :class:`~robocritic.dynamics.DynamicsModel` ``robocritic/Arm7PressWipe-v0``
is built on: state ``[q (7), qd (7)]`` (rad, rad/s), input the seven joint torques (N m), the
limits of ``hardware/arm7_torque.yaml`` (joint ranges and per-joint speed limits as the state box,
effort limits as the input box). Its ODE is the asset's rigid-body dynamics without contacts or
joint-limit constraints, evaluated by MuJoCo (``M(q) qdd + c + g + D qd = tau``, ``M`` with the
motors' armature).

Conventions: base frame x forward, z up. The tool points along the flange's z axis; "vertical"
means that axis points straight down (-z). :func:`dh_tcp_pose` is the public Franka DH chain
(modified convention) written out in numpy, the reference the asset's bodies are checked against.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import mujoco
import numpy as np
from robocritic.envs.arm.constants7 import ARM7_MJCF, ARM7_TCP_SITE
from robocritic.envs.base.assets import asset_path

from robocritic.dynamics import Box, DynamicsModel
from robocritic.utils.fields import is_finite_real
from robocritic.utils.validation import as_real_array, short_repr

#: Franka Panda DH parameters (Craig's modified convention), one row per joint:
#: ``(a_{i-1} [m], d_i [m], alpha_{i-1} [rad])``; the flange adds ``d = 0.107`` m.
PANDA_DH: tuple[tuple[float, float, float], ...] = (
    (0.0, 0.333, 0.0),
    (0.0, 0.0, -math.pi / 2),
    (0.0, 0.316, math.pi / 2),
    (0.0825, 0.0, math.pi / 2),
    (-0.0825, 0.384, -math.pi / 2),
    (0.0, 0.0, math.pi / 2),
    (0.088, 0.0, math.pi / 2),
)
PANDA_FLANGE_D = 0.107
#: Flange to TCP (the fingertip sphere's centre) along the flange's z axis, m (the asset's tool).
TOOL_LENGTH = 0.10
#: Joint posture the IK starts from and pulls its null space towards (rad): elbow bent, tool
#: vertical in the x-z plane, every joint well inside its range.
POSTURE = (0.0, 0.0, 0.0, -2.0, 0.0, 2.2, 0.0)


def _dh(a: float, d: float, alpha: float, theta: float) -> np.ndarray:
    """``RotX(alpha) TransX(a) RotZ(theta) TransZ(d)`` as a 4 x 4 homogeneous transform."""
    ca, sa, ct, st = math.cos(alpha), math.sin(alpha), math.cos(theta), math.sin(theta)
    return np.array([[ct, -st, 0.0, a],
                     [st * ca, ct * ca, -sa, -d * sa],
                     [st * sa, ct * sa, ca, d * ca],
                     [0.0, 0.0, 0.0, 1.0]])


def dh_tcp_pose(q: np.ndarray, tool_length: float = TOOL_LENGTH) -> np.ndarray:
    """TCP pose ``(4, 4)`` in the base frame for joint angles ``q`` ``(7,)`` rad, from
    :data:`PANDA_DH`, the flange and ``tool_length`` m along the flange's z axis."""
    pose = np.eye(4)
    for (a, d, alpha), theta in zip(PANDA_DH, np.asarray(q, dtype=np.float64), strict=True):
        pose = pose @ _dh(a, d, alpha, float(theta))
    return pose @ _dh(0.0, PANDA_FLANGE_D + tool_length, 0.0, 0.0)


def dh_tool_rotation_jacobian(q: np.ndarray, tool_length: float = TOOL_LENGTH) -> tuple[np.ndarray, np.ndarray]:
    """Tool orientation ``(3, 3)`` (tool to base) and the rotational Jacobian ``(3, 7)``
    (``omega = J_r qd``, rad/s) at ``q`` ``(7,)`` rad, from :data:`PANDA_DH` in numpy (no engine):
    joint ``i`` turns about the z axis of DH frame ``i``. A kinematics callable for
    :class:`robocritic.controllers.posture.NullSpacePosture`'s tool-axis hold."""
    pose = np.eye(4)
    jac = np.empty((3, 7))
    for i, ((a, d, alpha), theta) in enumerate(zip(PANDA_DH, np.asarray(q, dtype=np.float64), strict=True)):
        pose = pose @ _dh(a, d, alpha, float(theta))
        jac[:, i] = pose[:3, 2]
    return pose[:3, :3].copy(), jac


def tool_tilt(rotation: np.ndarray) -> float:
    """Angle between the tool axis (z column of ``rotation`` ``(3, 3)``) and straight down, rad."""
    return float(math.acos(min(1.0, max(-1.0, -float(rotation[2, 2])))))


@functools.lru_cache(maxsize=1)
def _free_space_model() -> mujoco.MjModel:
    """The shipped MJCF with every constraint (contacts, joint limits) switched off."""
    model = mujoco.MjModel.from_xml_path(asset_path(ARM7_MJCF))
    model.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_CONSTRAINT)
    return model


class Arm7Kinematics:
    """TCP kinematics and inverse kinematics of the 7-DoF asset, on a private ``MjData`` (the
    env's state is never touched).

    Args:
        model: an ``arm7_panda.xml`` model (default: the shipped asset); only its kinematics are
            used, so randomised masses do not matter.
        joint_low, joint_high: ``(7,)`` rad, the range the IK keeps to (default: the model's).
    """

    def __init__(self, model: mujoco.MjModel | None = None, joint_low: np.ndarray | None = None,
                 joint_high: np.ndarray | None = None) -> None:
        self.model = model if model is not None else _free_space_model()
        self.data = mujoco.MjData(self.model)
        self._tcp = self.model.site(ARM7_TCP_SITE).id
        self.low = np.array(self.model.jnt_range[:, 0] if joint_low is None else joint_low, dtype=np.float64)
        self.high = np.array(self.model.jnt_range[:, 1] if joint_high is None else joint_high, dtype=np.float64)
        self._jp = np.zeros((3, self.model.nv))
        self._jr = np.zeros((3, self.model.nv))

    def _at(self, q: np.ndarray) -> None:
        d = self.data
        d.qpos[:] = q
        mujoco.mj_kinematics(self.model, d)
        mujoco.mj_comPos(self.model, d)  # cdof and subtree COMs, which mj_jacSite reads

    def tcp_pose(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """TCP position ``(3,)`` m and orientation ``(3, 3)`` (site to base) at ``q`` ``(7,)``."""
        self._at(np.asarray(q, dtype=np.float64))
        return self.data.site_xpos[self._tcp].copy(), self.data.site_xmat[self._tcp].reshape(3, 3).copy()

    def inverse(
        self,
        position: np.ndarray,
        seed: np.ndarray | tuple[float, ...] = POSTURE,
        posture: np.ndarray | tuple[float, ...] = POSTURE,
        *,
        damping: float = 1e-2,
        posture_gain: float = 0.5,
        tol: float = 1e-10,
        max_iter: int = 200,
    ) -> np.ndarray:
        """Joint angles ``(7,)`` rad that put the TCP at ``position`` ``(3,)`` m with the tool
        vertical: damped least squares from ``seed`` on 5 task rows (TCP position, the tool
        axis's x and y tilt), the remaining two degrees of freedom (elbow swivel, tool yaw)
        pulled towards ``posture`` through the exact null-space projector, joints clipped to
        their range every iteration. Deterministic for a given seed.

        Raises ``ValueError`` if the residual is not below ``tol`` after ``max_iter`` iterations
        (out of reach, or only reachable at a joint limit)."""
        p = np.asarray(position, dtype=np.float64)
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            raise ValueError(f"position must be 3 finite numbers (m); got {position!r}")
        q = np.clip(np.asarray(seed, dtype=np.float64), self.low, self.high)
        q_post = np.asarray(posture, dtype=np.float64)
        d, jp, jr = self.data, self._jp, self._jr
        eye5, eye7 = np.eye(5), np.eye(self.model.nv)
        residual = math.inf
        for _ in range(int(max_iter)):
            self._at(q)
            z_axis = d.site_xmat[self._tcp].reshape(3, 3)[:, 2]
            # Tool axis error: z_axis x (0, 0, -1) = (-z_y, z_x, 0), the small rotation onto vertical.
            err = np.concatenate([p - d.site_xpos[self._tcp], [-z_axis[1], z_axis[0]]])
            residual = float(np.linalg.norm(err))
            if residual < tol:
                return q
            mujoco.mj_jacSite(self.model, d, jp, jr, self._tcp)
            jac = np.vstack([jp, jr[:2]])
            step = jac.T @ np.linalg.solve(jac @ jac.T + damping**2 * eye5, err)
            null = eye7 - np.linalg.pinv(jac) @ jac
            q = np.clip(q + step + null @ (posture_gain * (q_post - q)), self.low, self.high)
        raise ValueError(f"position {p.tolist()} m with the tool vertical: IK did not converge "
                         f"(residual {residual:.3g} after {max_iter} iterations)")


@dataclass(frozen=True)
class Arm7Model(DynamicsModel):
    """7-DoF arm in free space. State ``[q (rad), qd (rad/s)]``, input joint torques (N m).

    The limits are the env's (defaults: ``hardware/arm7_torque.yaml``): joint ranges and torque
    limits are written into the MuJoCo model when the env loads, ``velocity_limit`` is a state
    constraint only. The operating point is the home pose: TCP at :attr:`HOME_TCP` with the tool
    vertical (IK from :data:`POSTURE`), at rest, held by the gravity torques.
    """

    dt: float = 0.001  # s, the physics step = control step
    torque_limit: tuple[float, ...] = (87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0)  # N m
    joint_low: tuple[float, ...] = (-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973)  # rad
    joint_high: tuple[float, ...] = (2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973)  # rad
    velocity_limit: tuple[float, ...] = (2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61)  # rad/s

    state_names = tuple(f"q{i}" for i in range(1, 8)) + tuple(f"qd{i}" for i in range(1, 8))
    input_names = tuple(f"tau{i}" for i in range(1, 8))
    #: Home TCP position (x, y, z) in m, base frame: the centre of the press-and-wipe start box,
    #: 6.5 cm above the nominal contact height.
    HOME_TCP: ClassVar[tuple[float, float, float]] = (0.50, 0.0, 0.125)

    def __post_init__(self) -> None:
        owner = "Arm7Model"
        if not (is_finite_real(self.dt) and self.dt > 0):
            raise ValueError(
                f"{owner}.dt must be a positive finite number of seconds; got {short_repr(self.dt)}")
        for name in ("torque_limit", "joint_low", "joint_high", "velocity_limit"):
            v = as_real_array(f"{owner}.{name}", getattr(self, name), max_size=7, finite=False)
            if v.shape != (7,) or not np.all(np.isfinite(v)):
                raise ValueError(
                    f"{owner}.{name} must be 7 finite numbers; got {short_repr(getattr(self, name))}")
            object.__setattr__(self, name, tuple(float(a) for a in v))
        for name in ("torque_limit", "velocity_limit"):
            if min(getattr(self, name)) <= 0:
                raise ValueError(f"{owner}.{name} must be > 0; got {getattr(self, name)!r}")
        if any(lo >= hi for lo, hi in zip(self.joint_low, self.joint_high)):
            raise ValueError(f"{owner}.joint_low must be below joint_high; got {self.joint_low} and {self.joint_high}")

    def f(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        model = _free_space_model()
        data = mujoco.MjData(model)
        data.qpos[:] = x[:7]
        data.qvel[:] = x[7:]
        data.qfrc_applied[:] = u  # unsaturated: the ODE is linear in the input
        mujoco.mj_forward(model, data)
        return np.concatenate([x[7:], data.qacc])

    @property
    def state_box(self) -> Box:
        v = np.asarray(self.velocity_limit)
        return Box(np.concatenate([self.joint_low, -v]), np.concatenate([self.joint_high, v]))

    @property
    def input_box(self) -> Box:
        return Box.symmetric(self.torque_limit)

    @property
    def q_home(self) -> np.ndarray:
        """Joint angles of the home pose (rad)."""
        return _home_pose(self.joint_low, self.joint_high).copy()

    @property
    def x_eq(self) -> np.ndarray:
        return np.concatenate([self.q_home, np.zeros(7)])

    @property
    def u_eq(self) -> np.ndarray:
        """Gravity torques at the home pose (N m): what holds it at rest."""
        return _home_torques(self.joint_low, self.joint_high).copy()


@functools.lru_cache(maxsize=8)
def _home_pose(low: tuple[float, ...], high: tuple[float, ...]) -> np.ndarray:
    # Cached: the env reads u_eq at every reset (the delay line's neutral input).
    return Arm7Kinematics(joint_low=np.array(low), joint_high=np.array(high)).inverse(np.array(Arm7Model.HOME_TCP))


@functools.lru_cache(maxsize=8)
def _home_torques(low: tuple[float, ...], high: tuple[float, ...]) -> np.ndarray:
    model = _free_space_model()
    data = mujoco.MjData(model)
    data.qpos[:] = _home_pose(low, high)
    mujoco.mj_forward(model, data)
    return data.qfrc_bias.copy()
