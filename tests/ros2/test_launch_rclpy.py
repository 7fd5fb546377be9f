"""``robocritic launch launch/pendulum_sim.launch.yaml --transport rclpy`` from the Jazzy venv: both
nodes come up as rclpy nodes, the lockstep loop runs (an rclpy subscriber here decodes the states
and commands), and the launch shuts down cleanly after ``--duration`` (exit 0, every node ended
with code 0, the controller's safe stop on the wire, no process left behind)."""

from __future__ import annotations

import math
import re
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import node_processes as nodes  # tests/ros2 is on sys.path (conftest)
import pytest

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).parents[2]
DURATION_S = 8.0
TICK_NS = 50_000_000  # hardware/pendulum_sim.yaml: 20 Hz
NODES = ("sim_bridge", "mpc_controller")


def _launch(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    robocritic = Path(sys.executable).with_name("robocritic")  # the console script of this venv
    cmd = [str(robocritic), "launch", "launch/pendulum_sim.launch.yaml", "--transport", "rclpy",
           "--duration", str(DURATION_S)]  # fmt: skip
    with open(log, "wb") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _services(p: SimpleNamespace, node: str) -> set[str]:
    """Service names of ``/pendulum/<node>`` in the ROS graph (empty until the node is discovered)."""
    from rclpy._rclpy_pybind11 import NodeNameNonExistentError

    try:
        return {name for name, _ in p.node.get_service_names_and_types_by_node(node, "/pendulum")}
    except NodeNameNonExistentError:
        return set()


def _stop(launcher: subprocess.Popen[bytes]) -> None:
    """Ctrl-C (the launcher then stops its nodes), SIGKILL if it hangs."""
    if launcher.poll() is None:
        launcher.send_signal(signal.SIGINT)
        try:
            launcher.wait(timeout=20)
        except subprocess.TimeoutExpired:
            launcher.kill()
            launcher.wait(timeout=10)


def test_pendulum_launch_file_runs_on_rclpy_and_shuts_down_cleanly(ros_env, rclpy_context, tmp_path):
    from sensor_msgs.msg import JointState

    from robocritic.ros.qos import SENSOR_DATA

    log = tmp_path / "launch.log"
    stamps: list[int] = []
    names: set[tuple[str, ...]] = set()
    with nodes.probe(rclpy_context) as p:

        def on_state(msg: JointState) -> None:
            stamps.append(msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec)
            names.add(tuple(msg.name))

        p.node.create_subscription(JointState, "/pendulum/joint_states", on_state, SENSOR_DATA.to_rclpy())
        commands = nodes.float_commands(p, "/pendulum/effort_command")
        launcher = _launch(ros_env, log)
        try:
            # rclpy nodes, not DDS-transport ones: only rclpy nodes offer parameter services
            assert p.spin_until(
                lambda: all(f"/pendulum/{n}/get_parameters" in _services(p, n) for n in NODES)
            ), f"parameter services never appeared\n{log.read_text()}"
            assert p.spin_until(lambda: launcher.poll() is not None, DURATION_S + 40.0), log.read_text()
            p.spin(0.5)  # the safe stop sent at shutdown
        finally:
            _stop(launcher)
    output = log.read_text()
    assert launcher.returncode == 0, output
    # the loop ran: lockstep ticks on the 50 ms grid, one command per tick, then the safe stop
    ticks = sorted(set(stamps))
    assert len(ticks) >= 20, output
    assert all(t % TICK_NS == 0 for t in ticks) and names == {("hinge",)}
    assert len(commands) >= 20 and all(len(c) == 1 and math.isfinite(c[0]) for c in commands)
    assert commands[-1] == [0.0]  # the controller's safe stop on SIGINT
    assert len(commands) <= ticks[-1] // TICK_NS + 3  # one per tick 0..last (+ one more, + the stop)
    # clean shutdown: every node ended with code 0 and none is left running
    pids = {name: int(pid) for name, pid in re.findall(r"started (\w+) \[pid (\d+)\]", output)}
    assert set(pids) == set(NODES), output
    for name, pid in pids.items():
        assert f"{name} [pid {pid}] ended with code 0" in output
        assert not Path(f"/proc/{pid}").exists(), f"{name} [pid {pid}] is still running"
