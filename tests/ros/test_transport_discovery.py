"""``ros_discovery_info`` as ROS 2 graph tools read it, on a random domain over loopback only.

A plain cyclonedds DataReader (reliable, transient-local, keep-all: the topic is keyless, so
keep-last 1 would keep one sample for all participants, which is why rmw_cyclonedds' own reader
keeps all) sees each participant's latest ParticipantEntitiesInfo; the gids in it must be the
GUIDs of the real DDS entities (16 bytes from Iron on; zero padded to 24 with ROS_DISTRO=humble),
because that is what ``ros2 node info`` joins with DDS discovery.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from robocritic.ros.msgs import ParticipantEntitiesInfo, String, Twist
from robocritic.ros.msgs.rmw_dds_common import HumbleParticipantEntitiesInfo
from robocritic.ros.transport import make_node

pytestmark = pytest.mark.timeout(60)

PEER = Path(__file__).with_name("dds_peer.py")
TIMEOUT_S = 10.0
NS = f"robocritic_disc_{os.getpid()}_{random.SystemRandom().randrange(10**6)}"


class Watcher:
    """Reads ``ros_discovery_info`` from its own participant; keeps the latest sample per participant gid."""

    def __init__(self, domain: int, msg_type: type = ParticipantEntitiesInfo) -> None:
        from cyclonedds.domain import DomainParticipant
        from cyclonedds.qos import Policy, Qos
        from cyclonedds.sub import DataReader
        from cyclonedds.topic import Topic
        from cyclonedds.util import duration

        self.participant = DomainParticipant(domain)
        qos = Qos(
            Policy.Reliability.Reliable(duration(seconds=1)),
            Policy.Durability.TransientLocal,
            Policy.History.KeepAll,
        )
        topic = Topic(self.participant, "ros_discovery_info", msg_type)
        self.reader = DataReader(self.participant, topic, qos)
        self.msg_type = msg_type
        self.latest: dict[bytes, ParticipantEntitiesInfo] = {}

    def wait_for(self, predicate: Callable[[dict[bytes, ParticipantEntitiesInfo]], bool]) -> dict:
        """Take samples until ``predicate(latest)`` holds; fail after TIMEOUT_S [s]."""
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            for msg in self.reader.take(N=256):
                if isinstance(msg, self.msg_type):  # not a dispose/unregister notice
                    self.latest[bytes(msg.gid.data)] = msg
            if predicate(self.latest):
                return self.latest
            assert time.monotonic() < deadline, f"ros_discovery_info never matched; latest: {self.latest}"
            time.sleep(0.02)


def gid(entity: Any, size: int = 16) -> bytes:
    """What an rmw puts in a Gid: the 16 GUID bytes (Humble: then 8 zeros)."""
    raw = entity.guid.bytes
    assert len(raw) == 16
    return raw + bytes(size - 16)


def nodes(msg: ParticipantEntitiesInfo) -> dict[tuple[str, str], tuple[list[bytes], list[bytes]]]:
    """(namespace, name) -> (reader gids, writer gids)."""
    return {
        (n.node_namespace, n.node_name): (
            [bytes(g.data) for g in n.reader_gid_seq],
            [bytes(g.data) for g in n.writer_gid_seq],
        )
        for n in msg.node_entities_info_seq
    }


def test_late_reader_sees_nodes_with_entity_gids(domain_id):
    talker = make_node("talker", transport="dds", namespace=NS)
    clocked = make_node("clocked", transport="dds", namespace=f"/{NS}/sub", parameters={"use_sim_time": True})
    try:
        pub = talker.create_publisher(Twist, "cmd_vel", 1)
        chatter = talker.create_publisher(String, "chatter", 1)
        sub = talker.create_subscription(Twist, "odom_twist", lambda m: None, 1)
        participant = gid(talker._entry.participant)
        assert clocked._entry is talker._entry, "nodes of one process share one participant"

        watcher = Watcher(domain_id)  # created after the last update: transient-local delivers it
        latest = watcher.wait_for(
            lambda got: participant in got and len(got[participant].node_entities_info_seq) == 2
        )
        assert nodes(latest[participant]) == {
            (f"/{NS}", "talker"): ([gid(sub._reader)], [gid(pub._writer), gid(chatter._writer)]),
            (f"/{NS}/sub", "clocked"): ([gid(clocked._clock_subscription._reader)], []),  # /clock only
        }
    finally:
        clocked.destroy()
        talker.destroy()


def test_humble_layout_when_ros_distro_is_humble(domain_id, monkeypatch):
    """ROS_DISTRO=humble selects Humble's 24-byte gids; a reader of the Iron+ layout never matches it."""
    monkeypatch.setenv("ROS_DISTRO", "humble")
    current = Watcher(domain_id)
    humble = Watcher(domain_id, HumbleParticipantEntitiesInfo)
    node = make_node("humble_talker", transport="dds", namespace=NS)
    try:
        pub = node.create_publisher(Twist, "cmd_vel", 1)
        participant = gid(node._entry.participant, 24)
        latest = humble.wait_for(lambda got: participant in got and nodes(got[participant]))
        assert nodes(latest[participant]) == {(f"/{NS}", "humble_talker"): ([], [gid(pub._writer, 24)])}
        assert current.reader.take(N=256) == [], "the 16-byte layout reader must not get Humble samples"
    finally:
        node.destroy()


