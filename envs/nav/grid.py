"""Planar grids of a navigation world: the cell geometry, the signed distance field (ESDF),
inflation, and shortest paths on the 8-connected grid graph.

Conventions. Arrays are indexed ``[ix, iy]`` (x first). Cell ``(ix, iy)`` covers
``origin + [ix, ix + 1) * resolution`` along x (likewise y); its centre is computed as
``center + (i + 0.5 - n / 2) * resolution`` so that a grid centred on the origin is exactly
symmetric under ``y -> -y`` (mirrored worlds give bit-identical mirrored grids).

Shortest paths: :func:`cost_to_go` runs Dijkstra (``scipy.sparse.csgraph``) from one or more
source cells over the cells with a finite weight; an edge between neighbours costs its length
(m) times the mean of the two cells' weights. Diagonal moves need both orthogonal neighbours
free (no corner cutting). One solve serves every start: :func:`descend` walks from any cell to
a source by always stepping to the neighbour with the lowest cost-to-go.

Lives in ``robocritic.envs`` because the envs draw reachable starts and goals with it; the
privileged expert (``robocritic.navdp.expert``) builds on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

__all__ = ["GridMap", "cost_to_go", "descend", "esdf", "inflate"]

#: Neighbour offsets of the 8-connected grid: 4 orthogonal, then 4 diagonal.
NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1))


@dataclass(frozen=True)
class GridMap:
    """Geometry of a regular grid: ``shape = (nx, ny)`` cells of ``resolution`` m centred on
    ``center`` (x, y) m."""

    shape: tuple[int, int]
    resolution: float
    center: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        nx, ny = self.shape
        if int(nx) != nx or int(ny) != ny or nx < 1 or ny < 1:
            raise ValueError(f"GridMap.shape must be two integers >= 1; got {self.shape!r}")
        if not (math.isfinite(self.resolution) and self.resolution > 0):
            raise ValueError(f"GridMap.resolution must be a positive finite number of metres; "
                             f"got {self.resolution!r}")
        object.__setattr__(self, "shape", (int(nx), int(ny)))
        object.__setattr__(self, "resolution", float(self.resolution))
        object.__setattr__(self, "center", (float(self.center[0]), float(self.center[1])))

    @property
    def origin(self) -> np.ndarray:
        """Lower-left corner of cell ``(0, 0)``, (2,) m."""
        half = 0.5 * self.resolution * np.array(self.shape, dtype=np.float64)
        return np.array(self.center) - half

    @property
    def size(self) -> tuple[float, float]:
        """Extent (x, y) of the grid, m."""
        return (self.shape[0] * self.resolution, self.shape[1] * self.resolution)

    def axis_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre coordinates along x ``(nx,)`` and y ``(ny,)``, m."""
        nx, ny = self.shape
        xs = self.center[0] + (np.arange(nx) + 0.5 - 0.5 * nx) * self.resolution
        ys = self.center[1] + (np.arange(ny) + 0.5 - 0.5 * ny) * self.resolution
        return xs, ys

    def cell_centres(self) -> np.ndarray:
        """Centres of all cells, ``(nx, ny, 2)`` m."""
        xs, ys = self.axis_centres()
        return np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1)

    def cell_of(self, points: np.ndarray) -> np.ndarray:
        """Integer cell ``(ix, iy)`` containing each point, ``(..., 2)`` (not clipped: points
        outside give indices outside ``[0, n)``)."""
        p = (np.asarray(points, dtype=np.float64) - self.origin) / self.resolution
        return np.floor(p).astype(np.int64)

    def centre_of(self, cells: np.ndarray) -> np.ndarray:
        """Centre ``(..., 2)`` m of integer cells ``(..., 2)``."""
        c = np.asarray(cells, dtype=np.float64)
        n = np.array(self.shape, dtype=np.float64)
        return np.array(self.center) + (c + 0.5 - 0.5 * n) * self.resolution

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each point ``(..., 2)`` lies on the grid, ``(...)`` bool."""
        p = np.asarray(points, dtype=np.float64)
        lo = self.origin
        hi = lo + np.array(self.size)
        return np.all((p >= lo) & (p <= hi), axis=-1)

    def sample(self, values: np.ndarray, points: np.ndarray, *, bilinear: bool = True) -> np.ndarray:
        """``values`` ``(nx, ny)`` at ``points`` ``(..., 2)`` m: bilinear between cell centres
        (clamped at the border) or the containing cell's value (``bilinear=False``)."""
        p = np.asarray(points, dtype=np.float64)
        nx, ny = self.shape
        if not bilinear:
            c = self.cell_of(p)
            return values[np.clip(c[..., 0], 0, nx - 1), np.clip(c[..., 1], 0, ny - 1)]
        g = (p - self.origin) / self.resolution - 0.5
        gx = np.clip(g[..., 0], 0.0, nx - 1.0)
        gy = np.clip(g[..., 1], 0.0, ny - 1.0)
        x0 = np.minimum(np.floor(gx).astype(np.int64), max(nx - 2, 0))
        y0 = np.minimum(np.floor(gy).astype(np.int64), max(ny - 2, 0))
        x1 = np.minimum(x0 + 1, nx - 1)
        y1 = np.minimum(y0 + 1, ny - 1)
        tx, ty = gx - x0, gy - y0
        return ((1 - tx) * (1 - ty) * values[x0, y0] + tx * (1 - ty) * values[x1, y0]
                + (1 - tx) * ty * values[x0, y1] + tx * ty * values[x1, y1])


