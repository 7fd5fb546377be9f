"""rosgraph_msgs/msg: Clock, the simulated time published on ``/clock``.

IDL type module: no ``from __future__ import annotations`` and no aliased types import here
(see docs/ros2.md#idl-type-modules).
"""

from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import final

from .builtin_interfaces import Time


@final
@dataclass
class Clock(IdlStruct, typename="rosgraph_msgs.msg.dds_.Clock_"):
    """Current simulated time; nodes with ``use_sim_time`` follow it instead of the wall clock."""

    clock: Time = field(default_factory=Time)
