"""A default-configured ROS 2 node finds robocritic's DDS nodes whatever the start order.

robocritic's default Cyclone configuration stays on loopback without multicast; Fast DDS (the
default rmw of Jazzy and Kilted) announces itself by multicast only but answers unicast
discovery on its well-known ports. So a ROS 2 node that starts after the DDS nodes is found only
if Cyclone keeps pinging those ports (every second, never pruned). Each test checks that data
arrives within :data:`BOUND_S` of the later side starting.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import pytest
import rclpy_peer as peers  # tests/ros2 is on sys.path (conftest)

from robocritic.ros.msgs import Float64
from robocritic.ros.transport import make_node

pytestmark = pytest.mark.timeout(120)

NS = f"robocritic_order_{os.getpid()}_{random.SystemRandom().randrange(10**6)}"
BOUND_S = 10.0
N = 3


def _ros_listener_after_dds_talker(distro: str, env: dict[str, str], log: Path, head_start_s: float) -> dict:
    talker = make_node("early_talker", transport="dds", namespace=NS)
    try:
        pub = talker.create_publisher(Float64, "first", 10)
        talker.create_timer(0.05, lambda: pub.publish(Float64(data=2.5)))
        talker.spin_in_thread()
        time.sleep(head_start_s)  # past Cyclone's start-up announcements
        args = ("listen", "std_msgs/msg/Float64", f"/{NS}/first", str(N))
        with peers.run_peer(distro, env, log, *args) as proc:
            return peers.result(proc, log)
    finally:
        talker.destroy()


@pytest.mark.parametrize("distro", ["jazzy", "kilted"])
def test_ros_node_started_after_dds_node_receives(distro, ros_env, tmp_path):
    got = _ros_listener_after_dds_talker(distro, ros_env, tmp_path / "peer.log", head_start_s=3.0)
    assert got["received"] == [{"data": 2.5}] * N, got
    assert got["after_s"] < BOUND_S, got


@pytest.mark.slow
def test_ros_node_started_long_after_dds_node_receives(ros_env, tmp_path):
    """Past Cyclone's default 30 s prune of peer addresses that never answered."""
    got = _ros_listener_after_dds_talker("jazzy", ros_env, tmp_path / "peer.log", head_start_s=35.0)
    assert got["received"] == [{"data": 2.5}] * N, got
    assert got["after_s"] < BOUND_S, got


@pytest.mark.parametrize("distro", ["jazzy", "kilted"])
def test_dds_node_started_after_ros_node_receives(distro, ros_env, tmp_path):
    log = tmp_path / "peer.log"
    args = ("talk", "std_msgs/msg/Float64", f"/{NS}/second", json.dumps({"data": 1.25}))
    with peers.run_peer(distro, ros_env, log, *args):
        time.sleep(3.0)  # the ROS node is well past its own start-up announcements
        listener = make_node("late_listener", transport="dds", namespace=NS)
        try:
            got: list[float] = []
            listener.create_subscription(Float64, "second", lambda m: got.append(m.data), 10)
            start = time.monotonic()
            while len(got) < N and time.monotonic() - start < BOUND_S:
                listener.spin_once(0.1)
            assert got[:N] == [1.25] * N, f"{got} after {time.monotonic() - start:.1f} s"
        finally:
            listener.destroy()
