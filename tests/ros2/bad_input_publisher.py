"""A ROS 2 robot side that misbehaves: rclpy publishes bad JointStates and an e-stop to a controller.

Run by tests/ros2/test_bad_inputs.py as a child process of a ROS 2 venv (generated messages, the
distro's own serialisation)::

    python tests/ros2/bad_input_publisher.py NODE_FQN TIMELINE_JSON

It waits until the controller's subscriptions (joint states, e-stop, ``NODE_FQN/activate``) are
matched, prints ``matched`` and sends good states until a line arrives on stdin (``handshake``:
the test saw the controller answer them, so discovery is complete both ways), then runs
:data:`PHASES` and writes what it did to TIMELINE_JSON: per phase its start on the monotonic clock
(shared by every process on the machine), its end and how many JointStates it sent, and when it
sent the activation (``activate``). Then it keeps the node alive and silent until it is killed (the test's
stale-input case).
"""

from __future__ import annotations

import json
import select
import sys
import time
from pathlib import Path

import rclpy
from rclpy.node import Node
from rclpy.publisher import Publisher
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool

from robocritic.profiles import load_profile

PROFILE = load_profile("pendulum_sim")  # the controller's default profile
JOINT = PROFILE.joints[0].name
RATE_HZ = 50.0
MATCH_TIMEOUT_S = 60.0
NAN, INF = float("nan"), float("inf")

State = tuple[list[str], list[float], list[float]]  # JointState name, position, velocity

# (phase, seconds, JointStates sent in turn; None sends none). The phases that send bad states
# are named by the reason the controller must count them under.
GOOD: State = ([JOINT], [0.3], [0.0])  # away from upright: the controller answers a non-zero effort
PHASES: list[tuple[str, float, list[State] | None]] = [
    ("good", 0.5, [GOOD]),
    ("non_finite", 1.0, [([JOINT], [NAN], [0.0]), ([JOINT], [0.1], [INF]), ([JOINT], [-INF], [NAN])]),
    ("malformed", 0.4, [([JOINT], [0.1, 0.2], [0.0]), ([JOINT], [0.1], [0.0, 0.0]),
                        ([JOINT, JOINT], [0.1, 0.1], [0.0, 0.0])]),
    ("unknown_joint", 0.4, [([JOINT, "elbow"], [0.1, 0.2], [0.0, 0.0]), (["elbow"], [0.1], [0.0])]),
    ("out_of_range", 1.0, [([JOINT], [1e300], [0.0]), ([JOINT], [0.1], [-1e300]), ([JOINT], [-5.0], [0.0])]),
    ("estop", 1.0, [GOOD]),  # the e-stop engages at the start; good states keep coming
    ("release", 0.5, None),  # e-stop released, then the controller activated again
    ("good_again", 1.0, [GOOD]),
]  # fmt: skip


def joint_state(node: Node, names: list[str], position: list[float], velocity: list[float]) -> JointState:
    msg = JointState()
    msg.header.stamp = node.get_clock().now().to_msg()
    msg.name, msg.position, msg.velocity = names, position, velocity
    return msg


def wait_matched(node: Node, publishers: list[Publisher]) -> None:
    end = time.monotonic() + MATCH_TIMEOUT_S
    while any(p.get_subscription_count() == 0 for p in publishers):
        if time.monotonic() > end:
            sys.exit(f"no controller subscription after {MATCH_TIMEOUT_S} s")
        rclpy.spin_once(node, timeout_sec=0.05)


def handshake(node: Node, state_pub: Publisher) -> int:
    """Send good states until a line arrives on stdin; returns how many were sent."""
    end = time.monotonic() + MATCH_TIMEOUT_S
    sent = 0
    while not select.select([sys.stdin], [], [], 1.0 / RATE_HZ)[0]:
        if time.monotonic() > end:
            sys.exit(f"no go from the test after {MATCH_TIMEOUT_S} s")
        state_pub.publish(joint_state(node, *GOOD))
        sent += 1
    sys.stdin.readline()
    return sent


def main(node_fqn: str, timeline_path: str) -> None:
    rclpy.init()
    node = rclpy.create_node("bad_input_publisher")
    reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    state_topic = PROFILE.topics["joint_states"].name
    state_pub = node.create_publisher(JointState, state_topic, qos_profile_sensor_data)
    estop_pub = node.create_publisher(Bool, PROFILE.estop.name, reliable)
    activate_pub = node.create_publisher(Bool, f"{node_fqn}/activate", reliable)
    wait_matched(node, [state_pub, estop_pub, activate_pub])
    print("matched", flush=True)
    start = time.monotonic()
    timeline: list[dict[str, float | int | str]] = [
        {"phase": "handshake", "start": start, "sent": handshake(node, state_pub)}
    ]
    for phase, seconds, states in PHASES:
        start = time.monotonic()
        if phase == "estop":
            estop_pub.publish(Bool(data=True))
        elif phase == "release":
            estop_pub.publish(Bool(data=False))
            time.sleep(0.2)  # two topics, no order between them: the release must land first
            activate_pub.publish(Bool(data=True))
            timeline.append({"phase": "activate", "start": time.monotonic(), "sent": 0})
        sent = 0
        while time.monotonic() - start < seconds:
            if states:
                state_pub.publish(joint_state(node, *states[sent % len(states)]))
                sent += 1
            time.sleep(1.0 / RATE_HZ)
        timeline.append({"phase": phase, "start": start, "end": time.monotonic(), "sent": sent})
    Path(timeline_path).write_text(json.dumps(timeline))
    print("done", flush=True)
    while True:  # alive and silent until killed
        time.sleep(1.0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
