"""robocritic's DDS nodes in the ROS 2 graph, as a default-configured rclpy node lists them.

rclpy (every rmw built on rmw_dds_common) names the nodes behind DDS endpoints from the
``ros_discovery_info`` samples each participant publishes. From Iron on their ``Gid`` is 16 bytes;
a participant announcing Humble's 24-byte layout is not read at all, and its endpoints show up as
``_NODE_NAME_UNKNOWN_``. The rclpy side runs as a child of each distro's venv (tests/ros2/rclpy_peer.py).
"""

from __future__ import annotations

import json
import os
import random

import pytest
import rclpy_peer as peers  # tests/ros2 is on sys.path (conftest)

from robocritic.ros.msgs import Float64, JointState
from robocritic.ros.transport import make_node

pytestmark = pytest.mark.timeout(120)

NS = f"robocritic_graph_{os.getpid()}_{random.SystemRandom().randrange(10**6)}"


@pytest.mark.parametrize("distro", ["jazzy", "kilted"])
def test_rclpy_lists_dds_nodes_and_their_topics(distro, ros_env, tmp_path):
    talker = make_node("graph_talker", transport="dds", namespace=NS)
    listener = make_node("graph_listener", transport="dds", namespace=f"{NS}/sub")
    try:
        talker.create_publisher(Float64, "out", 1)
        talker.create_subscription(JointState, "in", lambda m: None, 1)
        listener.create_subscription(Float64, f"/{NS}/out", lambda m: None, 1)
        expected = {
            f"/{NS}/graph_talker": {
                "publishers": {f"/{NS}/out": "std_msgs/msg/Float64"},
                "subscribers": {f"/{NS}/in": "sensor_msgs/msg/JointState"},
            },
            f"/{NS}/sub/graph_listener": {
                "publishers": {},
                "subscribers": {f"/{NS}/out": "std_msgs/msg/Float64"},
            },
        }
        log = tmp_path / "peer.log"
        with peers.run_peer(distro, ros_env, log, "graph", json.dumps(expected)) as proc:
            got = peers.result(proc, log)
        ours = sorted(n for n in got["nodes"] if NS in n[0])
        assert ours == [[f"/{NS}", "graph_talker"], [f"/{NS}/sub", "graph_listener"]], got
        assert got["endpoints"] == expected, got
    finally:
        listener.destroy()
        talker.destroy()
