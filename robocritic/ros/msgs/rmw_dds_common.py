"""rmw_dds_common/msg: the ``ros_discovery_info`` types, in ROS 2 Humble's layout.

ROS 2 graph tools learn which node owns which DDS reader/writer from these messages (see
:mod:`robocritic.ros.transport.discovery`). ``Gid.data`` is ``char[24]`` up to Humble
(``RMW_GID_STORAGE_SIZE`` 24) and ``char[16]`` from Iron on (rmw_dds_common 2.0.0); the two are
different types under one DDS name, so a Humble peer and an Iron/Jazzy peer cannot read each
other's discovery info. ROS ``char`` is IDL ``uint8``.

IDL type module: no ``from __future__ import annotations`` and no aliased types import here (see
ROS2.md).
"""

from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.annotations import final
from cyclonedds.idl.types import array, bounded_str, sequence, uint8

GID_SIZE = 24
"""Bytes in a Humble ``Gid``: the 16-byte DDS GUID, then zeros."""


@final
@dataclass
class Gid(IdlStruct, typename="rmw_dds_common.msg.dds_.Gid_"):
    """Global id of a DDS participant, reader or writer: ``data`` is 24 bytes (GUID + 8 zeros)."""

    data: array[uint8, 24] = bytes(GID_SIZE)  # bytes on decode too


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
