"""Malformed CDR from a ROS 2 node: counted in the DDS node's receive errors, logged boundedly.

Cyclone deserialises (validates) every sample in its receive thread and drops one it cannot
read with a warning on the C ``stderr``, per sample; the node never sees it. rclpy publishes raw
bytes as they are, so a Fast DDS publisher is the hostile sender here.
"""

from __future__ import annotations

import os
import random
import struct
import time

import pytest

from robocritic.ros.msgs import Float64MultiArray
from robocritic.ros.qos import QoSProfile
from robocritic.ros.transport import make_node

pytestmark = pytest.mark.timeout(60)

NS = f"robocritic_fuzz_{os.getpid()}_{random.SystemRandom().randrange(10**6)}"
N_BAD = 40
TIMEOUT_S = 15.0


def test_malformed_samples_are_counted_and_logged_boundedly(rclpy_context, capfd, caplog):
    import rclpy
    import rclpy.serialization
    from std_msgs.msg import Float64MultiArray as RosFloat64MultiArray

    ros = rclpy.create_node("fuzzer", context=rclpy_context)
    victim = make_node("victim", transport="dds", namespace=NS)
    try:
        topic = f"/{NS}/fuzz"
        pub = ros.create_publisher(RosFloat64MultiArray, topic, N_BAD + 10)
        got: list = []
        sub = victim.create_subscription(Float64MultiArray, topic, got.append, QoSProfile(depth=N_BAD + 10))
        deadline = time.monotonic() + TIMEOUT_S
        while not (pub.get_subscription_count() and sub.get_publisher_count()):
            assert time.monotonic() < deadline, "rclpy publisher and DDS subscription never matched"
            time.sleep(0.05)
        time.sleep(0.5)  # both sides' matching settles before the first sample

        good = rclpy.serialization.serialize_message(RosFloat64MultiArray(data=[1.0, 2.0]))
        # header, empty dim sequence, data_offset, then a data sequence claiming 1000 doubles but holding one
        bad = good[:4] + struct.pack("<III", 0, 0, 1000) + struct.pack("<d", 1.0)
        for _ in range(N_BAD):
            pub.publish(bad)
        pub.publish(good)

        deadline = time.monotonic() + TIMEOUT_S
        while not got or victim.stats.receive_errors.get(topic, 0) < N_BAD:
            errors = dict(victim.stats.receive_errors)
            assert time.monotonic() < deadline, f"got {got}, receive errors {errors}"
            victim.spin_once(0.1)
        assert [list(m.data) for m in got] == [[1.0, 2.0]], "the good sample after the bad ones arrives"
        assert dict(victim.stats.receive_errors) == {topic: N_BAD} and sub.errors == N_BAD
        # Cyclone's own per-sample line never reaches stderr; the node's error log is throttled
        stderr = [line for line in capfd.readouterr().err.splitlines() if "fuzz" in line]
        assert stderr == [], f"{len(stderr)} stderr lines for {N_BAD} bad samples:\n" + "\n".join(stderr[:5])
        logged = [r.getMessage() for r in caplog.records if topic in r.getMessage()]
        assert len(logged) == 1 and "could not deserialise" in logged[0], logged
    finally:
        victim.destroy()
        ros.destroy_node()
