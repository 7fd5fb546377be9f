"""std_msgs/msg: Header, String, Bool, Float64 and Float64MultiArray as ROS 2 DDS types.

IDL type module: no ``from __future__ import annotations`` and no aliased types import here
(see docs/ros2.md#idl-type-modules).
"""

from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import final
from cyclonedds.idl.types import float64, sequence, uint32

from .builtin_interfaces import Time


@final
@dataclass
class Header(IdlStruct, typename="std_msgs.msg.dds_.Header_"):
    """Timestamp and coordinate frame of the data in the enclosing message."""

    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@final
@dataclass
class String(IdlStruct, typename="std_msgs.msg.dds_.String_"):
    """One UTF-8 string."""

    data: str = ""


@final
@dataclass
class Bool(IdlStruct, typename="std_msgs.msg.dds_.Bool_"):
    """One boolean (e-stop, enable flags)."""

    data: bool = False


@final
@dataclass
class Float64(IdlStruct, typename="std_msgs.msg.dds_.Float64_"):
    """One float64 (a scalar command or metric)."""

    data: float64 = 0.0


@final
@dataclass
class MultiArrayDimension(IdlStruct, typename="std_msgs.msg.dds_.MultiArrayDimension_"):
    """One dimension of a multi-array: label, size and stride (elements, row-major)."""

    label: str = ""
    size: uint32 = 0
    stride: uint32 = 0


@final
@dataclass
class MultiArrayLayout(IdlStruct, typename="std_msgs.msg.dds_.MultiArrayLayout_"):
    """Shape of the data of a multi-array; empty ``dim`` means a flat vector."""

    dim: sequence[MultiArrayDimension] = field(default_factory=list)
    data_offset: uint32 = 0


@final
@dataclass
class Float64MultiArray(IdlStruct, typename="std_msgs.msg.dds_.Float64MultiArray_"):
    """A float64 array of any shape (see :mod:`robocritic.ros.msgs.convert` for numpy)."""

    layout: MultiArrayLayout = field(default_factory=MultiArrayLayout)
    data: sequence[float64] = field(default_factory=list)