def esdf(occupancy: np.ndarray, resolution: float) -> np.ndarray:
    """Signed Euclidean distance field, ``(nx, ny)`` m: > 0 in free cells (distance from the
    cell centre to the nearest obstacle), < 0 inside obstacles.

    A cell counts as occupied when an obstacle covers its centre up to half a cell (see
    ``World.occupancy``), so the boundary lies half a cell beyond the occupied centres: the
    field is ``edt * resolution - resolution / 2`` (exact for a wall face on a cell boundary,
    within half a cell otherwise). No obstacle at all gives ``+inf`` everywhere.
    """
    occ = np.asarray(occupancy, dtype=bool)
    if not occ.any():
        return np.full(occ.shape, np.inf)
    outside = ndimage.distance_transform_edt(~occ) * resolution
    if occ.all():
        return np.full(occ.shape, -np.inf)
    inside = ndimage.distance_transform_edt(occ) * resolution
    half = 0.5 * resolution
    return np.where(occ, half - inside, outside - half)


def inflate(occupancy: np.ndarray, radius: float, resolution: float) -> np.ndarray:
    """Occupancy grown by ``radius`` m, ``(nx, ny)`` bool: the cells whose ESDF is below
    ``radius`` (a disc-shaped robot of that radius centred there touches an obstacle)."""
    if not (math.isfinite(radius) and radius >= 0):
        raise ValueError(f"radius must be a finite number of metres >= 0; got {radius!r}")
    return esdf(occupancy, resolution) < radius


def _graph(weights: np.ndarray, resolution: float) -> coo_matrix:
    """Undirected 8-connected grid graph over the cells with a finite weight (upper half of the
    edges; :func:`cost_to_go` solves it as undirected)."""
    nx, ny = weights.shape
    free = np.isfinite(weights)
    idx = np.arange(nx * ny).reshape(nx, ny)
    rows, cols, vals = [], [], []
    for dx, dy in ((1, 0), (0, 1), (1, 1), (1, -1)):
        # Cells a = (i, j) and b = (i + dx, j + dy), both on the grid.
        ax = slice(0, nx - dx)
        bx = slice(dx, nx)
        ay = slice(max(0, -dy), ny - max(0, dy))
        by = slice(max(0, dy), ny - max(0, -dy))
        ok = free[ax, ay] & free[bx, by]
        length = resolution
        if dx and dy:  # diagonal: both orthogonal neighbours must be free (no corner cutting)
            ok &= free[bx, ay] & free[ax, by]
            length = resolution * math.sqrt(2.0)
        w = 0.5 * (np.where(ok, weights[ax, ay], 0.0) + np.where(ok, weights[bx, by], 0.0)) * length
        rows.append(idx[ax, ay][ok])
        cols.append(idx[bx, by][ok])
        vals.append(w[ok])
    n = nx * ny
    return coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


