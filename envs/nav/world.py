"""Procedural navigation worlds: a walled square arena with boxes, cylinders, thin poles, low
obstacles and optional rooms with door gaps, generated from an integer seed.

World frame: x, y horizontal (m), z up, origin at the arena centre; yaw (rad) counter-clockwise
about +z. Every obstacle stands on the floor (z = 0). The perimeter walls lie inside the arena
square, so the whole world fits on the privileged grid.

:func:`generate_world` is a pure function of ``(seed, spec)``: the same pair gives the same
:class:`World` on any machine (numpy's PCG64). A :class:`World` builds its MuJoCo MJCF
(:meth:`World.mjcf`), its 5 cm occupancy grid and ESDF (:attr:`World.occupancy`,
:attr:`World.esdf`), and answers exact clearance queries from the primitives
(:meth:`World.signed_distance`).

Presets (:data:`PRESETS`): ``"default"`` (moderate clutter, sometimes a room with one or two
doors), ``"dense"`` (out of distribution: denser clutter, many thin poles and low obstacles,
dead-end rooms with one door), ``"empty"`` (the perimeter walls only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from functools import cached_property

import numpy as np
from robocritic.envs.nav.grid import GridMap, esdf

from robocritic.utils.fields import is_finite_real, is_int, is_real
from robocritic.utils.validation import readonly_array

__all__ = ["PRESETS", "Obstacle", "World", "WorldSpec", "generate_world", "world_spec"]

#: Obstacle categories.
CATEGORIES = ("wall", "box", "cylinder", "pole", "low")
#: Low obstacles stay below this height, m (under the default 0.25 m scan plane).
LOW_OBSTACLE_CEILING = 0.2
#: Extra corridor between a room and the perimeter walls (besides twice the margin), m.
ROOM_CORRIDOR = 0.5
#: Attempts to place one obstacle before it is skipped.
PLACEMENT_TRIES = 60


@dataclass(frozen=True)
class Obstacle:
    """A static primitive standing on the floor.

    Attributes:
        shape: ``"box"`` or ``"cylinder"``.
        center: (x, y) of its axis, m.
        half_size: box half extents (hx, hy) in its own frame, m; a cylinder's (r, r).
        yaw: box rotation about +z, rad (0 for cylinders).
        height: m, from the floor.
        category: one of :data:`CATEGORIES` (for statistics and rendering colours).
    """

    shape: str
    center: tuple[float, float]
    half_size: tuple[float, float]
    yaw: float
    height: float
    category: str

    def __post_init__(self) -> None:
        if self.shape not in ("box", "cylinder"):
            raise ValueError(f"Obstacle.shape must be 'box' or 'cylinder'; got {self.shape!r}")
        if self.category not in CATEGORIES:
            raise ValueError(f"Obstacle.category must be one of {list(CATEGORIES)}; got {self.category!r}")
        for name in ("center", "half_size"):
            v = getattr(self, name)
            if len(v) != 2 or not all(is_finite_real(a) for a in v):
                raise ValueError(f"Obstacle.{name} must be two finite numbers; got {v!r}")
            object.__setattr__(self, name, (float(v[0]), float(v[1])))
        if min(self.half_size) <= 0:
            raise ValueError(f"Obstacle.half_size must be > 0; got {self.half_size!r}")
        if self.shape == "cylinder" and self.half_size[0] != self.half_size[1]:
            raise ValueError(f"Obstacle.half_size of a cylinder must be (r, r); got {self.half_size!r}")
        if not (is_finite_real(self.yaw)):
            raise ValueError(f"Obstacle.yaw must be a finite number of radians; got {self.yaw!r}")
        if not (is_finite_real(self.height) and self.height > 0):
            raise ValueError(f"Obstacle.height must be a positive finite number of metres; "
                             f"got {self.height!r}")
        object.__setattr__(self, "yaw", float(self.yaw))
        object.__setattr__(self, "height", float(self.height))

    @property
    def bounding_radius(self) -> float:
        """Radius of the smallest disc about :attr:`center` that holds the footprint, m."""
        return math.hypot(*self.half_size) if self.shape == "box" else self.half_size[0]

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Exact signed distance ``(...)`` m from points ``(..., 2)`` to the footprint (< 0 inside)."""
        d = np.asarray(points, dtype=np.float64) - np.array(self.center)
        if self.shape == "cylinder":
            return np.hypot(d[..., 0], d[..., 1]) - self.half_size[0]
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        qx = np.abs(c * d[..., 0] + s * d[..., 1]) - self.half_size[0]
        qy = np.abs(-s * d[..., 0] + c * d[..., 1]) - self.half_size[1]
        outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
        return outside + np.minimum(np.maximum(qx, qy), 0.0)

    def mirrored_y(self) -> Obstacle:
        """The obstacle reflected in the x axis (y -> -y, yaw -> -yaw)."""
        return replace(self, center=(self.center[0], -self.center[1]), yaw=-self.yaw)

    def mjcf(self, name: str, rgba: str) -> str:
        """One static ``<geom>`` (contype 0, conaffinity 1: only the robot collides with it)."""
        hz = 0.5 * self.height
        common = (f'name="{name}" pos="{self.center[0]:.9g} {self.center[1]:.9g} {hz:.9g}" '
                  f'contype="0" conaffinity="1" rgba="{rgba}"')
        if self.shape == "cylinder":
            return f'<geom type="cylinder" size="{self.half_size[0]:.9g} {hz:.9g}" {common}/>'
        return (f'<geom type="box" size="{self.half_size[0]:.9g} {self.half_size[1]:.9g} {hz:.9g}" '
                f'euler="0 0 {self.yaw:.17g}" {common}/>')


