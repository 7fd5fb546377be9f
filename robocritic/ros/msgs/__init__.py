"""ROS 2 message types as cyclonedds IDL structs, with the names ROS 2 uses on the wire.

Each class is a ``@final`` IDL struct whose DDS type name is ``pkg::msg::dds_::Type_`` and whose
fields follow the ROS definition in order and type, so its CDR bytes equal those of a ROS 2 node
(tests/ros/test_msgs_wire.py proves it against ``rosbags`` for every type here, and
tests/ros2/test_cdr_rclpy.py against rclpy's own bytes on Jazzy and Kilted).

Look-ups go by ROS name::

    from robocritic.ros.msgs import get_message_type, ros_type_name
    Twist = get_message_type("geometry_msgs/msg/Twist")
    ros_type_name(Twist)   # "geometry_msgs/msg/Twist"

numpy helpers live in :mod:`robocritic.ros.msgs.convert`.
"""

from __future__ import annotations

import re

from cyclonedds.idl import IdlStruct

from .builtin_interfaces import Duration, Time
from .geometry_msgs import (
    Point,
    Pose,
    PoseStamped,
    PoseWithCovariance,
    Quaternion,
    Transform,
    TransformStamped,
    Twist,
    TwistStamped,
    TwistWithCovariance,
    Vector3,
    Wrench,
    WrenchStamped,
)
from .nav_msgs import Odometry, Path
from .rmw_dds_common import Gid, NodeEntitiesInfo, ParticipantEntitiesInfo
from .robocritic_msgs import MSG_DEFINITIONS, JointImpedanceCommand, SafetyVerdict
from .rosgraph_msgs import Clock
from .sensor_msgs import CameraInfo, Image, Imu, JointState, RegionOfInterest
from .std_msgs import Bool, Float64, Float64MultiArray, Header, MultiArrayDimension, MultiArrayLayout, String
from .tf2_msgs import TFMessage

# "pkg.msg.dds_.Type_" as cyclonedds spells the DDS name "pkg::msg::dds_::Type_".
_TYPENAME = re.compile(r"^([a-z][a-z0-9_]*)\.(msg|srv|action)\.dds_\.([A-Z][A-Za-z0-9]*)_$")
# ROS names: "pkg/msg/Type", or the short "pkg/Type" that .msg files and ROS 1 use.
_ROS_NAME = re.compile(r"^([a-z][a-z0-9_]*)/(?:(msg|srv|action)/)?([A-Z][A-Za-z0-9]*)$")

_REGISTRY: dict[str, type[IdlStruct]] = {}


def _split_typename(cls: type) -> tuple[str, str, str]:
    typename = getattr(cls, "__idl_typename__", None)
    match = _TYPENAME.match(typename or "")
    if not (isinstance(cls, type) and issubclass(cls, IdlStruct)) or match is None:
        raise TypeError(
            f"{cls!r} is not a ROS 2 DDS message type: need an IdlStruct with "
            f"typename='pkg.msg.dds_.Type_', got typename={typename!r}"
        )
    return match.group(1), match.group(2), match.group(3)


def ros_type_name(msg_type: type) -> str:
    """ROS name of a message class, e.g. ``"geometry_msgs/msg/Twist"``."""
    pkg, kind, name = _split_typename(msg_type)
    return f"{pkg}/{kind}/{name}"


def dds_type_name(msg_type: type) -> str:
    """DDS type name ROS 2 uses on the wire, e.g. ``"geometry_msgs::msg::dds_::Twist_"``."""
    _split_typename(msg_type)
    return msg_type.__idl_typename__.replace(".", "::")


def normalize_ros_name(name: str) -> str:
    """``"geometry_msgs/Twist"`` or ``"geometry_msgs/msg/Twist"`` -> ``"geometry_msgs/msg/Twist"``."""
    match = _ROS_NAME.match(name)
    if match is None:
        raise ValueError(f"not a ROS message type name: {name!r} (expected 'pkg/msg/Type')")
    return f"{match.group(1)}/{match.group(2) or 'msg'}/{match.group(3)}"


def register_message_type(msg_type: type[IdlStruct]) -> type[IdlStruct]:
    """Add a message class to the registry (usable as a class decorator); returns it unchanged.

    Raises ``ValueError`` if a different class is already registered under the same ROS name.
    """
    name = ros_type_name(msg_type)
    known = _REGISTRY.get(name)
    if known is not None and known is not msg_type:
        raise ValueError(f"{name} is already registered as {known.__module__}.{known.__qualname__}")
    _REGISTRY[name] = msg_type
    return msg_type


def get_message_type(name: str) -> type[IdlStruct]:
    """Message class for a ROS name (``"sensor_msgs/msg/JointState"`` or ``"sensor_msgs/JointState"``)."""
    key = normalize_ros_name(name)
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(f"no message type registered for {key}; known: {sorted(_REGISTRY)}") from None


def message_types() -> dict[str, type[IdlStruct]]:
    """A copy of the registry: ROS name -> message class."""
    return dict(_REGISTRY)


for _cls in (
    Time, Duration,
    Header, String, Bool, Float64, MultiArrayDimension, MultiArrayLayout, Float64MultiArray,
    Clock,
    Vector3, Point, Quaternion, Pose, PoseStamped, PoseWithCovariance, Twist, TwistStamped,
    TwistWithCovariance, Wrench, WrenchStamped, Transform, TransformStamped,
    JointState, Image, RegionOfInterest, CameraInfo, Imu,
    Odometry, Path,
    TFMessage,
    JointImpedanceCommand, SafetyVerdict,
    Gid, NodeEntitiesInfo, ParticipantEntitiesInfo,
):  # fmt: skip
    register_message_type(_cls)
del _cls

__all__ = [
    "MSG_DEFINITIONS",
    "Bool",
    "CameraInfo",
    "Clock",
    "Duration",
    "Float64",
    "Float64MultiArray",
    "Gid",
    "Header",
    "Image",
    "Imu",
    "JointImpedanceCommand",
    "JointState",
    "MultiArrayDimension",
    "MultiArrayLayout",
    "NodeEntitiesInfo",
    "Odometry",
    "ParticipantEntitiesInfo",
    "Path",
    "Point",
    "Pose",
    "PoseStamped",
    "PoseWithCovariance",
    "Quaternion",
    "RegionOfInterest",
    "SafetyVerdict",
    "String",
    "TFMessage",
    "Time",
    "Transform",
    "TransformStamped",
    "Twist",
    "TwistStamped",
    "TwistWithCovariance",
    "Vector3",
    "Wrench",
    "WrenchStamped",
    "dds_type_name",
    "get_message_type",
    "message_types",
    "normalize_ros_name",
    "register_message_type",
    "ros_type_name",
]
