"""What every navigation task shares, written once for any engine: settings and their checks,
the world of each episode, start sampling on the privileged grid, ``reset`` options,
odometry, the Dict observation, the step skeleton and the privileged ``info``.

A concrete env combines an engine side (``mujoco_nav.MujocoNav``, which implements the hooks
below) with a task built on :class:`NavTask` (``point_goal_v0.PointGoalTask``,
``explore_v0.ExploreTask``) and :class:`~robocritic.envs.base.robocritic_env.RobocriticEnv`;
the engine side comes first in the bases so that its hooks override the abstract ones here.
A task sets :attr:`NavTask.option_keys` and implements :meth:`NavTask._reset_task` (draw or
check its goal) and :meth:`NavTask._task_step` (reward, success, task ``info``).

Per control step (``1 / control_rate`` s) the command ``(v, omega)`` is validated and saturated
(and delayed, with ``randomization.actuator_delay``) by the base, then the engine holds it for
the step (:meth:`NavTask._simulate`), stopping the robot at its last contact-free pose on a
collision.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import fields
from typing import Any

import gymnasium as gym
import numpy as np
from robocritic.envs.base.randomization import DomainRandomization
from robocritic.envs.base.robocritic_env import names_env_errors, reset_options
from robocritic.envs.base.task import EngineHooks
from robocritic.envs.nav.constants import SAFETY_MARGIN
from robocritic.envs.nav.grid import cost_to_go
from robocritic.envs.nav.robot import RobotSpec, UnicycleModel, wrap_angle
from robocritic.envs.nav.sensors import DepthConfig, ScanConfig
from robocritic.envs.nav.world import World, WorldSpec, generate_world
from robocritic.envs.nav.world import world_spec as resolve_world_spec

from robocritic.utils.fields import is_finite_real, is_int
from robocritic.utils.validation import as_real_vector, short_repr

#: DomainRandomization fields a kinematic robot supports; the others must stay at their defaults.
SUPPORTED_RANDOMIZATION = ("actuator_delay", "obs_noise_std")
#: Size of the odometry observation [x, y, yaw, v, omega].
N_ODOM = 5
#: Attempts at drawing a start (and goal) before reset gives up.
START_TRIES = 20
#: A user start near an obstacle joins the planner's graph through free cells this close, m.
SOURCE_RADIUS = 0.3


def check_positive(name: str, value: Any) -> float:
    if not (is_finite_real(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number; got {short_repr(value)}")
    return float(value)


def check_nonnegative(name: str, value: Any) -> float:
    if not (is_finite_real(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0; got {short_repr(value)}")
    return float(value)


def check_at_most(name: str, value: float, limit: float, why: str) -> float:
    """``value`` (already checked as a number) is ``<= limit``; ``why`` says what the limit is."""
    if value > limit:
        raise ValueError(f"{name} must be <= {limit:g} ({why}); got {value!r}")
    return value


def option_vector(options: dict[str, Any], key: str, size: int) -> np.ndarray:
    """``options[key]`` as a finite float64 ``(size,)`` vector of real numbers (errors name
    ``options[key]``)."""
    return as_real_vector(f"options[{key!r}]", options[key], size)


def max_clearance(spec: WorldSpec) -> float:
    """The largest clearance any point of a world of ``spec`` can have, m: half the shorter
    side of the arena (a larger clearance setting leaves no free cell to draw from)."""
    return 0.5 * float(min(spec.arena_size))


def longest_path(spec: WorldSpec) -> float:
    """An upper bound on any geodesic distance in a world of ``spec``, m: a path through every
    cell of the planner's grid once, each move a diagonal."""
    cells = float(np.prod(np.ceil(np.array(spec.arena_size) / spec.resolution)))
    return cells * spec.resolution * math.sqrt(2.0)


