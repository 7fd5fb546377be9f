"""MuJoCo side of the arm task hooks (:class:`~robocritic.envs.arm.task.ArmTask`) for an arm
asset: ``arm3_planar.xml`` by default, any asset with the same structure (hinges in qpos order,
one torque motor each, a welded tool with the F/T site, a TCP site, a world table box) by
overriding the ``asset_*`` names (``arm7_panda.xml``: :mod:`robocritic.envs.arm.constants7`).

A concrete env lists it first: ``class Env(MujocoArm, SomeArmTask, MujocoEnv)``, so its hooks
override the abstract ones of the task; its :meth:`MujocoArm._load_engine` runs ``MujocoEnv.__init__``
on :attr:`MujocoArm.asset_file` and then :meth:`MujocoArm._init_mujoco_arm`.
:class:`MujocoTableArm` is the side of the assets whose table is several boxes (walls and a floor)
moved together, with the engine's contact force split into base x and z.

Stepping is split into MuJoCo's two halves so that one physics step costs one forward pass and
everything :meth:`ArmTask.arm_state` reads is consistent with the new state: ``mj_step2``
(actuation, constraint forces, acceleration-stage sensors at the current state, integration),
then ``mj_step1`` at the new state (kinematics, mass matrix, bias forces, contacts detected). The
wrist sensor's force and torque, the site orientation and the engine's contact forces are copied
between the two halves: they belong to the step just taken. Integrator: ``implicitfast`` (the
split is not available for RK4).
"""

from __future__ import annotations

from typing import Any

import mujoco
import numpy as np
from robocritic.envs.arm.constants import (
    ARM_ACTUATORS,
    ARM_JOINTS,
    ARM_MJCF,
    FT_FORCE_SENSOR,
    FT_SITE,
    FT_TORQUE_SENSOR,
    SURFACE_GEOM,
    TCP_SITE,
    TIP_GEOM,
    TOOL_BODY,
)
from robocritic.envs.arm.model import PlanarArmModel
from robocritic.envs.arm.task import check_model
from robocritic.envs.base.mujoco_env import MujocoEnv


