"""builtin_interfaces/msg: Time and Duration as ROS 2 DDS types.

IDL type module: no ``from __future__ import annotations`` and no aliased types import here, or
cyclonedds cannot resolve the field types when a topic is created (see docs/ros2.md#idl-type-modules).
"""

from dataclasses import dataclass

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import final
from cyclonedds.idl.types import int32, uint32


@final
@dataclass
class Time(IdlStruct, typename="builtin_interfaces.msg.dds_.Time_"):
    """Point in time since the epoch (or since simulation start under ``use_sim_time``).

    ``sec`` [s] plus ``nanosec`` [ns], with ``0 <= nanosec < 1e9``.
    """

    sec: int32 = 0
    nanosec: uint32 = 0


@final
@dataclass
class Duration(IdlStruct, typename="builtin_interfaces.msg.dds_.Duration_"):
    """Signed time span: ``sec`` [s] (may be negative) plus ``nanosec`` [ns] in ``[0, 1e9)``."""

    sec: int32 = 0
    nanosec: uint32 = 0
