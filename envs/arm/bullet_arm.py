"""PyBullet side of the arm task hooks (:class:`~robocritic.envs.arm.task.ArmTask`) for
``arm3_planar.urdf``.

A concrete env lists it first: ``class Env(BulletArm, SomeArmTask, PyBulletEnv)``, so its hooks
override the abstract ones of the task; its :meth:`BulletArm._load_engine` runs
``PyBulletEnv.__init__`` on :attr:`BulletArm.asset_file` and then :meth:`BulletArm._init_bullet_arm`.
One ``stepSimulation`` of 1 ms per control step.

## The wrist F/T sensor on PyBullet

``enableJointForceTorqueSensor`` on the fixed joint ``ft_joint`` (link3 -> tool). After a
``stepSimulation``, ``getJointState(...)[2]`` holds ``(Fx, Fy, Fz, Mx, My, Mz)``: the force the
parent (link3) exerts on the child (the tool), in the tool link's frame (the joint frame: the
URDF puts the tool frame at the flange, unrotated), i.e. MuJoCo's ``force`` sensor convention:
a tool held still reads its weight pointing up. It is computed from the multibody's joint
reaction during that step, so contacts, the applied push, gravity and the tool's inertial force
are all in it, like MuJoCo's ``cfrc_int``. The orientation returned with it is the tool's at the
start of that step. The torque is Bullet's and is *not* MuJoCo's moment about the flange (it
misses the weight's lever arm: a tool held still reads zero torque); the task never uses it.

## Differences from MuJoCo this mixin closes or leaves

* Armature: URDF has no rotor inertia. The MJCF's ``armature`` (:data:`ARMATURE` per joint) is
  emulated as a torque ``-A qdd_hat`` with ``qdd_hat = (M + A)^-1 (u - b - D qd + tau_ext)``,
  ``tau_ext`` the push of this step and the contact force of the previous step mapped through the
  Jacobian. In free space this is MuJoCo's ``(M + A) qdd = u - b - D qd`` exactly; at rest it
  adds nothing, so static contact forces are unchanged; in a contact transient the contact term
  is one step old. Joint-limit forces are not predicted. :meth:`ArmTask.arm_state` reports
  ``M + A`` as MuJoCo does.
* Contact: Bullet's soft contact is a spring-damper (``contactStiffness``, ``contactDamping`` on
  the table) with constants :data:`CONTACT_STIFFNESS` and :data:`CONTACT_DAMPING`: MuJoCo's
  static softness in order of magnitude, but a harder impact than MuJoCo's; the stiffness scale
  ``s`` multiplies the stiffness by ``s`` and the damping by ``sqrt(s)`` (damping ratio kept).
* Friction: Bullet multiplies the two coefficients; the tip's 1.0 lets the table's decide.
* Joint damping is explicit (Bullet) instead of implicit (MuJoCo ``implicitfast``).

## The table

A URDF describes one robot, and a link welded to the arm's base cannot be moved, so the table link
of the URDF is switched off (no collision, invisible) and rebuilt as a static body of its own with
the same box, pose and friction; :meth:`_set_surface_height` moves that body with
``resetBasePositionAndOrientation``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from robocritic.envs.arm.constants import ARM_JOINTS, ARM_LINKS, TOOL_BODY
from robocritic.envs.arm.model import PlanarArmModel
from robocritic.envs.arm.task import check_model
from robocritic.envs.base.pybullet_env import PyBulletEnv

from robocritic.utils.optional import require

pybullet = require("pybullet", "pybullet", "running robocritic's PyBullet envs")

#: Rotor inertia per joint, kg m^2: the MJCF's ``armature`` (URDF cannot express it).
ARMATURE = 0.01
#: Nominal contact stiffness (N/m) and damping (N s/m) of the table, at stiffness scale 1. A linear
#: spring-damper cannot match MuJoCo's soft constraint both at rest (stiff) and in an impact
#: (soft, ~20 ms time constant): the stiffness is MuJoCo's static one in order of magnitude (the
#: MJCF's documented value), the damping is light because damping raises the impact force peak.
CONTACT_STIFFNESS = 1.5e5
CONTACT_DAMPING = 300.0
#: The URDF link and fixed joint that describe the table, and the wrist F/T joint.
TABLE_LINK = "table"
FT_JOINT = "ft_joint"


class BulletArm:
    """Implements the arm hooks on ``self._p`` / ``self.body`` of a
    :class:`~robocritic.envs.base.pybullet_env.PyBulletEnv` (see the module docstring)."""

    push_body = ""  # pushes are the task's (ArmTask.push_force), not PyBulletEnv's random ones
    joint_names = ARM_JOINTS
    #: The URDF asset, the physics step [s] and the type of the env's dynamics model (its
    #: defaults when ``model=None``).
    asset_file: str
    physics_timestep: float
    model_type: type = PlanarArmModel
    _p: Any
    body: int
    _links: dict[str, int]
    _joints: list[int]

    def _load_engine(self, model: Any, randomization: Any, render_mode: str | None) -> None:
        """``PyBulletEnv.__init__`` on :attr:`asset_file`, then :meth:`_init_bullet_arm` (the env
        is closed again on a ValueError)."""
        PyBulletEnv.__init__(self, self.asset_file, 1, self.physics_timestep, check_model(model, self.model_type),
                             randomization, render_mode)
        try:
            self._init_bullet_arm()
        except ValueError:
            self.close()
            raise

    def _init_bullet_arm(self) -> None:
        """Resolve the links, check the asset's structure, write the dynamics model's joint
        limits, switch the F/T sensor on and build the movable table."""
        p, body = self._p, self.body
        if abs(self.dt - self.dynamics.dt) > 1e-12:
            raise ValueError(
                f"model.dt={self.dynamics.dt:g} s must equal the env's control step {self.dt:g} s"
            )
        for name in (*ARM_LINKS, TOOL_BODY, TABLE_LINK):
            if name not in self._links:
                raise ValueError(f"arm asset: link {name!r} is missing")
        self._n = len(self._joints)
        if len(self._movable) != self._n:
            raise ValueError(f"arm asset: expected {self._n} movable joints; got {len(self._movable)}")
        self._tool = self._links[TOOL_BODY]
        info = p.getJointInfo(body, self._tool)  # a link's index is its parent joint's index
        parent = self._links[ARM_LINKS[-1]]
        if info[1].decode() != FT_JOINT or info[2] != pybullet.JOINT_FIXED or info[16] != parent:
            raise ValueError(
                f"arm asset: {TOOL_BODY!r} must hang from {ARM_LINKS[-1]!r} on the fixed joint {FT_JOINT!r}"
            )
        p.enableJointForceTorqueSensor(body, self._tool, True)
        # The sensor's child subtree: the tool and every link below it.
        self._subtree = [link for link in self._links.values() if self._descends_from(link, self._tool)]
        # TCP = the tip sphere's centre, in the tool link's frame (Bullet reports collision frames
        # relative to the link's inertial frame).
        shapes = p.getCollisionShapeData(body, self._tool)
        if len(shapes) != 1 or shapes[0][2] != pybullet.GEOM_SPHERE:
            raise ValueError(f"arm asset: {TOOL_BODY!r} must have exactly one collision shape, a sphere")
        self._tip_radius = float(shapes[0][3][0])
        inertial = np.array(p.getDynamicsInfo(body, self._tool)[3])
        self._tcp_local = inertial + np.array(shapes[0][5])  # m, tool link frame
        self._com_local = inertial
        model = self.dynamics
        for j, lo, hi in zip(self._joints, model.joint_low, model.joint_high):
            p.changeDynamics(body, j, jointLowerLimit=lo, jointUpperLimit=hi)
        self._armature = np.full(self._n, ARMATURE)
        self._build_table()
        self._zero = [0.0] * self._n
        # Readings of the last physics step (see the module docstring).
        self._ft_force = np.zeros(3)
        self._ft_torque = np.zeros(3)
        self._ft_rot = np.eye(3)
        self._contact_force = 0.0
        self._contact_tau = np.zeros(self._n)
        self._terms: tuple[np.ndarray, ...] | None = None
        self._update_tool_weight()

    def _descends_from(self, link: int, ancestor: int) -> bool:
        while link != ancestor:
            if link == -1:
                return False
            link = int(self._p.getJointInfo(self.body, link)[16])
        return True

    def _build_table(self) -> None:
        p, body = self._p, self.body
        link = self._links[TABLE_LINK]
        shapes = p.getCollisionShapeData(body, link)
        if len(shapes) != 1 or shapes[0][2] != pybullet.GEOM_BOX:
            raise ValueError(f"arm asset: link {TABLE_LINK!r} must have exactly one collision shape, a box")
        half = [0.5 * float(v) for v in shapes[0][3]]
        # The mount joint's frame, double precision (getLinkState's link frame is float32).
        pos = np.array(p.getJointInfo(body, link)[14]) + np.array(shapes[0][5])
        friction = float(p.getDynamicsInfo(body, link)[1])
        p.setCollisionFilterGroupMask(body, link, 0, 0)
        p.changeVisualShape(body, link, rgbaColor=[0.0, 0.0, 0.0, 0.0])
        collision = p.createCollisionShape(pybullet.GEOM_BOX, halfExtents=half)
        visual = p.createVisualShape(pybullet.GEOM_BOX, halfExtents=half, rgbaColor=[0.75, 0.7, 0.6, 1.0])
        self.table = p.createMultiBody(baseMass=0.0, baseCollisionShapeIndex=collision,
                                       baseVisualShapeIndex=visual, basePosition=pos.tolist())
        self._table_half_height = half[2]
        self._table_pos0 = pos
        self._table_pos = pos.copy()
        p.changeDynamics(self.table, -1, lateralFriction=friction)

    # ---- EngineHooks -----------------------------------------------------------------------
    def _true_state(self) -> np.ndarray:
        return self.state_vector()

    def _set_true_state(self, x: np.ndarray) -> None:
        self.set_state(x[:self._n], x[self._n:])
        self._terms = None
        self._arm_state_cache = None

    def _simulate(self, u: np.ndarray) -> None:
        p, body = self._p, self.body
        pos, jac, mass, bias = self._arm_terms()
        qd = self._true_state()[self._n:]
        tau_ext = self._contact_tau.copy()
        push = self.push_force
        if np.any(push):
            com = self._com_world()
            jac_com = np.array(p.calculateJacobian(body, self._tool, self._com_local.tolist(),
                                                   self._q_list(), self._zero, self._zero)[0])
            tau_ext += jac_com.T @ push
        # Armature as a torque (module docstring): mass already includes A.
        qdd_hat = np.linalg.solve(mass, u - bias - self._damping * qd + tau_ext)
        torque = u - self._armature * qdd_hat
        self._ft_rot = self._tool_rotation()  # the reading's frame: the tool at the step's start
        p.setJointMotorControlArray(body, self._joints, pybullet.TORQUE_CONTROL, forces=torque.tolist())
        if np.any(push):
            p.applyExternalForce(body, self._tool, push.tolist(), com, pybullet.WORLD_FRAME)
        p.stepSimulation()  # Bullet clears torques and external forces after every step
        self._terms = None
        self._read_step_outputs()

    # ---- ArmTask hooks -----------------------------------------------------------------------
    def _q_list(self) -> list[float]:
        return [float(s[0]) for s in self._p.getJointStates(self.body, self._joints)]

    def _com_world(self) -> list[float]:
        return list(self._p.getLinkState(self.body, self._tool, computeForwardKinematics=True)[0])

    def _tool_rotation(self) -> np.ndarray:
        orn = self._p.getLinkState(self.body, self._tool, computeForwardKinematics=True)[1]
        return np.array(self._p.getMatrixFromQuaternion(orn)).reshape(3, 3)

    def _read_step_outputs(self) -> None:
        """Copy what the last step computed: F/T reading and the tool-table contact force."""
        reaction = self._p.getJointState(self.body, self._tool)[2]
        self._ft_force[:] = reaction[:3]
        self._ft_torque[:] = reaction[3:]
        total = 0.0
        force_world = np.zeros(3)
        moment_point = np.zeros(3)
        for c in self._p.getContactPoints(self.body, self.table, self._tool, -1):
            normal = np.array(c[7])  # on the table, pointing towards the tool
            f = c[9] * normal + c[10] * np.array(c[11]) + c[12] * np.array(c[13])
            total += c[9]
            force_world += f
            moment_point = np.array(c[5])
        self._contact_force = float(total)
        if total > 0.0:
            # Generalised contact force at the contact point, for the armature prediction.
            q = self._q_list()
            local = self._tcp_local.tolist()
            lin, ang = self._p.calculateJacobian(self.body, self._tool, local, q, self._zero, self._zero)
            ls = self._p.getLinkState(self.body, self._tool, computeForwardKinematics=True)
            rot = np.array(self._p.getMatrixFromQuaternion(ls[1])).reshape(3, 3)
            tcp = np.array(ls[0]) + rot @ (self._tcp_local - self._com_local)
            moment = np.cross(moment_point - tcp, force_world)
            self._contact_tau = np.array(lin).T @ force_world + np.array(ang).T @ moment
        else:
            self._contact_tau = np.zeros(self._n)

    def _arm_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self._terms is None:
            p, body = self._p, self.body
            state = self._true_state()
            q, qd = state[:self._n].tolist(), state[self._n:].tolist()
            ls = p.getLinkState(body, self._tool, computeForwardKinematics=True)
            rot = np.array(p.getMatrixFromQuaternion(ls[1])).reshape(3, 3)
            pos = np.array(ls[0]) + rot @ (self._tcp_local - self._com_local)
            local = self._tcp_local.tolist()
            jac = np.array(p.calculateJacobian(body, self._tool, local, q, qd, self._zero)[0])
            mass = np.array(p.calculateMassMatrix(body, q)) + np.diag(self._armature)
            bias = np.array(p.calculateInverseDynamics(body, q, qd, self._zero))
            self._terms = (pos, jac, mass, bias)
        pos, jac, mass, bias = self._terms
        return pos.copy(), jac.copy(), mass.copy(), bias.copy()

    def _ft_reading(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._ft_force.copy(), self._ft_torque.copy(), self._ft_rot.copy()

    def _tool_weight(self) -> np.ndarray:
        return self._tool_gravity

    def _update_tool_weight(self) -> None:
        """Read the tool subtree's mass (randomised per episode) and gravity: at every reset."""
        mass = sum(float(self._p.getDynamicsInfo(self.body, link)[0]) for link in self._subtree)
        self._tool_gravity = mass * np.array(self.gravity)
        self._damping = np.array([self._p.getJointInfo(self.body, j)[6] for j in self._joints])

    def _hold_start(self) -> None:
        """Bullet computes the sensor and contacts only in a step: take one under the holding
        torques from the current state, keep its readings, and put the state back."""
        self._update_tool_weight()
        state = self._true_state()
        _, _, _, bias = self._arm_terms()
        torque = self.input_box.clip(bias)
        self._ft_rot = self._tool_rotation()
        self._p.setJointMotorControlArray(self.body, self._joints, pybullet.TORQUE_CONTROL,
                                          forces=torque.tolist())
        self._p.stepSimulation()
        self._read_step_outputs()
        self._set_true_state(state)

    def _surface_height(self) -> float:
        return float(self._table_pos[2] + self._table_half_height)

    def _set_surface_height(self, z: float) -> None:
        self._table_pos = self._table_pos0.copy()
        self._table_pos[2] = z - self._table_half_height
        self._p.resetBasePositionAndOrientation(self.table, self._table_pos.tolist(), [0.0, 0.0, 0.0, 1.0])

    def nominal_surface_height(self) -> float:
        """Height of the surface as written in the asset, m."""
        return float(self._table_pos0[2] + self._table_half_height)

    def _set_contact_stiffness_scale(self, scale: float) -> None:
        self._p.changeDynamics(self.table, -1, contactStiffness=CONTACT_STIFFNESS * scale,
                               contactDamping=CONTACT_DAMPING * np.sqrt(scale))

    def _contact_normal_force(self) -> float:
        return self._contact_force

    def tip_radius(self) -> float:
        """Radius of the fingertip sphere, m: the TCP sits this far above a touched surface."""
        return self._tip_radius