def _pair(owner: str, name: str, value: object, *, integer: bool, low: float, high: float = math.inf,
          low_open: bool = False) -> tuple:
    ok_type = is_int if integer else is_real
    try:
        lo, hi = value  # type: ignore[misc]
    except (TypeError, ValueError):
        lo = hi = None
    ok = (lo is not None and ok_type(lo) and ok_type(hi) and is_finite_real(lo) and is_finite_real(hi)
          and (lo > low if low_open else lo >= low) and lo <= hi <= high)
    if not ok:
        kind = "integers" if integer else "finite numbers"
        bound = f"{'>' if low_open else '>='} {low:g}" + ("" if high == math.inf else f", <= {high:g}")
        raise ValueError(f"{owner}.{name} must be a (low, high) pair of {kind} with low <= high, {bound}; "
                         f"got {value!r}")
    return (int(lo), int(hi)) if integer else (float(lo), float(hi))


@dataclass(frozen=True)
class WorldSpec:
    """Settings of the world generator. Count fields are ``(low, high)`` ranges drawn uniformly
    (inclusive) per world; size fields are ``(low, high)`` ranges in metres.

    Attributes:
        arena_size: (x, y) extent of the square arena including its perimeter walls, m; a
            whole number of grid cells each.
        resolution: cell size of the privileged grid, m.
        wall_thickness: perimeter and room walls, m.
        wall_height: m.
        n_boxes, box_size, box_height: free-standing boxes (side lengths, any yaw).
        n_cylinders, cylinder_radius, cylinder_height: round obstacles.
        n_poles, pole_radius: thin poles (1.5 m tall).
        n_low, low_size, low_height: low boxes below :data:`LOW_OBSTACLE_CEILING` (under a 2-D
            scan, seen by the depth camera, collidable).
        n_rooms, room_size, doors_per_room, door_width: axis-aligned rooms with door gaps; the
            area in front of each door is kept free of clutter.
        min_gap: least clearance between a new obstacle's bounding disc and anything placed
            before it, m (small values let clutter close passages).
        margin: clutter keeps this far from the perimeter walls, m; rooms ``2 margin +
            ROOM_CORRIDOR``.
    """

    arena_size: tuple[float, float] = (10.0, 10.0)
    resolution: float = 0.05
    wall_thickness: float = 0.1
    wall_height: float = 1.0
    n_boxes: tuple[int, int] = (6, 10)
    box_size: tuple[float, float] = (0.3, 1.2)
    box_height: tuple[float, float] = (0.5, 1.2)
    n_cylinders: tuple[int, int] = (3, 6)
    cylinder_radius: tuple[float, float] = (0.1, 0.4)
    cylinder_height: tuple[float, float] = (0.5, 1.2)
    n_poles: tuple[int, int] = (2, 4)
    pole_radius: tuple[float, float] = (0.02, 0.05)
    n_low: tuple[int, int] = (2, 4)
    low_size: tuple[float, float] = (0.3, 0.8)
    low_height: tuple[float, float] = (0.05, 0.15)
    n_rooms: tuple[int, int] = (0, 1)
    room_size: tuple[float, float] = (2.5, 4.0)
    doors_per_room: tuple[int, int] = (1, 2)
    door_width: tuple[float, float] = (0.9, 1.2)
    min_gap: float = 0.6
    margin: float = 0.4

    def __post_init__(self) -> None:
        owner = "WorldSpec"
        set_ = object.__setattr__
        for name in ("resolution", "wall_thickness", "wall_height"):
            v = getattr(self, name)
            if not (is_finite_real(v) and v > 0):
                raise ValueError(f"{owner}.{name} must be a positive finite number of metres; got {v!r}")
            set_(self, name, float(v))
        if self.resolution > 0.5:
            raise ValueError(f"{owner}.resolution must be <= 0.5 m; got {self.resolution!r}")
        for name in ("min_gap", "margin"):
            v = getattr(self, name)
            if not (is_finite_real(v) and v >= 0):
                raise ValueError(f"{owner}.{name} must be a finite number of metres >= 0; got {v!r}")
            set_(self, name, float(v))
        size = _pair(owner, "arena_size", self.arena_size, integer=False, low=2.0)
        for v in size:
            cells = v / self.resolution
            if abs(cells - round(cells)) > 1e-6:
                raise ValueError(f"{owner}.arena_size must be whole multiples of resolution "
                                 f"({self.resolution:g} m); got {self.arena_size!r}")
        set_(self, "arena_size", size)
        for f in fields(self):
            if f.name.startswith("n_") or f.name == "doors_per_room":
                low = 1 if f.name == "doors_per_room" else 0
                set_(self, f.name, _pair(owner, f.name, getattr(self, f.name), integer=True, low=low,
                                         high=4 if f.name == "doors_per_room" else math.inf))
        for name in ("box_size", "box_height", "cylinder_radius", "cylinder_height", "pole_radius",
                     "low_size", "room_size", "door_width"):
            set_(self, name, _pair(owner, name, getattr(self, name), integer=False, low=0.0, low_open=True))
        set_(self, "low_height", _pair(owner, "low_height", self.low_height, integer=False, low=0.0,
                                       high=LOW_OBSTACLE_CEILING, low_open=True))
        interior = min(size) - 2 * self.wall_thickness - 2 * (2 * self.margin + ROOM_CORRIDOR)
        if self.n_rooms[1] > 0 and self.room_size[1] > interior:
            raise ValueError(f"{owner}.room_size must fit in the arena (<= {interior:g} m with these walls "
                             f"and margin); got {self.room_size!r}")
        if self.n_rooms[1] > 0 and self.door_width[1] > self.room_size[0] - 2 * self.wall_thickness - 0.4:
            raise ValueError(f"{owner}.door_width must leave >= 0.2 m of wall beside the door in the "
                             f"smallest room; got {self.door_width!r}")

    @property
    def grid(self) -> GridMap:
        """The privileged grid of every world of this spec (centred on the origin)."""
        nx, ny = (round(v / self.resolution) for v in self.arena_size)
        return GridMap((nx, ny), self.resolution)


