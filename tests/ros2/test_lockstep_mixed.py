"""The lockstep pendulum loop across the vendor boundary: one node on rclpy (Fast DDS), the other on
robocritic's DDS transport (Cyclone), both ways round, against the in-process run of the same start.

The nodes are child processes of this test (``python -m robocritic.nodes.sim_bridge --transport
rclpy ...``, started by :func:`robocritic.jobs.pendulum_graph.run_graph_demo`); this process records the
topics over DDS. Lockstep makes the graph's closed loop equal to ``run_closed_loop``'s bit for bit,
so every decoded state and command is compared exactly: what the bridge applied (its report) and
what crossed the wire (the bag).

rclpy nodes get ``ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST`` (graph_demo keeps every node on
loopback), and a mixed graph waits a few seconds before activating the controller (see
graph_demo's ``_MIXED_SETTLE_S``).
"""

from __future__ import annotations

import numpy as np
import pytest

from robocritic.jobs.pendulum_graph import GraphDemoConfig, format_graph_summary, run_graph_demo
from robocritic.nodes.sim_bridge import SimBridgeNode
from robocritic.ros.bag import read_bag_messages
from robocritic.ros.msgs import Float64MultiArray, JointState
from robocritic.ros.qos import COMMANDS, SENSOR_DATA
from robocritic.ros.transport import InProcessBus

# Discovery across vendors takes seconds on a loaded machine; a hang must fail the test, not the run.
pytestmark = pytest.mark.timeout(120)
STEPS = 200
STATE_TOPIC = "/pendulum/joint_states"
COMMAND_TOPIC = "/pendulum/effort_command"
TRUTH_TOPIC = "/sim_bridge/ground_truth"


@pytest.mark.parametrize(
    ("bridge", "controller"),
    [("rclpy", "dds"), ("dds", "rclpy")],
    ids=["rclpy_bridge-dds_controller", "dds_bridge-rclpy_controller"],
)
def test_mixed_lockstep_loop_matches_the_in_process_run_bit_for_bit(ros_env, tmp_path, bridge, controller):
    config = GraphDemoConfig(
        steps=STEPS, real_time_factor=0.0, out_dir=str(tmp_path), domain_id=int(ros_env["ROS_DOMAIN_ID"]),
        bridge_transport=bridge, controller_transport=controller, startup_timeout_s=60.0,
    )  # fmt: skip
    record = run_graph_demo(config)
    episode = record["episodes"][0]
    summary = record["summary"]
    assert record["transport"].startswith(f"sim_bridge on {bridge} + mpc_controller on {controller}")
    ref_states = np.asarray(episode["in_process"]["states"])
    ref_actions = np.asarray(episode["in_process"]["actions"])
    assert ref_states.shape == (STEPS + 1, 2) and ref_actions.shape == (STEPS, 1)
    # what the bridge applied, decoded from the other vendor's samples: exactly the in-process loop
    np.testing.assert_array_equal(np.asarray(episode["graph"]["states"]), ref_states)
    np.testing.assert_array_equal(np.asarray(episode["graph"]["actions"]), ref_actions)
    assert summary["max_state_diff"] == 0.0 and summary["max_action_diff"] == 0.0
    assert summary["safe_steps"] == {} and summary["rejected"] == {}
    assert episode["bridge_counters"]["commands_received"] == STEPS + 1
    assert episode["bridge_counters"]["receive_errors"] == {}
    assert episode["bridge_counters"]["callback_errors"] == {}
    assert summary["ticks"] == STEPS and summary["commands_timed"] == STEPS + 1
    # both processes ended on their own SIGINT path: the controller sent its safe stop
    assert episode["exit_codes"] == {"sim_bridge": 0, "mpc_controller": 0}
    assert episode["controller"]["safe_commands"] == {"shutdown": 1}
    # what crossed the wire, as this DDS process decoded it: the same values
    truth = [m.data for _, _, m in read_bag_messages(episode["bag"]["path"], [TRUTH_TOPIC])]
    np.testing.assert_array_equal(np.asarray(truth), ref_states)
    commands = [m.data for _, _, m in read_bag_messages(episode["bag"]["path"], [COMMAND_TOPIC])]
    assert len(commands) == STEPS + 2  # one per published state, plus the safe stop at shutdown
    np.testing.assert_array_equal(np.asarray(commands[:STEPS]), ref_actions)
    assert "MATCH" in format_graph_summary(record)


@pytest.mark.parametrize("field", ["bridge_transport", "controller_transport"])
def test_a_node_transport_outside_dds_and_rclpy_is_refused(field):
    expected = rf"GraphDemoConfig.{field} must be one of \('dds', 'rclpy'\); got 'inprocess'"
    with pytest.raises(ValueError, match=expected):
        GraphDemoConfig(**{field: "inprocess"})


def test_a_lockstep_bridge_publishes_its_first_tick_only_once_it_hears_a_command_publisher():
    # Lockstep answers each tick once: a first command sent before the bridge's subscription matched
    # the controller's publisher (one-sided discovery across vendors) would stall the loop for good.
    bus = InProcessBus()
    states: list[JointState] = []
    bus.create_node("probe").create_subscription(JointState, STATE_TOPIC, states.append, SENSOR_DATA)
    sim = SimBridgeNode(bus.create_node("sim_bridge", parameters={
        "real_time_factor": 0.0, "initial_state": [0.1, 0.0], "max_steps": 3,
        "wait_for_command_publishers": 1,
    }))  # fmt: skip
    bus.step(0.3)  # the JointState subscription is there, the command publisher is not
    assert states == [] and sim.resends == 0 and sim.logic.steps == 0
    commands = bus.create_node("controller").create_publisher(Float64MultiArray, COMMAND_TOPIC, COMMANDS)
    bus.step(0.05)
    assert len(states) == 1 and sim.logic.steps == 0  # tick 0, awaiting its command
    commands.publish(Float64MultiArray(data=[0.5]))
    bus.step(0.05)
    assert sim.logic.steps == 1 and sim.logic.episodes[0]["actions"] == [[0.5]]
