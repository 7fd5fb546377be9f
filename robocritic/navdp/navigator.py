"""Local planning plus path tracking, env-free: what runs inside the closed-loop benchmark and inside
the ``navdp_planner`` node alike.

:class:`Navigator` is given the robot's observation at every control step (depth image, goal in the
robot frame, odometry) and returns the velocity command ``(v, omega)``. Every ``replan_period`` s
of the caller's clock it asks its :class:`LoopPlanner` for a :class:`~robocritic.navdp.planner.Plan`
in the robot frame of that moment and fixes the chosen path in the odometry frame (the plan-time
pose prepended); in between, the pure-pursuit tracker follows that path re-expressed in the current
robot frame. A plan that says ``stop`` holds the robot and turns it in place at ``rotate_omega``
toward ``plan.rotate`` (0: wait) until the next plan, as NavDP does when its critic finds no safe
candidate. A plan with a velocity ``command`` (DWA's
:class:`~robocritic.navdp.local_planners.CommandPlan`) has that command held until the next plan.

Observation keys (the env's Dict observation): ``depth`` ``(H, W)`` float32 [m], ``goal`` ``(2,)``
[m] in the robot frame, ``odom`` ``(5,)`` ``[x, y, yaw, v, omega]`` in the odometry frame
[m, m, rad, m/s, rad/s].
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from robocritic.controllers.pure_pursuit import PurePursuit, PurePursuitConfig
from robocritic.dynamics.unicycle import to_robot_frame, to_world_frame
from robocritic.envs.nav.sensors import DepthConfig
from robocritic.navdp.local_planners import DWAConfig, DWAPlanner, StraightConfig, StraightToGoal
from robocritic.navdp.plan import Plan
from robocritic.utils.fields import check_real

__all__ = [
    "DEPTH_METHODS",
    "NAVDP_SELECTION",
    "DepthLoopPlanner",
    "LoopPlanner",
    "NavDPLoopPlanner",
    "NavStep",
    "Navigator",
    "NavigatorConfig",
    "PlannerContext",
]

NAVDP_SELECTION = {"navdp": "critic", "navdp_critic_only": "critic_only", "navdp_first": "first_sample",
                   "navdp_random": "random_sample"}
"""NavDP methods and their candidate selection."""

DEPTH_METHODS = ("straight", "dwa")
"""Classical methods that see only the depth image, the goal and the odometry."""


@dataclass(frozen=True, eq=False)
class PlannerContext:
    """What any planner may know at the start of an episode.

    Attributes:
        seed: the episode's seed (for a planner's own randomness).
        depth: the camera the depth images come from.
    """

    seed: int
    depth: DepthConfig


class LoopPlanner(Protocol):
    """A planner in the loop: :meth:`begin` at the start of an episode (a new goal), :meth:`plan`
    at every replanning tick (``info``: the env's privileged info; ``{}`` on a robot)."""

    def begin(self, context: PlannerContext) -> None: ...

    def plan(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Plan: ...


class DepthLoopPlanner:
    """Straight-to-goal (``"straight"``) or DWA (``"dwa"``) on depth, goal and odometry."""

    def __init__(self, method: str, straight: StraightConfig | None = None, dwa: DWAConfig | None = None) -> None:
        if method not in DEPTH_METHODS:
            raise ValueError(f"method must be one of {list(DEPTH_METHODS)}; got {method!r}")
        self.method, self._straight, self._dwa = method, straight, dwa
        self.planner: StraightToGoal | DWAPlanner | None = None
        self._depth: DepthConfig | None = None

    def begin(self, context: PlannerContext) -> None:
        if self.planner is None or self._depth != context.depth:
            self._depth = context.depth
            self.planner = (StraightToGoal(self._straight, context.depth) if self.method == "straight"
                            else DWAPlanner(self._dwa, context.depth))
        self.planner.reset()

    def plan(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Plan:
        odom = np.asarray(obs["odom"], dtype=np.float64)
        if isinstance(self.planner, DWAPlanner):
            return self.planner.plan(obs["depth"], obs["goal"], pose=odom[:3], velocity=odom[3:5])
        return self.planner.plan(obs["depth"], obs["goal"], pose=odom[:3])


class NavDPLoopPlanner:
    """NavDP on the last ``history`` depth frames taken at planning ticks and the goal.

    Args:
        model: a :class:`~robocritic.navdp.model.NavDPNet`.
        selection: one of :data:`~robocritic.navdp.planner.SELECTIONS`.
    """

    def __init__(self, model: Any, selection: str = "critic") -> None:
        from robocritic.navdp.planner import SELECTIONS

        if selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {list(SELECTIONS)}; got {selection!r}")
        self.model, self.selection = model, selection
        self.planner: Any = None
        self._frames: deque[np.ndarray] = deque(maxlen=int(model.config.history))

    def begin(self, context: PlannerContext) -> None:
        from robocritic.navdp.planner import NavDPPlanner

        cfg = self.model.config
        if (cfg.depth_height, cfg.depth_width) != (context.depth.height, context.depth.width):
            raise ValueError(f"checkpoint: the model takes {cfg.depth_height} x {cfg.depth_width} depth "
                             f"images; the camera gives {context.depth.height} x {context.depth.width}")
        self.planner = NavDPPlanner(self.model, selection=self.selection, seed=context.seed)
        self._frames.clear()

    def plan(self, obs: dict[str, np.ndarray], info: dict[str, Any]) -> Plan:
        depth = np.asarray(obs["depth"], dtype=np.float32)
        if not self._frames:
            self._frames.extend([depth] * (self._frames.maxlen or 1))
        else:
            self._frames.append(depth)
        return self.planner.plan(np.stack(self._frames), np.asarray(obs["goal"], dtype=np.float32))


@dataclass(frozen=True)
class NavigatorConfig:
    """Settings of a :class:`Navigator`.

    Attributes:
        replan_period: time between plans [s] (0.25 = 4 Hz).
        rotate_omega: turn rate of stop-and-rotate [rad/s].
        tracker: the pure-pursuit settings.
    """

    replan_period: float = 0.25
    rotate_omega: float = 0.5
    tracker: PurePursuitConfig = field(default_factory=PurePursuitConfig)

    def __post_init__(self) -> None:
        for name in ("replan_period", "rotate_omega"):
            check_real("NavigatorConfig", name, getattr(self, name), low=0.0, low_open=True)
        if not isinstance(self.tracker, PurePursuitConfig):
            raise ValueError(f"NavigatorConfig.tracker must be a PurePursuitConfig; "
                             f"got {type(self.tracker).__name__}")


@dataclass(frozen=True)
class NavStep:
    """One :meth:`Navigator.step`.

    Attributes:
        action: ``(2,)`` command ``(v, omega)`` [m/s, rad/s].
        plan: the plan made at this step (``None`` between plans).
        plan_ms: wall time of that plan [ms] (``None`` between plans).
    """

    action: np.ndarray
    plan: Plan | None = None
    plan_ms: float | None = None


class Navigator:
    """Replans and tracks (module docstring).

    Args:
        planner: the :class:`LoopPlanner`.
        config: replanning and tracking settings.
        clock: timer of the planning latency [s].

    Attributes:
        path: ``(N + 1, 2)`` the path being tracked in the odometry frame [m] (``None`` while
            turning in place, holding a command, or before the first plan).
    """

    def __init__(self, planner: LoopPlanner, config: NavigatorConfig | None = None, *,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.planner = planner
        self.config = config or NavigatorConfig()
        self.clock = clock
        self.path: np.ndarray | None = None
        self._tracker = PurePursuit(self.config.tracker)
        self._held: np.ndarray | None = None
        self._rotate = 0
        self._next_plan: float | None = None

    def begin(self, context: PlannerContext) -> None:
        """Start an episode (a new goal): the next :meth:`step` plans."""
        self.planner.begin(context)
        self.path, self._held, self._rotate, self._next_plan = None, None, 0, None

    def step(self, t: float, obs: dict[str, np.ndarray], info: dict[str, Any] | None = None) -> NavStep:
        """The command at time ``t`` [s] (non-decreasing within an episode) for observation ``obs``."""
        odom = np.asarray(obs["odom"], dtype=np.float64)
        plan, plan_ms = None, None
        if self._next_plan is None:
            self._next_plan = t
        if t >= self._next_plan - 1e-9:
            t0 = self.clock()
            plan = self.planner.plan(obs, {} if info is None else info)
            plan_ms = (self.clock() - t0) * 1e3
            self._next_plan += self.config.replan_period
            command = getattr(plan, "command", None)
            self._held = None
            if plan.stop:
                self.path, self._rotate = None, int(plan.rotate)
            elif command is not None:
                self.path, self._held = None, np.asarray(command, dtype=np.float64).reshape(2)
            else:
                self.path = np.concatenate([odom[None, :2], to_world_frame(odom[:3], plan.path[:, :2])])
        if self._held is not None:
            action = self._held
        elif self.path is None:
            action = np.array([0.0, self.config.rotate_omega * self._rotate])
        else:
            action = self._tracker.act(to_robot_frame(odom[:3], self.path))
        return NavStep(action, plan, plan_ms)