#: Named generator settings.
PRESETS: dict[str, WorldSpec] = {
    "default": WorldSpec(),
    "dense": WorldSpec(
        n_boxes=(12, 18), box_size=(0.3, 1.0), n_cylinders=(6, 10), n_poles=(8, 14),
        pole_radius=(0.015, 0.04), n_low=(5, 9), n_rooms=(1, 2), room_size=(2.5, 3.5),
        doors_per_room=(1, 1), min_gap=0.35,
    ),
    "empty": WorldSpec(n_boxes=(0, 0), n_cylinders=(0, 0), n_poles=(0, 0), n_low=(0, 0), n_rooms=(0, 0)),
}


def world_spec(spec: WorldSpec | str) -> WorldSpec:
    """A :class:`WorldSpec` or the name of a preset in :data:`PRESETS`."""
    if isinstance(spec, WorldSpec):
        return spec
    if isinstance(spec, str) and spec in PRESETS:
        return PRESETS[spec]
    raise ValueError(f"world_spec must be a WorldSpec or one of {sorted(PRESETS)}; got {spec!r}")


_RGBA = {"wall": "0.75 0.75 0.72 1", "box": "0.55 0.45 0.35 1", "cylinder": "0.35 0.5 0.6 1",
         "pole": "0.2 0.2 0.2 1", "low": "0.7 0.3 0.25 1"}


