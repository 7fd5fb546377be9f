"""A default-configured rclpy talker, listener or graph reader, run as a child in either ROS 2 venv.

::

    python tests/ros2/rclpy_peer.py listen TYPE TOPIC N      # TYPE like "std_msgs/msg/Float64"
    python tests/ros2/rclpy_peer.py talk TYPE TOPIC VALUE    # VALUE: plain JSON of one message
    python tests/ros2/rclpy_peer.py graph SPEC               # SPEC: JSON, see graph()

The node uses the distro's default discovery (ROS_DOMAIN_ID and RMW_IMPLEMENTATION from the
environment), so run it inside scripts/netns.sh. It prints ``READY`` once its endpoints exist,
then one JSON line, and exits when done, after :data:`TIMEOUT_S`, or when stdin closes (a test
that dies never leaves it behind). Needs rclpy only; message values convert with
tests/ros2/rclpy_msgs.py.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import rclpy_msgs  # this folder: sys.path[0] as a script, on sys.path via conftest in tests

ROOT = Path(__file__).parents[2]
TIMEOUT_S = 30.0
PUBLISH_PERIOD_S = 0.05



@contextlib.contextmanager
def run_peer(distro: str, env: dict[str, str], log: Path, *args: str) -> Iterator[subprocess.Popen]:
    """This script as a child of ``.venv-<distro>``; waits for READY; stdin closed, then killed, after."""
    python = ROOT / f".venv-{distro}" / "bin" / "python"
    with open(log, "w+") as stderr:
        proc = subprocess.Popen(
            [str(python), __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
            text=True, env=rclpy_msgs.child_env(env),
        )  # fmt: skip
        try:
            line = proc.stdout.readline().strip()
            assert line == "READY", f"rclpy peer {args} did not start: {line!r}\n{log.read_text()}"
            yield proc
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            proc.stdout.close()


def result(proc: subprocess.Popen, log: Path) -> dict[str, Any]:
    """The peer's JSON line (it prints one within TIMEOUT_S)."""
    line = proc.stdout.readline()
    assert line, f"rclpy peer exited without a result:\n{log.read_text()}"
    return json.loads(line)


def _stdin_closed() -> threading.Event:
    closed = threading.Event()

    def wait() -> None:
        sys.stdin.read()
        closed.set()

    threading.Thread(target=wait, daemon=True).start()
    return closed


def _emit(obj: dict[str, Any]) -> None:
    print(json.dumps(obj), flush=True)


def listen(node: Any, executor: Any, closed: threading.Event, ros_type: str, topic: str, n: int) -> None:
    """Print ``{"received": [plain message, ...], "after_s": s}`` after N messages (or TIMEOUT_S)."""
    msgs = rclpy_msgs
    got: list[Any] = []
    node.create_subscription(msgs.ros_class(ros_type), topic, lambda m: got.append(msgs.from_ros(m)), 10)
    print("READY", flush=True)
    start = time.monotonic()
    while len(got) < n and not closed.is_set() and time.monotonic() - start < TIMEOUT_S:
        executor.spin_once(timeout_sec=0.05)
    _emit({"received": got[:n], "after_s": round(time.monotonic() - start, 3)})


def talk(node: Any, executor: Any, closed: threading.Event, ros_type: str, topic: str, value: str) -> None:
    """Publish VALUE every PUBLISH_PERIOD_S until stdin closes; print ``{"sent": count}``."""
    msgs = rclpy_msgs
    cls = msgs.ros_class(ros_type)
    pub = node.create_publisher(cls, topic, 10)
    msg = msgs.to_ros(json.loads(value), cls)
    print("READY", flush=True)
    sent = 0
    start = time.monotonic()
    while not closed.is_set() and time.monotonic() - start < TIMEOUT_S:
        pub.publish(msg)
        sent += 1
        executor.spin_once(timeout_sec=PUBLISH_PERIOD_S)
    _emit({"sent": sent})


def graph(node: Any, executor: Any, closed: threading.Event, spec: str) -> None:
    """Wait until the graph shows SPEC, then print what it shows for those nodes.

    SPEC is ``{"/ns/name": {"publishers": {topic: type}, "subscribers": {topic: type}}}``; the
    output is ``{"nodes": [[namespace, name], ...], "endpoints": <SPEC's shape, as observed>}``
    with every node rclpy lists and, per SPEC node, all of its topics.
    """
    expected: dict[str, dict[str, dict[str, str]]] = json.loads(spec)
    print("READY", flush=True)
    start = time.monotonic()
    while True:
        executor.spin_once(timeout_sec=0.1)
        names = sorted([ns, name] for name, ns in node.get_node_names_and_namespaces())
        observed = {fqn: _endpoints(node, fqn) for fqn in expected}
        covered = all(
            set(want[kind].items()) <= set(observed[fqn][kind].items())
            for fqn, want in expected.items()
            for kind in want
        )
        if covered or closed.is_set() or time.monotonic() - start > TIMEOUT_S:
            break
    _emit({"nodes": names, "endpoints": observed, "after_s": round(time.monotonic() - start, 3)})


def _endpoints(node: Any, fqn: str) -> dict[str, dict[str, str]]:
    """``{"publishers": {topic: type}, "subscribers": {topic: type}}`` of node ``fqn`` (empty if unknown)."""
    from rclpy.node import NodeNameNonExistentError

    namespace, _, name = fqn.rpartition("/")
    result: dict[str, dict[str, str]] = {"publishers": {}, "subscribers": {}}
    try:
        for kind, query in (
            ("publishers", node.get_publisher_names_and_types_by_node),
            ("subscribers", node.get_subscriber_names_and_types_by_node),
        ):
            result[kind] = {topic: ",".join(types) for topic, types in query(name, namespace or "/")}
    except NodeNameNonExistentError:
        pass
    return result


def main() -> None:
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor

    role, args = sys.argv[1], sys.argv[2:]
    context = Context()
    rclpy.init(context=context)  # ROS_DOMAIN_ID from the environment
    node = rclpy.create_node(f"rclpy_peer_{role}", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    closed = _stdin_closed()
    try:
        if role == "listen":
            listen(node, executor, closed, args[0], args[1], int(args[2]))
        elif role == "talk":
            talk(node, executor, closed, args[0], args[1], args[2])
        elif role == "graph":
            graph(node, executor, closed, args[0])
        else:
            raise SystemExit(f"unknown role {role!r}: expected listen, talk or graph")
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)


if __name__ == "__main__":
    main()
