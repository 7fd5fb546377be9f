"""Node executables and launch files on ``--transport rclpy`` as child processes, and an rclpy probe
to talk to them.

Shared by the tests in this folder (``import node_processes as nodes``). The bad-argument cases and the
log wait come from tests/nodes/test_process.py, whose checks the tests here repeat on rclpy.
"""

from __future__ import annotations

import importlib.util
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).parents[2]
SERVICE_TIMEOUT_S = 30.0  # discovery plus a reply, on a loaded 2-core machine
EXIT_GRACE_S = 40.0  # a launch's shutdown beyond its --duration, on a loaded 2-core machine


def load_module(path: Path) -> ModuleType:
    """Import a helper file by path (test folders are not packages)."""
    name = f"_robocritic_tests_{path.parent.name}_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_ros_suite = load_module(ROOT / "tests" / "nodes" / "test_process.py")
BAD_ARGUMENTS: list[tuple[str, list[str], str]] = _ros_suite.BAD_ARGUMENTS
wait_for_text: Callable[..., None] = _ros_suite.wait_for_text


def node_command(module: str, ros_args: Sequence[str]) -> list[str]:
    """Command line of node executable ``module`` on rclpy, run by this interpreter (the ROS venv's)."""
    return [sys.executable, "-m", f"robocritic.nodes.{module}", "--transport", "rclpy", "--ros-args",
            *ros_args]  # fmt: skip


@contextmanager
def node_process(
    module: str, ros_args: Sequence[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen]:
    """Run node ``module`` with its output in ``log``; killed on exit if still running."""
    with open(log, "w") as out:
        proc = subprocess.Popen(node_command(module, ros_args), stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


class Probe:
    """An rclpy node in the test process with its own executor (on the test's context)."""

    def __init__(self, context: Any, name: str = "probe") -> None:
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.node = rclpy.create_node(name, context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)

    def spin(self, duration_s: float) -> None:
        """Run callbacks for ``duration_s`` seconds."""
        end = time.monotonic() + duration_s
        while (left := end - time.monotonic()) > 0:
            self.executor.spin_once(timeout_sec=min(left, 0.05))

    def spin_until(self, predicate: Callable[[], bool], timeout_s: float = SERVICE_TIMEOUT_S) -> bool:
        """Run callbacks until ``predicate()``; whether it came true within ``timeout_s``."""
        end = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > end:
                return False
            self.executor.spin_once(timeout_sec=0.05)
        return True

    def result(self, future: Any, timeout_s: float = SERVICE_TIMEOUT_S) -> Any:
        """Result of an rclpy future (a service reply); fails the test after ``timeout_s``."""
        assert self.spin_until(future.done, timeout_s), f"no reply within {timeout_s} s"
        return future.result()

    def call(self, srv_type: type, service: str, request: Any) -> Any:
        """Call ``service`` once it is discovered and return the reply."""
        client = self.node.create_client(srv_type, service)
        try:
            assert client.wait_for_service(timeout_sec=SERVICE_TIMEOUT_S), f"{service} never appeared"
            return self.result(client.call_async(request))
        finally:
            self.node.destroy_client(client)

    def destroy(self) -> None:
        self.executor.remove_node(self.node)
        self.node.destroy_node()
        self.executor.shutdown()


@contextmanager
def probe(context: Any, name: str = "probe") -> Iterator[Probe]:
    """A :class:`Probe`, destroyed afterwards."""
    p = Probe(context, name)
    try:
        yield p
    finally:
        p.destroy()


def float_commands(p: Probe, topic: str) -> list[list[float]]:
    """Subscribe ``topic`` (std_msgs/Float64MultiArray, reliable) on ``p``; the list fills as they arrive."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Float64MultiArray

    got: list[list[float]] = []
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
    p.node.create_subscription(Float64MultiArray, topic, lambda m: got.append(list(m.data)), qos)
    return got


def probe_qos(depth: int) -> tuple[Any, Any]:
    """Reader QoS ``(best_effort, reliable)`` of a probe that keeps ``depth`` samples per topic."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    return (QoSProfile(depth=depth, reliability=ReliabilityPolicy.BEST_EFFORT),
            QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE))  # fmt: skip


def stamp_ns(msg: Any) -> int:
    """A stamped message's ``header.stamp`` [ns]."""
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def services(p: Probe, node: str, namespace: str) -> set[str]:
    """Service names of ``namespace/node`` in the ROS graph (empty until the node is discovered)."""
    from rclpy._rclpy_pybind11 import NodeNameNonExistentError

    try:
        return {name for name, _ in p.node.get_service_names_and_types_by_node(node, namespace)}
    except NodeNameNonExistentError:
        return set()


def launch(
    launch_file: str, duration_s: float, launch_args: Sequence[str], env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    """``robocritic launch launch_file --transport rclpy --duration duration_s launch_args`` from the
    repository root, by this venv's console script, with its output in ``log``."""
    robocritic = Path(sys.executable).with_name("robocritic")
    cmd = [str(robocritic), "launch", launch_file, "--transport", "rclpy", "--duration", str(duration_s),
           *launch_args]  # fmt: skip
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(launcher: subprocess.Popen[bytes]) -> None:
    """Ctrl-C (the launcher then stops its nodes), SIGKILL if it hangs."""
    if launcher.poll() is None:
        launcher.send_signal(signal.SIGINT)
        try:
            launcher.wait(timeout=20)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait(timeout=10)


@contextmanager
def launched(
    launch_file: str, duration_s: float, launch_args: Sequence[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """:func:`launch`, then :func:`stop` on exit (a no-op once the launcher has ended by itself)."""
    launcher = launch(launch_file, duration_s, launch_args, env, log)
    try:
        yield launcher
    finally:
        stop(launcher)


def spin_until_exit(p: Probe, launcher: subprocess.Popen[bytes], duration_s: float, log: Path) -> None:
    """Spin ``p`` until the launcher exits (fails, showing ``log``, if it outlives its ``--duration``
    by :data:`EXIT_GRACE_S`), then half a second more for what is still in flight (a safe stop)."""
    assert p.spin_until(lambda: launcher.poll() is not None, duration_s + EXIT_GRACE_S), log.read_text()
    p.spin(0.5)


def check_clean_shutdown(output: str, returncode: int, names: Sequence[str]) -> None:
    """The launcher (``output``, its log) exited 0, started exactly the nodes ``names`` and each of
    them ended with code 0 and is gone."""
    assert returncode == 0, output
    pids = {name: int(pid) for name, pid in re.findall(r"started (\w+) \[pid (\d+)\]", output)}
    assert set(pids) == set(names), output
    for name, pid in pids.items():
        assert f"{name} [pid {pid}] ended with code 0" in output, output
        assert not Path(f"/proc/{pid}").exists(), f"{name} [pid {pid}] is still running"
