"""Controller nodes are ROS 2 lifecycle nodes on rclpy; transitions drive their activation.

A lifecycle client in this process (``~/change_state``, ``~/get_state``, lifecycle_msgs) drives a
controller executable started with ``--transport rclpy``: nothing is sent before ``activate``,
``deactivate`` sends one safe stop and then nothing, the ``~/activate`` topic takes the same
transitions, and ``shutdown`` ends the process cleanly. The mapping itself (autostart, e-stop
refusing activation, finalize) is checked in process on rclpy and on the in-process transport.
"""

from __future__ import annotations

import json

import node_processes as nodes  # tests/ros2 is on sys.path (conftest)
import pytest

from robocritic.nodes.controller_node import ControllerNode
from robocritic.nodes.mpc_controller import mpc_factory
from robocritic.ros.msgs import Bool
from robocritic.ros.transport import InProcessBus
from robocritic.ros.transport.rclpy_adapter import RclpyNode

pytestmark = pytest.mark.timeout(120)


def _controller(transport: str, autostart: bool) -> ControllerNode:
    params = {"autostart": autostart, "horizon": 3}
    if transport == "rclpy":
        node = RclpyNode("ctl", parameters=params, lifecycle=True)
    else:
        node = InProcessBus().create_node("ctl", parameters=params)
    return ControllerNode(node, mpc_factory)


@pytest.mark.parametrize("transport", ["rclpy", "inprocess"])
def test_autostart_configures_and_activates_and_shutdown_finalizes(ros_env, transport):
    ctl = _controller(transport, autostart=True)
    try:
        assert ctl.lifecycle.state == "active" and ctl.logic.active
        ctl.lifecycle.shutdown()
        assert ctl.lifecycle.state == "finalized" and ctl.finished and not ctl.logic.active
        assert ctl.logic.safe_commands["shutdown"] == 1 and ctl.logic.commands_sent == 1
        assert ctl.activate() is False and not ctl.logic.active  # a finalized node stays down
    finally:
        ctl.node.destroy()


@pytest.mark.parametrize("transport", ["rclpy", "inprocess"])
def test_without_autostart_the_node_waits_unconfigured_and_an_engaged_estop_refuses_activation(
    ros_env, transport
):
    ctl = _controller(transport, autostart=False)
    try:
        assert ctl.lifecycle.state == "unconfigured" and not ctl.logic.active
        ctl._on_estop(Bool(data=True))
        assert ctl.activate() is False
        assert ctl.lifecycle.state == "inactive" and not ctl.logic.active  # configured, activation refused
        ctl._on_estop(Bool(data=False))
        ctl._on_activate(Bool(data=True))  # the ~/activate topic
        assert ctl.lifecycle.state == "active" and ctl.logic.active
        ctl._on_activate(Bool(data=False))
        assert ctl.lifecycle.state == "inactive" and not ctl.logic.active
        assert ctl.logic.safe_commands["deactivate"] == 1 and ctl.logic.commands_sent == 1
    finally:
        ctl.node.destroy()


class _LifecycleClient:
    """``~/get_state`` and ``~/change_state`` of one node, called from a probe."""

    def __init__(self, p, node: str) -> None:
        from lifecycle_msgs.srv import ChangeState, GetState

        self.p, self.node = p, node
        self.types = ChangeState, GetState

    def state(self) -> str:
        reply = self.p.call(self.types[1], f"{self.node}/get_state", self.types[1].Request())
        return reply.current_state.label

    def change(self, transition_id: int) -> bool:
        from lifecycle_msgs.msg import Transition

        request = self.types[0].Request(transition=Transition(id=transition_id))
        return self.p.call(self.types[0], f"{self.node}/change_state", request).success


def _feed_state(p, topic: str, position: float) -> None:
    """Publish the pendulum's JointState on ``topic`` at 20 Hz from the probe (stamped now)."""
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import JointState

    pub = p.node.create_publisher(JointState, topic, qos_profile_sensor_data)

    def tick() -> None:
        msg = JointState(name=["hinge"], position=[position], velocity=[0.0])
        msg.header.stamp = p.node.get_clock().now().to_msg()
        pub.publish(msg)

    p.node.create_timer(0.05, tick)


def test_a_lifecycle_client_drives_a_controller_process(tmp_path, ros_env, rclpy_context):
    from lifecycle_msgs.msg import Transition
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from std_msgs.msg import Bool as RosBool

    log, report = tmp_path / "ctl.log", tmp_path / "report.json"
    args = ["-r", "__node:=ctl", "-r", "__ns:=/robot", "-r", "/pendulum/effort_command:=/robot/effort",
            "-r", "/pendulum/joint_states:=/robot/joint_states", "-p", "autostart:=false", "-p", "horizon:=5",
            "-p", f"report_path:={report}"]  # fmt: skip
    with nodes.probe(rclpy_context) as p, nodes.node_process("mpc_controller", args, ros_env, log) as proc:
        got = nodes.float_commands(p, "/robot/effort")
        _feed_state(p, "/robot/joint_states", 0.3)
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        activate = p.node.create_publisher(RosBool, "/robot/ctl/activate", reliable)
        lc = _LifecycleClient(p, "/robot/ctl")
        assert lc.state() == "unconfigured", log.read_text()
        assert p.spin_until(lambda: p.node.count_publishers("/robot/effort") == 1)
        assert lc.change(Transition.TRANSITION_ACTIVATE) is False  # not from unconfigured
        p.spin(1.0)
        assert got == [] and proc.poll() is None  # unconfigured: nothing sent, and still alive

        assert lc.change(Transition.TRANSITION_CONFIGURE) and lc.state() == "inactive"
        p.spin(0.5)
        assert got == []  # inactive: nothing sent

        assert lc.change(Transition.TRANSITION_ACTIVATE) and lc.state() == "active"
        assert p.spin_until(lambda: sum(c != [0.0] for c in got) >= 3), log.read_text()

        assert lc.change(Transition.TRANSITION_DEACTIVATE) and lc.state() == "inactive"
        at_reply = len(got)
        p.spin(0.7)
        assert got[-1] == [0.0] and len(got) - at_reply <= 1  # the one safe stop, if not heard yet
        settled = len(got)
        p.spin(0.5)
        assert len(got) == settled  # inactive: nothing more

        assert p.spin_until(lambda: activate.get_subscription_count() == 1)
        activate.publish(RosBool(data=True))  # the ~/activate topic takes the lifecycle transitions too
        assert p.spin_until(lambda: sum(c != [0.0] for c in got[settled:]) >= 3), log.read_text()
        assert lc.state() == "active"

        assert lc.change(Transition.TRANSITION_ACTIVE_SHUTDOWN)
        assert proc.wait(timeout=20) == 0, log.read_text()
        p.spin(0.5)
    data = json.loads(report.read_text())
    assert data["safe_commands"]["deactivate"] == 1 and data["safe_commands"]["shutdown"] == 1
    assert got[-1] == [0.0]
    assert "Traceback" not in log.read_text()