def cost_to_go(weights: np.ndarray, sources: np.ndarray, resolution: float) -> np.ndarray:
    """Dijkstra cost-to-go from the nearest of ``sources`` to every cell, ``(nx, ny)``.

    Args:
        weights: ``(nx, ny)`` cost per metre of each cell (>= 1 for metres as the unit, or any
            positive value); ``inf`` marks a blocked cell.
        sources: ``(k, 2)`` integer cells (all free) where the cost is 0.
        resolution: cell size, m.

    Returns:
        ``(nx, ny)`` float64: the least sum of ``length * mean weight`` over 8-connected moves
        to a source (metres when all weights are 1); ``inf`` for blocked or unreachable cells.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise ValueError(f"weights must be 2-D (nx, ny); got shape {w.shape}")
    if np.any(w <= 0) or np.any(np.isnan(w)):
        raise ValueError("weights must be > 0 (inf for blocked cells), without NaN")
    src = np.atleast_2d(np.asarray(sources, dtype=np.int64))
    nx, ny = w.shape
    if src.ndim != 2 or src.shape[1] != 2 or src.shape[0] == 0:
        raise ValueError(f"sources must have shape (k, 2) with k >= 1; got {src.shape}")
    if np.any((src < 0) | (src >= (nx, ny))):
        raise ValueError(f"sources must lie on the {nx} x {ny} grid; got {src.tolist()}")
    if not np.all(np.isfinite(w[src[:, 0], src[:, 1]])):
        raise ValueError("sources must be free cells (finite weight)")
    graph = _graph(w, resolution).tocsr()
    flat = src[:, 0] * ny + src[:, 1]
    dist = dijkstra(graph, directed=False, indices=flat, min_only=True)
    return dist.reshape(nx, ny)


def descend(cost: np.ndarray, start: tuple[int, int], max_steps: int | None = None) -> np.ndarray:
    """Cells from ``start`` down a cost-to-go field to a cell of cost 0, ``(k, 2)`` int.

    Each step moves to the 8-neighbour with the lowest cost (diagonals only where both
    orthogonal neighbours are finite, as in the graph). On a Dijkstra field every reachable
    cell has a neighbour of strictly lower cost, so the cost falls strictly along the result.
    Raises ``ValueError`` if ``start`` is unreachable (infinite cost).
    """
    c = np.asarray(cost)
    nx, ny = c.shape
    i, j = int(start[0]), int(start[1])
    if not (0 <= i < nx and 0 <= j < ny) or not math.isfinite(c[i, j]):
        raise ValueError(f"start cell {(i, j)} is blocked or cannot reach the goal")
    cells = [(i, j)]
    limit = nx * ny if max_steps is None else int(max_steps)
    while c[i, j] > 0.0 and len(cells) <= limit:
        best, best_cell = c[i, j], None
        for dx, dy in NEIGHBOURS:
            a, b = i + dx, j + dy
            if not (0 <= a < nx and 0 <= b < ny):
                continue
            if dx and dy and not (math.isfinite(c[a, j]) and math.isfinite(c[i, b])):
                continue
            if c[a, b] < best:
                best, best_cell = c[a, b], (a, b)
        if best_cell is None:  # a local minimum > 0: not a cost-to-go field
            raise ValueError(f"cost has a local minimum {c[i, j]!r} at cell {(i, j)}; not a cost-to-go field")
        i, j = best_cell
        cells.append(best_cell)
    return np.array(cells, dtype=np.int64)
