"""MuJoCo side of the navigation envs: each world's model with the robot in it, the kinematic
drive with MuJoCo's collision detection as a bumper, ray-cast sensing and rendering.

Drive: a control step is cut into sub-steps of at most :data:`MAX_SUBSTEP` s. Each sub-step
moves the robot along the exact unicycle arc (slide-x, slide-y and yaw joints set directly,
``mj_kinematics``) and runs ``mj_collision``; if the base touches an obstacle, the robot goes
back to the pose before that sub-step and stops for the rest of the step. Fast (no dynamics
solve), deterministic, and thin obstacles cannot be tunnelled (1 cm per sub-step at 0.5 m/s).
"""

from __future__ import annotations

import math

import mujoco
import numpy as np
from robocritic.envs.nav.constants import ROBOT_BODY, ROBOT_GEOM, ROBOT_JOINTS
from robocritic.envs.nav.robot import RobotSpec, integrate_unicycle, wrap_angle
from robocritic.envs.nav.sensors import DepthConfig, RayCaster, ScanConfig
from robocritic.envs.nav.world import World, WorldSpec

#: Longest physics sub-step, s (at 0.5 m/s the robot moves 1 cm per sub-step).
MAX_SUBSTEP = 0.02


class MujocoNav:
    """Engine hooks of :class:`~robocritic.envs.nav.task.NavTask` on MuJoCo. Call
    :meth:`_init_mujoco_nav` after the task's settings are in place."""

    robot: RobotSpec
    depth_config: DepthConfig
    scan_config: ScanConfig
    world_spec: WorldSpec
    render_mode: str | None
    dt: float

    def _init_mujoco_nav(self) -> None:
        self.n_substeps = max(1, math.ceil(self.dt / MAX_SUBSTEP - 1e-9))
        self.substep = self.dt / self.n_substeps
        self.model: mujoco.MjModel | None = None
        self.data: mujoco.MjData | None = None
        self.ray_caster: RayCaster | None = None
        self._renderer: mujoco.Renderer | None = None

    def _load_world(self, world: World) -> None:
        self.close_renderer()
        self.model = mujoco.MjModel.from_xml_string(world.mjcf(bodies=self.robot.mjcf()))
        self.model.opt.timestep = self.substep
        self.data = mujoco.MjData(self.model)
        self._robot_body = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_BODY, ROBOT_BODY)
        self._robot_geom = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_GEOM, ROBOT_GEOM)
        self._qpos = np.array([self.model.jnt_qposadr[self.model.joint(n).id] for n in ROBOT_JOINTS])
        self._qvel = np.array([self.model.jnt_dofadr[self.model.joint(n).id] for n in ROBOT_JOINTS])
        self.ray_caster = RayCaster(self.model, self.data, self._robot_body, self.depth_config,
                                    self.scan_config)

    # ---- pose and contacts ---------------------------------------------------------------------
    def _set_pose(self, x: float, y: float, yaw: float) -> None:
        self.data.qpos[self._qpos] = (x, y, yaw)
        mujoco.mj_kinematics(self.model, self.data)

    def _touching(self) -> bool:
        mujoco.mj_collision(self.model, self.data)
        n = self.data.ncon
        return n > 0 and bool(np.any(self.data.contact.geom[:n] == self._robot_geom))

    def in_collision(self, pose: np.ndarray) -> bool:
        old = self.data.qpos[self._qpos].copy()
        self._set_pose(*(float(v) for v in pose))
        hit = self._touching()
        self._set_pose(*old)
        return hit

    def _true_state(self) -> np.ndarray:
        return self.pose.copy()

    def _set_true_state(self, x: np.ndarray) -> None:
        """Place the robot at rest at ``x`` = (x, y, yaw) (yaw wrapped)."""
        mujoco.mj_resetData(self.model, self.data)
        self.pose = np.array([x[0], x[1], wrap_angle(float(x[2]))], dtype=np.float64)
        self.velocity = np.zeros(2)
        self._set_pose(*self.pose)

    def _simulate(self, u: np.ndarray) -> None:
        v, omega = float(u[0]), float(u[1])
        x, y, yaw = (float(a) for a in self.pose)
        travelled, collided = 0.0, False
        for _ in range(self.n_substeps):
            nx, ny, nyaw = integrate_unicycle(x, y, yaw, v, omega, self.substep)
            self._set_pose(nx, ny, nyaw)
            if self._touching():
                self._set_pose(x, y, yaw)
                collided = True
                break
            travelled += math.hypot(nx - x, ny - y)
            x, y, yaw = nx, ny, nyaw
        self.pose = np.array([x, y, wrap_angle(yaw)])
        self.data.qpos[self._qpos[2]] = self.pose[2]
        self.velocity = np.zeros(2) if collided else np.array([v, omega])
        c, s = math.cos(self.pose[2]), math.sin(self.pose[2])
        self.data.qvel[self._qvel] = (self.velocity[0] * c, self.velocity[0] * s, self.velocity[1])
        self.data.time += self.dt
        self.step_collision, self.step_travelled = collided, travelled

    # ---- sensing -------------------------------------------------------------------------------
    def _depth(self, rng: np.random.Generator) -> np.ndarray:
        return self.ray_caster.depth(self.pose, rng)

    def _scan(self, rng: np.random.Generator) -> np.ndarray:
        return self.ray_caster.scan(self.pose, rng)

    # ---- rendering -------------------------------------------------------------------------------
    def render(self) -> np.ndarray | None:
        """Top-down RGB image (``render_mode="rgb_array"``), ``(480, 480, 3)`` uint8: world +x to
        the right, +y up."""
        if self.render_mode != "rgb_array" or self.model is None:
            return None
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, 480, 480)
            self._camera = mujoco.MjvCamera()
            self._camera.lookat[:] = (0.0, 0.0, 0.0)
            self._camera.distance = 1.2 * max(self.world_spec.arena_size)
            self._camera.elevation = -90.0
            self._camera.azimuth = 90.0
        mujoco.mj_forward(self.model, self.data)
        self._renderer.update_scene(self.data, camera=self._camera)
        return self._renderer.render()

    def close_renderer(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def close(self) -> None:
        self.close_renderer()
