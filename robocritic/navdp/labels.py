"""Critic labels from privileged geometry, rotated negatives, and robot/world frame changes.

Label of a trajectory of waypoints ``p_0 .. p_{N-1}`` (NavDP)::

    V = -5 * mean_i[c(p_i) < 0.1 m] + 0.5 * (c(p_{N-1}) - c(p_0))

with ``c`` the clearance: the world's ESDF (bilinear between cell centres) minus
``robot_radius`` (0 by default: the distance from the waypoint to the nearest obstacle, as in
the reference). A safe path scores about ``0.5 * (clearance gained)``; every waypoint near or
inside an obstacle costs ``5 / N``, so a path that crosses a thin wall is charged only for the
few waypoints near it.

Negatives: the path rigidly rotated about its first point by a yaw drawn from
``U(-60, 60)`` deg, labelled with the same formula (a rotation into free space may score as
high as the expert).

Frames: world (x, y, yaw) and robot frame of a pose ``(x0, y0, yaw0)``: x forward, y left.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from robocritic.utils.validation import as_vector, readonly_array

__all__ = [
    "LABEL_CLEARANCE",
    "MAX_ROTATION",
    "ClearanceMap",
    "RotatedNegatives",
    "critic_label",
    "robot_to_world",
    "rotate_about_start",
    "rotated_negatives",
    "world_to_robot",
]

#: Waypoints closer than this to an obstacle count as unsafe, m.
LABEL_CLEARANCE = 0.1
#: Weight of the unsafe fraction.
UNSAFE_WEIGHT = 5.0
#: Weight of the clearance gained from start to end (per m).
PROGRESS_WEIGHT = 0.5
#: Largest rotation of a negative, rad (60 deg).
MAX_ROTATION = math.pi / 3


class ClearanceMap(Protocol):
    """Anything that gives the distance to the nearest obstacle, e.g.
    :class:`robocritic.envs.nav.world.World`."""

    def clearance(self, points: np.ndarray) -> np.ndarray:
        """Clearance ``(...)`` m at points ``(..., 2)`` m."""
        ...


def _points(name: str, points: np.ndarray) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] != 2 or p.shape[-2] < 1:
        raise ValueError(f"{name} must have shape (..., N, 2) with N >= 1; got {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError(f"{name} must be finite")
    return p


def critic_label(points: np.ndarray, world: ClearanceMap, robot_radius: float = 0.0) -> np.ndarray | float:
    """The NavDP label of trajectories ``(..., N, 2)`` (world frame, m): a float for one
    trajectory ``(N, 2)``, else an array ``(...)``."""
    p = _points("points", points)
    c = np.asarray(world.clearance(p), dtype=np.float64) - float(robot_radius)
    unsafe = np.mean(c < LABEL_CLEARANCE, axis=-1)
    value = -UNSAFE_WEIGHT * unsafe + PROGRESS_WEIGHT * (c[..., -1] - c[..., 0])
    return float(value) if p.ndim == 2 else value


def rotate_about_start(points: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Trajectories ``(..., N, 2)`` rotated rigidly by ``angle`` rad (counter-clockwise; a scalar
    or one per trajectory, shape ``(...)``) about their first point."""
    p = _points("points", points)
    a = np.asarray(angle, dtype=np.float64)[..., None]
    c, s = np.cos(a), np.sin(a)
    d = p - p[..., :1, :]
    out = np.empty_like(p)
    out[..., 0] = p[..., :1, 0] + c * d[..., 0] - s * d[..., 1]
    out[..., 1] = p[..., :1, 1] + s * d[..., 0] + c * d[..., 1]
    return out


@dataclass(frozen=True, eq=False)
class RotatedNegatives:
    """Rotated copies of one path.

    Attributes:
        points: ``(n, N, 2)`` world frame, m.
        angles: ``(n,)`` rotation about the first point, rad (counter-clockwise).
        labels: ``(n,)`` :func:`critic_label` of each.
    """

    points: np.ndarray
    angles: np.ndarray
    labels: np.ndarray


def rotated_negatives(points: np.ndarray, world: ClearanceMap, rng: np.random.Generator, n: int = 1,
                      max_angle: float = MAX_ROTATION, robot_radius: float = 0.0) -> RotatedNegatives:
    """``n`` copies of the path ``(N, 2)`` rotated about its start by ``U(-max_angle, max_angle)``
    rad (drawn from ``rng``), with their labels."""
    p = _points("points", points)
    if p.ndim != 2:
        raise ValueError(f"points must be one path (N, 2); got shape {p.shape}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1; got {n!r}")
    if not (math.isfinite(max_angle) and 0 <= max_angle <= math.pi):
        raise ValueError(f"max_angle must be in [0, pi] rad; got {max_angle!r}")
    angles = rng.uniform(-max_angle, max_angle, size=int(n))
    rotated = rotate_about_start(np.broadcast_to(p, (int(n), *p.shape)), angles)
    labels = critic_label(rotated, world, robot_radius)
    return RotatedNegatives(readonly_array(rotated), readonly_array(angles), readonly_array(labels))


def _pose(pose: np.ndarray) -> tuple[float, float, float]:
    x, y, yaw = as_vector("pose", pose, 3)
    return float(x), float(y), float(yaw)


def world_to_robot(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """World-frame points ``(..., 2)`` (or poses ``(..., 3)``, yaw in rad) in the robot frame of
    ``pose`` (x, y, yaw): x forward, y left; a pose's yaw becomes relative (wrapped to
    ``[-pi, pi)``)."""
    x0, y0, yaw0 = _pose(pose)
    p = np.asarray(points, dtype=np.float64)
    if p.shape[-1] not in (2, 3):
        raise ValueError(f"points must have shape (..., 2) or (..., 3); got {p.shape}")
    c, s = math.cos(yaw0), math.sin(yaw0)
    dx, dy = p[..., 0] - x0, p[..., 1] - y0
    out = np.empty_like(p)
    out[..., 0] = c * dx + s * dy
    out[..., 1] = -s * dx + c * dy
    if p.shape[-1] == 3:
        out[..., 2] = (p[..., 2] - yaw0 + math.pi) % (2 * math.pi) - math.pi
    return out


def robot_to_world(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """Inverse of :func:`world_to_robot`: robot-frame points ``(..., 2)`` (or poses
    ``(..., 3)``) of ``pose`` in the world frame."""
    x0, y0, yaw0 = _pose(pose)
    p = np.asarray(points, dtype=np.float64)
    if p.shape[-1] not in (2, 3):
        raise ValueError(f"points must have shape (..., 2) or (..., 3); got {p.shape}")
    c, s = math.cos(yaw0), math.sin(yaw0)
    out = np.empty_like(p)
    out[..., 0] = x0 + c * p[..., 0] - s * p[..., 1]
    out[..., 1] = y0 + s * p[..., 0] + c * p[..., 1]
    if p.shape[-1] == 3:
        out[..., 2] = (p[..., 2] + yaw0 + math.pi) % (2 * math.pi) - math.pi
    return out
