"""Messages with sequences between robocritic's DDS transport and a default Kilted (Fast DDS 3) node.

Fast DDS 3 announces XTypes type information that Cyclone 11 cannot use for sequence types (its
collection element flags lack the try-construct bits, and it answers a request for a minimal type
with the complete one), so without robocritic's ``IgnoreTypeInformation`` setting for vendor
1.15 such endpoints never match in either direction while /clock and Bool pass. Values must
arrive exactly, both ways.
"""

from __future__ import annotations

import json
import os
import random
import time

import pytest
import rclpy_peer as peers  # tests/ros2 is on sys.path (conftest)

from robocritic.ros import msgs
from robocritic.ros.msgs.sample import as_plain
from robocritic.ros.transport import make_node

pytestmark = pytest.mark.timeout(120)

NS = f"robocritic_kilted_{os.getpid()}_{random.SystemRandom().randrange(10**6)}"
BOUND_S = 15.0
N = 3

JOINT_STATE = msgs.JointState(
    header=msgs.Header(stamp=msgs.Time(sec=12, nanosec=345), frame_id="base"),
    name=["hinge", "slider"],
    position=[0.5, -1.25],
    velocity=[2.0, 0.0],
    effort=[],
)
ARRAY = msgs.Float64MultiArray(
    layout=msgs.MultiArrayLayout(
        dim=[msgs.MultiArrayDimension(label="rows", size=2, stride=2)], data_offset=0
    ),
    data=[1.5, -2.5],
)
CASES = {"sensor_msgs/msg/JointState": JOINT_STATE, "std_msgs/msg/Float64MultiArray": ARRAY}


@pytest.mark.parametrize("ros_type", sorted(CASES))
def test_kilted_receives_sequences_from_dds(ros_type, ros_env, tmp_path):
    message = CASES[ros_type]
    talker = make_node("seq_talker", transport="dds", namespace=NS)
    try:
        pub = talker.create_publisher(type(message), "to_kilted", 10)
        talker.create_timer(0.05, lambda: pub.publish(message))
        talker.spin_in_thread()
        log = tmp_path / "peer.log"
        with peers.run_peer("kilted", ros_env, log, "listen", ros_type, f"/{NS}/to_kilted", str(N)) as proc:
            got = peers.result(proc, log)
        assert got["received"] == [as_plain(message)] * N, got
    finally:
        talker.destroy()


@pytest.mark.parametrize("ros_type", sorted(CASES))
def test_dds_receives_sequences_from_kilted(ros_type, ros_env, tmp_path):
    message = CASES[ros_type]
    listener = make_node("seq_listener", transport="dds", namespace=NS)
    try:
        got: list = []
        listener.create_subscription(type(message), "from_kilted", got.append, 10)
        log = tmp_path / "peer.log"
        value = json.dumps(as_plain(message))
        with peers.run_peer("kilted", ros_env, log, "talk", ros_type, f"/{NS}/from_kilted", value):
            start = time.monotonic()
            while len(got) < N and time.monotonic() - start < BOUND_S:
                listener.spin_once(0.1)
        assert got[:N] == [message] * N, f"{got} after {time.monotonic() - start:.1f} s\n{log.read_text()}"
    finally:
        listener.destroy()
