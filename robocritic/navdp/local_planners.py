"""Baseline local planners for the NavDP closed loop, on the same sensor as NavDP and with its
:class:`~robocritic.navdp.planner.Plan` as their answer (so one tracker and one loop serve all).

Frames: the robot frame at the time of the depth frame, x forward, y left (m); ``theta`` and
``+omega`` counter-clockwise; world frame as in :mod:`robocritic.dynamics.unicycle`.

* :class:`StraightToGoal`: a straight path to the goal with an emergency stop: if any obstacle
  point lies in the footprint corridor ahead (``|y| <= radius + margin``) closer than
  ``stop_distance`` m beyond the robot's front, the plan says stop (``rotate = 0``: it waits).
* :class:`DWAPlanner`: the dynamic window approach (Fox, Burgard and Thrun 1997) on a local costmap
  built from the depth image: ``(v, omega)`` pairs sampled in the dynamic window, each rolled out
  as an exact arc for ``horizon`` s; an arc is admissible if it stays ``radius + margin`` clear of
  every obstacle point (or, optionally, if the robot can stop before it does), and admissible
  arcs are scored by heading
  to the goal, progress, clearance and speed. The best moving arc's ``(v, omega)`` is the plan's
  command (:class:`CommandPlan`, held until the next plan); the plan says stop and rotate when the
  goal is behind or no moving arc is admissible (a recovery turn, see :meth:`DWAPlanner.plan`).
* :class:`ExpertPlanner`: the privileged planner of :mod:`robocritic.navdp.expert` (the world's
  ESDF, Dijkstra cost-to-go from the goal, one solve per episode): the upper bound. It needs the
  world, the goal in the world frame and the true pose, so its :meth:`~ExpertPlanner.plan` takes
  a pose instead of a depth image.

Local costmap (:class:`DepthProjector`, :class:`PointMemory`, :class:`LocalCostmap`): every valid
depth pixel is back-projected through the camera model of
:class:`~robocritic.envs.nav.sensors.DepthConfig` to a 3-D point in the robot frame; points whose
height lies in the robot's collision band (``min_height`` to ``max_height`` m: above the floor,
below the top of the robot plus a margin) become 2-D obstacle points (thinned to one per
``resolution`` cell). Given odometry poses, the points of the last ``memory`` frames are kept in
the odometry frame and brought into the current robot frame, so obstacles that left the 90 deg
view (or low ones that fell under its lower edge) still count. Clearance queries are exact
distances to those points (a k-d tree); unseen space counts as free.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from robocritic.dynamics.unicycle import to_robot_frame, to_world_frame, unicycle_arcs, wrap_angle
from robocritic.envs.nav.sensors import DepthConfig
from robocritic.envs.nav.world import World
from robocritic.navdp.expert import CostToGo, ExpertConfig, extract_path, solve_cost_to_go
from robocritic.navdp.plan import Plan
from robocritic.utils.fields import check_int, check_real

__all__ = [
    "CommandPlan",
    "DWAConfig",
    "DWAPlanner",
    "DepthProjector",
    "ExpertPlanner",
    "LocalCostmap",
    "PointMemory",
    "StraightConfig",
    "StraightToGoal",
    "stop_plan",
]


@dataclass(frozen=True)
class CommandPlan(Plan):
    """A :class:`~robocritic.navdp.planner.Plan` that also carries the velocity command to hold
    until the next plan (a velocity-space planner such as DWA), instead of a path to track.

    Attributes:
        command: ``(2,)`` ``[v, omega]`` (m/s, rad/s); ``None`` = track ``path``.
    """

    command: np.ndarray | None = None


def stop_plan(rotate: int = 0) -> Plan:
    """A plan that stops (``rotate`` +1 / -1: turn in place that way; 0: wait)."""
    return Plan(candidates=np.zeros((1, 1, 3), dtype=np.float32), scores=np.full(1, np.nan, dtype=np.float32),
                best=0, stop=True, rotate=int(rotate))


def _goal_vector(goal: np.ndarray | tuple[float, float]) -> np.ndarray:
    g = np.asarray(goal, dtype=np.float64).reshape(-1)
    if g.shape != (2,) or not np.isfinite(g).all():
        raise ValueError(f"goal: expected finite (x, y) [m] in the robot frame; got {goal!r}")
    return g


# ---- local costmap ------------------------------------------------------------------------------
class DepthProjector:
    """Depth image -> 2-D obstacle points in the robot frame (module docstring).

    Args:
        depth: the camera (intrinsics, mounting, valid range).
        min_height, max_height: collision band above the floor, m.
        resolution: points are thinned to one per square cell of this size, m (0 = keep all).
    """

    def __init__(self, depth: DepthConfig | None = None, *, min_height: float = 0.02, max_height: float = 0.4,
                 resolution: float = 0.02) -> None:
        self.depth_config = depth or DepthConfig()
        check_real("DepthProjector", "min_height", min_height, low=0.0)
        check_real("DepthProjector", "max_height", max_height, low=min_height, low_open=True)
        check_real("DepthProjector", "resolution", resolution, low=0.0)
        self.min_height, self.max_height = float(min_height), float(max_height)
        self.resolution = float(resolution)
        self._dirs = self.depth_config.ray_directions()  # (H * W, 3), unit optical-axis component
        cx, cz = self.depth_config.position
        self._origin = np.array([cx, 0.0, cz])

    def points(self, depth: np.ndarray) -> np.ndarray:
        """Obstacle points ``(P, 2)`` m in the robot frame from a depth image ``(H, W)`` m (0 = no
        return)."""
        cfg = self.depth_config
        d = np.asarray(depth, dtype=np.float64)
        if d.shape != (cfg.height, cfg.width):
            raise ValueError(f"depth: expected shape {(cfg.height, cfg.width)} [m]; got {d.shape}")
        d = d.reshape(-1)
        valid = np.isfinite(d) & (d > 0)
        pts = self._origin + d[valid, None] * self._dirs[valid]
        band = (pts[:, 2] >= self.min_height) & (pts[:, 2] <= self.max_height)
        xy = pts[band, :2]
        if self.resolution > 0 and len(xy):
            cells = np.unique(np.floor(xy / self.resolution).astype(np.int64), axis=0)
            xy = (cells + 0.5) * self.resolution
        return xy


class PointMemory:
    """Obstacle points of the last ``frames`` depth frames, kept in the odometry frame.

    :meth:`update` adds the current frame's points (robot frame) at the odometry ``pose`` and
    returns the remembered points within ``radius`` m, in the current robot frame, thinned to one
    per ``resolution`` cell. Without a pose, only the current frame is used (and the memory is
    cleared).
    """

    def __init__(self, frames: int = 24, *, radius: float = 3.0, resolution: float = 0.02) -> None:
        check_int("PointMemory", "frames", frames, low=1)
        check_real("PointMemory", "radius", radius, low=0.0, low_open=True)
        check_real("PointMemory", "resolution", resolution, low=0.0)
        self.frames, self.radius, self.resolution = int(frames), float(radius), float(resolution)
        self._world: deque[np.ndarray] = deque(maxlen=self.frames)

    def reset(self) -> None:
        self._world.clear()

    def update(self, points: np.ndarray, pose: np.ndarray | None) -> np.ndarray:
        """All remembered points ``(P, 2)`` in the frame of the robot at ``pose`` ``[x, y, yaw]``."""
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if pose is None:
            self._world.clear()
            local = points
        else:
            pose = np.asarray(pose, dtype=np.float64)
            self._world.append(to_world_frame(pose, points))
            local = to_robot_frame(pose, np.concatenate(list(self._world)))
        local = local[np.einsum("ij,ij->i", local, local) <= self.radius**2]
        if self.resolution > 0 and len(local):
            cells = np.unique(np.floor(local / self.resolution).astype(np.int64), axis=0)
            local = (cells + 0.5) * self.resolution
        return local


class LocalCostmap:
    """The local obstacle map: obstacle points ``(P, 2)`` m in the robot frame and exact distance
    queries to them (a k-d tree).

    Args:
        points: obstacle points, robot frame, m.
        max_distance: distances beyond this read ``inf`` (the query stops looking), m.
    """

    def __init__(self, points: np.ndarray, *, max_distance: float = math.inf) -> None:
        self.points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        self.max_distance = float(max_distance)
        self._tree = cKDTree(self.points) if len(self.points) else None

    def clearance(self, xy: np.ndarray) -> np.ndarray:
        """Distance ``(...)`` m from points ``(..., 2)`` (robot frame) to the nearest obstacle point
        (``inf`` when none lies within ``max_distance``)."""
        p = np.asarray(xy, dtype=np.float64)
        if self._tree is None:
            return np.full(p.shape[:-1], np.inf)
        d, _ = self._tree.query(p.reshape(-1, 2), distance_upper_bound=self.max_distance)
        return d.reshape(p.shape[:-1])


# ---- straight to goal ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StraightConfig:
    """Settings of :class:`StraightToGoal`.

    Attributes:
        robot_radius: m. corridor_margin: the corridor is ``robot_radius + corridor_margin`` m wide
            on each side. stop_distance: free space required beyond the robot's front, m (covers
            the travel between two plans: 0.125 m at 0.5 m/s and 4 Hz). turn_angle: a goal farther
            off the heading than this is turned to on the spot (no stop check needed), rad.
        spacing: waypoint spacing of the path, m. horizon: the path ends at the goal or this far, m.
        memory: depth frames remembered (with odometry poses). min_height, max_height: collision
            band, m.
    """

    robot_radius: float = 0.2
    corridor_margin: float = 0.05
    stop_distance: float = 0.3
    turn_angle: float = 0.5
    spacing: float = 0.1
    horizon: float = 3.0
    memory: int = 24
    min_height: float = 0.02
    max_height: float = 0.4

    def __post_init__(self) -> None:
        owner = "StraightConfig"
        for name in ("robot_radius", "spacing", "horizon"):
            check_real(owner, name, getattr(self, name), low=0.0, low_open=True)
        for name in ("corridor_margin", "stop_distance", "min_height"):
            check_real(owner, name, getattr(self, name), low=0.0)
        check_real(owner, "turn_angle", self.turn_angle, low=0.0, high=math.pi)
        check_real(owner, "max_height", self.max_height, low=self.min_height, low_open=True)
        check_int(owner, "memory", self.memory, low=1)


class StraightToGoal:
    """Straight to the goal, stopping in front of obstacles (module docstring)."""

    def __init__(self, config: StraightConfig | None = None, depth: DepthConfig | None = None) -> None:
        self.config = cfg = config or StraightConfig()
        self.projector = DepthProjector(depth, min_height=cfg.min_height, max_height=cfg.max_height)
        self.memory = PointMemory(cfg.memory)

    def reset(self) -> None:
        """Forget remembered obstacles (a new episode)."""
        self.memory.reset()

    def blocked(self, points: np.ndarray) -> bool:
        """Whether an obstacle point ``(P, 2)`` (robot frame) lies in the stopping corridor."""
        cfg = self.config
        p = np.asarray(points).reshape(-1, 2)
        inside = ((p[:, 0] > 0) & (p[:, 0] <= cfg.robot_radius + cfg.stop_distance)
                  & (np.abs(p[:, 1]) <= cfg.robot_radius + cfg.corridor_margin))
        return bool(inside.any())

    def plan(self, depth: np.ndarray, goal: np.ndarray | tuple[float, float], *,
             pose: np.ndarray | None = None) -> Plan:
        """The plan for depth ``(H, W)`` m and a goal ``(2,)`` m in the robot frame; ``pose``: the
        odometry pose ``[x, y, yaw]`` (enables the point memory)."""
        cfg = self.config
        g = _goal_vector(goal)
        points = self.memory.update(self.projector.points(depth), pose)
        bearing = math.atan2(g[1], g[0])
        if abs(bearing) < cfg.turn_angle and self.blocked(points):
            return stop_plan(0)
        dist = float(np.hypot(*g))
        length = min(dist, cfg.horizon)
        n = max(1, math.ceil(length / cfg.spacing - 1e-9))
        s = np.linspace(length / n, length, n)
        direction = g / max(dist, 1e-12)
        path = np.zeros((n, 3), dtype=np.float32)
        path[:, :2] = s[:, None] * direction
        path[:, 2] = bearing
        return Plan(candidates=path[None], scores=np.full(1, np.nan, dtype=np.float32), best=0, stop=False,
                    rotate=0)


# ---- dynamic window approach --------------------------------------------------------------------
@dataclass(frozen=True)
class DWAConfig:
    """Settings of :class:`DWAPlanner`.

    Attributes:
        v_max: m/s. omega_max: rad/s (the robot's limits).
        v_samples, omega_samples: grid of the dynamic window (``omega_samples`` odd keeps 0).
        accel_v, accel_omega: acceleration limits, m/s^2 and rad/s^2; with the current velocity
            they bound the window reachable within ``window_time`` s (the replanning period).
        whole_arc: an arc is admissible only if it runs free for the whole horizon (default);
            else if the robot can stop inside its free part, ``v window_time + v^2 / (2 brake)`` m.
        brake: deceleration assumed by the stopping rule, m/s^2.
        horizon: rollout length, s. dt: rollout step, s.
        turn_angle: a goal farther off the heading than this is turned to on the spot first, rad.
        robot_radius, safety_margin: an arc pose closer than their sum to an obstacle point (or,
            when the robot is already that close, one ``resolution`` closer than it is now, or not
            farther at the arc's end) ends the arc's free part, m.
        clearance_cap: clearance beyond this counts as full, m.
        heading_weight, progress_weight, clearance_weight, velocity_weight: score terms, each in
            [0, 1] (progress in [-1, 1]).
        memory: depth frames remembered (with odometry poses). min_height, max_height: collision
            band, m. memory_radius: remembered points farther than this are dropped, m.
            resolution: obstacle points are thinned to one per cell of this size, m.
    """

    v_max: float = 0.5
    omega_max: float = 1.0
    v_samples: int = 6
    omega_samples: int = 21
    accel_v: float = 2.0
    accel_omega: float = 4.0
    window_time: float = 0.25
    brake: float = 1.0
    whole_arc: bool = True
    horizon: float = 2.0
    dt: float = 0.1
    turn_angle: float = 2 * math.pi / 3
    robot_radius: float = 0.2
    safety_margin: float = 0.08
    clearance_cap: float = 0.6
    heading_weight: float = 0.6
    progress_weight: float = 1.0
    clearance_weight: float = 0.4
    velocity_weight: float = 0.2
    memory: int = 24
    min_height: float = 0.02
    max_height: float = 0.4
    memory_radius: float = 3.0
    resolution: float = 0.02

    def __post_init__(self) -> None:
        owner = "DWAConfig"
        for name in ("v_max", "omega_max", "accel_v", "accel_omega", "window_time", "brake", "horizon", "dt",
                     "robot_radius", "clearance_cap", "memory_radius", "resolution"):
            check_real(owner, name, getattr(self, name), low=0.0, low_open=True)
        for name in ("safety_margin", "heading_weight", "progress_weight", "clearance_weight",
                     "velocity_weight", "min_height"):
            check_real(owner, name, getattr(self, name), low=0.0)
        check_real(owner, "max_height", self.max_height, low=self.min_height, low_open=True)
        check_real(owner, "turn_angle", self.turn_angle, low=0.0, high=math.pi)
        check_int(owner, "v_samples", self.v_samples, low=2)
        check_int(owner, "omega_samples", self.omega_samples, low=1)
        check_int(owner, "memory", self.memory, low=1)
        if self.dt > self.horizon:
            raise ValueError(f"{owner}.dt must be <= horizon ({self.horizon!r} s); got {self.dt!r}")

    @property
    def steps(self) -> int:
        """Rollout steps per arc."""
        return max(1, round(self.horizon / self.dt))


class DWAPlanner:
    """The dynamic window approach on a depth costmap (module docstring)."""

    def __init__(self, config: DWAConfig | None = None, depth: DepthConfig | None = None) -> None:
        self.config = cfg = config or DWAConfig()
        self.projector = DepthProjector(depth, min_height=cfg.min_height, max_height=cfg.max_height,
                                        resolution=cfg.resolution)
        self.memory = PointMemory(cfg.memory, radius=cfg.memory_radius, resolution=cfg.resolution)
        self._times = cfg.dt * np.arange(1, cfg.steps + 1)
        self.last_costmap: LocalCostmap | None = None
        self._recovery = 0  # committed turn direction while no moving arc is admissible

    def reset(self) -> None:
        """Forget remembered obstacles and the recovery turn (a new episode)."""
        self.memory.reset()
        self.last_costmap = None
        self._recovery = 0

    def window(self, velocity: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sampled commands ``v`` ``(K,)`` m/s and ``omega`` ``(K,)`` rad/s of the dynamic window
        around ``velocity`` ``[v, omega]`` (the whole box without one)."""
        cfg = self.config
        v_lo, v_hi, w_lo, w_hi = 0.0, cfg.v_max, -cfg.omega_max, cfg.omega_max
        if velocity is not None:
            v0, w0 = (float(a) for a in np.asarray(velocity).reshape(-1)[:2])
            v_lo = max(v_lo, v0 - cfg.accel_v * cfg.window_time)
            v_hi = min(v_hi, v0 + cfg.accel_v * cfg.window_time)
            w_lo = max(w_lo, w0 - cfg.accel_omega * cfg.window_time)
            w_hi = min(w_hi, w0 + cfg.accel_omega * cfg.window_time)
            v_lo, w_lo = min(v_lo, v_hi), min(w_lo, w_hi)
        vs = np.unique(np.concatenate([np.linspace(v_lo, v_hi, cfg.v_samples), [0.0] if v_lo <= 0 else []]))
        ws = np.linspace(w_lo, w_hi, cfg.omega_samples)
        if w_lo < 0 < w_hi:
            ws = np.unique(np.append(ws, 0.0))
        v, w = np.meshgrid(vs, ws, indexing="ij")
        return v.reshape(-1), w.reshape(-1)

    def free_steps(self, arcs: np.ndarray, costmap: LocalCostmap) -> np.ndarray:
        """Poses ``(K,)`` of each arc ``(K, T, 3)`` before its first one within the rejection
        clearance (``T`` = free throughout)."""
        cfg = self.config
        limit = cfg.robot_radius + cfg.safety_margin
        now = float(costmap.clearance(np.zeros(2)))
        along = costmap.clearance(arcs[..., :2])
        if now >= limit:
            hit = along < limit
        else:  # already too close (points seen late): a way out may dip one cell but must end farther
            hit = (along < now - cfg.resolution) | ((np.arange(along.shape[1]) == along.shape[1] - 1)
                                                    & (along < now))
        return np.where(hit.any(axis=1), np.argmax(hit, axis=1), hit.shape[1])

    def score(self, arcs: np.ndarray, v: np.ndarray, goal: np.ndarray, costmap: LocalCostmap) -> np.ndarray:
        """Scores ``(K,)`` of arcs ``(K, T, 3)`` (robot frame) driven at ``v`` ``(K,)`` toward ``goal``
        ``(2,)``, ``-inf`` for inadmissible ones.

        An arc's free part ends before its first pose within ``robot_radius + safety_margin`` of an
        obstacle point (within the current clearance, if the robot is already closer); the arc is
        admissible if it is free throughout (``whole_arc``) or the robot can stop inside its free
        part (``v window_time + v^2 / (2 brake)`` m). Turning on the spot is always admissible.
        Terms, on the free part: heading to the goal at its last pose, progress toward the goal
        (per ``v_max horizon``), clearance above the radius (per ``clearance_cap``) and speed.
        """
        cfg = self.config
        k, t = arcs.shape[:2]
        free = self.free_steps(arcs, costmap)
        if cfg.whole_arc:
            admissible = free == t
        else:
            admissible = free * v * cfg.dt >= v * cfg.window_time + v**2 / (2 * cfg.brake) - 1e-12
        mask = np.arange(t)[None, :] < free[:, None]  # (K, T) poses on the free part
        start = np.zeros(3)
        end = np.where((free > 0)[:, None], arcs[np.arange(k), np.maximum(free - 1, 0)], start)
        to_goal = goal - end[:, :2]
        heading = 1.0 - np.abs(wrap_angle(np.arctan2(to_goal[:, 1], to_goal[:, 0]) - end[:, 2])) / math.pi
        d0 = float(np.hypot(*goal))
        d = np.where(mask, np.linalg.norm(goal - arcs[..., :2], axis=-1), d0)
        progress = (d0 - d.min(axis=1)) / (cfg.v_max * cfg.horizon)
        near = np.where(mask, costmap.clearance(arcs[..., :2]), np.inf).min(axis=1)
        near = np.minimum(near, float(costmap.clearance(np.zeros(2))))
        clearance = np.clip(near - cfg.robot_radius, 0.0, cfg.clearance_cap) / cfg.clearance_cap
        total = (cfg.heading_weight * heading + cfg.progress_weight * progress
                 + cfg.clearance_weight * clearance + cfg.velocity_weight * v / cfg.v_max)
        return np.where(admissible, total, -np.inf)

    def plan(self, depth: np.ndarray, goal: np.ndarray | tuple[float, float], *,
             pose: np.ndarray | None = None, velocity: np.ndarray | None = None) -> Plan:
        """The plan for depth ``(H, W)`` m and a goal ``(2,)`` m in the robot frame; ``pose``: the
        odometry pose ``[x, y, yaw]`` (enables the point memory); ``velocity``: ``[v, omega]`` (the
        dynamic window's centre; the whole box without it).

        Returns a :class:`CommandPlan`: the candidates are all sampled arcs ``(K, T, 3)`` and the
        scores theirs (``-inf`` = inadmissible); ``best`` is the best admissible moving arc
        (``v > 0``) and ``command`` its ``[v, omega]``, to be held until the next plan (DWA is a
        velocity-space planner: the arc is its prediction). The plan says stop and rotate instead
        when the goal lies more than
        ``turn_angle`` off the heading (toward the goal) or no moving arc is admissible (recovery:
        toward the side whose arcs run free the longest, kept until a moving arc is taken again).
        """
        cfg = self.config
        g = _goal_vector(goal)
        points = self.memory.update(self.projector.points(depth), pose)
        reach = cfg.robot_radius + cfg.clearance_cap + cfg.v_max * cfg.horizon
        costmap = LocalCostmap(points, max_distance=reach)
        self.last_costmap = costmap
        v, w = self.window(velocity)
        arcs = unicycle_arcs(v, w, self._times)
        scores = self.score(arcs, v, g, costmap)
        moving = (v > 1e-3) & np.isfinite(scores)
        bearing = math.atan2(g[1], g[0])
        candidates = arcs.astype(np.float32)
        if moving.any() and abs(bearing) <= cfg.turn_angle:
            self._recovery = 0
            best = int(np.argmax(np.where(moving, scores, -np.inf)))
            return CommandPlan(candidates=candidates, scores=scores.astype(np.float32), best=best, stop=False,
                               rotate=0, command=np.array([v[best], w[best]]))
        if moving.any():  # the goal is behind: face it first
            rotate = 1 if bearing >= 0 else -1
        else:
            if not self._recovery:
                self._recovery = self._free_side(arcs, v, w, costmap, bearing)
            rotate = self._recovery
        spin = np.flatnonzero(v <= 1e-3)
        best = int(spin[np.argmin(np.abs(w[spin] - rotate * cfg.omega_max))])
        return Plan(candidates=candidates, scores=scores.astype(np.float32), best=best, stop=True,
                    rotate=rotate)

    def _free_side(self, arcs: np.ndarray, v: np.ndarray, w: np.ndarray, costmap: LocalCostmap,
                   bearing: float) -> int:
        """+1 (left) or -1: the side whose moving arcs run free the longest; on a tie the short way
        to face away from the nearest obstacle point (without points: the goal's side)."""
        free = np.where(v > 1e-3, self.free_steps(arcs, costmap), -1)
        left, right = free[w > 0].max(initial=-1), free[w < 0].max(initial=-1)
        if left != right:
            return 1 if left > right else -1
        if len(costmap.points):  # turn the short way to face away from the nearest obstacle point
            nearest = costmap.points[np.argmin(np.einsum("ij,ij->i", costmap.points, costmap.points))]
            away = float(wrap_angle(math.atan2(nearest[1], nearest[0]) + math.pi))
            return 1 if away >= 0 else -1
        return 1 if bearing >= 0 else -1


# ---- privileged expert --------------------------------------------------------------------------
class ExpertPlanner:
    """The privileged planner as a local planner: the expert path from the robot's true pose.

    Args:
        world: the world (its ESDF is privileged). goal: ``(2,)`` world frame, m.
        config: expert settings. horizon: the plan holds the first ``horizon`` m of the path.
        cost_to_go: a solve for this world and goal to reuse (default: solved here, ~0.1 s).
    """

    def __init__(self, world: World, goal: np.ndarray, config: ExpertConfig | None = None, *,
                 horizon: float = 3.0, cost_to_go: CostToGo | None = None) -> None:
        check_real("ExpertPlanner", "horizon", horizon, low=0.0, low_open=True)
        self.world = world
        self.horizon = float(horizon)
        self.cost_to_go = cost_to_go if cost_to_go is not None else solve_cost_to_go(world, goal, config)

    def plan(self, pose: np.ndarray) -> Plan:
        """The plan (robot frame) from the true pose ``[x, y, yaw]``; stop-and-rotate if the pose
        cannot reach the goal."""
        pose = np.asarray(pose, dtype=np.float64)
        try:
            path = extract_path(self.cost_to_go, self.world, pose[:2])
        except ValueError:
            return stop_plan(1)
        pts = path.points[1:] if len(path.points) > 1 else path.points
        arc = np.cumsum(np.linalg.norm(np.diff(np.concatenate([pose[None, :2], pts]), axis=0), axis=1))
        keep = max(1, int(np.searchsorted(arc, self.horizon, side="right")))
        pts, yaw = pts[:keep], (path.yaw[1:] if len(path.points) > 1 else path.yaw)[:keep]
        local = np.zeros((len(pts), 3), dtype=np.float32)
        local[:, :2] = to_robot_frame(pose, pts)
        local[:, 2] = wrap_angle(yaw - pose[2])
        return Plan(candidates=local[None], scores=np.full(1, np.nan, dtype=np.float32), best=0, stop=False,
                    rotate=0)
