"""rosbag2 recording (MCAP) of any robocritic run, and reading it back, without ROS 2.

:class:`BagRecorder` subscribes to topics on a node of any transport and writes every message it
receives, as the CDR bytes ROS 2 itself would record (robocritic's message classes serialise to
the same bytes, tests/ros/test_msgs_wire.py), into a rosbag2 directory written by the ``rosbags``
library: ``metadata.yaml`` plus one ``.mcap`` file, which ``ros2 bag info/play`` and Foxglove
open. Message definitions come from rosbags' ROS 2 Humble type store plus robocritic's own types
(registered from :data:`~robocritic.ros.msgs.MSG_DEFINITIONS`), so the bag is self-describing.

    node = make_node("recorder", transport="dds")
    with BagRecorder(node, "runs/x/bag", {"/clock": Clock, "/pendulum/joint_states": JointState}):
        node.spin(10.0)
    read_bag_summary("runs/x/bag")  # {"/clock": ("rosgraph_msgs/msg/Clock", 200), ...}

Timestamps are receive times on the recording node's clock [ns] (wall clock, or ``/clock`` when
the node uses sim time), as rosbag2 records them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Self

from .msgs import MSG_DEFINITIONS, cdr, get_message_type, ros_type_name
from .qos import Durability, History, QoSProfile, Reliability
from .transport.base import Node, Subscription

RECORD_DEPTH = 1000
"""Queue depth of the recorder's subscriptions: a burst (a fast lockstep loop) must not overflow it."""

BAG_VERSION = 9
"""rosbag2 metadata version written (rosbags' latest; ROS 2 Jazzy writes 9)."""

TopicSpecs = Mapping[str, "type | str | tuple[type | str, QoSProfile]"]
"""``topic -> message type`` (class or ROS name), or ``topic -> (type, offered QoS)``."""


