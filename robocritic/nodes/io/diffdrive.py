"""Message I/O of a differential-drive base with a depth camera: depth images, odometry, goals in,
velocity commands and paths out, as numpy arrays in the odometry frame.

Conventions (what :class:`~robocritic.navdp.navigator.Navigator` and the nav env use):

- **depth** ``(H, W)`` float32 [m], ``0`` = no return. A ``32FC1`` image is metres with NaN/inf
  for no return (REP 118); ``16UC1`` is millimetres with 0 for no return. Readings outside the
  profile camera's ``[min_range, max_range]`` become 0, as the simulated camera reports them.
- **odometry** ``(5,)`` ``[x, y, yaw, v, omega]`` [m, m, rad, m/s, rad/s]: the pose in
  ``header.frame_id`` (must be the profile's ``frames.odom``), the twist's forward and yaw rates
  in the base frame.
- **goal** ``(2,)`` ``(x, y)`` [m] in the odometry frame (its orientation is not used).

Every decoder raises :class:`~robocritic.nodes.rejections.InputRejected` with a reason key for a
message a node must drop.
"""

from __future__ import annotations

import math

import numpy as np

from robocritic.nodes.rejections import InputRejected
from robocritic.profiles import CameraSpec
from robocritic.ros.msgs import Image, Odometry, Path, PoseStamped, Twist
from robocritic.ros.msgs.convert import (
    MessageError,
    image_to_numpy,
    make_header,
    numpy_to_image,
    numpy_to_pose,
    time_to_ns,
)
from robocritic.ros.msgs.geometry_msgs import (
    Point,
    Pose,
    PoseWithCovariance,
    Quaternion,
    TwistWithCovariance,
    Vector3,
)

__all__ = ["DEPTH_ENCODINGS", "DiffDriveIO", "yaw_quaternion"]

DEPTH_ENCODINGS = ("32FC1", "16UC1")
"""Depth image encodings accepted."""


def yaw_quaternion(yaw: float) -> np.ndarray:
    """``(x, y, z, w)`` of a rotation by ``yaw`` [rad] about z."""
    return np.array([0.0, 0.0, math.sin(0.5 * yaw), math.cos(0.5 * yaw)])


def _yaw(q: Quaternion) -> float:
    return math.atan2(2.0 * (q.w * q.z + q.x * q.y), 1.0 - 2.0 * (q.y * q.y + q.z * q.z))


