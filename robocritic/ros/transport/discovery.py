"""``ros_discovery_info``: which ROS nodes a DDS participant hosts, the way rmw_cyclonedds says it.

DDS discovery knows participants, readers and writers but not ROS nodes. rmw_cyclonedds (and
every rmw built on rmw_dds_common) therefore keeps, per participant, the list of its nodes with
the gids of each node's readers and writers, and publishes the whole list as one
:class:`~robocritic.ros.msgs.ParticipantEntitiesInfo` on the DDS topic ``ros_discovery_info``
(no ``rt/`` prefix) each time a node or endpoint is created or destroyed. The writer is
reliable, transient-local, keep-last 1 with auto-dispose off, so a tool that starts later still
gets the current list. ``ros2 node list/info`` join these gids with the DDS built-in
publication/subscription topics to name each node's topics.

A gid is the entity's 16-byte DDS GUID followed by 8 zero bytes (Humble's 24-byte ``Gid``; see
:mod:`robocritic.ros.msgs.rmw_dds_common` for why Iron and later cannot read it).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from ..msgs.rmw_dds_common import GID_SIZE, Gid, NodeEntitiesInfo, ParticipantEntitiesInfo

DISCOVERY_TOPIC = "ros_discovery_info"


def entity_gid(entity: Any) -> bytes:
    """Gid of a cyclonedds participant, reader or writer: GUID (16 bytes) + zeros, 24 bytes."""
    return entity.guid.bytes.ljust(GID_SIZE, b"\0")


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
    """

    def __init__(self, participant: Any) -> None:
        from cyclonedds.pub import DataWriter
        from cyclonedds.topic import Topic

        self.gid = entity_gid(participant)
        self._nodes: dict[Hashable, _NodeRecord] = {}
        self._lock = threading.Lock()
        self._topic = Topic(participant, DISCOVERY_TOPIC, ParticipantEntitiesInfo)
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
        self._add(key, entity_gid(reader), writer=False)

    def add_writer(self, key: Hashable, writer: Any) -> None:
        """Attach a ``DataWriter`` (by its gid) to node ``key``."""
        self._add(key, entity_gid(writer), writer=True)

    def remove_endpoint(self, entity: Any) -> None:
        """Detach a reader or writer from whichever node holds it; no-op if none does."""
        gid = entity_gid(entity)
        with self._lock:
            changed = False
            for record in self._nodes.values():
                for gids in (record.readers, record.writers):
                    if gid in gids:
                        gids.remove(gid)
                        changed = True
            if changed:
                self._publish()

    def message(self) -> ParticipantEntitiesInfo:
        """The current list as the sample that goes on the wire."""
        with self._lock:
            return self._message()

    def _add(self, key: Hashable, gid: bytes, *, writer: bool) -> None:
        with self._lock:
            record = self._nodes.get(key)
            if record is None:
                raise KeyError(f"node {key!r} was not added to ros_discovery_info")
            (record.writers if writer else record.readers).append(gid)
            self._publish()

    def _message(self) -> ParticipantEntitiesInfo:
        return ParticipantEntitiesInfo(
            gid=Gid(self.gid),
            node_entities_info_seq=[
                NodeEntitiesInfo(
                    node_namespace=r.namespace,
                    node_name=r.name,
                    reader_gid_seq=[Gid(g) for g in r.readers],
                    writer_gid_seq=[Gid(g) for g in r.writers],
                )
                for r in self._nodes.values()
            ],
        )

    def _publish(self) -> None:
        self._writer.write(self._message())


__all__ = ["DISCOVERY_TOPIC", "ParticipantDiscovery", "discovery_qos", "entity_gid"]
