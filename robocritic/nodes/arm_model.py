"""The arm's kinematic and rigid-body model for a controller node: ``(q, qd) -> ArmState``.

On a robot the TCP position, Jacobian, mass matrix and bias torques come from a model of the arm,
not from the simulator. :class:`ArmModel` evaluates them with MuJoCo used as a *model* library on
a private ``MjData`` set from the received joint state: ``mj_fwdPosition`` (kinematics, composite
inertia, mass matrix) and ``mj_fwdVelocity`` (velocity kinematics, ``qfrc_bias`` by recursive
Newton-Euler) -- nothing is integrated and nothing touches (constraints are switched off). These
are the calls MuJoCo's own forward pass makes, on the same MJCF, so for the simulated arm the
result equals the env's ``arm_state()`` bit for bit (the lockstep graph test relies on it).

:data:`ARM_MODELS` names the model of each press-and-wipe env's arm (its MJCF, joints, TCP site,
task axes and whether its default torque law holds a null-space posture);
:meth:`ArmModel.for_env` builds one from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

from robocritic.envs.arm.constants import ARM_JOINTS, ARM_MJCF, TCP_SITE
from robocritic.envs.arm.constants7 import ARM7_JOINTS, ARM7_MJCF, ARM7_TCP_SITE
from robocritic.envs.arm.task import PLANE_AXES
from robocritic.envs.base.assets import asset_path
from robocritic.interfaces import ArmState


@dataclass(frozen=True)
class ArmModelSpec:
    """The arm of a press-and-wipe env as a controller node models it.

    Attributes:
        mjcf: asset file name. joints: joint names in model order. tcp_site: the TCP site.
        task_axes: base-frame rows of the task space. posture: whether the env's default torque
            law adds the null-space posture and tool-axis hold (a redundant arm).
    """

    mjcf: str
    joints: tuple[str, ...]
    tcp_site: str
    task_axes: tuple[int, ...]
    posture: bool = False


ARM_MODELS: dict[str, ArmModelSpec] = {
    "robocritic/ArmPressWipe-v0": ArmModelSpec(ARM_MJCF, ARM_JOINTS, TCP_SITE, PLANE_AXES),
    "robocritic/ArmPressWipe-v1": ArmModelSpec(ARM_MJCF, ARM_JOINTS, TCP_SITE, PLANE_AXES),
    "robocritic/ArmPressWipeBullet-v0": ArmModelSpec(ARM_MJCF, ARM_JOINTS, TCP_SITE, PLANE_AXES),
    "robocritic/Arm7PressWipe-v0": ArmModelSpec(ARM7_MJCF, ARM7_JOINTS, ARM7_TCP_SITE, (0, 1, 2), posture=True),
    "robocritic/Arm7PressWipe-v1": ArmModelSpec(ARM7_MJCF, ARM7_JOINTS, ARM7_TCP_SITE, (0, 1, 2), posture=True),
}
"""The arm model of each press-and-wipe env id."""


def env_for_joints(joints: tuple[str, ...]) -> str | None:
    """The first env id of :data:`ARM_MODELS` whose arm has exactly ``joints`` (in that order), or ``None``."""
    return next((env_id for env_id, spec in ARM_MODELS.items() if spec.joints == tuple(joints)), None)


class ArmModel:
    """``ArmState`` of an arm from its MJCF at a given joint state (see the module docstring).

    Args:
        mjcf: model file; default the shipped planar arm (``arm3_planar.xml``).
        joints: joint names in model order; qpos and qvel must follow it.
        tcp_site: the site whose position is the TCP.
        task_axes: base-frame rows of the task space (``(0, 2)``: x and z of the planar arm).

    Attributes:
        n: number of joints. m: task-space size. task_axes: as given. dt: the model's time step [s].
    """

    def __init__(
        self,
        mjcf: str | None = None,
        *,
        joints: tuple[str, ...] = ARM_JOINTS,
        tcp_site: str = TCP_SITE,
        task_axes: tuple[int, ...] = PLANE_AXES,
    ) -> None:
        model = mujoco.MjModel.from_xml_path(mjcf or asset_path(ARM_MJCF))
        # Contacts and joint limits belong to the world, not to the arm's model.
        model.opt.disableflags |= int(mujoco.mjtDisableBit.mjDSBL_CONSTRAINT)
        ids = [model.joint(name).id for name in joints]
        if model.nq != len(ids) or model.nv != len(ids) or \
                [int(model.jnt_qposadr[j]) for j in ids] != list(range(len(ids))):
            raise ValueError(f"arm model: qpos/qvel must be exactly the joints {list(joints)} in that order")
        self.model, self.data = model, mujoco.MjData(model)
        self.n = len(ids)
        self.m = len(task_axes)
        self.dt = float(model.opt.timestep)
        self._site = model.site(tcp_site).id
        self.task_axes = tuple(int(a) for a in task_axes)
        self._rows = list(self.task_axes)
        self._jac = np.zeros((3, model.nv))

    @classmethod
    def for_env(cls, env_id: str) -> ArmModel:
        """The model of the arm of ``env_id`` (:data:`ARM_MODELS`)."""
        spec = ARM_MODELS.get(env_id)
        if spec is None:
            raise ValueError(f"env_id: no arm model for {env_id!r}; known: {sorted(ARM_MODELS)}")
        return cls(asset_path(spec.mjcf), joints=spec.joints, tcp_site=spec.tcp_site, task_axes=spec.task_axes)

    def _forward(self, q: np.ndarray, qd: np.ndarray) -> None:
        d = self.data
        d.qpos[:] = q
        d.qvel[:] = qd
        mujoco.mj_fwdPosition(self.model, d)
        mujoco.mj_fwdVelocity(self.model, d)

    def state(self, q: np.ndarray, qd: np.ndarray, wrench: np.ndarray | None = None) -> ArmState:
        """The :class:`~robocritic.interfaces.ArmState` at ``q, qd (n,)`` [rad, rad/s];
        ``wrench`` ``(m,)`` [N] (task rows of the measured contact force) is passed through."""
        m, d = self.model, self.data
        self._forward(q, qd)
        mujoco.mj_jacSite(m, d, self._jac, None, self._site)
        mass = np.zeros((m.nv, m.nv))
        mujoco.mj_fullM(m, d, mass)
        rows = self._rows
        return ArmState(
            q=np.array(q, dtype=np.float64), qd=np.array(qd, dtype=np.float64),
            x=d.site_xpos[self._site][rows].copy(), jacobian=self._jac[rows].copy(),
            mass_matrix=mass, bias=d.qfrc_bias.copy(), wrench=wrench,
        )  # fmt: skip

    def gravity(self, q: np.ndarray) -> np.ndarray:
        """Gravity torques ``(n,)`` [N m] at ``q`` (the bias at rest): what holds the arm still."""
        self._forward(q, np.zeros(self.n))
        return self.data.qfrc_bias.copy()


__all__ = ["ARM_MODELS", "ArmModel", "ArmModelSpec", "env_for_joints"]