class NavTask(EngineHooks):
    """Mixin for navigation envs (see the module docstring). The concrete env calls
    :meth:`_init_nav` (which returns the :class:`UnicycleModel` for ``RobocriticEnv.__init__``),
    then ``RobocriticEnv.__init__``, then :meth:`_finish_nav`.

    Engine hooks (besides :class:`~robocritic.envs.base.task.EngineHooks`' three, in the model's
    coordinates ``[x, y, yaw]`` and ``[v, omega]``): :meth:`_load_world`, :meth:`in_collision`,
    :meth:`_depth`, :meth:`_scan`. ``_simulate(u)`` holds ``u`` for one control step and sets
    :attr:`step_collision`, :attr:`step_travelled` and :attr:`velocity`.
    """

    #: ``reset`` option keys this env accepts.
    option_keys: tuple[str, ...] = ("world_seed", "start", "state")
    #: Env name for messages.
    env_name = "Nav"
    #: Set by ``_simulate``: whether the last step ended in a bumper stop, the distance travelled
    #: (m) and the velocity ``[v, omega]`` at its end.
    step_collision: bool
    step_travelled: float
    velocity: np.ndarray

    # ---- engine hooks --------------------------------------------------------------------------
    @abstractmethod
    def _load_world(self, world: World) -> None:
        """Build the engine's scene of ``world`` with the robot in it."""

    @abstractmethod
    def in_collision(self, pose: np.ndarray) -> bool:
        """Whether the robot at ``pose`` (x, y, yaw) touches an obstacle (the robot stays where
        it is)."""

    @abstractmethod
    def _depth(self, rng: np.random.Generator) -> np.ndarray:
        """Depth image ``(H, W)`` float32 m at the current pose (:mod:`.sensors`)."""

    @abstractmethod
    def _scan(self, rng: np.random.Generator) -> np.ndarray:
        """Scan ranges ``(n_beams,)`` float32 m at the current pose (:mod:`.sensors`)."""

    # ---- set-up --------------------------------------------------------------------------------
    def _init_nav(
        self,
        world_spec: WorldSpec | str,
        world_seed: int | None,
        world: World | None,
        robot: RobotSpec | None,
        depth: DepthConfig | None,
        scan: ScanConfig | None,
        control_rate: float,
        start_clearance: float,
        terminate_on_collision: bool,
        collision_penalty: float,
    ) -> UnicycleModel:
        """Check and keep the shared settings; return the robot's model."""
        spec = resolve_world_spec(world_spec)
        if world_seed is not None and not (is_int(world_seed) and world_seed >= 0):
            raise ValueError(f"world_seed must be an integer >= 0 or None; got {short_repr(world_seed)}")
        if world is not None:
            if not isinstance(world, World):
                raise ValueError(f"world must be a World or None; got {type(world).__name__}")
            if world_seed is not None:
                raise ValueError("give world or world_seed, not both")
            spec = world.spec
        for name, value, cls in (("robot", robot, RobotSpec), ("depth", depth, DepthConfig),
                                 ("scan", scan, ScanConfig)):
            if value is not None and not isinstance(value, cls):
                raise ValueError(f"{name} must be a {cls.__name__} or None; got {type(value).__name__}")
        rate = check_positive("control_rate", control_rate)
        if not 1.0 <= rate <= 100.0:
            raise ValueError(f"control_rate must be in [1, 100] Hz; got {control_rate!r}")
        if not isinstance(terminate_on_collision, bool):
            raise ValueError(
                f"terminate_on_collision must be a bool; got {short_repr(terminate_on_collision)}")
        self.world_spec = spec
        self.fixed_world_seed = None if world_seed is None else int(world_seed)
        self.fixed_world = world
        self.robot = robot or RobotSpec()
        self.depth_config = depth or DepthConfig()
        self.scan_config = scan or ScanConfig()
        clearance = check_positive("start_clearance", start_clearance)
        self.start_clearance = check_at_most("start_clearance", clearance, max_clearance(spec),
                                             "half the arena's shorter side")
        if self.start_clearance < self.robot.radius + SAFETY_MARGIN:
            raise ValueError(f"start_clearance must be >= robot radius + {SAFETY_MARGIN:g} m "
                             f"({self.robot.radius + SAFETY_MARGIN:g}); got {start_clearance!r}")
        self.terminate_on_collision = terminate_on_collision
        self.collision_penalty = check_nonnegative("collision_penalty", collision_penalty)
        half = 0.5 * np.array(spec.arena_size) - spec.wall_thickness - self.robot.radius
        return UnicycleModel(dt=1.0 / rate, v_min=self.robot.v_min, v_max=self.robot.v_max,
                             omega_max=self.robot.omega_max, x_limit=float(half[0]), y_limit=float(half[1]))

    def _finish_nav(self) -> None:
        """The part of the set-up that needs the base's ``randomization`` and ``dynamics``."""
        self._check_randomization()
        h, w = self.depth_config.height, self.depth_config.width
        self.observation_space = gym.spaces.Dict({
            "depth": gym.spaces.Box(0.0, self.depth_config.range[1], shape=(h, w), dtype=np.float32),
            "goal": gym.spaces.Box(-np.inf, np.inf, shape=(2,), dtype=np.float32),
            "odom": gym.spaces.Box(-np.inf, np.inf, shape=(N_ODOM,), dtype=np.float32),
        })
        self.world: World | None = None
        self.world_seed: int | None = None
        self._traversable: np.ndarray | None = None
        self.pose = np.zeros(3)  # true [x, y, yaw], yaw in [-pi, pi)
        self.velocity = np.zeros(2)
        self.goal = np.zeros(2)  # world frame, m (unused without a goal)
        self.step_collision = False
        self.step_travelled = 0.0

    @property
    def dt(self) -> float:
        """Control period, s."""
        return float(self.dynamics.dt)

    def _check_randomization(self) -> None:
        default = DomainRandomization()
        for f in fields(DomainRandomization):
            if f.name in SUPPORTED_RANDOMIZATION:
                continue
            value, nominal = getattr(self.randomization, f.name), getattr(default, f.name)
            if value != nominal:
                raise ValueError(
                    f"randomization.{f.name}={short_repr(value)} does not apply to {self.env_name} (a "
                    f"velocity-commanded, kinematic robot); leave it at {nominal!r}. "
                    f"Supported: {list(SUPPORTED_RANDOMIZATION)}")
        if np.atleast_1d(np.asarray(self.randomization.obs_noise_std)).size not in (1, N_ODOM):
            raise ValueError("randomization.obs_noise_std must be a scalar or 5 values (odometry x, y in "
                             "m, yaw in rad, v in m/s, omega in rad/s); "
                             f"got {short_repr(self.randomization.obs_noise_std)}")

    # ---- world ---------------------------------------------------------------------------------
    def _ensure_world(self, seed: int | None) -> None:
        """Load the world of ``seed`` (``None``: the constructor's ``world``) unless loaded."""
        if seed is None:
            if self.world is not self.fixed_world:
                self._set_world(self.fixed_world)
        elif self.world is None or self.world.seed != seed or self.world.spec != self.world_spec:
            self._set_world(generate_world(seed, self.world_spec))

    def _set_world(self, world: World) -> None:
        self._load_world(world)
        self.world = world
        self.world_seed = world.seed
        self._traversable = None

    def traversable_weights(self) -> np.ndarray:
        """Unit weights on the cells the planner may use (ESDF >= robot radius + safety margin),
        ``inf`` elsewhere, ``(nx, ny)``: the graph reachability is checked on."""
        if self._traversable is None:
            self._traversable = np.where(self.world.esdf >= self.robot.radius + SAFETY_MARGIN, 1.0, np.inf)
        return self._traversable

    def geodesic_from(self, point: np.ndarray, name: str) -> np.ndarray:
        """Geodesic distance (m) on the planner's grid graph from ``point`` to every cell,
        ``(nx, ny)`` (``inf`` = unreachable). ``name`` is the option named in errors."""
        weights = self.traversable_weights()
        grid = self.world.grid
        own = grid.cell_of(point)
        if np.isfinite(weights[own[0], own[1]]):
            sources = own[None]
        else:
            cells = np.argwhere(np.isfinite(weights))
            sources = cells[np.linalg.norm(grid.centre_of(cells) - point, axis=1) <= SOURCE_RADIUS]
            if sources.size == 0:
                raise ValueError(f"{name} has no free space within {SOURCE_RADIUS:g} m for a robot of radius "
                                 f"{self.robot.radius:g} m; got {np.asarray(point).tolist()}")
        return cost_to_go(weights, sources, grid.resolution)

    # ---- sensing -------------------------------------------------------------------------------
    def depth_image(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """Depth image ``(H, W)`` float32 m at the current pose (noise drawn from ``rng``, the
        env's generator by default)."""
        return self._depth(self.np_random if rng is None else rng)

    def scan(self, rng: np.random.Generator | None = None) -> np.ndarray:
        """Scan ranges ``(n_beams,)`` float32 m at the current pose (noise from ``rng``, the env's
        generator by default)."""
        return self._scan(self.np_random if rng is None else rng)

    def odometry(self) -> np.ndarray:
        """Noisy odometry ``[x, y, yaw, v, omega]`` float64 (true pose and velocity plus
        ``randomization.obs_noise_std`` Gaussian noise; yaw wrapped to ``[-pi, pi)``)."""
        odom = np.concatenate([self.pose, self.velocity])
        if self._noisy:
            odom = odom + self._noise_std * self.np_random.standard_normal(N_ODOM)
            odom[2] = wrap_angle(float(odom[2]))
        return odom

    def _goal_obs(self, odom: np.ndarray) -> np.ndarray:
        """Goal in the robot frame (from the odometry pose), (2,) m; zeros without a goal."""
        return np.zeros(2)

    def _get_obs(self) -> dict[str, np.ndarray]:
        depth = self.depth_image()
        odom = self.odometry()
        goal = self._goal_obs(odom)
        return {"depth": depth, "goal": goal.astype(np.float32), "odom": odom.astype(np.float32)}

    def clearance(self) -> float:
        """ESDF at the robot centre, m (the robot touches an obstacle near ``robot.radius``)."""
        return float(self.world.clearance(self.pose[:2]))

    # ---- reset -------------------------------------------------------------------------------
    def _world_seed_option(self, options: dict[str, Any]) -> int | None:
        if "world_seed" in options:
            seed = options["world_seed"]
            if not (is_int(seed) and seed >= 0):
                raise ValueError(f"options['world_seed'] must be an integer >= 0; got {short_repr(seed)}")
            return int(seed)
        if self.fixed_world is not None:
            return None
        if self.fixed_world_seed is not None:
            return self.fixed_world_seed
        return int(self.np_random.integers(0, 2**31 - 1))

    def _start_option(self, options: dict[str, Any]) -> np.ndarray | None:
        """``options["start"]`` (or its alias ``options["state"]``), checked: finite, in the arena,
        not touching an obstacle."""
        if "start" in options and "state" in options:
            raise ValueError("reset options: give 'start' or 'state' (the same pose), not both")
        key = "start" if "start" in options else "state" if "state" in options else None
        if key is None:
            return None
        pose = option_vector(options, key, 3)
        if not bool(self.world.inside_arena(pose[:2])):
            hx, hy = self.world.half_extent
            raise ValueError(f"options[{key!r}] must lie inside the arena (|x| < {hx:g}, |y| < {hy:g} m); "
                             f"got {pose.tolist()}")
        if self.in_collision(pose):
            raise ValueError(f"options[{key!r}] puts the robot (radius {self.robot.radius:g} m) in collision "
                             f"with an obstacle; got {pose.tolist()}")
        return pose

    def _draw_start(self) -> np.ndarray:
        """A pose in free space (ESDF >= start_clearance), uniform over such cells (jittered
        within the cell), yaw uniform."""
        grid = self.world.grid
        cells = np.argwhere(self.world.esdf >= self.start_clearance)
        if cells.size == 0:
            raise RuntimeError(f"world {self.world_seed}: no free cell with clearance >= "
                               f"{self.start_clearance:g} m")
        cell = cells[int(self.np_random.integers(len(cells)))]
        xy = grid.centre_of(cell) + self.np_random.uniform(-0.5, 0.5, size=2) * grid.resolution
        yaw = float(self.np_random.uniform(-math.pi, math.pi))
        return np.array([xy[0], xy[1], yaw])

    def _reset_task(self, options: dict[str, Any], start: np.ndarray | None) -> np.ndarray:
        """Draw or check the task (goal) for this episode; return the start pose."""
        return self._draw_start() if start is None else start

    @names_env_errors
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None,
              ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        self._begin_episode()
        obs = self.reset_model(options)
        return obs, self._reset_info()

    def reset_model(self, options: dict[str, Any] | None) -> dict[str, np.ndarray]:
        options = reset_options(options, self.option_keys)
        self._ensure_world(self._world_seed_option(options))
        start = self._reset_task(options, self._start_option(options))
        self._set_true_state(start)
        self.step_collision = False
        self.step_travelled = 0.0
        self._reset_stats()
        return self._get_obs()

    def _reset_stats(self) -> None:
        """Reset the task's per-episode counters (after the robot is placed)."""

    def _reset_info(self) -> dict[str, Any]:
        return {"state": self.pose.copy(), "episode_physics": self.episode_physics, **self._privileged_info()}

    def _privileged_info(self) -> dict[str, Any]:
        return {
            "pose": self.pose.copy(),
            "world_seed": self.world_seed,
            "collision": self.step_collision,
            "clearance": self.clearance(),
        }

    # ---- step ----------------------------------------------------------------------------------
    @abstractmethod
    def _task_step(self) -> tuple[float, bool, dict[str, Any]]:
        """Reward (before the collision penalty), success and task ``info`` entries after the
        robot moved (:attr:`step_collision`, :attr:`step_travelled` are set)."""

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self.world is None:
            raise RuntimeError(f"{type(self).__name__}: call reset() before step()")
        u = self._prepare_action(action)
        self._simulate(u)
        state = np.concatenate([self.pose, self.velocity])
        self._check_finite("pose and velocity", state)  # type: ignore[attr-defined]  # RobocriticEnv's
        reward, success, task_info = self._task_step()
        collided = self.step_collision
        if collided:
            reward -= self.collision_penalty
        info = self._cost_info(self.pose, u, -reward, unsafe=collided)
        info.update(self._privileged_info())
        info.update(task_info)
        info["success"] = success
        terminated = bool(success or (collided and self.terminate_on_collision))
        return self._get_obs(), float(reward), terminated, False, info