@dataclass(frozen=True, eq=False)
class World:
    """One generated world: its spec, the seed that made it (``None`` for hand-built worlds) and
    its obstacles. Grids are computed on first use and are read-only."""

    spec: WorldSpec
    obstacles: tuple[Obstacle, ...]
    seed: int | None = None
    #: Door gap centres (x, y) of the rooms, m (kept free of clutter).
    doors: tuple[tuple[float, float], ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.spec, WorldSpec):
            raise ValueError(f"World.spec must be a WorldSpec; got {type(self.spec).__name__}")
        if not all(isinstance(o, Obstacle) for o in self.obstacles):
            raise ValueError("World.obstacles must all be Obstacle instances")
        object.__setattr__(self, "obstacles", tuple(self.obstacles))

    @property
    def grid(self) -> GridMap:
        return self.spec.grid

    @property
    def half_extent(self) -> tuple[float, float]:
        """Half size (x, y) of the free interior (inside the perimeter walls), m."""
        t = self.spec.wall_thickness
        return (0.5 * self.spec.arena_size[0] - t, 0.5 * self.spec.arena_size[1] - t)

    def inside_arena(self, points: np.ndarray) -> np.ndarray:
        """Whether points ``(..., 2)`` lie inside the perimeter walls, ``(...)`` bool."""
        p = np.asarray(points, dtype=np.float64)
        hx, hy = self.half_extent
        return (np.abs(p[..., 0]) < hx) & (np.abs(p[..., 1]) < hy)

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Exact distance ``(...)`` m from points ``(..., 2)`` to the nearest obstacle footprint
        (< 0 inside one; ``inf`` in a world without obstacles)."""
        p = np.asarray(points, dtype=np.float64)
        out = np.full(p.shape[:-1], np.inf)
        for o in self.obstacles:
            out = np.minimum(out, o.signed_distance(p))
        return out

    @cached_property
    def occupancy(self) -> np.ndarray:
        """Privileged occupancy ``(nx, ny)`` bool (index ``[ix, iy]``, see :mod:`.grid`): a cell
        is occupied when its centre lies within half a cell of an obstacle footprint, so
        obstacles thinner than a cell still show. Obstacles only (no robot inflation)."""
        grid = self.grid
        xs, ys = grid.axis_centres()
        occ = np.zeros(grid.shape, dtype=bool)
        threshold = 0.5 * grid.resolution - 1e-9  # a face on a cell boundary leaves that cell free
        res = grid.resolution
        for o in self.obstacles:
            r = o.bounding_radius + res
            ix = np.flatnonzero(np.abs(xs - o.center[0]) <= r)
            iy = np.flatnonzero(np.abs(ys - o.center[1]) <= r)
            if ix.size == 0 or iy.size == 0:
                continue
            pts = np.stack(np.meshgrid(xs[ix], ys[iy], indexing="ij"), axis=-1)
            block = o.signed_distance(pts) < threshold
            occ[ix[0]:ix[-1] + 1, iy[0]:iy[-1] + 1] |= block
        return readonly_array(occ, dtype=bool)

    @cached_property
    def esdf(self) -> np.ndarray:
        """Signed distance to the nearest obstacle at each cell centre, ``(nx, ny)`` m, from the
        occupancy grid (``scipy.ndimage.distance_transform_edt``; see :func:`.grid.esdf`)."""
        return readonly_array(esdf(self.occupancy, self.grid.resolution))

    def clearance(self, points: np.ndarray, *, bilinear: bool = True) -> np.ndarray:
        """ESDF at points ``(..., 2)`` m, bilinear between cell centres (or the containing
        cell's value), ``(...)`` m."""
        return self.grid.sample(self.esdf, points, bilinear=bilinear)

    def mirrored_y(self) -> World:
        """This world reflected in the x axis (y -> -y): its grids are the mirrored grids."""
        return World(self.spec, tuple(o.mirrored_y() for o in self.obstacles), self.seed,
                     tuple((x, -y) for x, y in self.doors))

    def mjcf(self, bodies: str = "", assets: str = "", name: str = "nav_world") -> str:
        """The MuJoCo model: floor, light and every obstacle as a static geom named
        ``<category>_<k>``; ``bodies`` (MJCF text) is inserted into the worldbody (the robot).
        Angles are radians (``<compiler angle="radian"/>``)."""
        hx, hy = 0.5 * self.spec.arena_size[0], 0.5 * self.spec.arena_size[1]
        counts: dict[str, int] = {}
        geoms = []
        for o in self.obstacles:
            k = counts.get(o.category, 0)
            counts[o.category] = k + 1
            geoms.append("    " + o.mjcf(f"{o.category}_{k}", _RGBA[o.category]))
        extent = max(hx, hy)
        return "\n".join([
            f'<mujoco model="{name}">',
            '  <compiler angle="radian"/>',
            f'  <statistic center="0 0 0.5" extent="{extent:.9g}"/>',
            '  <visual><global offwidth="640" offheight="640"/></visual>',
            "  <asset>",
            ('    <texture name="grid" type="2d" builtin="checker" rgb1="0.32 0.34 0.36" '
             'rgb2="0.28 0.3 0.32" width="256" height="256"/>'),
            '    <material name="floor" texture="grid" texrepeat="10 10"/>',
            assets,
            "  </asset>",
            "  <worldbody>",
            '    <light name="sun" pos="0 0 6" dir="0 0 -1" directional="true"/>',
            (f'    <geom name="floor" type="plane" size="{hx:.9g} {hy:.9g} 0.05" material="floor" '
             'contype="0" conaffinity="0"/>'),
            *geoms,
            bodies,
            "  </worldbody>",
            "</mujoco>",
        ])


# ---- generation ------------------------------------------------------------------------------
def _perimeter(spec: WorldSpec) -> list[Obstacle]:
    ax, ay = spec.arena_size
    t, h = spec.wall_thickness, spec.wall_height
    hx, hy = 0.5 * ax, 0.5 * ay
    return [
        Obstacle("box", (0.0, hy - 0.5 * t), (hx, 0.5 * t), 0.0, h, "wall"),
        Obstacle("box", (0.0, -hy + 0.5 * t), (hx, 0.5 * t), 0.0, h, "wall"),
        Obstacle("box", (hx - 0.5 * t, 0.0), (0.5 * t, hy - t), 0.0, h, "wall"),
        Obstacle("box", (-hx + 0.5 * t, 0.0), (0.5 * t, hy - t), 0.0, h, "wall"),
    ]


def _wall_segment(spec: WorldSpec, a: float, b: float, fixed: float, horizontal: bool) -> Obstacle:
    """A wall from ``a`` to ``b`` along x (``horizontal``) or y, centred on ``fixed``."""
    t = spec.wall_thickness
    mid, half = 0.5 * (a + b), 0.5 * (b - a)
    if horizontal:
        return Obstacle("box", (mid, fixed), (half, 0.5 * t), 0.0, spec.wall_height, "wall")
    return Obstacle("box", (fixed, mid), (0.5 * t, half), 0.0, spec.wall_height, "wall")


def _room(spec: WorldSpec, rng: np.random.Generator, cx: float, cy: float, w: float, h: float,
          ) -> tuple[list[Obstacle], list[tuple[float, float]]]:
    """Walls of a ``w`` x ``h`` m room centred on (cx, cy) with door gaps on distinct sides."""
    t = spec.wall_thickness
    n_doors = int(rng.integers(spec.doors_per_room[0], spec.doors_per_room[1] + 1))
    sides = rng.permutation(4)[:n_doors]
    walls, doors = [], []
    x0, x1, y0, y1 = cx - 0.5 * w, cx + 0.5 * w, cy - 0.5 * h, cy + 0.5 * h
    # side: (horizontal, fixed coordinate, start, end); walls overlap at the corners.
    geometry = [(True, y0 + 0.5 * t, x0, x1), (True, y1 - 0.5 * t, x0, x1),
                (False, x0 + 0.5 * t, y0, y1), (False, x1 - 0.5 * t, y0, y1)]
    for k, (horizontal, fixed, a, b) in enumerate(geometry):
        if k not in sides:
            walls.append(_wall_segment(spec, a, b, fixed, horizontal))
            continue
        width = float(rng.uniform(*spec.door_width))
        lo, hi = a + t + 0.1 + 0.5 * width, b - t - 0.1 - 0.5 * width
        mid = float(rng.uniform(lo, hi)) if hi > lo else 0.5 * (a + b)
        walls.append(_wall_segment(spec, a, mid - 0.5 * width, fixed, horizontal))
        walls.append(_wall_segment(spec, mid + 0.5 * width, b, fixed, horizontal))
        doors.append((mid, fixed) if horizontal else (fixed, mid))
    return walls, doors


def _clearance(placed: list[Obstacle], points: np.ndarray) -> np.ndarray:
    """Distance ``(k,)`` m from points ``(k, 2)`` to the nearest placed obstacle."""
    out = np.full(len(points), np.inf)
    for o in placed:
        out = np.minimum(out, o.signed_distance(points))
    return out


def generate_world(seed: int, spec: WorldSpec | str = "default") -> World:
    """The world of ``seed`` (an integer >= 0) under ``spec`` (a :class:`WorldSpec` or preset
    name). Deterministic: the same pair gives the same world.

    Order of draws: rooms (count, then each room's size, position and doors), then boxes,
    cylinders, poles and low obstacles (count, then each one's size, yaw, height and
    :data:`PLACEMENT_TRIES` candidate positions). An obstacle whose candidates are all too close
    to what is already placed is skipped.
    """
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0; got {seed!r}")
    spec = world_spec(spec)
    rng = np.random.default_rng(int(seed))
    placed = _perimeter(spec)
    doors: list[tuple[float, float]] = []
    hx = 0.5 * spec.arena_size[0] - spec.wall_thickness
    hy = 0.5 * spec.arena_size[1] - spec.wall_thickness

    rooms: list[tuple[float, float, float, float]] = []
    for _ in range(int(rng.integers(spec.n_rooms[0], spec.n_rooms[1] + 1))):
        w, h = (float(v) for v in rng.uniform(*spec.room_size, size=2))
        free = 2 * spec.margin + ROOM_CORRIDOR  # between a room and the perimeter, m
        for _ in range(PLACEMENT_TRIES):
            cx = float(rng.uniform(-hx + free + 0.5 * w, hx - free - 0.5 * w))
            cy = float(rng.uniform(-hy + free + 0.5 * h, hy - free - 0.5 * h))
            if all(abs(cx - ox) >= 0.5 * (w + ow) + free or abs(cy - oy) >= 0.5 * (h + oh) + free
                   for ox, oy, ow, oh in rooms):
                rooms.append((cx, cy, w, h))
                walls, gaps = _room(spec, rng, cx, cy, w, h)
                placed += walls
                doors += gaps
                break
    keep_out = [(np.array(d), 0.5 * spec.door_width[1] + 0.6) for d in doors]

    kinds = (
        ("box", spec.n_boxes, spec.box_size, spec.box_height),
        ("cylinder", spec.n_cylinders, spec.cylinder_radius, spec.cylinder_height),
        ("pole", spec.n_poles, spec.pole_radius, (1.5, 1.5)),
        ("low", spec.n_low, spec.low_size, spec.low_height),
    )
    for category, count, size_range, height_range in kinds:
        for _ in range(int(rng.integers(count[0], count[1] + 1))):
            shape = "box" if category in ("box", "low") else "cylinder"
            if shape == "box":
                half = tuple(0.5 * float(v) for v in rng.uniform(*size_range, size=2))
                yaw = float(rng.uniform(-math.pi, math.pi))
            else:
                r = float(rng.uniform(*size_range))
                half, yaw = (r, r), 0.0
            height = float(rng.uniform(*height_range))
            radius = math.hypot(*half) if shape == "box" else half[0]
            lim_x, lim_y = hx - spec.margin - radius, hy - spec.margin - radius
            if lim_x <= 0 or lim_y <= 0:
                continue
            # All candidate positions at once (a fixed number of draws per obstacle); the first
            # one clear of everything placed so far wins.
            cand = rng.uniform(-1.0, 1.0, size=(PLACEMENT_TRIES, 2)) * np.array([lim_x, lim_y])
            ok = _clearance(placed, cand) - radius >= spec.min_gap
            for c, r_keep in keep_out:
                ok &= np.hypot(*(cand - c).T) >= r_keep + radius
            if ok.any():
                p = cand[int(np.argmax(ok))]
                placed.append(Obstacle(shape, (float(p[0]), float(p[1])), half, yaw, height, category))
    return World(spec, tuple(placed), int(seed), tuple(doors))
