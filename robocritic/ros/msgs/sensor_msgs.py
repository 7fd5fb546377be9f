"""sensor_msgs/msg: JointState, Image, CameraInfo and Imu as ROS 2 DDS types.

IDL type module: no ``from __future__ import annotations`` and no aliased types import here
(see docs/ros2.md#idl-type-modules).
"""

from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import final
from cyclonedds.idl.types import array, float64, sequence, uint8, uint32

from .geometry_msgs import Quaternion, Vector3
from .std_msgs import Header


def _zeros(n: int):
    return lambda: [0.0] * n


@final
@dataclass
class JointState(IdlStruct, typename="sensor_msgs.msg.dds_.JointState_"):
    """Joint positions [rad or m], velocities [rad/s or m/s] and efforts [N m or N] by name.

    The arrays follow the order of ``name``; ``velocity`` and ``effort`` may be empty.
    """

    header: Header = field(default_factory=Header)
    name: sequence[str] = field(default_factory=list)
    position: sequence[float64] = field(default_factory=list)
    velocity: sequence[float64] = field(default_factory=list)
    effort: sequence[float64] = field(default_factory=list)


@final
@dataclass
class Image(IdlStruct, typename="sensor_msgs.msg.dds_.Image_"):
    """An uncompressed image; ``data`` holds ``height * step`` bytes.

    Depth images use encoding ``32FC1`` in metres (see :func:`robocritic.ros.msgs.convert.image_to_numpy`).
    To send, ``data`` may be ``bytes`` (what ``numpy_to_image`` produces), a uint8 numpy array or a
    list of ints; :mod:`robocritic.ros.msgs.cdr` sends it as one block and decodes it as ``bytes``.
    """

    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    encoding: str = ""
    is_bigendian: uint8 = 0
    step: uint32 = 0
    data: sequence[uint8] = field(default_factory=list)


@final
@dataclass
class RegionOfInterest(IdlStruct, typename="sensor_msgs.msg.dds_.RegionOfInterest_"):
    """A pixel rectangle of an image [px]."""

    x_offset: uint32 = 0
    y_offset: uint32 = 0
    height: uint32 = 0
    width: uint32 = 0
    do_rectify: bool = False


@final
@dataclass
class CameraInfo(IdlStruct, typename="sensor_msgs.msg.dds_.CameraInfo_"):
    """Pinhole calibration: intrinsics ``k`` (3x3), rectification ``r``, projection ``p`` (3x4).

    ``k`` and ``p`` are in pixels; ``d`` holds the coefficients of ``distortion_model``.
    """

    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    distortion_model: str = ""
    d: sequence[float64] = field(default_factory=list)
    k: array[float64, 9] = field(default_factory=_zeros(9))
    r: array[float64, 9] = field(default_factory=_zeros(9))
    p: array[float64, 12] = field(default_factory=_zeros(12))
    binning_x: uint32 = 0
    binning_y: uint32 = 0
    roi: RegionOfInterest = field(default_factory=RegionOfInterest)


@final
@dataclass
class Imu(IdlStruct, typename="sensor_msgs.msg.dds_.Imu_"):
    """Orientation, angular velocity [rad/s] and linear acceleration [m/s^2] with 3x3 covariances.

    A covariance whose first element is -1 means "not provided" (ROS convention).
    """

    header: Header = field(default_factory=Header)
    orientation: Quaternion = field(default_factory=Quaternion)
    orientation_covariance: array[float64, 9] = field(default_factory=_zeros(9))
    angular_velocity: Vector3 = field(default_factory=Vector3)
    angular_velocity_covariance: array[float64, 9] = field(default_factory=_zeros(9))
    linear_acceleration: Vector3 = field(default_factory=Vector3)
    linear_acceleration_covariance: array[float64, 9] = field(default_factory=_zeros(9))
