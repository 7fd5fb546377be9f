"""msg <-> numpy conversions for the message types robocritic nodes use.

Nodes do conversion at the edge and hand plain arrays to tested classes. Every ``*_to_numpy``
checks the message's own consistency (array lengths, names, byte counts) and raises
:class:`MessageError`, a ``ValueError`` naming the field, so a node can count and drop a malformed
message instead of crashing. Finiteness is left to the caller (``robocritic.utils.validation``),
because some fields legitimately carry NaN (e.g. "no reading" in a depth image).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .builtin_interfaces import Duration, Time
from .geometry_msgs import Point, Pose, Quaternion, Twist, Vector3, Wrench
from .sensor_msgs import Image, JointState
from .std_msgs import Float64MultiArray, Header, MultiArrayDimension, MultiArrayLayout

_NS_PER_S = 1_000_000_000
_INT32_MAX = 2**31 - 1


class MessageError(ValueError):
    """A message is internally inconsistent or does not fit what the receiver expects."""


# --- time --------------------------------------------------------------------------------------


def time_to_ns(stamp: Time | Duration) -> int:
    """``Time`` or ``Duration`` -> integer nanoseconds."""
    return int(stamp.sec) * _NS_PER_S + int(stamp.nanosec)


def time_to_s(stamp: Time | Duration) -> float:
    """``Time`` or ``Duration`` -> seconds (float; ns resolution is lost beyond ~104 days)."""
    return time_to_ns(stamp) / _NS_PER_S


def ns_to_time(ns: int) -> Time:
    """Integer nanoseconds (>= 0) -> ``Time``; ``ValueError`` outside ROS's int32 seconds range."""
    ns = int(ns)
    sec, nanosec = divmod(ns, _NS_PER_S)
    if not 0 <= sec <= _INT32_MAX:
        raise ValueError(f"time {ns} ns is outside builtin_interfaces/Time's range [0, 2^31) s")
    return Time(sec=sec, nanosec=nanosec)


def s_to_time(seconds: float) -> Time:
    """Seconds (>= 0) -> ``Time``, rounded to the nearest nanosecond."""
    return ns_to_time(round(float(seconds) * _NS_PER_S))


def ns_to_duration(ns: int) -> Duration:
    """Signed nanoseconds -> ``Duration`` (negative spans keep ``0 <= nanosec < 1e9``, as ROS does)."""
    sec, nanosec = divmod(int(ns), _NS_PER_S)  # floor division keeps nanosec non-negative
    if not -(2**31) <= sec <= _INT32_MAX:
        raise ValueError(f"duration {ns} ns is outside builtin_interfaces/Duration's int32 seconds range")
    return Duration(sec=sec, nanosec=nanosec)


def make_header(stamp_ns: int = 0, frame_id: str = "") -> Header:
    """A ``Header`` stamped at ``stamp_ns`` [ns] in ``frame_id``."""
    return Header(stamp=ns_to_time(stamp_ns), frame_id=frame_id)


# --- geometry ----------------------------------------------------------------------------------


def vector3_to_numpy(v: Vector3 | Point) -> np.ndarray:
    """``Vector3``/``Point`` -> ``(3,)`` float64."""
    return np.array([v.x, v.y, v.z], dtype=np.float64)


def numpy_to_vector3(a: Sequence[float] | np.ndarray) -> Vector3:
    """``(3,)`` -> ``Vector3``."""
    x, y, z = _fixed("vector", a, 3)
    return Vector3(x=x, y=y, z=z)


def numpy_to_point(a: Sequence[float] | np.ndarray) -> Point:
    """``(3,)`` [m] -> ``Point``."""
    x, y, z = _fixed("point", a, 3)
    return Point(x=x, y=y, z=z)


def quaternion_to_numpy(q: Quaternion) -> np.ndarray:
    """``Quaternion`` -> ``(4,)`` as ``(x, y, z, w)`` (ROS order, not MuJoCo's ``(w, x, y, z)``)."""
    return np.array([q.x, q.y, q.z, q.w], dtype=np.float64)


def numpy_to_quaternion(a: Sequence[float] | np.ndarray) -> Quaternion:
    """``(4,)`` ``(x, y, z, w)`` -> ``Quaternion`` (not normalised: the sender owns that)."""
    x, y, z, w = _fixed("quaternion", a, 4)
    return Quaternion(x=x, y=y, z=z, w=w)


