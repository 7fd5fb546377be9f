"""nav_msgs/msg: Odometry and Path as ROS 2 DDS types.

IDL type module: no ``from __future__ import annotations`` and no aliased types import here
(see docs/ros2.md#idl-type-modules).
"""

from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import final
from cyclonedds.idl.types import sequence

from .geometry_msgs import PoseStamped, PoseWithCovariance, TwistWithCovariance
from .std_msgs import Header


@final
@dataclass
class Odometry(IdlStruct, typename="nav_msgs.msg.dds_.Odometry_"):
    """Pose in ``header.frame_id`` and twist in ``child_frame_id`` of a moving base, with covariances."""

    header: Header = field(default_factory=Header)
    child_frame_id: str = ""
    pose: PoseWithCovariance = field(default_factory=PoseWithCovariance)
    twist: TwistWithCovariance = field(default_factory=TwistWithCovariance)


@final
@dataclass
class Path(IdlStruct, typename="nav_msgs.msg.dds_.Path_"):
    """A sequence of poses (a planned or executed trajectory) in ``header.frame_id``."""

    header: Header = field(default_factory=Header)
    poses: sequence[PoseStamped] = field(default_factory=list)
