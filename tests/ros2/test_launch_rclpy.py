"""``robocritic launch launch/pendulum_sim.launch.yaml --transport rclpy`` from the Jazzy venv: both
nodes come up as rclpy nodes, the lockstep loop runs (an rclpy subscriber here decodes the states
and commands), and the launch shuts down cleanly after ``--duration`` (exit 0, every node ended
with code 0, the controller's safe stop on the wire, no process left behind)."""

from __future__ import annotations

import math

import node_processes as nodes  # tests/ros2 is on sys.path (conftest)
import pytest

pytestmark = pytest.mark.timeout(120)
DURATION_S = 8.0
TICK_NS = 50_000_000  # hardware/pendulum_sim.yaml: 20 Hz
NODES = ("sim_bridge", "mpc_controller")


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
        with nodes.launched("launch/pendulum_sim.launch.yaml", DURATION_S, [], ros_env, log) as launcher:
            # rclpy nodes, not DDS-transport ones: only rclpy nodes offer parameter services
            assert p.spin_until(
                lambda: all(f"/pendulum/{n}/get_parameters" in nodes.services(p, n, "/pendulum") for n in NODES)
            ), f"parameter services never appeared\n{log.read_text()}"
            nodes.spin_until_exit(p, launcher, DURATION_S, log)  # and the safe stop sent at shutdown
    output = log.read_text()
    # the loop ran: lockstep ticks on the 50 ms grid, one command per tick, then the safe stop
    ticks = sorted(set(stamps))
    assert len(ticks) >= 20, output
    assert all(t % TICK_NS == 0 for t in ticks) and names == {("hinge",)}
    assert len(commands) >= 20 and all(len(c) == 1 and math.isfinite(c[0]) for c in commands)
    assert commands[-1] == [0.0]  # the controller's safe stop on SIGINT
    assert len(commands) <= ticks[-1] // TICK_NS + 3  # one per tick 0..last (+ one more, + the stop)
    nodes.check_clean_shutdown(output, launcher.returncode, NODES)  # every node ended with 0, none left
