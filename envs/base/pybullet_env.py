"""PyBullet engine base: URDF loading from package assets, torque-controlled stepping, state
setting, the physical side of domain randomisation, and off-screen rendering.

The same override surface as :class:`~robocritic.envs.base.mujoco_env.MujocoEnv`, so one task
mixin runs on both engines (sim-to-sim checks). Each env owns its own headless physics server
(``BulletClient`` in ``DIRECT`` mode), so several envs coexist in one process.

PyBullet defaults that would make the model differ from its URDF are removed at load: every
joint's built-in velocity motor (it would hold the joint still against a torque command) and
every link's linear/angular damping (0.04 by default). Bullet integrates semi-implicit Euler at
``physics_timestep``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from robocritic.envs.base.assets import asset_path
from robocritic.envs.base.randomization import DomainRandomization
from robocritic.envs.base.robocritic_env import RobocriticEnv, check_frame_skip, names_env_errors

from robocritic.dynamics import DynamicsModel
from robocritic.utils.optional import require

_PURPOSE = "running robocritic's PyBullet envs"
pybullet = require("pybullet", "pybullet", _PURPOSE)
BulletClient = require("pybullet_utils.bullet_client", "pybullet", _PURPOSE).BulletClient

_MOVABLE_JOINT_TYPES = (pybullet.JOINT_REVOLUTE, pybullet.JOINT_PRISMATIC)


class PyBulletEnv(RobocriticEnv):
    """Base for PyBullet envs. One control step is ``frame_skip`` physics steps of
    ``physics_timestep`` seconds; :attr:`dt` is the control period in seconds.

    Override surface (shared with :class:`~robocritic.envs.base.mujoco_env.MujocoEnv`):
    ``step``, ``reset_model``, ``_get_obs``; use ``do_simulation``, ``set_state`` and
    ``push_body`` (the link pushes act on) from them. ``qpos``/``qvel`` and ``ctrl`` follow
    :attr:`joint_names` (one torque, N m or N, per joint; gear 1 like the MJCF motors).
    """

    push_body: str = ""  # name of the link that random pushes act on ("" = no pushes)
    #: Joints forming qpos, qvel and ctrl, in order; empty = every movable joint in URDF order.
    joint_names: tuple[str, ...] = ()
    gravity: tuple[float, float, float] = (0.0, 0.0, -9.81)  # m/s^2, world frame
    #: Camera for render(): eye and target positions (m, world frame) and vertical field of view.
    camera_eye: tuple[float, float, float] = (0.0, -3.5, 0.2)
    camera_target: tuple[float, float, float] = (0.0, 0.0, 0.2)
    camera_fovy_deg: float = 45.0

    def __init__(
        self,
        asset: str,
        frame_skip: int,
        physics_timestep: float,
        dynamics: DynamicsModel,
        randomization: DomainRandomization | dict[str, Any] | None = None,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
    ) -> None:
        super().__init__(dynamics, randomization, render_mode)
        check_frame_skip(frame_skip)
        if not (np.isfinite(physics_timestep) and physics_timestep > 0):
            raise ValueError(
                f"physics_timestep must be a positive number of seconds; got {physics_timestep!r}"
            )
        self.frame_skip = int(frame_skip)
        self.physics_timestep = float(physics_timestep)
        self._width, self._height = int(width), int(height)

        self._p = BulletClient(connection_mode=pybullet.DIRECT)
        self._p.setGravity(*self.gravity)
        self._p.setPhysicsEngineParameter(fixedTimeStep=self.physics_timestep, numSubSteps=0)
        self.body = self._p.loadURDF(
            asset_path(asset), useFixedBase=True, flags=pybullet.URDF_USE_INERTIA_FROM_FILE
        )
        self._links = self._index_links()
        self._movable = [
            j for j in range(self._p.getNumJoints(self.body))
            if self._p.getJointInfo(self.body, j)[2] in _MOVABLE_JOINT_TYPES
        ]
        self._joints = self._index_joints(asset)
        self._push_link: int | None = None
        if self.push_body:
            if self.push_body not in self._links:
                raise ValueError(f"push_body {self.push_body!r} is not a link of {asset}")
            self._push_link = self._links[self.push_body]
        self._remove_bullet_defaults()
        self._nominal = self._read_nominal()

    # ---- loading -------------------------------------------------------------------------
    def _index_links(self) -> dict[str, int]:
        """Link name -> PyBullet link index (the base link is -1)."""
        links = {self._p.getBodyInfo(self.body)[0].decode(): -1}
        for j in range(self._p.getNumJoints(self.body)):
            links[self._p.getJointInfo(self.body, j)[12].decode()] = j
        return links

    def _index_joints(self, asset: str) -> list[int]:
        """Joint indices of :attr:`joint_names` (or of every movable joint), in order."""
        if not self.joint_names:
            return list(self._movable)
        by_name = {self._p.getJointInfo(self.body, j)[1].decode(): j for j in self._movable}
        for name in self.joint_names:
            if name not in by_name:
                raise ValueError(f"joint_names: {name!r} is not a revolute or prismatic joint of {asset}")
        return [by_name[name] for name in self.joint_names]

    def _remove_bullet_defaults(self) -> None:
        """Zero link damping, keep bodies awake, and switch off the joints' velocity motors."""
        for link in self._links.values():
            self._p.changeDynamics(
                self.body, link, linearDamping=0.0, angularDamping=0.0,
                activationState=pybullet.ACTIVATION_STATE_DISABLE_SLEEPING,
            )
        for j in self._movable:
            self._p.setJointMotorControl2(self.body, j, pybullet.VELOCITY_CONTROL, force=0.0)

    def _read_nominal(self) -> dict[str, dict[int, Any]]:
        """URDF values that randomisation scales, per link index (masses, inertia, friction)
        and per movable joint index (damping)."""
        nominal: dict[str, dict[int, Any]] = {"mass": {}, "inertia": {}, "friction": {}, "damping": {}}
        for link in self._links.values():
            info = self._p.getDynamicsInfo(self.body, link)
            nominal["mass"][link] = float(info[0])
            nominal["friction"][link] = float(info[1])
            nominal["inertia"][link] = tuple(float(v) for v in info[2])
        for j in self._movable:
            nominal["damping"][j] = float(self._p.getJointInfo(self.body, j)[6])
        return nominal

    # ---- engine surface ------------------------------------------------------------------
    @property
    def dt(self) -> float:
        """Control period in seconds."""
        return self.physics_timestep * self.frame_skip

    def _apply_episode_physics(self) -> None:
        """Write this episode's randomised parameters into the body (from nominal values)."""
        p = self.episode_physics
        nom = self._nominal
        for link in self._links.values():
            kwargs: dict[str, Any] = {"lateralFriction": nom["friction"][link] * p.friction_scale}
            if nom["mass"][link] > 0.0:  # mass 0 marks a static base; keep it static
                # Always together: a mass change alone makes Bullet recompute the inertia from
                # the collision shape (a tiny default sphere when the link has none).
                kwargs["mass"] = nom["mass"][link] * p.mass_scale
                kwargs["localInertiaDiagonal"] = [v * p.mass_scale for v in nom["inertia"][link]]
            self._p.changeDynamics(self.body, link, **kwargs)
        for j, damping in nom["damping"].items():
            self._p.changeDynamics(self.body, j, jointDamping=damping + p.joint_damping)

    @names_env_errors
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Draw this episode's physics, zero every joint, then let ``reset_model`` set the state."""
        super().reset(seed=seed)
        self._begin_episode()
        self._apply_episode_physics()
        for j in self._movable:
            self._p.resetJointState(self.body, j, 0.0, 0.0)
        obs = self.reset_model(options)
        return self._observe(obs), {"state": self.state_vector(), "episode_physics": self.episode_physics}

    def set_state(self, qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Set joint positions (rad or m) and velocities (rad/s or m/s), in joint order."""
        qpos = np.asarray(qpos, dtype=np.float64).reshape(-1)
        qvel = np.asarray(qvel, dtype=np.float64).reshape(-1)
        if qpos.size != len(self._joints) or qvel.size != len(self._joints):
            raise ValueError(
                f"set_state needs {len(self._joints)} positions and velocities; "
                f"got {qpos.size} and {qvel.size}"
            )
        for j, q, v in zip(self._joints, qpos, qvel):
            self._p.resetJointState(self.body, j, float(q), float(v))

    def state_vector(self) -> np.ndarray:
        """``[qpos, qvel]`` of the env's joints, shape ``(2 n_joints,)``."""
        states = self._p.getJointStates(self.body, self._joints)
        return np.array([s[0] for s in states] + [s[1] for s in states])

    def do_simulation(self, ctrl: np.ndarray) -> None:
        """Apply joint torques ``ctrl`` (and a random push, if one is drawn) for one control
        step of ``frame_skip`` physics steps."""
        torques = [float(v) for v in np.asarray(ctrl, dtype=np.float64).reshape(-1)]
        if len(torques) != len(self._joints):
            raise ValueError(f"ctrl must hold {len(self._joints)} joint torques; got {len(torques)}")
        push = self._sample_push() if self._push_link is not None else None
        for _ in range(self.frame_skip):
            # Bullet clears joint torques and external forces after every stepSimulation.
            self._p.setJointMotorControlArray(
                self.body, self._joints, pybullet.TORQUE_CONTROL, forces=torques
            )
            if push is not None:
                self._p.applyExternalForce(
                    self.body, self._push_link, push.tolist(), self._com_position(self._push_link),
                    pybullet.WORLD_FRAME,
                )
            self._p.stepSimulation()

    def _com_position(self, link: int) -> list[float]:
        """World position (m) of a link's centre of mass."""
        if link == -1:
            return list(self._p.getBasePositionAndOrientation(self.body)[0])
        return list(self._p.getLinkState(self.body, link, computeForwardKinematics=True)[0])

    def render(self) -> np.ndarray | None:
        """RGB image ``(height, width, 3)`` uint8 from Bullet's software renderer (no GUI)."""
        if self.render_mode != "rgb_array":
            return None
        view = self._p.computeViewMatrix(self.camera_eye, self.camera_target, [0.0, 0.0, 1.0])
        proj = self._p.computeProjectionMatrixFOV(
            self.camera_fovy_deg, self._width / self._height, 0.01, 100.0
        )
        _, _, rgba, _, _ = self._p.getCameraImage(
            self._width, self._height, view, proj, renderer=pybullet.ER_TINY_RENDERER
        )
        image = np.asarray(rgba, dtype=np.uint8).reshape(self._height, self._width, 4)
        return np.ascontiguousarray(image[:, :, :3])

    def close(self) -> None:
        """Disconnect the physics server (idempotent)."""
        if getattr(self, "_p", None) is not None:
            self._p.disconnect()
            self._p = None