def test_destroyed_endpoints_and_nodes_disappear(domain_id):
    watcher = Watcher(domain_id)
    a = make_node("a", transport="dds", namespace=NS)
    b = make_node("b", transport="dds", namespace=NS)
    participant = gid(a._entry.participant)

    def current() -> dict:
        return nodes(watcher.latest[participant])

    try:
        pub = a.create_publisher(Twist, "x", 1)
        sub = a.create_subscription(Twist, "y", lambda m: None, 1)
        keep = b.create_publisher(Twist, "z", 1)
        watcher.wait_for(lambda got: participant in got and current().get((f"/{NS}", "b"), ([], []))[1])
        assert current()[(f"/{NS}", "a")] == ([gid(sub._reader)], [gid(pub._writer)])

        pub.destroy()
        watcher.wait_for(lambda got: current()[(f"/{NS}", "a")] == ([gid(sub._reader)], []))
        sub.destroy()
        watcher.wait_for(lambda got: current()[(f"/{NS}", "a")] == ([], []))
        a.destroy()
        watcher.wait_for(lambda got: list(current()) == [(f"/{NS}", "b")])
        assert current()[(f"/{NS}", "b")] == ([], [gid(keep._writer)])
        b.destroy()  # last node: the empty list goes out before the participant is deleted
        watcher.wait_for(lambda got: current() == {})
    finally:
        a.destroy()
        b.destroy()


def test_node_in_other_process_matches_dds_discovery(domain_id, tmp_path):
    """What ``ros2 node info`` does: join the peer's gids with DCPSPublication/DCPSSubscription."""
    from cyclonedds.builtin import (
        BuiltinDataReader,
        BuiltinTopicDcpsPublication,
        BuiltinTopicDcpsSubscription,
    )
    from cyclonedds.core import InstanceState, ReadCondition, SampleState, ViewState

    watcher = Watcher(domain_id)
    # BuiltinDataReader + ReadCondition: a plain DataReader on builtin topics segfaults (docs/ros2.md#pitfalls).
    builtin = {
        kind: BuiltinDataReader(watcher.participant, topic)
        for kind, topic in (("pub", BuiltinTopicDcpsPublication), ("sub", BuiltinTopicDcpsSubscription))
    }
    any_state = ViewState.Any | InstanceState.Any | SampleState.Any
    conditions = {kind: ReadCondition(reader, any_state) for kind, reader in builtin.items()}

    with open(tmp_path / "peer.log", "w+") as stderr:
        peer = subprocess.Popen(
            [sys.executable, str(PEER), "echo", NS],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True, env=dict(os.environ),
        )  # fmt: skip
        try:
            assert peer.stdout.readline().strip() == "READY", (stderr.seek(0), stderr.read())
            key = (f"/{NS}", "echo")
            latest = watcher.wait_for(lambda got: any(key in nodes(m) for m in got.values()))
            (participant, msg), *_ = [(g, m) for g, m in latest.items() if key in nodes(m)]
            readers, writers = nodes(msg)[key]
            assert len(readers) == len(writers) == 1
            assert all(len(g) == 16 for g in (participant, *readers, *writers)), "Iron+ layout: 16-byte gids"

            endpoints: dict[bytes, tuple[str, str, bytes]] = {}  # GUID -> (kind, topic, participant GUID)
            deadline = time.monotonic() + TIMEOUT_S
            while not {readers[0][:16], writers[0][:16]} <= endpoints.keys():
                assert time.monotonic() < deadline, f"peer endpoints not in DDS discovery: {endpoints}"
                for kind, reader in builtin.items():
                    for s in reader.read(N=256, condition=conditions[kind]):
                        endpoints[s.key.bytes] = (kind, s.topic_name, s.participant_key.bytes)
                time.sleep(0.02)
            assert endpoints[writers[0][:16]] == ("pub", f"rt/{NS}/pong", participant[:16])
            assert endpoints[readers[0][:16]] == ("sub", f"rt/{NS}/ping", participant[:16])

            peer.stdin.close()  # the peer destroys its node and exits
            assert peer.wait(timeout=TIMEOUT_S) == 0
            watcher.wait_for(lambda got: key not in nodes(got[participant]))
        finally:
            if peer.poll() is None:
                peer.kill()
                peer.wait()
            peer.stdout.close()
