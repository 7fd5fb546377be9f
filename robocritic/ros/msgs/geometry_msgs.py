"""geometry_msgs/msg: vectors, poses, twists, wrenches and transforms as ROS 2 DDS types.

Units follow REP 103: metres, radians, seconds, newtons, newton-metres; quaternions are
``(x, y, z, w)`` and default to the identity (``w = 1``), as in ROS 2.

IDL type module: no ``from __future__ import annotations`` and no aliased types import here
(see docs/ros2.md#idl-type-modules).
"""

from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import final
from cyclonedds.idl.types import array, float64

from .std_msgs import Header


def _zero_covariance() -> list[float]:
    return [0.0] * 36


@final
@dataclass
class Vector3(IdlStruct, typename="geometry_msgs.msg.dds_.Vector3_"):
    """A free vector (velocity [m/s or rad/s], force [N], torque [N m], ...)."""

    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@final
@dataclass
class Point(IdlStruct, typename="geometry_msgs.msg.dds_.Point_"):
    """A position [m]."""

    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@final
@dataclass
class Quaternion(IdlStruct, typename="geometry_msgs.msg.dds_.Quaternion_"):
    """An orientation as a unit quaternion ``(x, y, z, w)``; identity by default."""

    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0
    w: float64 = 1.0


@final
@dataclass
class Pose(IdlStruct, typename="geometry_msgs.msg.dds_.Pose_"):
    """Position [m] and orientation of a frame."""

    position: Point = field(default_factory=Point)
    orientation: Quaternion = field(default_factory=Quaternion)


@final
@dataclass
class PoseStamped(IdlStruct, typename="geometry_msgs.msg.dds_.PoseStamped_"):
    """A pose in ``header.frame_id`` at ``header.stamp``."""

    header: Header = field(default_factory=Header)
    pose: Pose = field(default_factory=Pose)


@final
@dataclass
class PoseWithCovariance(IdlStruct, typename="geometry_msgs.msg.dds_.PoseWithCovariance_"):
    """A pose and its 6x6 row-major covariance over (x, y, z, roll, pitch, yaw) [m^2, rad^2]."""

    pose: Pose = field(default_factory=Pose)
    covariance: array[float64, 36] = field(default_factory=_zero_covariance)


@final
@dataclass
class Twist(IdlStruct, typename="geometry_msgs.msg.dds_.Twist_"):
    """Linear [m/s] and angular [rad/s] velocity."""

    linear: Vector3 = field(default_factory=Vector3)
    angular: Vector3 = field(default_factory=Vector3)


@final
@dataclass
class TwistStamped(IdlStruct, typename="geometry_msgs.msg.dds_.TwistStamped_"):
    """A twist in ``header.frame_id`` at ``header.stamp``."""

    header: Header = field(default_factory=Header)
    twist: Twist = field(default_factory=Twist)


@final
@dataclass
class TwistWithCovariance(IdlStruct, typename="geometry_msgs.msg.dds_.TwistWithCovariance_"):
    """A twist and its 6x6 row-major covariance [(m/s)^2, (rad/s)^2]."""

    twist: Twist = field(default_factory=Twist)
    covariance: array[float64, 36] = field(default_factory=_zero_covariance)


@final
@dataclass
class Wrench(IdlStruct, typename="geometry_msgs.msg.dds_.Wrench_"):
    """Force [N] and torque [N m]."""

    force: Vector3 = field(default_factory=Vector3)
    torque: Vector3 = field(default_factory=Vector3)


@final
@dataclass
class WrenchStamped(IdlStruct, typename="geometry_msgs.msg.dds_.WrenchStamped_"):
    """A wrench in ``header.frame_id`` at ``header.stamp`` (e.g. a force-torque sensor)."""

    header: Header = field(default_factory=Header)
    wrench: Wrench = field(default_factory=Wrench)


@final
@dataclass
class Transform(IdlStruct, typename="geometry_msgs.msg.dds_.Transform_"):
    """Translation [m] and rotation of a child frame in its parent frame."""

    translation: Vector3 = field(default_factory=Vector3)
    rotation: Quaternion = field(default_factory=Quaternion)


@final
@dataclass
class TransformStamped(IdlStruct, typename="geometry_msgs.msg.dds_.TransformStamped_"):
    """Transform of ``child_frame_id`` in ``header.frame_id`` at ``header.stamp`` (one tf edge)."""

    header: Header = field(default_factory=Header)
    child_frame_id: str = ""
    transform: Transform = field(default_factory=Transform)