def pose_to_numpy(pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    """``Pose`` -> (position ``(3,)`` [m], quaternion ``(4,)`` ``(x, y, z, w)``)."""
    return vector3_to_numpy(pose.position), quaternion_to_numpy(pose.orientation)


def numpy_to_pose(
    position: Sequence[float] | np.ndarray, quaternion_xyzw: Sequence[float] | np.ndarray
) -> Pose:
    """Position ``(3,)`` [m] and quaternion ``(4,)`` ``(x, y, z, w)`` -> ``Pose``."""
    return Pose(position=numpy_to_point(position), orientation=numpy_to_quaternion(quaternion_xyzw))


def twist_to_numpy(twist: Twist) -> np.ndarray:
    """``Twist`` -> ``(6,)`` ``[vx, vy, vz, wx, wy, wz]`` [m/s, rad/s]."""
    return np.concatenate([vector3_to_numpy(twist.linear), vector3_to_numpy(twist.angular)])


def numpy_to_twist(a: Sequence[float] | np.ndarray) -> Twist:
    """``(6,)`` ``[vx, vy, vz, wx, wy, wz]`` [m/s, rad/s] -> ``Twist``."""
    v = _fixed("twist", a, 6)
    return Twist(linear=Vector3(x=v[0], y=v[1], z=v[2]), angular=Vector3(x=v[3], y=v[4], z=v[5]))


def wrench_to_numpy(wrench: Wrench) -> np.ndarray:
    """``Wrench`` -> ``(6,)`` ``[fx, fy, fz, tx, ty, tz]`` [N, N m]."""
    return np.concatenate([vector3_to_numpy(wrench.force), vector3_to_numpy(wrench.torque)])


def numpy_to_wrench(a: Sequence[float] | np.ndarray) -> Wrench:
    """``(6,)`` ``[fx, fy, fz, tx, ty, tz]`` [N, N m] -> ``Wrench``."""
    v = _fixed("wrench", a, 6)
    return Wrench(force=Vector3(x=v[0], y=v[1], z=v[2]), torque=Vector3(x=v[3], y=v[4], z=v[5]))


def covariance_to_numpy(cov: Sequence[float]) -> np.ndarray:
    """Row-major ``float64[36]`` covariance -> ``(6, 6)``."""
    return np.asarray(_fixed("covariance", cov, 36)).reshape(6, 6)


def numpy_to_covariance(a: np.ndarray) -> list[float]:
    """``(6, 6)`` (or ``(36,)``) -> row-major list of 36 floats for ``*WithCovariance``."""
    return _fixed("covariance", np.asarray(a, dtype=np.float64).ravel(), 36)


# --- joint state -------------------------------------------------------------------------------


def numpy_to_joint_state(
    joint_names: Sequence[str],
    position: Sequence[float] | np.ndarray,
    velocity: Sequence[float] | np.ndarray | None = None,
    effort: Sequence[float] | np.ndarray | None = None,
    *,
    stamp_ns: int = 0,
    frame_id: str = "",
) -> JointState:
    """``JointState`` from ``(n,)`` arrays [rad, rad/s, N m] in the order of ``joint_names``."""
    n = len(joint_names)

    def as_list(name: str, values: Sequence[float] | np.ndarray | None) -> list[float]:
        return [] if values is None else _fixed(name, values, n)

    return JointState(
        header=make_header(stamp_ns, frame_id),
        name=[str(name) for name in joint_names],
        position=_fixed("position", position, n),
        velocity=as_list("velocity", velocity),
        effort=as_list("effort", effort),
    )


# --- multi-array -------------------------------------------------------------------------------


def float64_multi_array_to_numpy(msg: Float64MultiArray) -> np.ndarray:
    """``Float64MultiArray`` -> array shaped by ``layout.dim`` (flat when no dims are given).

    Honours ``data_offset`` and the outer strides (row-major, ROS convention); raises
    :class:`MessageError` if the layout asks for more data than there is.
    """
    data = np.asarray(msg.data, dtype=np.float64)
    dims = msg.layout.dim
    offset = int(msg.layout.data_offset)
    if not dims:
        return data[offset:].copy()
    shape = tuple(int(d.size) for d in dims)
    # stride[i] is the element count of the sub-array spanned by dims i..end (including padding).
    strides = [int(d.stride) for d in dims[1:]] + [1]
    needed = offset + (sum((s - 1) * st for s, st in zip(shape, strides)) + 1 if all(shape) else 0)
    if needed > data.size:
        raise MessageError(f"Float64MultiArray layout {shape} needs {needed} values; data has {data.size}")
    if not all(shape):
        return np.zeros(shape)
    view = np.lib.stride_tricks.as_strided(
        data[offset:], shape=shape, strides=tuple(st * data.itemsize for st in strides), writeable=False
    )
    return np.array(view)


def numpy_to_float64_multi_array(a: np.ndarray, labels: Sequence[str] | None = None) -> Float64MultiArray:
    """Array of any shape -> ``Float64MultiArray`` with a dense row-major layout."""
    arr = np.ascontiguousarray(a, dtype=np.float64)
    labels = list(labels) if labels is not None else [""] * arr.ndim
    if len(labels) != arr.ndim:
        raise ValueError(f"labels has {len(labels)} entries for an array of {arr.ndim} dims")
    dims = [
        MultiArrayDimension(label=label, size=size, stride=int(np.prod(arr.shape[i:], dtype=np.int64)))
        for i, (label, size) in enumerate(zip(labels, arr.shape))
    ]
    return Float64MultiArray(layout=MultiArrayLayout(dim=dims, data_offset=0), data=arr.ravel().tolist())


# --- images ------------------------------------------------------------------------------------

# encoding -> (numpy dtype, channels), for the encodings ROS's sensor_msgs/image_encodings defines.
_IMAGE_ENCODINGS: dict[str, tuple[str, int]] = {
    "mono8": ("u1", 1),
    "mono16": ("u2", 1),
    "rgb8": ("u1", 3),
    "bgr8": ("u1", 3),
    "rgba8": ("u1", 4),
    "bgra8": ("u1", 4),
    "8UC1": ("u1", 1),
    "8UC3": ("u1", 3),
    "16UC1": ("u2", 1),
    "32FC1": ("f4", 1),
    "64FC1": ("f8", 1),
}


def image_to_numpy(msg: Image) -> np.ndarray:
    """``Image`` -> ``(height, width)`` or ``(height, width, channels)`` array (a copy).

    Supports the encodings in ``_IMAGE_ENCODINGS``; ``32FC1`` depth images are in metres with NaN
    for "no return" (REP 118). Handles row padding (``step``) and big-endian senders.
    """
    try:
        kind, channels = _IMAGE_ENCODINGS[msg.encoding]
    except KeyError:
        raise MessageError(
            f"Image.encoding {msg.encoding!r} unsupported; known: {sorted(_IMAGE_ENCODINGS)}"
        ) from None
    dtype = np.dtype(kind).newbyteorder(">" if msg.is_bigendian else "<")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise MessageError(
            f"Image.step {step} is smaller than one row ({width} px x {channels} x {dtype.itemsize} B)"
        )
    if len(msg.data) != height * step:
        raise MessageError(f"Image.data has {len(msg.data)} bytes; height * step = {height * step}")
    raw = np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(height, step)[:, :row_bytes]
    pixels = np.ascontiguousarray(raw).view(dtype).astype(dtype.newbyteorder("="))
    return pixels.reshape(height, width, channels) if channels > 1 else pixels.reshape(height, width)


def numpy_to_image(a: np.ndarray, encoding: str, *, stamp_ns: int = 0, frame_id: str = "") -> Image:
    """``(height, width[, channels])`` array -> dense little-endian ``Image`` in ``encoding``."""
    try:
        kind, channels = _IMAGE_ENCODINGS[encoding]
    except KeyError:
        raise ValueError(f"encoding {encoding!r} unsupported; known: {sorted(_IMAGE_ENCODINGS)}") from None
    arr = np.asarray(a)
    expected = 2 if channels == 1 else 3
    if arr.ndim != expected or (channels > 1 and arr.shape[2] != channels):
        raise ValueError(
            f"encoding {encoding} needs shape {'(h, w)' if channels == 1 else f'(h, w, {channels})'}; "
            f"got {arr.shape}"
        )
    pixels = np.ascontiguousarray(arr, dtype=np.dtype(kind).newbyteorder("<"))
    height, width = arr.shape[:2]
    return Image(
        header=make_header(stamp_ns, frame_id),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=width * channels * pixels.dtype.itemsize,
        data=pixels.tobytes(),  # bytes: the CDR codec sends them as one block
    )


# --- helpers -----------------------------------------------------------------------------------


def _fixed(name: str, values: Sequence[float] | np.ndarray, size: int) -> list[float]:
    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size != size:
        raise MessageError(f"{name} needs {size} values; got {arr.size}")
    return arr.tolist()


__all__ = [
    "MessageError",
    "covariance_to_numpy",
    "float64_multi_array_to_numpy",
    "image_to_numpy",
    "make_header",
    "ns_to_duration",
    "ns_to_time",
    "numpy_to_covariance",
    "numpy_to_float64_multi_array",
    "numpy_to_image",
    "numpy_to_joint_state",
    "numpy_to_point",
    "numpy_to_pose",
    "numpy_to_quaternion",
    "numpy_to_twist",
    "numpy_to_vector3",
    "numpy_to_wrench",
    "pose_to_numpy",
    "quaternion_to_numpy",
    "s_to_time",
    "time_to_ns",
    "time_to_s",
    "twist_to_numpy",
    "vector3_to_numpy",
    "wrench_to_numpy",
]
