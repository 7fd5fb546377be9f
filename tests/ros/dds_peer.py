"""A second process for tests/ros/test_transport_dds.py: talks, listens or echoes over the DDS transport.

Run as ``python dds_peer.py ROLE NAMESPACE [N]`` with ``ROS_DOMAIN_ID`` and ``CYCLONEDDS_URI`` set by the
test. Prints ``READY`` once its endpoints exist, results as one JSON line, and exits when done or
when stdin closes (so a test that dies never leaves it behind).

Roles:
    talk N     wait for a subscriber on NAMESPACE/cmd_vel, send N Twists (linear.x = i,
               angular.z = -i / 2), then stay until stdin closes so reliable delivery completes.
    listen N   print READY, receive N Twists on NAMESPACE/cmd_vel, print them, exit.
    echo       republish every Twist from NAMESPACE/ping on NAMESPACE/pong.

NAMESPACE is unique per test run, so two runs that happen to draw the same domain never mix.
"""

from __future__ import annotations

import json
import sys
import threading
import time

from robocritic.ros.msgs import Twist, Vector3
from robocritic.ros.qos import QoSProfile
from robocritic.ros.transport import make_node

TIMEOUT_S = 15.0


def _exit_when_stdin_closes(done: threading.Event) -> None:
    sys.stdin.read()
    done.set()


def talk(namespace: str, n: int) -> None:
    node = make_node("talker", transport="dds", namespace=namespace)
    pub = node.create_publisher(Twist, "cmd_vel", QoSProfile(depth=n))
    print("READY", flush=True)
    end = time.monotonic() + TIMEOUT_S
    while pub.get_subscription_count() == 0 and time.monotonic() < end:
        time.sleep(0.001)
    for i in range(n):
        pub.publish(Twist(linear=Vector3(x=float(i)), angular=Vector3(z=-i / 2)))
    print(json.dumps({"sent": pub.published}), flush=True)
    done = threading.Event()
    threading.Thread(target=_exit_when_stdin_closes, args=(done,), daemon=True).start()
    done.wait(TIMEOUT_S)
    node.destroy()


def listen(namespace: str, n: int) -> None:
    node = make_node("listener", transport="dds", namespace=namespace)
    got: list[list[float]] = []
    node.create_subscription(
        Twist, "cmd_vel", lambda m: got.append([m.linear.x, m.angular.z]), QoSProfile(depth=n)
    )
    print("READY", flush=True)
    end = time.monotonic() + TIMEOUT_S
    while len(got) < n and time.monotonic() < end:
        node.spin_once(0.05)
    print(json.dumps({"received": got}), flush=True)
    node.destroy()


def echo(namespace: str) -> None:
    node = make_node("echo", transport="dds", namespace=namespace)
    pong = node.create_publisher(Twist, "pong", QoSProfile(depth=10))
    node.create_subscription(Twist, "ping", pong.publish, QoSProfile(depth=10))
    done = threading.Event()
    threading.Thread(target=_exit_when_stdin_closes, args=(done,), daemon=True).start()
    print("READY", flush=True)
    end = time.monotonic() + TIMEOUT_S
    while not done.is_set() and time.monotonic() < end:
        node.spin_once(0.05)
    node.destroy()


if __name__ == "__main__":
    role, namespace = sys.argv[1], sys.argv[2]
    if role == "talk":
        talk(namespace, int(sys.argv[3]))
    elif role == "listen":
        listen(namespace, int(sys.argv[3]))
    elif role == "echo":
        echo(namespace)
    else:
        sys.exit(f"unknown role {role!r}")
