"""rmw_dds_common/msg: the ``ros_discovery_info`` types, in both layouts ROS 2 uses.

ROS 2 graph tools learn which node owns which DDS reader/writer from these messages (see
:mod:`robocritic.ros.transport.discovery`). ``Gid.data`` is ``char[16]`` from Iron on
(rmw_dds_common 2.0.0, ``RMW_GID_STORAGE_SIZE`` 16) and ``char[24]`` up to Humble. The two are
different types under one DDS name, so a Humble peer and an Iron/Jazzy/Kilted peer cannot read
each other's discovery info: :class:`Gid`, :class:`NodeEntitiesInfo` and
:class:`ParticipantEntitiesInfo` are the current layout, the ``Humble*`` classes the old one, and
:func:`discovery_layout` picks one for a ``ROS_DISTRO``. ROS ``char`` is IDL ``uint8``.

IDL type module: no ``from __future__ import annotations`` and no aliased types import here
(see docs/ros2.md#idl-type-modules).
"""

from dataclasses import dataclass, field
from typing import NamedTuple

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import final
from cyclonedds.idl.types import array, bounded_str, sequence, uint8

GID_SIZE = 16
"""Bytes in a ``Gid`` from Iron on: the 16-byte DDS GUID."""

HUMBLE_GID_SIZE = 24
"""Bytes in a Humble ``Gid``: the 16-byte DDS GUID, then zeros."""

HUMBLE_LAYOUT_DISTROS = frozenset(
    {"ardent", "bouncy", "crystal", "dashing", "eloquent", "foxy", "galactic", "humble"}
)
"""``ROS_DISTRO`` values whose ``ros_discovery_info`` uses the 24-byte ``Gid``."""


@final
@dataclass
class Gid(IdlStruct, typename="rmw_dds_common.msg.dds_.Gid_"):
    """Global id of a DDS participant, reader or writer (Iron and later): ``data`` is the 16-byte GUID."""

    data: array[uint8, 16] = bytes(GID_SIZE)  # bytes on decode too


@final
@dataclass
class NodeEntitiesInfo(IdlStruct, typename="rmw_dds_common.msg.dds_.NodeEntitiesInfo_"):
    """One ROS node: namespace (``/`` or ``/a/b``), name, and the gids of its readers and writers."""

    node_namespace: bounded_str[256] = ""
    node_name: bounded_str[256] = ""
    reader_gid_seq: sequence[Gid] = field(default_factory=list)
    writer_gid_seq: sequence[Gid] = field(default_factory=list)


@final
@dataclass
class ParticipantEntitiesInfo(IdlStruct, typename="rmw_dds_common.msg.dds_.ParticipantEntitiesInfo_"):
    """All ROS nodes of one DDS participant (``gid``); the sample replaces the previous one."""

    gid: Gid = field(default_factory=Gid)
    node_entities_info_seq: sequence[NodeEntitiesInfo] = field(default_factory=list)


@final
@dataclass
class HumbleGid(IdlStruct, typename="rmw_dds_common.msg.dds_.Gid_"):
    """Humble's ``Gid``: ``data`` is 24 bytes (GUID + 8 zeros)."""

    data: array[uint8, 24] = bytes(HUMBLE_GID_SIZE)


@final
@dataclass
class HumbleNodeEntitiesInfo(IdlStruct, typename="rmw_dds_common.msg.dds_.NodeEntitiesInfo_"):
    """:class:`NodeEntitiesInfo` with Humble's 24-byte gids."""

    node_namespace: bounded_str[256] = ""
    node_name: bounded_str[256] = ""
    reader_gid_seq: sequence[HumbleGid] = field(default_factory=list)
    writer_gid_seq: sequence[HumbleGid] = field(default_factory=list)


@final
@dataclass
class HumbleParticipantEntitiesInfo(IdlStruct, typename="rmw_dds_common.msg.dds_.ParticipantEntitiesInfo_"):
    """:class:`ParticipantEntitiesInfo` with Humble's 24-byte gids."""

    gid: HumbleGid = field(default_factory=HumbleGid)
    node_entities_info_seq: sequence[HumbleNodeEntitiesInfo] = field(default_factory=list)


class DiscoveryLayout(NamedTuple):
    """The three ``ros_discovery_info`` classes of one layout and its gid size [bytes]."""

    gid: type
    node: type
    participant: type
    gid_size: int


CURRENT_LAYOUT = DiscoveryLayout(Gid, NodeEntitiesInfo, ParticipantEntitiesInfo, GID_SIZE)
HUMBLE_LAYOUT = DiscoveryLayout(
    HumbleGid, HumbleNodeEntitiesInfo, HumbleParticipantEntitiesInfo, HUMBLE_GID_SIZE
)


def discovery_layout(distro: str) -> DiscoveryLayout:
    """The layout a ``ROS_DISTRO`` value uses: Humble's up to Humble, else (also ``""``) the current one."""
    return HUMBLE_LAYOUT if distro.strip().lower() in HUMBLE_LAYOUT_DISTROS else CURRENT_LAYOUT
