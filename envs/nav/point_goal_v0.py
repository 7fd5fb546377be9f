"""NavPointGoal-v0 (MuJoCo ray casting): drive a differential-drive robot through a generated,
cluttered world to a point goal, seeing only a depth image and odometry.

## Description
A procedurally generated arena (:mod:`robocritic.envs.nav.world`; 10 x 10 m by default, walls,
boxes, cylinders, thin poles, low obstacles, sometimes a room with door gaps) and a cylindrical
robot (radius 0.2 m, :class:`~robocritic.envs.nav.robot.RobotSpec`) commanded in forward speed
and turn rate at 10 Hz. A new world is drawn every episode (``world_seed`` from the env's seeded
generator) unless a world seed is fixed. The robot senses a depth image by ray casting (48 x 64,
90 deg horizontal FOV, 0.1-5 m; :mod:`robocritic.envs.nav.sensors`) and its odometry; the goal
is given in the robot frame. Everything about the world (the grid, the ESDF, the robot's true
pose) is privileged and only reported in ``info``. The robot moves kinematically (exact unicycle
arcs in sub-steps of at most 20 ms) and MuJoCo's collision detection stops it on contact
(:mod:`robocritic.envs.nav.mujoco_nav`); the shared model is
:class:`~robocritic.envs.nav.robot.UnicycleModel` (``env.unwrapped.dynamics``).

Frames: world x, y (m), yaw (rad) counter-clockwise from +x; robot frame x forward, y left.

## Action space
| idx | action | min | max | unit |
|---|---|---|---|---|
| 0 | v, forward speed | ``robot.v_min`` (0) | ``robot.v_max`` (0.5) | m/s |
| 1 | omega, turn rate (+ = left, counter-clockwise) | ``-robot.omega_max`` (-1) | ``robot.omega_max`` (1) | rad/s |
Commands outside the range are saturated (counted in ``info["action_saturations"]``); NaN, inf,
a wrong shape or a value that is no real number (a string, bool, complex number) raise
``ValueError`` naming the env and ``action``. The command is held for the whole step.

## Observation space (``gymnasium.spaces.Dict``, all float32)
| key | shape | content | unit |
|---|---|---|---|
| ``depth`` | (H, W) = (48, 64) | z-depth per pixel, row 0 at the top, column 0 at the left; 0 = no valid return (outside 0.1-5 m or dropped) | m |
| ``goal`` | (2,) | goal in the robot frame (x forward, y left), from the odometry pose | m |
| ``odom`` | (5,) | [x, y, yaw, v, omega]: world-frame pose (yaw in [-pi, pi)) and the velocity at the end of the step | m, m, rad, m/s, rad/s |
``odom`` is the true pose and velocity plus ``randomization.obs_noise_std`` white Gaussian noise
(a scalar or 5 values); depth noise and dropout are ``DepthConfig.noise_std`` / ``dropout``.

## Reward
``r = (d_prev - d) + success_reward * success - collision_penalty * collision`` with ``d`` the
Euclidean distance from the robot centre to the goal (m); ``info["cost"] = -r``.

## Safety constraint (``info``)
``info["unsafe"] = info["collision"]``: the robot's base touched an obstacle during the step
(MuJoCo contact between the base cylinder and any obstacle). The robot then stays at its last
contact-free pose (a bumper stop) with zero velocity.

## Info (privileged)
``pose`` (3,) true [x, y, yaw]; ``world_seed``; ``collision``; ``clearance`` (ESDF at the robot
centre, m; contact near ``robot.radius``); ``success``; ``goal`` (2,) world frame, m;
``distance_to_goal`` (m); ``geodesic_distance`` (start to goal on the planner's grid, m, set at
reset; for ``options["goal"]``, to the nearest planner cell within ``success_radius`` of it);
plus the common ``state`` (= ``pose``), ``cost``, ``applied_action``, ``violated``,
``constraint_violation``, ``action_saturations``.

## Start and goal
``reset(seed=s, options=None)``: the world is ``options["world_seed"]`` (an integer >= 0), else
the constructor's ``world_seed``, else drawn. The start is drawn uniformly over free cells with
ESDF >= ``start_clearance`` (0.35 m), yaw uniform; the goal uniformly over cells with ESDF >=
``goal_clearance`` (0.35 m) whose geodesic distance from the start on the planner's grid graph
(cells with ESDF >= radius + 0.05 m, 8-connected, :mod:`robocritic.envs.nav.grid`, the same
graph the privileged expert plans on) is in [``min_goal_distance``, ``max_goal_distance``]
(3 m, inf): every drawn goal is reachable. Or exactly ``options["start"] = (x, y, yaw)``
(alias ``options["state"]``; inside the arena, not touching an obstacle) and/or
``options["goal"] = (x, y)`` (inside the arena, outside every obstacle, reachable from the start
to within ``success_radius``). Bad options raise ``ValueError`` naming the env and the option.

## Episode end
Terminated on success (robot centre within ``success_radius`` = 0.5 m of the goal) or on
collision when ``terminate_on_collision`` (default). Truncated after 600 steps (60 s at 10 Hz)
by the registered ``TimeLimit``. A step whose pose or velocity is not finite raises
:class:`~robocritic.envs.SimulationDiverged` instead.

## Arguments
``gym.make("robocritic/NavPointGoal-v0", world_spec="default", world_seed=None, world=None, robot=None,
depth=None, scan=None, control_rate=10.0, start_clearance=0.35, goal_clearance=0.35,
min_goal_distance=3.0, max_goal_distance=inf, success_radius=0.5, success_reward=10.0,
terminate_on_collision=True, collision_penalty=10.0, randomization=None, render_mode=None)``.
``world_spec``: a :class:`~robocritic.envs.nav.world.WorldSpec` or a preset name
(``"default"``, ``"dense"``, ``"empty"``); ``world_seed``: use that world every episode;
``world``: a hand-built :class:`~robocritic.envs.nav.world.World` used every episode (its spec
replaces ``world_spec``; ``info["world_seed"]`` is its ``seed``, ``None`` if hand-built).
Randomisation: ``actuator_delay`` (whole steps) and ``obs_noise_std`` (odometry) apply; the
physical fields raise ``ValueError`` if set. ``render_mode="rgb_array"`` renders top-down with
MuJoCo (needs OpenGL). The planar scan is available as ``env.unwrapped.scan()`` (not observed).
Bounds: ``control_rate`` in [1, 100] Hz; ``start_clearance`` and ``goal_clearance`` at most half
the arena's shorter side (no point has more clearance); ``min_goal_distance`` at most the longest
path on the planner's grid (every cell once, diagonal moves). Every setting takes real numbers only
(no strings or bools); a bad one raises ``ValueError`` naming the env and the setting.

## Version history
v0: first release.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from robocritic.envs.base.randomization import DomainRandomization
from robocritic.envs.base.robocritic_env import RobocriticEnv, names_env_errors
from robocritic.envs.nav.mujoco_nav import MujocoNav
from robocritic.envs.nav.robot import RobotSpec
from robocritic.envs.nav.sensors import DepthConfig, ScanConfig
from robocritic.envs.nav.task import (
    START_TRIES,
    NavTask,
    check_at_most,
    check_nonnegative,
    check_positive,
    longest_path,
    max_clearance,
    option_vector,
)
from robocritic.envs.nav.world import World, WorldSpec

from robocritic.utils.fields import is_finite_real, is_real
from robocritic.utils.validation import short_repr


class PointGoalTask(NavTask):
    """The point-goal task on any engine (see the module docstring)."""

    option_keys = ("world_seed", "start", "state", "goal")
    env_name = "NavPointGoal-v0"

    def _init_point_goal(self, goal_clearance: float, min_goal_distance: float, max_goal_distance: float,
                         success_radius: float, success_reward: float) -> None:
        spec = self.world_spec
        clearance = check_positive("goal_clearance", goal_clearance)
        self.goal_clearance = check_at_most("goal_clearance", clearance, max_clearance(spec),
                                            "half the arena's shorter side")
        self.min_goal_distance = check_at_most(
            "min_goal_distance", check_nonnegative("min_goal_distance", min_goal_distance),
            longest_path(spec), "the longest path on the planner's grid")
        # inf is allowed (no upper limit); an int too large for a float is not.
        ok = is_real(max_goal_distance) and (is_finite_real(max_goal_distance) or max_goal_distance == math.inf)
        if not (ok and max_goal_distance > self.min_goal_distance):
            raise ValueError(f"max_goal_distance must be > min_goal_distance ({self.min_goal_distance:g} m); "
                             f"got {short_repr(max_goal_distance)}")
        self.max_goal_distance = float(max_goal_distance)
        self.success_radius = check_positive("success_radius", success_radius)
        self.success_reward = check_nonnegative("success_reward", success_reward)
        self.geodesic_distance = math.nan
        self._distance = 0.0

    def _goal_option(self, options: dict[str, Any]) -> np.ndarray | None:
        if "goal" not in options:
            return None
        goal = option_vector(options, "goal", 2)
        if not bool(self.world.inside_arena(goal)):
            hx, hy = self.world.half_extent
            raise ValueError(f"options['goal'] must lie inside the arena (|x| < {hx:g}, |y| < {hy:g} m); "
                             f"got {goal.tolist()}")
        if float(self.world.signed_distance(goal)) <= 0.0:
            raise ValueError(f"options['goal'] lies inside an obstacle; got {goal.tolist()}")
        return goal

    def _reachable_distance(self, geodesic: np.ndarray, goal: np.ndarray) -> float:
        """Least geodesic distance (m) of the planner's cells within ``success_radius`` of the goal."""
        grid = self.world.grid
        r = self.success_radius
        lo = np.maximum(grid.cell_of(goal - r), 0)
        hi = np.minimum(grid.cell_of(goal + r) + 1, grid.shape)
        block = geodesic[lo[0]:hi[0], lo[1]:hi[1]]
        centres = grid.cell_centres()[lo[0]:hi[0], lo[1]:hi[1]]
        near = np.linalg.norm(centres - goal, axis=-1) <= r
        return float(block[near].min()) if near.any() else math.inf

    def _draw_goal(self, geodesic: np.ndarray) -> np.ndarray | None:
        # isfinite: unreachable cells carry an infinite geodesic, which "<= max_goal_distance = inf" lets in
        ok = (self.world.esdf >= self.goal_clearance) & np.isfinite(geodesic) & (
            geodesic >= self.min_goal_distance) & (geodesic <= self.max_goal_distance)
        cells = np.argwhere(ok)
        if cells.size == 0:
            return None
        cell = cells[int(self.np_random.integers(len(cells)))]
        return self.world.grid.centre_of(cell)

    def _reset_task(self, options: dict[str, Any], start: np.ndarray | None) -> np.ndarray:
        goal = self._goal_option(options)
        for _ in range(START_TRIES):
            pose = self._draw_start() if start is None else start
            name = "options['start']" if start is not None else "the drawn start"
            geodesic = self.geodesic_from(pose[:2], name)
            if goal is not None:
                distance = self._reachable_distance(geodesic, goal)
                if math.isfinite(distance):
                    break
                if start is not None:
                    raise ValueError(f"options['goal'] is not reachable from the start {start.tolist()} (to "
                                     f"within success_radius {self.success_radius:g} m); got {goal.tolist()}")
                continue
            drawn = self._draw_goal(geodesic)
            if drawn is not None:
                goal_xy = drawn
                distance = float(self.world.grid.sample(geodesic, goal_xy, bilinear=False))
                break
            if start is not None:
                raise ValueError(f"options['start'] has no goal with clearance >= {self.goal_clearance:g} m "
                                 f"at a geodesic distance in [{self.min_goal_distance:g}, "
                                 f"{self.max_goal_distance:g}] m; got {start.tolist()}")
        else:
            raise RuntimeError(f"world {self.world_seed}: no start/goal pair found in {START_TRIES} draws "
                               f"(min_goal_distance {self.min_goal_distance:g} m)")
        self.goal = (goal if goal is not None else goal_xy).astype(np.float64)
        self.geodesic_distance = distance
        return pose

    def _reset_stats(self) -> None:
        self._distance = float(np.linalg.norm(self.goal - self.pose[:2]))

    def _goal_obs(self, odom: np.ndarray) -> np.ndarray:
        dx, dy = self.goal - odom[:2]
        c, s = math.cos(odom[2]), math.sin(odom[2])
        return np.array([c * dx + s * dy, -s * dx + c * dy])

    def _privileged_info(self) -> dict[str, Any]:
        info = super()._privileged_info()
        info.update(goal=self.goal.copy(), distance_to_goal=float(np.linalg.norm(self.goal - self.pose[:2])),
                    geodesic_distance=self.geodesic_distance, success=self._distance <= self.success_radius)
        return info

    def _task_step(self) -> tuple[float, bool, dict[str, Any]]:
        distance = float(np.linalg.norm(self.goal - self.pose[:2]))
        progress = self._distance - distance
        self._distance = distance
        success = distance <= self.success_radius
        reward = progress + (self.success_reward if success else 0.0)
        return reward, success, {}