@lru_cache(maxsize=1)
def bag_typestore() -> Any:
    """rosbags type store for bags: ROS 2 Humble's types plus robocritic's custom messages."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    for name, text in MSG_DEFINITIONS.items():
        store.register(get_types_from_msg(text, name))
    return store


def recording_qos(offered: QoSProfile) -> QoSProfile:
    """The subscription QoS that records a publisher offering ``offered`` without losing samples.

    Same reliability and durability (a reliable recorder cannot match a best-effort publisher; a
    transient-local one replays what the publisher kept), and a deep queue.
    """
    return QoSProfile(
        depth=max(RECORD_DEPTH, offered.depth), reliability=offered.reliability, durability=offered.durability
    )


def _rosbags_qos(qos: QoSProfile) -> Any:
    from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime

    infinite = QosTime(sec=0, nsec=0)  # rosbag2 writes 0/0 for the ROS default ("infinite")
    return Qos(
        history=QosHistory.KEEP_LAST if qos.history is History.KEEP_LAST else QosHistory.KEEP_ALL,
        depth=qos.depth,
        reliability=QosReliability.RELIABLE
        if qos.reliability is Reliability.RELIABLE
        else QosReliability.BEST_EFFORT,
        durability=(
            QosDurability.TRANSIENT_LOCAL
            if qos.durability is Durability.TRANSIENT_LOCAL
            else QosDurability.VOLATILE
        ),
        deadline=infinite,
        lifespan=infinite,
        liveliness=QosLiveliness.AUTOMATIC,
        liveliness_lease_duration=infinite,
        avoid_ros_namespace_conventions=False,
    )


def _message_class(msg_type: type | str) -> type:
    return get_message_type(msg_type) if isinstance(msg_type, str) else msg_type


class BagRecorder:
    """Writes what ``node`` receives on the given topics into a new rosbag2 directory.

    Args:
        node: the recording node, on any transport; spin it (any thread) while recording.
        path: bag directory to create (must not exist).
        topics: topics to record (see :data:`TopicSpecs`); names resolve like any subscription
            of ``node`` (absolute names are used as they are). The offered QoS, when given,
            picks the subscription QoS (:func:`recording_qos`) and is stored in the bag for
            ``ros2 bag play``; default: best effort, which receives from any publisher.
        storage: ``"mcap"`` (rosbag2's default) or ``"sqlite3"``.

    Attributes:
        counts: messages written per topic.
        path: the bag directory.
    """

    def __init__(
        self, node: Node, path: str | os.PathLike[str], topics: TopicSpecs = (), *, storage: str = "mcap"
    ) -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer

        plugins = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
        if storage not in plugins:
            raise ValueError(f"storage must be one of {sorted(plugins)}; got {storage!r}")
        self.node = node
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()  # callbacks (spin thread) vs close (caller's thread)
        self._writer = Writer(self.path, version=BAG_VERSION, storage_plugin=plugins[storage])
        self._writer.open()
        self._closed = False
        self._subscriptions: list[Subscription[Any]] = []
        self._connections: dict[str, Any] = {}
        for topic, spec in dict(topics).items():
            msg_type, offered = spec if isinstance(spec, tuple) else (spec, None)
            self.add_topic(topic, msg_type, offered)

    def add_topic(self, topic: str, msg_type: type | str, offered_qos: QoSProfile | None = None) -> str:
        """Start recording ``topic``; returns its fully qualified name."""
        cls = _message_class(msg_type)
        fq = self.node.resolve_topic_name(topic)
        offered = offered_qos or QoSProfile(depth=RECORD_DEPTH, reliability=Reliability.BEST_EFFORT)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"bag {self.path} is closed")
            if fq in self._connections:
                raise ValueError(f"topic {fq} is already recorded")
            self._connections[fq] = self._writer.add_connection(
                fq,
                ros_type_name(cls),
                typestore=bag_typestore(),
                offered_qos_profiles=[_rosbags_qos(offered)],
            )
        self._subscriptions.append(
            self.node.create_subscription(
                cls, fq, lambda msg, t=fq: self._write(t, msg), recording_qos(offered)
            )
        )
        return fq

    def _write(self, topic: str, msg: Any) -> None:
        stamp = self.node.now_ns()
        data = cdr.encode(msg)
        with self._lock:
            if self._closed:
                return
            self._writer.write(self._connections[topic], stamp, data)
            self.counts[topic] += 1

    def publisher_counts(self) -> dict[str, int]:
        """Publishers currently matched per recorded topic (0: nobody to record yet)."""
        return {sub.topic: sub.get_publisher_count() for sub in self._subscriptions}

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self) -> Path:
        """Stop recording and finish the bag (writes ``metadata.yaml``); idempotent. Returns the path."""
        with self._lock:
            if self._closed:
                return self.path
            self._closed = True
        for sub in self._subscriptions:
            # The node may already be destroyed (its subscriptions with it); the bag must still close.
            with contextlib.suppress(Exception):
                sub.destroy()
        with self._lock:
            self._writer.close()
        return self.path

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_bag_summary(path: str | os.PathLike[str]) -> dict[str, tuple[str, int]]:
    """``{topic: (ROS type, message count)}`` of a rosbag2 directory (MCAP or sqlite3)."""
    from rosbags.rosbag2 import Reader

    summary: dict[str, tuple[str, int]] = {}
    with Reader(Path(path)) as reader:
        for conn in reader.connections:
            _, count = summary.get(conn.topic, (conn.msgtype, 0))
            summary[conn.topic] = (conn.msgtype, count + conn.msgcount)
    return summary


def read_bag_messages(
    path: str | os.PathLike[str], topics: Iterable[str] | None = None
) -> Iterator[tuple[str, int, Any]]:
    """``(topic, timestamp_ns, message)`` in bag order, decoded into robocritic's message classes.

    Args:
        path: rosbag2 directory.
        topics: only these topics (default all).

    Raises:
        KeyError: a topic's type is not one robocritic defines.
    """
    from rosbags.rosbag2 import Reader

    wanted = None if topics is None else set(topics)
    with Reader(Path(path)) as reader:
        connections = [c for c in reader.connections if wanted is None or c.topic in wanted]
        classes = {c.id: get_message_type(c.msgtype) for c in connections}
        if not connections:
            return
        for conn, timestamp, raw in reader.messages(connections=connections):
            yield conn.topic, timestamp, cdr.decode(classes[conn.id], raw)


__all__ = [
    "BAG_VERSION",
    "RECORD_DEPTH",
    "BagRecorder",
    "TopicSpecs",
    "bag_typestore",
    "read_bag_messages",
    "read_bag_summary",
    "recording_qos",
]
