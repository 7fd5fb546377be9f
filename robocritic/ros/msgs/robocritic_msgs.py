"""robocritic_msgs/msg: robocritic's own message types, as ROS 2 DDS types.

The ``.msg`` sources live in the interface package ``robocritic_msgs/msg/`` at the repository
root; :data:`MSG_DEFINITIONS` holds the same text so tools that need the definition (rosbag2
recording, rosbags type registration) work from an installed wheel too. A test keeps the two
identical.

On a ROS 2 machine, rclpy needs the code rosidl generates from them: build ``robocritic_msgs/``
(ament_cmake) with colcon next to robocritic (README); ``scripts/build_ros_msgs.sh`` does it from
PyPI's Jazzy wheels for the project's .venv-jazzy. The DDS and in-process transports need nothing.

IDL type module: no ``from __future__ import annotations`` and no aliased types import here
(see docs/ros2.md#idl-type-modules).
"""

from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import final
from cyclonedds.idl.types import float64, sequence

from .std_msgs import Header


@final
@dataclass
class JointImpedanceCommand(IdlStruct, typename="robocritic_msgs.msg.dds_.JointImpedanceCommand_"):
    """Joint impedance set-point: ``tau = effort + stiffness (position - q) + damping (velocity - qd)``.

    Arrays follow ``name``; units rad, rad/s, N m, N m/rad, N m s/rad (m, m/s, N, N/m, N s/m for
    prismatic joints).
    """

    header: Header = field(default_factory=Header)
    name: sequence[str] = field(default_factory=list)
    position: sequence[float64] = field(default_factory=list)
    velocity: sequence[float64] = field(default_factory=list)
    effort: sequence[float64] = field(default_factory=list)
    stiffness: sequence[float64] = field(default_factory=list)
    damping: sequence[float64] = field(default_factory=list)


@final
@dataclass
class SafetyVerdict(IdlStruct, typename="robocritic_msgs.msg.dds_.SafetyVerdict_"):
    """A safety filter's verdict on one action: whether and why it changed, with the critic value."""

    header: Header = field(default_factory=Header)
    modified: bool = False
    value: float64 = 0.0
    nominal: sequence[float64] = field(default_factory=list)
    certified: sequence[float64] = field(default_factory=list)
    reason: str = ""


MSG_DEFINITIONS: dict[str, str] = {
    "robocritic_msgs/msg/JointImpedanceCommand": """\
# Joint-space impedance command for a torque-controlled arm (e.g. the output of the Bresa critic).
# The driver applies, per joint i in the order of `name`:
#   tau_i = effort_i + stiffness_i * (position_i - q_i) + damping_i * (velocity_i - qd_i)
# Every array has len(name) entries; revolute joints in rad, rad/s, N m; prismatic in m, m/s, N.
std_msgs/Header header
string[] name
float64[] position
float64[] velocity
float64[] effort
float64[] stiffness
float64[] damping
""",
    "robocritic_msgs/msg/SafetyVerdict": """\
# Verdict of a safety filter on one nominal action: SafetyFilter.certify(obs, action) -> (action, info).
# header.stamp is the time of the observation the verdict was computed for.
std_msgs/Header header
# true when the filter changed the nominal action
bool modified
# critic value or safety margin of the certified action (larger is safer; units of the critic)
float64 value
# action proposed by the controller, in the system's input units
float64[] nominal
# action passed on after filtering, same units and size as nominal
float64[] certified
# why the action was changed; empty when unmodified
string reason
""",
}
"""ROS name -> ``.msg`` text, identical to the files in ``msg/`` at the repository root."""