class DiffDriveIO:
    """Decodes and encodes the base's messages (module docstring).

    Args:
        camera: the profile's camera (image size and valid range).
        odom_frame: the profile's ``frames.odom``: odometry and goals must be in it.
        base_frame: the profile's ``frames.base`` (the odometry's ``child_frame_id``).
        camera_frame: the profile's ``frames.camera`` (the images' ``frame_id``).
    """

    def __init__(self, camera: CameraSpec, *, odom_frame: str, base_frame: str = "base_link",
                 camera_frame: str = "camera_depth_optical_frame") -> None:
        self.camera = camera
        self.odom_frame, self.base_frame, self.camera_frame = odom_frame, base_frame, camera_frame

    # --- inputs ---------------------------------------------------------------------------------

    def decode_depth(self, msg: Image) -> tuple[np.ndarray, int]:
        """``(depth (H, W) float32 [m], stamp [ns])``; rejects another size or encoding."""
        cam = self.camera
        if msg.encoding not in DEPTH_ENCODINGS:
            raise InputRejected("depth_encoding", f"depth image encoding {msg.encoding!r}; "
                                                  f"accepted: {list(DEPTH_ENCODINGS)}")
        if (msg.height, msg.width) != (cam.height, cam.width):
            raise InputRejected("depth_size", f"depth image is {msg.width} x {msg.height} px; the profile's "
                                              f"camera (and the planner) take {cam.width} x {cam.height}")
        try:
            raw = image_to_numpy(msg)
        except MessageError as exc:
            raise InputRejected("malformed", f"depth image: {exc}") from None
        depth = raw.astype(np.float32) * np.float32(1e-3) if msg.encoding == "16UC1" else raw.astype(np.float32)
        valid = np.isfinite(depth) & (depth >= cam.min_range) & (depth <= cam.max_range)
        return np.where(valid, depth, np.float32(0.0)), time_to_ns(msg.header.stamp)

    def decode_odometry(self, msg: Odometry) -> tuple[np.ndarray, int]:
        """``(odometry (5,) [x, y, yaw, v, omega], stamp [ns])``; rejects NaN/inf and a wrong frame."""
        if msg.header.frame_id != self.odom_frame:
            raise InputRejected("odom_frame", f"odometry in frame {msg.header.frame_id!r}; expected "
                                              f"{self.odom_frame!r} (frames.odom)")
        p, q, t = msg.pose.pose.position, msg.pose.pose.orientation, msg.twist.twist
        values = np.array([p.x, p.y, q.x, q.y, q.z, q.w, t.linear.x, t.angular.z], dtype=np.float64)
        if not np.isfinite(values).all():
            raise InputRejected("non_finite", f"odometry has NaN/inf: position ({p.x}, {p.y}), "
                                              f"orientation {values[2:6].tolist()}, twist ({t.linear.x}, {t.angular.z})")
        if abs(math.hypot(math.hypot(q.x, q.y), math.hypot(q.z, q.w)) - 1.0) > 1e-3:
            raise InputRejected("bad_quaternion", f"odometry orientation is not a unit quaternion: "
                                                  f"{values[2:6].tolist()}")
        odom = np.array([p.x, p.y, _yaw(q), t.linear.x, t.angular.z], dtype=np.float64)
        return odom, time_to_ns(msg.header.stamp)

    def decode_goal(self, msg: PoseStamped) -> np.ndarray:
        """Goal ``(2,)`` ``(x, y)`` [m] in the odometry frame; rejects NaN/inf and a wrong frame."""
        if msg.header.frame_id != self.odom_frame:
            raise InputRejected("goal_frame", f"goal in frame {msg.header.frame_id!r}; goals must be in "
                                              f"{self.odom_frame!r} (frames.odom; no tf lookup here)")
        xy = np.array([msg.pose.position.x, msg.pose.position.y], dtype=np.float64)
        if not np.isfinite(xy).all():
            raise InputRejected("goal_non_finite", f"goal position has NaN/inf: {xy.tolist()}")
        return xy

    # --- outputs --------------------------------------------------------------------------------

    @staticmethod
    def twist_message(action: np.ndarray) -> Twist:
        """``(v, omega)`` [m/s, rad/s] -> ``Twist`` (``linear.x``, ``angular.z``)."""
        v, omega = (float(a) for a in np.asarray(action, dtype=np.float64).reshape(2))
        return Twist(linear=Vector3(x=v), angular=Vector3(z=omega))

    def path_message(self, xy: np.ndarray, stamp_ns: int) -> Path:
        """``(N, 2)`` odometry-frame points [m] -> ``Path``, each pose heading along the path."""
        pts = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        d = np.diff(pts, axis=0)
        yaws = np.arctan2(d[:, 1], d[:, 0])
        yaws = np.append(yaws, yaws[-1:] if len(yaws) else np.zeros(min(len(pts), 1)))  # last: as the one before
        header = make_header(stamp_ns, self.odom_frame)
        poses = [PoseStamped(header=header, pose=numpy_to_pose([x, y, 0.0], yaw_quaternion(yaw)))
                 for (x, y), yaw in zip(pts, yaws, strict=True)]
        return Path(header=header, poses=poses)

    def depth_message(self, depth: np.ndarray, stamp_ns: int) -> Image:
        """``(H, W)`` depth [m] with 0 = no return -> a ``32FC1`` image with NaN for no return."""
        d = np.asarray(depth, dtype=np.float32)
        return numpy_to_image(np.where(d > 0, d, np.float32(np.nan)), "32FC1", stamp_ns=stamp_ns,
                              frame_id=self.camera_frame)

    def odometry_message(self, odom: np.ndarray, stamp_ns: int) -> Odometry:
        """``(5,)`` ``[x, y, yaw, v, omega]`` -> ``Odometry`` in the odometry frame."""
        x, y, yaw, v, omega = (float(a) for a in np.asarray(odom, dtype=np.float64).reshape(5))
        pose = Pose(position=Point(x=x, y=y), orientation=Quaternion(*yaw_quaternion(yaw)))
        twist = Twist(linear=Vector3(x=v), angular=Vector3(z=omega))
        return Odometry(header=make_header(stamp_ns, self.odom_frame), child_frame_id=self.base_frame,
                        pose=PoseWithCovariance(pose=pose), twist=TwistWithCovariance(twist=twist))

    def goal_message(self, goal: np.ndarray, stamp_ns: int) -> PoseStamped:
        """``(2,)`` odometry-frame goal [m] -> ``PoseStamped``."""
        x, y = (float(a) for a in np.asarray(goal, dtype=np.float64).reshape(2))
        return PoseStamped(header=make_header(stamp_ns, self.odom_frame),
                           pose=numpy_to_pose([x, y, 0.0], [0.0, 0.0, 0.0, 1.0]))
