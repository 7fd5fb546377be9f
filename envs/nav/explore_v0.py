"""NavExplore-v0 (MuJoCo ray casting): roam a generated, cluttered world without a goal,
covering new ground without touching anything.

## Description
The world, robot, sensing and frames of NavPointGoal-v0 (see
:mod:`robocritic.envs.nav.point_goal_v0`), without a goal: the task is to travel and cover
area (the no-goal mode of a navigation policy). Coverage is counted on a grid of
``coverage_cell`` (0.25 m) cells: a cell is covered once the robot centre has come within
``coverage_radius`` (1 m) of its centre.

## Action space
| idx | action | min | max | unit |
|---|---|---|---|---|
| 0 | v, forward speed | ``robot.v_min`` (0) | ``robot.v_max`` (0.5) | m/s |
| 1 | omega, turn rate (+ = left, counter-clockwise) | ``-robot.omega_max`` (-1) | ``robot.omega_max`` (1) | rad/s |
Saturated and validated as in NavPointGoal-v0.

## Observation space (``gymnasium.spaces.Dict``, all float32)
| key | shape | content | unit |
|---|---|---|---|
| ``depth`` | (48, 64) | z-depth per pixel; 0 = no valid return | m |
| ``goal`` | (2,) | always zeros (no goal) | m |
| ``odom`` | (5,) | [x, y, yaw, v, omega], noisy as in NavPointGoal-v0 | m, m, rad, m/s, rad/s |

## Reward
``r = travel_weight * s + area_weight * a - collision_penalty * collision`` with ``s`` the
distance travelled during the step (m) and ``a`` the newly covered area (m^2);
``info["cost"] = -r``.

## Safety constraint (``info``)
``info["unsafe"] = info["collision"]`` (the base touched an obstacle; bumper stop).

## Info (privileged)
``pose``, ``world_seed``, ``collision``, ``clearance`` (ESDF at the robot centre, m),
``success`` (always ``False``), ``travelled`` (m, this step), ``coverage`` (covered area so far,
m^2), plus the common ``state``, ``cost``, ``applied_action``, ``violated``,
``constraint_violation``, ``action_saturations``.

## Start state
``reset(seed=s, options=None)``: world as in NavPointGoal-v0 (``options["world_seed"]``); start
drawn over free cells with ESDF >= ``start_clearance`` (0.35 m), yaw uniform, or exactly
``options["start"] = (x, y, yaw)`` (alias ``options["state"]``). Bad options raise
``ValueError`` naming the option.

## Episode end
Terminated on collision when ``terminate_on_collision`` (default). Truncated after 600 steps
(60 s at 10 Hz) by the registered ``TimeLimit``.

## Arguments
``gym.make("robocritic/NavExplore-v0", world_spec="default", world_seed=None, world=None, robot=None,
depth=None, scan=None, control_rate=10.0, start_clearance=0.35, travel_weight=1.0,
area_weight=0.5, coverage_radius=1.0, coverage_cell=0.25, terminate_on_collision=True,
collision_penalty=10.0, randomization=None, render_mode=None)``; shared arguments as in
NavPointGoal-v0. ``coverage_radius`` is at most the arena's diagonal and ``coverage_cell`` leaves at
most ``MAX_COVERAGE_CELLS`` cells in the arena.

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
from robocritic.envs.nav.task import NavTask, check_at_most, check_nonnegative, check_positive
from robocritic.envs.nav.world import World, WorldSpec

#: Most coverage cells (``coverage_cell`` over the arena): the coverage grid stays small in memory.
MAX_COVERAGE_CELLS = 10**7


class ExploreTask(NavTask):
    """The explore task on any engine (see the module docstring)."""

    option_keys = ("world_seed", "start", "state")
    env_name = "NavExplore-v0"

    def _init_explore(self, travel_weight: float, area_weight: float, coverage_radius: float,
                      coverage_cell: float) -> None:
        self.travel_weight = check_nonnegative("travel_weight", travel_weight)
        self.area_weight = check_nonnegative("area_weight", area_weight)
        size = np.array(self.world_spec.arena_size)
        radius = check_positive("coverage_radius", coverage_radius)
        self.coverage_radius = check_at_most("coverage_radius", radius, float(np.hypot(*size)),
                                             "the arena's diagonal")
        self.coverage_cell = check_positive("coverage_cell", coverage_cell)
        cells = float(np.prod(np.ceil(size / self.coverage_cell)))
        if cells > MAX_COVERAGE_CELLS:
            raise ValueError(f"coverage_cell must leave at most {MAX_COVERAGE_CELLS:g} cells in the arena "
                             f"({size[0]:g} x {size[1]:g} m); got {coverage_cell!r} ({cells:g} cells)")
        self._cov_shape = tuple(int(v) for v in np.ceil(size / self.coverage_cell))
        self._cov_origin = -0.5 * size
        k = math.ceil(self.coverage_radius / self.coverage_cell) + 1
        self._cov_offsets = np.arange(-k, k + 1)
        self._covered = np.zeros(self._cov_shape, dtype=bool)


    def _cover(self) -> float:
        """Mark the cells near the robot as covered; returns the newly covered area, m^2."""
        c = self.coverage_cell
        centre = np.floor((self.pose[:2] - self._cov_origin) / c).astype(int)
        ix = np.clip(centre[0] + self._cov_offsets, 0, self._cov_shape[0] - 1)
        iy = np.clip(centre[1] + self._cov_offsets, 0, self._cov_shape[1] - 1)
        ix, iy = np.unique(ix), np.unique(iy)
        cx = self._cov_origin[0] + (ix + 0.5) * c
        cy = self._cov_origin[1] + (iy + 0.5) * c
        near = np.hypot(cx[:, None] - self.pose[0], cy[None, :] - self.pose[1]) <= self.coverage_radius
        block = self._covered[np.ix_(ix, iy)]
        new = near & ~block
        self._covered[np.ix_(ix, iy)] = block | near
        return float(new.sum()) * c * c

    def _reset_stats(self) -> None:
        self._covered[:] = False
        self._cover()

    def _privileged_info(self) -> dict[str, Any]:
        info = super()._privileged_info()
        info.update(success=False, coverage=float(self._covered.sum()) * self.coverage_cell**2)
        return info

    def _task_step(self) -> tuple[float, bool, dict[str, Any]]:
        new_area = self._cover()
        travelled = self.step_travelled
        reward = self.travel_weight * travelled + self.area_weight * new_area
        coverage = float(self._covered.sum()) * self.coverage_cell**2
        return reward, False, {"travelled": travelled, "coverage": coverage}


class NavExploreEnv(MujocoNav, ExploreTask, RobocriticEnv):
    """MuJoCo implementation of NavExplore-v0 (see the module docstring)."""

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
        travel_weight: float = 1.0,
        area_weight: float = 0.5,
        coverage_radius: float = 1.0,
        coverage_cell: float = 0.25,
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
        self._init_explore(travel_weight, area_weight, coverage_radius, coverage_cell)
