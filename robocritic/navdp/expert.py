"""The privileged expert: shortest clearance-weighted paths on a world's grid.

One Dijkstra solve from the goal (:func:`solve_cost_to_go`) gives the cost-to-go of every cell;
any start then gets its path by descending that field (:func:`extract_path`), so one solve
serves every start of an episode, every recovery start and every hindsight sub-path.

Cost model (:class:`ExpertConfig`): cells with ESDF below ``robot_radius + safety_margin`` are
blocked; a free cell costs ``w = 1 + clearance_gain * max(0, 1 - e / clearance_range)^2`` per
metre, ``e`` = ESDF minus the blocking clearance, so paths keep away from obstacles where room
allows; an 8-connected move costs its length times the mean ``w`` of its two cells
(:func:`robocritic.envs.nav.grid.cost_to_go`). Cost-to-go is in weighted metres.

Path: the descent cells' centres between the exact start and goal, Gaussian-smoothed along the
arc (``smoothing`` m; where smoothing would bring the path closer to an obstacle than the
blocking clearance it is turned down gradually towards the raw path) and resampled every
``spacing`` m of arc, the last point exactly the goal. All arrays are in the world frame (m, rad).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, minimum_filter1d

from robocritic.envs.nav.constants import SAFETY_MARGIN
from robocritic.envs.nav.grid import GridMap, cost_to_go, descend
from robocritic.envs.nav.world import World
from robocritic.utils.fields import check_real
from robocritic.utils.validation import as_vector, readonly_array

__all__ = [
    "CostToGo",
    "ExpertConfig",
    "ExpertPath",
    "RecoveryStart",
    "clearance_weights",
    "extract_path",
    "plan",
    "recovery_starts",
    "resample_path",
    "solve_cost_to_go",
]

_OWNER = "ExpertConfig"


@dataclass(frozen=True)
class ExpertConfig:
    """Settings of the privileged expert.

    Attributes:
        robot_radius: m.
        safety_margin: extra clearance beyond the radius below which cells are blocked, m.
        clearance_gain: extra cost factor at the blocking clearance (0 = plain shortest paths).
        clearance_range: clearance beyond the blocking one at which the extra cost is gone, m.
        spacing: waypoint spacing of returned paths, m.
        smoothing: Gaussian smoothing length along the path, m (0 = none).
        snap_radius: a start or goal on a blocked cell joins the graph through free cells this
            close, m.
    """

    robot_radius: float = 0.2
    safety_margin: float = SAFETY_MARGIN
    clearance_gain: float = 4.0
    clearance_range: float = 0.6
    spacing: float = 0.1
    smoothing: float = 0.2
    snap_radius: float = 0.3

    def __post_init__(self) -> None:
        check_real(_OWNER, "robot_radius", self.robot_radius, low=0.0, low_open=True)
        check_real(_OWNER, "safety_margin", self.safety_margin, low=0.0)
        check_real(_OWNER, "clearance_gain", self.clearance_gain, low=0.0)
        check_real(_OWNER, "clearance_range", self.clearance_range, low=0.0, low_open=True)
        check_real(_OWNER, "spacing", self.spacing, low=0.0, low_open=True)
        check_real(_OWNER, "smoothing", self.smoothing, low=0.0)
        check_real(_OWNER, "snap_radius", self.snap_radius, low=0.0)

    @property
    def blocking_clearance(self) -> float:
        """ESDF below which a cell is blocked, m."""
        return self.robot_radius + self.safety_margin


def clearance_weights(esdf: np.ndarray, config: ExpertConfig) -> np.ndarray:
    """Cost per metre of each cell, ``(nx, ny)``: ``inf`` where blocked, else >= 1 (see the
    module docstring)."""
    e = np.asarray(esdf, dtype=np.float64) - config.blocking_clearance
    extra = config.clearance_gain * np.square(np.clip(1.0 - e / config.clearance_range, 0.0, 1.0))
    return np.where(e >= 0.0, 1.0 + extra, np.inf)


@dataclass(frozen=True, eq=False)
class CostToGo:
    """Cost-to-go to one goal on a world's grid.

    Attributes:
        grid: the grid geometry.
        goal: (2,) world frame, m.
        cost: ``(nx, ny)`` weighted metres to the goal; ``inf`` = blocked or unreachable.
        weights: ``(nx, ny)`` cell weights it was solved with.
        config: the expert settings.
    """

    grid: GridMap
    goal: np.ndarray
    cost: np.ndarray
    weights: np.ndarray
    config: ExpertConfig

    def value(self, points: np.ndarray) -> np.ndarray:
        """Cost-to-go ``(...)`` at points ``(..., 2)`` m: the containing cell's, or for a point in a
        blocked cell, the least ``cost + distance`` over its reachable 8-neighbours (``inf`` if
        none)."""
        p = np.asarray(points, dtype=np.float64)
        out = np.array(self.grid.sample(self.cost, p, bilinear=False), dtype=np.float64)
        bad = ~np.isfinite(out)
        if bad.any():
            q = p[bad]
            cell = self.grid.cell_of(q)
            nx, ny = self.grid.shape
            best = np.full(len(q), np.inf)
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    c = cell + (dx, dy)
                    on = (c[:, 0] >= 0) & (c[:, 0] < nx) & (c[:, 1] >= 0) & (c[:, 1] < ny)
                    cc = np.clip(c, 0, (nx - 1, ny - 1))
                    v = np.where(on, self.cost[cc[:, 0], cc[:, 1]], np.inf)
                    best = np.minimum(best, v + np.linalg.norm(self.grid.centre_of(cc) - q, axis=1))
            out[bad] = best
        return out

    def entry_cell(self, point: np.ndarray) -> np.ndarray | None:
        """The cell a path from ``point`` starts its descent in: its own cell if reachable, else
        the reachable cell within ``snap_radius`` of lowest ``distance + cost``; ``None`` if none."""
        cell = self.grid.cell_of(point)
        nx, ny = self.grid.shape
        if 0 <= cell[0] < nx and 0 <= cell[1] < ny and math.isfinite(self.cost[cell[0], cell[1]]):
            return cell
        return _near_cell(self.grid, np.isfinite(self.cost), point, self.config.snap_radius, self.cost)


def _near_cell(grid: GridMap, mask: np.ndarray, point: np.ndarray, radius: float,
               score: np.ndarray | None = None) -> np.ndarray | None:
    """The cell of ``mask`` within ``radius`` m of ``point`` with the least distance (plus
    ``score``), or ``None``."""
    r = radius + grid.resolution
    lo = np.maximum(grid.cell_of(point - r), 0)
    hi = np.minimum(grid.cell_of(point + r) + 1, grid.shape)
    if np.any(hi <= lo):
        return None
    sub = np.argwhere(mask[lo[0]:hi[0], lo[1]:hi[1]]) + lo
    if sub.size == 0:
        return None
    d = np.linalg.norm(grid.centre_of(sub) - point, axis=1)
    keep = d <= radius
    if not keep.any():
        return None
    sub, d = sub[keep], d[keep]
    total = d if score is None else d + score[sub[:, 0], sub[:, 1]]
    return sub[int(np.argmin(total))]


def solve_cost_to_go(world: World, goal: np.ndarray, config: ExpertConfig | None = None) -> CostToGo:
    """Dijkstra from ``goal`` (2,) m over ``world``'s clearance-weighted grid.

    Raises:
        ValueError: naming ``goal`` if it is not finite, off the grid, or no free cell lies
            within ``snap_radius`` of it.
    """
    config = config or ExpertConfig()
    g = as_vector("goal", goal, 2)
    grid = world.grid
    if not bool(grid.contains(g)):
        raise ValueError(f"goal must lie on the world's grid; got {g.tolist()}")
    weights = clearance_weights(world.esdf, config)
    free = np.isfinite(weights)
    cell = grid.cell_of(g)
    if not free[cell[0], cell[1]]:
        cell = _near_cell(grid, free, g, config.snap_radius)
        if cell is None:
            raise ValueError(f"goal has no free cell (ESDF >= {config.blocking_clearance:g} m) within "
                             f"{config.snap_radius:g} m; got {g.tolist()}")
    cost = cost_to_go(weights, cell[None], grid.resolution)
    return CostToGo(grid, readonly_array(g), readonly_array(cost), readonly_array(weights), config)


@dataclass(frozen=True, eq=False)
class ExpertPath:
    """A path to the goal.

    Attributes:
        points: ``(N, 2)`` waypoints, world frame, m; ``points[0]`` the start, ``points[-1]`` the
            goal, ``spacing`` m apart (the last step may be shorter).
        yaw: ``(N,)`` heading of the path at each waypoint, rad (the last repeats the one before).
        cost_to_go: ``(N,)`` cost-to-go of each waypoint's cell, weighted m.
        clearance: ``(N,)`` ESDF at each waypoint (bilinear), m.
        cells: ``(K, 2)`` grid cells of the descent the path was smoothed from.
        cell_cost: ``(K,)`` cost-to-go along ``cells`` (strictly decreasing).
    """

    points: np.ndarray
    yaw: np.ndarray
    cost_to_go: np.ndarray
    clearance: np.ndarray
    cells: np.ndarray
    cell_cost: np.ndarray

    @property
    def length(self) -> float:
        """Arc length, m."""
        return float(np.linalg.norm(np.diff(self.points, axis=0), axis=1).sum())

    @property
    def start(self) -> np.ndarray:
        return self.points[0]

    @property
    def goal(self) -> np.ndarray:
        return self.points[-1]


def resample_path(points: np.ndarray, spacing: float) -> np.ndarray:
    """Points ``(M, 2)`` every ``spacing`` m of arc along the polyline ``points`` ``(N, 2)``;
    the first and last points are kept exactly (the last step may be shorter)."""
    p = np.asarray(points, dtype=np.float64)
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    keep = np.concatenate([[True], seg > 1e-12])
    p, arc = p[keep], np.concatenate([[0.0], np.cumsum(seg[seg > 1e-12])])
    if len(p) < 2:
        return p[:1].copy()
    total = arc[-1]
    s = np.arange(0.0, total, spacing)
    if total - s[-1] < 1e-9:
        s = s[:-1]
    s = np.append(s, total)
    return np.stack([np.interp(s, arc, p[:, 0]), np.interp(s, arc, p[:, 1])], axis=-1)


def _headings(points: np.ndarray) -> np.ndarray:
    if len(points) < 2:
        return np.zeros(len(points))
    d = np.diff(points, axis=0)
    yaw = np.arctan2(d[:, 1], d[:, 0])
    return np.append(yaw, yaw[-1])


def _guard_clearance(world: World, raw: np.ndarray, smooth: np.ndarray, blocking: float, sigma: float,
                     ) -> np.ndarray:
    """Blend ``raw + alpha (smooth - raw)`` ``(M, 2)``: ``alpha`` is 1 where the smoothed point
    keeps the blocking clearance (or is no closer than the raw one), lowered in steps of 1/4
    where not, then spread along the path (a running minimum over ``sigma`` samples each side,
    then a Gaussian of ``sigma``) so the fall-back is gradual; any point still worse than its raw
    one takes the raw one."""
    c_raw = world.clearance(raw)

    def bad(points: np.ndarray) -> np.ndarray:
        c = world.clearance(points)
        return (c < blocking) & (c < c_raw)

    delta = smooth - raw
    alpha = np.ones(len(raw))
    for a in (0.75, 0.5, 0.25, 0.0):
        worse = bad(raw + alpha[:, None] * delta)
        if not worse.any():
            break
        alpha[worse] = a
    if alpha.min() < 1.0:
        alpha = minimum_filter1d(alpha, size=2 * math.ceil(sigma) + 1, mode="nearest")
        alpha = np.minimum(alpha, gaussian_filter1d(alpha, sigma, mode="nearest"))
    out = raw + alpha[:, None] * delta
    worse = bad(out)
    out[worse] = raw[worse]
    return out


def extract_path(ctg: CostToGo, world: World, start: np.ndarray) -> ExpertPath:
    """The expert path from ``start`` (2,) m to ``ctg.goal`` (see the module docstring).

    Raises:
        ValueError: naming ``start`` if it is not finite or cannot reach the goal (no reachable
            cell within ``snap_radius``).
    """
    config = ctg.config
    s = as_vector("start", start, 2)
    entry = ctg.entry_cell(s)
    if entry is None:
        raise ValueError(f"start cannot reach the goal {ctg.goal.tolist()} (no reachable cell within "
                         f"{config.snap_radius:g} m); got {s.tolist()}")
    cells = descend(ctg.cost, entry)
    inner = ctg.grid.centre_of(cells[1:-1]) if len(cells) > 2 else np.zeros((0, 2))
    raw = resample_path(np.concatenate([s[None], inner, ctg.goal[None]]), ctg.grid.resolution)
    smooth = raw
    if config.smoothing > 0 and len(raw) > 2:
        sigma = config.smoothing / ctg.grid.resolution
        smooth = np.stack([gaussian_filter1d(raw[:, k], sigma, mode="nearest") for k in range(2)], axis=-1)
        smooth[0], smooth[-1] = raw[0], raw[-1]
        smooth = _guard_clearance(world, raw, smooth, config.blocking_clearance, sigma)
    points = resample_path(smooth, config.spacing)
    return ExpertPath(
        points=readonly_array(points),
        yaw=readonly_array(_headings(points)),
        cost_to_go=readonly_array(ctg.value(points)),
        clearance=readonly_array(world.clearance(points)),
        cells=readonly_array(cells, dtype=np.int64),
        cell_cost=readonly_array(ctg.cost[cells[:, 0], cells[:, 1]]),
    )


def plan(world: World, start: np.ndarray, goal: np.ndarray, config: ExpertConfig | None = None) -> ExpertPath:
    """One-shot :func:`solve_cost_to_go` + :func:`extract_path`."""
    return extract_path(solve_cost_to_go(world, goal, config), world, start)


@dataclass(frozen=True, eq=False)
class RecoveryStart:
    """An off-path start pose and the expert path from it.

    Attributes:
        pose: (3,) [x, y, yaw] world frame, m, rad.
        index: waypoint of the reference path it was drawn next to.
        offset: lateral offset from that waypoint, m (+ = left of the path).
        yaw_error: heading minus the path's heading there, rad.
        path: expert path from ``pose[:2]`` (relabelled by the cost-to-go).
    """

    pose: np.ndarray
    index: int
    offset: float
    yaw_error: float
    path: ExpertPath


def recovery_starts(
    world: World,
    ctg: CostToGo,
    path: ExpertPath,
    n: int,
    rng: np.random.Generator,
    lateral: tuple[float, float] = (0.2, 0.6),
    yaw_noise: float = 0.6,
    goal_keep_out: float = 1.0,
    max_tries: int | None = None,
) -> tuple[RecoveryStart, ...]:
    """Up to ``n`` start poses beside ``path`` (which leads to ``ctg.goal``), each with its own
    expert path from the cost-to-go.

    Each draw: a waypoint uniformly among those farther than ``goal_keep_out`` m (of arc) from
    the goal; a lateral offset ``U(lateral)`` m to a random side; heading = the path's heading
    there + ``U(-yaw_noise, yaw_noise)`` rad. A pose is kept when its ESDF is at least the
    blocking clearance (collision-free with margin) and it reaches the goal. Draws stop after
    ``max_tries`` (default ``20 n``), so fewer than ``n`` may come back.
    """
    if int(n) != n or n < 0:
        raise ValueError(f"n must be an integer >= 0; got {n!r}")
    lo, hi = lateral
    if not (0 <= lo <= hi and math.isfinite(hi)):
        raise ValueError(f"lateral must be (low, high) m with 0 <= low <= high; got {lateral!r}")
    if not (math.isfinite(yaw_noise) and yaw_noise >= 0):
        raise ValueError(f"yaw_noise must be a finite number of radians >= 0; got {yaw_noise!r}")
    pts = path.points
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
    eligible = np.flatnonzero(arc[-1] - arc > goal_keep_out)
    out: list[RecoveryStart] = []
    if eligible.size == 0 or n == 0:
        return ()
    tries = 20 * int(n) if max_tries is None else int(max_tries)
    blocking = ctg.config.blocking_clearance
    for _ in range(tries):
        if len(out) >= n:
            break
        i = int(eligible[rng.integers(eligible.size)])
        offset = float(rng.uniform(lo, hi)) * (1.0 if rng.random() < 0.5 else -1.0)
        yaw_err = float(rng.uniform(-yaw_noise, yaw_noise))
        heading = float(path.yaw[i])
        xy = pts[i] + offset * np.array([-math.sin(heading), math.cos(heading)])
        if not bool(world.inside_arena(xy)) or float(world.clearance(xy)) < blocking:
            continue
        if ctg.entry_cell(xy) is None:
            continue
        yaw = (heading + yaw_err + math.pi) % (2 * math.pi) - math.pi
        out.append(RecoveryStart(readonly_array([xy[0], xy[1], yaw]), i, offset, yaw_err,
                                 extract_path(ctg, world, xy)))
    return tuple(out)
