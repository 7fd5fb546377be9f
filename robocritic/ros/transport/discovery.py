"""``ros_discovery_info``: which ROS nodes a DDS participant hosts, the way rmw_cyclonedds says it.

DDS discovery knows participants, readers and writers but not ROS nodes. rmw_cyclonedds (and
every rmw built on rmw_dds_common) therefore keeps, per participant, the list of its nodes with
the gids of each node's readers and writers, and publishes the whole list as one
:class:`~robocritic.ros.msgs.ParticipantEntitiesInfo` on the DDS topic ``ros_discovery_info``
(no ``rt/`` prefix) each time a node or endpoint is created or destroyed. The writer is
reliable, transient-local, keep-last 1 with auto-dispose off, so a tool that starts later still
gets the current list. ``ros2 node list/info`` join these gids with the DDS built-in
publication/subscription topics to name each node's topics.

A gid is the entity's 16-byte DDS GUID. Humble's ``Gid`` is 24 bytes (the GUID, then 8 zeros)
and a Humble peer cannot read the 16-byte layout, nor Iron and later the 24-byte one (see
:mod:`robocritic.ros.msgs.rmw_dds_common`), so the layout follows ``ROS_DISTRO``: Humble's when
it names Humble or older, the current one otherwise (also when unset).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from ..msgs.rmw_dds_common import GID_SIZE, DiscoveryLayout, discovery_layout

DISCOVERY_TOPIC = "ros_discovery_info"


def entity_gid(entity: Any, size: int = GID_SIZE) -> bytes:
    """Gid of a cyclonedds participant, reader or writer: its 16-byte GUID, zero padded to ``size``."""
    return entity.guid.bytes.ljust(size, b"\0")


def layout_from_environment() -> DiscoveryLayout:
    """The ``ros_discovery_info`` layout for ``ROS_DISTRO`` (unset: Iron and later)."""
    return discovery_layout(os.environ.get("ROS_DISTRO", ""))


def discovery_qos() -> Any:
    """Writer QoS rmw_cyclonedds uses for ``ros_discovery_info`` (a ``cyclonedds.qos.Qos``)."""
    from cyclonedds.qos import Policy, Qos
    from cyclonedds.util import duration

    unlimited = -1  # DDS_LENGTH_UNLIMITED
    return Qos(
        Policy.Reliability.Reliable(max_blocking_time=duration(infinite=True)),
        Policy.Durability.TransientLocal,
        Policy.History.KeepLast(1),
        Policy.DurabilityService(0, Policy.History.KeepLast(1), unlimited, unlimited, unlimited),
        Policy.WriterDataLifecycle(autodispose=False),
    )


@dataclass
class _NodeRecord:
    namespace: str
    name: str
    readers: list[bytes] = field(default_factory=list)  # gids, creation order
    writers: list[bytes] = field(default_factory=list)


class ParticipantDiscovery:
    """The ROS nodes of one DDS participant, republished on ``ros_discovery_info`` on every change.

    Nodes are identified by any hashable ``key`` the caller chooses (the node object itself), so
    two nodes with the same name stay distinct, as they do in rmw. Thread safe; each change and
    its write happen under one lock, so the last sample on the wire is always the current list.

    Args:
        participant: the ``cyclonedds.domain.DomainParticipant`` the nodes' endpoints belong to.
        layout: message layout; default from ``ROS_DISTRO`` (:func:`layout_from_environment`).
    """

    def __init__(self, participant: Any, layout: DiscoveryLayout | None = None) -> None:
        from cyclonedds.pub import DataWriter
        from cyclonedds.topic import Topic

        self.layout = layout_from_environment() if layout is None else layout
        self.gid = self._gid(participant)
        self._nodes: dict[Hashable, _NodeRecord] = {}
        self._lock = threading.Lock()
        self._topic = Topic(participant, DISCOVERY_TOPIC, self.layout.participant)
        self._writer = DataWriter(participant, self._topic, discovery_qos())

    def add_node(self, key: Hashable, namespace: str, name: str) -> None:
        """Announce a node (``namespace`` is ``/`` or ``/a/b``)."""
        with self._lock:
            self._nodes[key] = _NodeRecord(namespace, name)
            self._publish()

    def remove_node(self, key: Hashable) -> None:
        """Withdraw a node and its endpoints; no-op if unknown."""
        with self._lock:
            if self._nodes.pop(key, None) is not None:
                self._publish()

    def add_reader(self, key: Hashable, reader: Any) -> None:
        """Attach a ``DataReader`` (by its gid) to node ``key``."""
        self._add(key, self._gid(reader), writer=False)

    def add_writer(self, key: Hashable, writer: Any) -> None:
        """Attach a ``DataWriter`` (by its gid) to node ``key``."""
        self._add(key, self._gid(writer), writer=True)

    def remove_endpoint(self, entity: Any) -> None:
        """Detach a reader or writer from whichever node holds it; no-op if none does."""
        gid = self._gid(entity)
        with self._lock:
            changed = False
            for record in self._nodes.values():
                for gids in (record.readers, record.writers):
                    if gid in gids:
                        gids.remove(gid)
                        changed = True
            if changed:
                self._publish()

    def message(self) -> Any:
        """The current list as the sample that goes on the wire (a ``self.layout.participant``)."""
        with self._lock:
            return self._message()

    def _gid(self, entity: Any) -> bytes:
        return entity_gid(entity, self.layout.gid_size)

    def _add(self, key: Hashable, gid: bytes, *, writer: bool) -> None:
        with self._lock:
            record = self._nodes.get(key)
            if record is None:
                raise KeyError(f"node {key!r} was not added to ros_discovery_info")
            (record.writers if writer else record.readers).append(gid)
            self._publish()

    def _message(self) -> Any:
        gid, node, participant, _ = self.layout
        return participant(
            gid=gid(self.gid),
            node_entities_info_seq=[
                node(
                    node_namespace=r.namespace,
                    node_name=r.name,
                    reader_gid_seq=[gid(g) for g in r.readers],
                    writer_gid_seq=[gid(g) for g in r.writers],
                )
                for r in self._nodes.values()
            ],
        )

    def _publish(self) -> None:
        self._writer.write(self._message())


__all__ = [
    "DISCOVERY_TOPIC",
    "ParticipantDiscovery",
    "discovery_qos",
    "entity_gid",
    "layout_from_environment",
]
