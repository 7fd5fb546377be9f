"""Depth camera and 2-D scan by ray casting (``mujoco.mj_multiRay``; no OpenGL).

Depth camera: a pinhole camera on the robot at ``(x, 0, z)`` in the robot frame, looking along
robot +x, pitched down by ``pitch`` rad. Pixel ``(row, col)``: row 0 at the top, column 0 at the
left (the robot's +y side). Square pixels: ``f = (W / 2) / tan(hfov / 2)``, centre
``((W - 1) / 2, (H - 1) / 2)``. Each pixel reports *z-depth*, the distance along the optical
axis (a flat wall facing the camera reads the same at every pixel), in metres. Each ray is
``[1, -(col - cx) / f, -(row - cy) / f]`` in the camera frame, so MuJoCo's ray parameter is the
z-depth itself.

Scan: ``n_beams`` horizontal rays at ``height`` m from the robot centre, at angles (robot frame,
counter-clockwise from forward) ``-fov / 2 + fov * k / n`` for a full circle (beam ``n / 2``
points forward) or evenly from ``-fov / 2`` to ``fov / 2`` otherwise; each reports the range
along its beam, m.

Both: a return outside ``[min_range, max_range]`` (or none) reads 0, as in the NavDP reference.
Optional Gaussian noise (``noise_std`` m, added before the range check) and dropout (each value
set to 0 with probability ``dropout``) are drawn from the generator passed in, so a seeded env
reproduces them. The robot's own body is excluded; ``mj_multiRay``'s cutoff only culls far
geoms, so distances are clipped here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np

from robocritic.utils.fields import is_finite_real, is_int, is_real

__all__ = ["DepthConfig", "RayCaster", "ScanConfig"]


def _check_common(owner: str, cfg: DepthConfig | ScanConfig) -> None:
    lo, hi = cfg.range
    if not (is_real(lo) and is_finite_real(hi) and 0 <= lo < hi):
        raise ValueError(f"{owner}.range must be (min, max) m with 0 <= min < max < inf; got {cfg.range!r}")
    if not (is_finite_real(cfg.noise_std) and cfg.noise_std >= 0):
        raise ValueError(f"{owner}.noise_std must be a finite number of metres >= 0; got {cfg.noise_std!r}")
    if not (is_real(cfg.dropout) and 0 <= cfg.dropout < 1):
        raise ValueError(f"{owner}.dropout must be a probability in [0, 1); got {cfg.dropout!r}")


@dataclass(frozen=True)
class DepthConfig:
    """The depth camera.

    Attributes:
        height, width: image size, pixels.
        hfov: horizontal field of view, rad.
        range: (min, max) valid z-depth, m; anything else reads 0.
        position: camera position (x forward, z up) in the robot frame, m.
        pitch: downward tilt of the optical axis, rad.
        noise_std: additive Gaussian noise, m.
        dropout: probability that a pixel reads 0.
    """

    height: int = 48
    width: int = 64
    hfov: float = math.pi / 2
    range: tuple[float, float] = (0.1, 5.0)
    position: tuple[float, float] = (0.15, 0.35)
    pitch: float = 0.0
    noise_std: float = 0.0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("height", "width"):
            v = getattr(self, name)
            if not is_int(v) or v < 1:
                raise ValueError(f"DepthConfig.{name} must be an integer >= 1 (pixels); got {v!r}")
        if not (is_real(self.hfov) and 0 < self.hfov < math.pi):
            raise ValueError(f"DepthConfig.hfov must be in (0, pi) rad; got {self.hfov!r}")
        if not (is_real(self.pitch) and abs(self.pitch) < 0.5 * math.pi):
            raise ValueError(f"DepthConfig.pitch must be in (-pi/2, pi/2) rad; got {self.pitch!r}")
        if len(self.position) != 2 or not all(is_finite_real(a) for a in self.position):
            raise ValueError(f"DepthConfig.position must be (x, z) finite metres; got {self.position!r}")
        _check_common("DepthConfig", self)

    @property
    def focal(self) -> float:
        """Focal length, pixels."""
        return 0.5 * self.width / math.tan(0.5 * self.hfov)

    def ray_directions(self) -> np.ndarray:
        """Rays ``(H * W, 3)`` in the robot frame (row-major pixels), each with unit component
        along the optical axis."""
        f = self.focal
        rows, cols = np.meshgrid(np.arange(self.height), np.arange(self.width), indexing="ij")
        cam = np.stack([np.ones(rows.shape), -(cols - 0.5 * (self.width - 1)) / f,
                        -(rows - 0.5 * (self.height - 1)) / f], axis=-1).reshape(-1, 3)
        c, s = math.cos(self.pitch), math.sin(self.pitch)
        pitch_down = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        return cam @ pitch_down.T


@dataclass(frozen=True)
class ScanConfig:
    """The planar scan (a 2-D lidar).

    Attributes:
        n_beams: number of beams.
        fov: angular span, rad (``2 pi`` for a full circle).
        height: scan plane above the floor, m.
        range: (min, max) valid range, m; anything else reads 0.
        noise_std: additive Gaussian noise, m.
        dropout: probability that a beam reads 0.
    """

    n_beams: int = 64
    fov: float = 2 * math.pi
    height: float = 0.25
    range: tuple[float, float] = (0.1, 5.0)
    noise_std: float = 0.0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if not is_int(self.n_beams) or self.n_beams < 1:
            raise ValueError(f"ScanConfig.n_beams must be an integer >= 1; got {self.n_beams!r}")
        if not (is_real(self.fov) and 0 < self.fov <= 2 * math.pi):
            raise ValueError(f"ScanConfig.fov must be in (0, 2 pi] rad; got {self.fov!r}")
        if not (is_finite_real(self.height) and self.height > 0):
            raise ValueError(f"ScanConfig.height must be a positive finite number of metres; "
                             f"got {self.height!r}")
        _check_common("ScanConfig", self)

    def angles(self) -> np.ndarray:
        """Beam angles ``(n_beams,)``, rad, robot frame (counter-clockwise from forward)."""
        n = self.n_beams
        if self.fov >= 2 * math.pi - 1e-12:
            return -math.pi + 2 * math.pi * np.arange(n) / n
        return np.linspace(-0.5 * self.fov, 0.5 * self.fov, n) if n > 1 else np.zeros(1)


class RayCaster:
    """Casts the depth image and the scan of a robot in a compiled world model.

    Args:
        model, data: the world's MuJoCo model and data (geom poses must be current: call
            ``mj_kinematics`` after moving the robot).
        robot_body: id of the robot's body (its geoms are not seen).
        depth, scan: sensor settings.
    """

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, robot_body: int,
                 depth: DepthConfig, scan: ScanConfig) -> None:
        self.model, self.data = model, data
        self.robot_body = int(robot_body)
        self.depth_config, self.scan_config = depth, scan
        self._depth_dirs = depth.ray_directions()
        self._depth_cutoff = depth.range[1] * float(np.linalg.norm(self._depth_dirs, axis=1).max()) + 1e-6
        a = scan.angles()
        self._scan_dirs = np.stack([np.cos(a), np.sin(a), np.zeros_like(a)], axis=-1)
        n = max(len(self._depth_dirs), len(self._scan_dirs))
        self._geomid = np.empty(n, dtype=np.int32)
        self._dist = np.empty(n, dtype=np.float64)

    def _cast(self, origin: np.ndarray, dirs_robot: np.ndarray, yaw: float, cutoff: float) -> np.ndarray:
        c, s = math.cos(yaw), math.sin(yaw)
        vec = np.empty_like(dirs_robot)
        vec[:, 0] = c * dirs_robot[:, 0] - s * dirs_robot[:, 1]
        vec[:, 1] = s * dirs_robot[:, 0] + c * dirs_robot[:, 1]
        vec[:, 2] = dirs_robot[:, 2]
        n = len(dirs_robot)
        geomid, dist = self._geomid[:n], self._dist[:n]
        mujoco.mj_multiRay(self.model, self.data, origin, vec.reshape(-1), None, 1, self.robot_body,
                           geomid, dist, None, n, cutoff)
        out = dist.copy()
        out[geomid < 0] = -1.0
        return out

    @staticmethod
    def _finish(raw: np.ndarray, rng_range: tuple[float, float], noise_std: float, dropout: float,
                rng: np.random.Generator | None) -> np.ndarray:
        d = raw
        if noise_std > 0 or dropout > 0:
            if rng is None:
                raise ValueError("rng is required when noise_std > 0 or dropout > 0")
            if noise_std > 0:
                d = np.where(raw >= 0, raw + noise_std * rng.standard_normal(raw.shape), raw)
            if dropout > 0:
                d = np.where(rng.random(raw.shape) < dropout, -1.0, d)
        lo, hi = rng_range
        return np.where((d >= lo) & (d <= hi), d, 0.0).astype(np.float32)

    def depth(self, pose: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Depth image ``(H, W)`` float32 m (z-depth; 0 = no valid return) at robot pose
        ``(x, y, yaw)``."""
        cfg = self.depth_config
        x, y, yaw = (float(v) for v in pose)
        cx, cz = cfg.position
        origin = np.array([x + cx * math.cos(yaw), y + cx * math.sin(yaw), cz])
        raw = self._cast(origin, self._depth_dirs, yaw, self._depth_cutoff)
        out = self._finish(raw, cfg.range, cfg.noise_std, cfg.dropout, rng)
        return out.reshape(cfg.height, cfg.width)

    def scan(self, pose: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Scan ranges ``(n_beams,)`` float32 m (0 = no valid return) at robot pose
        ``(x, y, yaw)``, beams at :meth:`ScanConfig.angles`."""
        cfg = self.scan_config
        x, y, yaw = (float(v) for v in pose)
        origin = np.array([x, y, cfg.height])
        raw = self._cast(origin, self._scan_dirs, yaw, cfg.range[1] + 1e-6)
        return self._finish(raw, cfg.range, cfg.noise_std, cfg.dropout, rng)