class MujocoArm:
    """Implements the arm hooks on ``self.model`` / ``self.data`` of a
    :class:`~robocritic.envs.base.mujoco_env.MujocoEnv` (see the module docstring)."""

    model: mujoco.MjModel
    data: mujoco.MjData

    #: The MJCF asset and the type of the env's dynamics model (its defaults when ``model=None``).
    asset_file: str = ARM_MJCF
    model_type: type = PlanarArmModel
    #: Names in the asset (ids are resolved from them at load), the planar asset's by default.
    asset_joints: tuple[str, ...] = ARM_JOINTS
    asset_actuators: tuple[str, ...] = ARM_ACTUATORS
    asset_tool_body: str = TOOL_BODY
    asset_ft_site: str = FT_SITE
    asset_tcp_site: str = TCP_SITE
    asset_ft_force_sensor: str = FT_FORCE_SENSOR
    asset_ft_torque_sensor: str = FT_TORQUE_SENSOR
    asset_tip_geom: str = TIP_GEOM
    asset_surface_geom: str = SURFACE_GEOM

    def _load_engine(self, model: Any, randomization: Any, render_mode: str | None) -> None:
        """``MujocoEnv.__init__`` on :attr:`asset_file`, then :meth:`_init_mujoco_arm` (the env is
        closed again on a ValueError)."""
        MujocoEnv.__init__(self, self.asset_file, 1, check_model(model, self.model_type), randomization,
                           render_mode)
        try:
            self._init_mujoco_arm()
        except ValueError:
            self.close()
            raise

    def _init_mujoco_arm(self) -> None:
        """Resolve every id by name, check the asset's structure, write the dynamics model's
        limits into it and keep the nominal surface parameters."""
        m = self.model
        if m.opt.integrator in (mujoco.mjtIntegrator.mjINT_RK4,):
            raise ValueError("arm asset: the step1/step2 split needs the Euler or an implicit integrator, not RK4")
        if abs(self.dt - self.dynamics.dt) > 1e-12:
            raise ValueError(f"model.dt={self.dynamics.dt:g} s must equal the asset's control step {self.dt:g} s")
        joints = [m.joint(name).id for name in self.asset_joints]
        if m.nq != len(joints) or m.nv != len(joints):
            raise ValueError(f"arm asset: expected {len(joints)} hinge joints and nothing else; nq={m.nq}, nv={m.nv}")
        if [int(m.jnt_qposadr[j]) for j in joints] != list(range(len(joints))) or \
                [int(m.jnt_dofadr[j]) for j in joints] != list(range(len(joints))):
            raise ValueError(f"arm asset: qpos and qvel must follow the joint order {list(self.asset_joints)}")
        self._n = len(joints)
        self._act_idx = np.array([m.actuator(name).id for name in self.asset_actuators])
        for a, j in zip(self._act_idx, joints):
            if m.actuator_trnid[a, 0] != j:
                raise ValueError(f"arm asset: actuator {m.actuator(a).name!r} must drive joint {m.joint(j).name!r}")
        ft_site, tool_body = self.asset_ft_site, self.asset_tool_body
        self._tcp = m.site(self.asset_tcp_site).id
        self._ft_site = m.site(ft_site).id
        self._tool = m.body(tool_body).id
        if m.site_bodyid[self._ft_site] != self._tool:
            raise ValueError(f"arm asset: site {ft_site!r} must be on body {tool_body!r}")
        if m.body_jntnum[self._tool] != 0:
            raise ValueError(f"arm asset: the tool body {tool_body!r} must be welded (no joints)")
        # The sensor's child subtree: the tool and every body below it.
        self._subtree = [b for b in range(m.nbody) if self._descends_from(b, self._tool)]
        force, torque = m.sensor(self.asset_ft_force_sensor), m.sensor(self.asset_ft_torque_sensor)
        for sensor, kind in ((force, mujoco.mjtSensor.mjSENS_FORCE), (torque, mujoco.mjtSensor.mjSENS_TORQUE)):
            if sensor.type[0] != kind or sensor.objid[0] != self._ft_site:
                raise ValueError(f"arm asset: sensor {sensor.name!r} must be a {kind.name} sensor on {ft_site!r}")
        self._force_adr = int(force.adr[0])
        self._torque_adr = int(torque.adr[0])
        self._surface = m.geom(self.asset_surface_geom).id
        self._tip_geom = m.geom(self.asset_tip_geom).id
        if (m.geom_type[self._surface] != mujoco.mjtGeom.mjGEOM_BOX or m.geom_bodyid[self._surface] != 0
                or not np.allclose(m.geom_quat[self._surface], [1, 0, 0, 0])):
            raise ValueError(f"arm asset: {self.asset_surface_geom!r} must be an axis-aligned box in the world body")
        self._surface_pos0 = m.geom_pos[self._surface].copy()
        self._surface_solref0 = m.geom_solref[self._surface].copy()
        # The dynamics model's limits are the env's limits.
        model = self.dynamics
        m.actuator_ctrlrange[self._act_idx] = np.column_stack([-np.asarray(model.torque_limit), model.torque_limit])
        m.jnt_range[joints] = np.column_stack([model.joint_low, model.joint_high])
        m.jnt_limited[joints] = 1
        # Readings of the last physics step (see the module docstring).
        self._ft_force = np.zeros(3)
        self._ft_torque = np.zeros(3)
        self._ft_rot = np.eye(3)
        self._contact_force = 0.0
        self._wrench6 = np.zeros(6)
        self._update_tool_weight()
        # Views into the model's and data's arrays, made once: every attribute access of an
        # MjData field builds a new numpy view, which a 1 kHz step would pay a dozen times. The
        # buffers live as long as self.model / self.data, which MujocoEnv never replaces.
        d = self.data
        n = self._n
        act = self._act_idx
        contiguous = act.size > 0 and np.array_equal(act, np.arange(act[0], act[0] + act.size))
        self._ctrl_view = d.ctrl[act[0]:act[0] + act.size] if contiguous else None
        self._push_view = d.xfrc_applied[self._tool, :3]
        self._qpos_view = d.qpos[:n]
        self._qvel_view = d.qvel[:n]
        self._bias_view = d.qfrc_bias
        self._tcp_view = d.site_xpos[self._tcp]
        self._sensor_force_view = d.sensordata[self._force_adr:self._force_adr + 3]
        self._sensor_torque_view = d.sensordata[self._torque_adr:self._torque_adr + 3]
        self._ft_xmat_view = d.site_xmat[self._ft_site].reshape(3, 3)
        self._surface_pos_view = m.geom_pos[self._surface]
        self._surface_size_view = m.geom_size[self._surface]
        self._jac_scratch = np.zeros((3, m.nv))  # mj_jacSite's output, copied out by row

    def _descends_from(self, body: int, ancestor: int) -> bool:
        while body != ancestor:
            if body == 0:
                return False
            body = int(self.model.body_parentid[body])
        return True

    # ---- EngineHooks -----------------------------------------------------------------------
    def _true_state(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel])

    def _set_true_state(self, x: np.ndarray) -> None:
        self.set_state(x[:self._n], x[self._n:])

    def set_state(self, qpos: np.ndarray, qvel: np.ndarray) -> None:
        super().set_state(qpos, qvel)  # type: ignore[misc]  # MujocoEnv: writes and runs mj_forward
        self._read_step_outputs()
        self._arm_state_cache = None

    def _simulate(self, u: np.ndarray) -> None:
        m, d = self.model, self.data
        if self._ctrl_view is not None:
            self._ctrl_view[:] = u
        else:
            d.ctrl[self._act_idx] = u
        self._push_view[:] = self.push_force
        mujoco.mj_step2(m, d)
        self._read_step_outputs()
        mujoco.mj_step1(m, d)
        self._push_view[:] = 0.0
        self._check_engine_reset()  # type: ignore[attr-defined]  # MujocoEnv's

    # ---- ArmTask hooks -----------------------------------------------------------------------
    def _read_step_outputs(self) -> None:
        """Copy what the acceleration stage computed: F/T reading, its orientation, contacts."""
        d = self.data
        self._ft_force[:] = self._sensor_force_view
        self._ft_torque[:] = self._sensor_torque_view
        self._ft_rot[:] = self._ft_xmat_view
        total = 0.0
        tip, surface = self._tip_geom, self._surface
        for i in range(d.ncon):
            contact = d.contact[i]
            g1, g2 = contact.geom1, contact.geom2
            if ((g1 == tip and g2 == surface) or (g1 == surface and g2 == tip)) and contact.efc_address >= 0:
                mujoco.mj_contactForce(self.model, d, i, self._wrench6)
                total += self._wrench6[0]
        self._contact_force = float(total)

    def _arm_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        m, d = self.model, self.data
        jac = np.zeros((3, m.nv))
        mujoco.mj_jacSite(m, d, jac, None, self._tcp)
        mass = np.zeros((m.nv, m.nv))
        mujoco.mj_fullM(m, d, mass)
        return d.site_xpos[self._tcp].copy(), jac, mass, d.qfrc_bias.copy()

    def _plane_terms(self) -> tuple[np.ndarray, ...]:
        """:meth:`ArmTask._plane_terms` straight from MuJoCo's buffers, each a new array."""
        m, d = self.model, self.data
        jac = self._jac_scratch
        mujoco.mj_jacSite(m, d, jac, None, self._tcp)  # writes every entry
        mass = np.empty((m.nv, m.nv))
        mujoco.mj_fullM(m, d, mass)  # writes every entry
        axes = self.task_slice  # type: ignore[attr-defined]  # ArmTask's
        return (self._qpos_view.copy(), self._qvel_view.copy(), self._tcp_view[axes].copy(),
                jac[axes].copy(), mass, self._bias_view.copy())

    def _ft_reading(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._ft_force.copy(), self._ft_torque.copy(), self._ft_rot.copy()

    def _ft_force_and_rotation(self) -> tuple[np.ndarray, np.ndarray]:
        return self._ft_force, self._ft_rot  # read at once by ArmTask.arm_state, not kept

    def _tool_weight(self) -> np.ndarray:
        return self._tool_gravity

    def _update_tool_weight(self) -> None:
        """Read the tool subtree's mass (randomised per episode) and gravity: at every reset."""
        mass = float(np.sum(self.model.body_mass[self._subtree]))
        self._tool_gravity = mass * self.model.opt.gravity.copy()

    def _hold_start(self) -> None:
        m, d = self.model, self.data
        self._update_tool_weight()
        d.ctrl[self._act_idx] = np.clip(d.qfrc_bias, *m.actuator_ctrlrange[self._act_idx].T)
        d.xfrc_applied[:] = 0.0
        mujoco.mj_forward(m, d)
        self._read_step_outputs()
        self._arm_state_cache = None

    def _surface_height(self) -> float:
        return float(self._surface_pos_view[2] + self._surface_size_view[2])

    def _set_surface_height(self, z: float) -> None:
        """Takes effect at the next forward pass (``set_state`` in ``reset_model``)."""
        m = self.model
        m.geom_pos[self._surface, 2] = z - m.geom_size[self._surface, 2]

    def nominal_surface_height(self) -> float:
        """Height of the surface as written in the asset, m."""
        return float(self._surface_pos0[2] + self.model.geom_size[self._surface, 2])

    def _set_contact_stiffness_scale(self, scale: float) -> None:
        timeconst, dampratio = self._surface_solref0
        self.model.geom_solref[self._surface] = [timeconst / np.sqrt(scale), dampratio]

    def _contact_normal_force(self) -> float:
        return self._contact_force

    def tip_radius(self) -> float:
        """Radius of the fingertip sphere, m: the TCP sits this far above a touched surface."""
        return float(self.model.geom_size[self._tip_geom, 0])


class MujocoTableArm(MujocoArm):
    """:class:`MujocoArm` for an asset whose table is boxes moved together: the walls
    :attr:`asset_wall_geoms` and the floor slab (the surface geom). The engine's contact force is
    the net force of the contact geoms (the table's, plus any a subclass adds with
    :meth:`_set_contact_geoms`) on the tip, in base x and z; the contact stiffness scale acts on
    the same geoms."""

    #: The table boxes besides the surface geom (the floor slab).
    asset_wall_geoms: tuple[str, ...] = ()

    def _init_mujoco_arm(self) -> None:
        super()._init_mujoco_arm()
        m = self.model
        self._walls = [m.geom(name).id for name in self.asset_wall_geoms]
        self._table = self._walls + [self._surface]
        self._table_pos0 = m.geom_pos[self._table].copy()
        self._contact_xz = (0.0, 0.0)
        self._touch_geom = -1  # a geom whose contact with the tip is reported (-1: none)
        self._touched = False
        self._set_contact_geoms(self._table)

    def _set_contact_geoms(self, geoms: list[int]) -> None:
        """The geoms whose contact force on the tip counts and whose stiffness is scaled."""
        self._contact_geoms = frozenset(geoms)
        self._solref_geoms = list(geoms)
        self._solref0 = self.model.geom_solref[self._solref_geoms].copy()

    def _read_step_outputs(self) -> None:
        """The wrist readings (as :class:`MujocoArm`) and the net contact force of the contact geoms
        on the tip, base frame x and z [N]."""
        d = self.data
        self._ft_force[:] = self._sensor_force_view
        self._ft_torque[:] = self._sensor_torque_view
        self._ft_rot[:] = self._ft_xmat_view
        fx = fz = 0.0
        touched = False
        tip, others = self._tip_geom, getattr(self, "_contact_geoms", frozenset())
        watched = getattr(self, "_touch_geom", -1)
        for i in range(d.ncon):
            contact = d.contact[i]
            g1, g2 = contact.geom1, contact.geom2
            if contact.efc_address < 0:
                continue
            if g1 == tip and g2 in others:
                sign, other = -1.0, g2  # MuJoCo's force acts on geom2 (along the normal from geom1 to geom2)
            elif g2 == tip and g1 in others:
                sign, other = 1.0, g1
            else:
                continue
            mujoco.mj_contactForce(self.model, d, i, self._wrench6)
            frame = contact.frame  # rows: normal, tangent 1, tangent 2 (world)
            w = frame[0:3] * self._wrench6[0] + frame[3:6] * self._wrench6[1] + frame[6:9] * self._wrench6[2]
            fx += sign * float(w[0])
            fz += sign * float(w[2])
            touched = touched or other == watched
        self._contact_xz = (fx, fz)
        self._contact_force = abs(fx)
        self._touched = touched

    def _contact_normal_force(self) -> float:
        """The engine's LATERAL contact force on the tip, ``|f_x|`` [N] (the limited force's true
        value; the name is the hook's)."""
        return abs(self._contact_xz[0])

    def contact_force_xz(self) -> tuple[float, float]:
        """The engine's net contact force of the contact geoms on the tip, base (x, z) [N]
        (privileged)."""
        return self._contact_xz

    def _set_surface_height(self, z: float) -> None:
        """Move the whole table so that the work surface is at ``z`` m (its shape kept)."""
        self.model.geom_pos[self._table, 2] = self._table_pos0[:, 2] + (z - self.nominal_surface_height())

    def _set_contact_stiffness_scale(self, scale: float) -> None:
        """Every contact geom: time constant ``/ sqrt(scale)``, damping ratio kept."""
        self.model.geom_solref[self._solref_geoms, 0] = self._solref0[:, 0] / np.sqrt(scale)