class NavPointGoalEnv(MujocoNav, PointGoalTask, RobocriticEnv):
    """MuJoCo implementation of NavPointGoal-v0 (see the module docstring)."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 10}

    @names_env_errors
    def __init__(
        self,
        world_spec: WorldSpec | str = "default",
        world_seed: int | None = None,
        world: World | None = None,
        robot: RobotSpec | None = None,
        depth: DepthConfig | None = None,
        scan: ScanConfig | None = None,
        control_rate: float = 10.0,
        start_clearance: float = 0.35,
        goal_clearance: float = 0.35,
        min_goal_distance: float = 3.0,
        max_goal_distance: float = math.inf,
        success_radius: float = 0.5,
        success_reward: float = 10.0,
        terminate_on_collision: bool = True,
        collision_penalty: float = 10.0,
        randomization: DomainRandomization | dict[str, Any] | None = None,
        render_mode: str | None = None,
    ) -> None:
        model = self._init_nav(world_spec, world_seed, world, robot, depth, scan, control_rate,
                               start_clearance, terminate_on_collision, collision_penalty)
        RobocriticEnv.__init__(self, model, randomization, render_mode)
        self._finish_nav()
        self._init_mujoco_nav()
        self._init_point_goal(goal_clearance, min_goal_distance, max_goal_distance, success_radius,
                              success_reward)
