"""tf2_msgs/msg: TFMessage, the type of ``/tf`` and ``/tf_static``.

IDL type module: no ``from __future__ import annotations`` and no aliased types import here
(see docs/ros2.md#idl-type-modules).
"""

from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import final
from cyclonedds.idl.types import sequence

from .geometry_msgs import TransformStamped


@final
@dataclass
class TFMessage(IdlStruct, typename="tf2_msgs.msg.dds_.TFMessage_"):
    """A batch of transforms (tf edges)."""

    transforms: sequence[TransformStamped] = field(default_factory=list)
