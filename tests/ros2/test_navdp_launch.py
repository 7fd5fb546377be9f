"""``robocritic launch launch/navdp_sim.launch.yaml --transport rclpy`` from the Jazzy venv: the
simulated base and the planner come up as rclpy nodes, the 10 Hz lockstep loop runs (an rclpy probe
here decodes odometry, depth, goal, cmd_vel and the planned paths), and the launch shuts down cleanly
after ``--duration`` with every node ended with code 0 and the planner's stop command as the last
cmd_vel. DWA plans here (it needs no torch at plan time, so the loop is quick); the planner node
is the same for NavDP (tests/jobs/test_navdp_graph.py checks that one in process).

The probe may be matched to the nodes' writers after the loop started (Fast DDS discovery on a
loaded machine), so it checks every tick from the first one it saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import node_processes as nodes  # tests/ros2 is on sys.path (conftest)
import numpy as np
import pytest

pytestmark = pytest.mark.timeout(120)
LAUNCH_FILE = "launch/navdp_sim.launch.yaml"
NODES = ("nav_sim_bridge", "navdp_planner")
TICK_NS = 100_000_000  # hardware/diffdrive_depth.yaml: 10 Hz, one cmd_vel per env step
STEPS = 80
REAL_TIME_FACTOR = 1.0  # the loop takes STEPS / 10 = 8 wall seconds
DURATION_S = 25.0  # node start-up (imports, the model, discovery) and the loop
# Fast DDS discovery on a loaded 2-core machine may match the probe's readers seconds after the two
# nodes found each other and started the loop; from this tick on it must see everything.
LATEST_MATCH = 60
WORLD = 5001  # DWA reaches this goal in about 21 s: the robot is still driving at tick STEPS
PROBE_DEPTH = 10_000


@dataclass
class Seen:
    odom_stamps: list[int] = field(default_factory=list)
    odom_xy: dict[int, np.ndarray] = field(default_factory=dict)
    depth: list[tuple[int, str, int, int]] = field(default_factory=list)  # stamp, encoding, height, width
    goals: list[tuple[str, float, float]] = field(default_factory=list)
    twists: list[tuple[float, float]] = field(default_factory=list)
    paths: list[Any] = field(default_factory=list)


def _subscribe(p: nodes.Probe) -> Seen:
    from geometry_msgs.msg import PoseStamped, Twist
    from nav_msgs.msg import Odometry
    from nav_msgs.msg import Path as PathMsg
    from sensor_msgs.msg import Image

    seen = Seen()
    best_effort, reliable = nodes.probe_qos(PROBE_DEPTH)

    def on_odom(msg: Odometry) -> None:
        stamp = nodes.stamp_ns(msg)
        seen.odom_stamps.append(stamp)
        seen.odom_xy[stamp] = np.array([msg.pose.pose.position.x, msg.pose.pose.position.y])

    node = p.node
    node.create_subscription(Odometry, "/odom", on_odom, best_effort)
    node.create_subscription(Image, "/camera/depth/image_raw", lambda m: seen.depth.append(
        (nodes.stamp_ns(m), m.encoding, m.height, m.width)), best_effort)
    node.create_subscription(PoseStamped, "/goal_pose", lambda m: seen.goals.append(
        (m.header.frame_id, m.pose.position.x, m.pose.position.y)), reliable)
    node.create_subscription(Twist, "/cmd_vel", lambda m: seen.twists.append((m.linear.x, m.angular.z)), reliable)
    node.create_subscription(PathMsg, "/local_plan", seen.paths.append, reliable)
    return seen


def _run(ros_env: dict[str, str], rclpy_context: Any, log: Path) -> tuple[Seen, str, int]:
    args = ["method:=dwa", f"world_seed:={WORLD}", f"max_steps:={STEPS}",
            f"real_time_factor:={REAL_TIME_FACTOR}"]  # fmt: skip
    with nodes.probe(rclpy_context) as p:
        seen = _subscribe(p)
        with nodes.launched(LAUNCH_FILE, DURATION_S, args, ros_env, log) as launcher:
            nodes.spin_until_exit(p, launcher, DURATION_S, log)
    return seen, log.read_text(), launcher.returncode


def test_navdp_sim_launch_runs_on_rclpy_and_stops_safely(ros_env, rclpy_context, tmp_path):
    seen, output, returncode = _run(ros_env, rclpy_context, tmp_path / "launch.log")
    nodes.check_clean_shutdown(output, returncode, NODES)
    # The lockstep loop ran every tick to STEPS on the 100 ms grid (tick 0 re-sent until answered).
    assert seen.odom_stamps, output
    ticks = sorted(set(seen.odom_stamps))
    first = ticks[0] // TICK_NS
    assert first <= LATEST_MATCH, f"the probe was matched late (tick {first}): slow discovery"
    assert ticks[-1] == STEPS * TICK_NS and all(t % TICK_NS == 0 for t in ticks), ticks[-5:]
    assert len(ticks) >= 0.9 * (STEPS + 1 - first)
    assert {(e, h, w) for _, e, h, w in seen.depth} == {("32FC1", 48, 64)}
    # The goal goes out with every tick (volatile QoS: a reader matched late sees the later ones).
    assert {g[0] for g in seen.goals} == {"odom"}
    # The robot drove: DWA toward the goal, commanded on cmd_vel, planned paths in the odometry frame.
    moved = np.hypot(*(seen.odom_xy[ticks[-1]] - seen.odom_xy[ticks[0]]))
    assert moved > 0.2, moved
    # cmd_vel is the planner's writer: the probe may be matched to it later than to the bridge's.
    assert len(seen.twists) >= STEPS + 1 - LATEST_MATCH and any(v > 0 for v, _ in seen.twists)
    assert all(np.isfinite(seen.twists).all(axis=1))
    assert seen.twists[-1] == (0.0, 0.0), "the planner's stop at shutdown is the last command"
    assert seen.paths and {p.header.frame_id for p in seen.paths} == {"odom"}
