"""The nodes over the deterministic in-process transport: lockstep and free-running closed loops
equal ``run_closed_loop`` exactly; activation, e-stop, watchdog, malformed messages and parameter
validation through real topics."""

from __future__ import annotations

import json

import numpy as np
import pytest
from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC
from robocritic.controllers.lqr import dlqr

from robocritic.dynamics import PendulumModel
from robocritic.nodes.controller_node import ControllerNode
from robocritic.nodes.explicit_controller import explicit_factory
from robocritic.nodes.mpc_controller import build_linear_mpc, mpc_factory
from robocritic.nodes.sim_bridge import SimBridgeNode
from robocritic.profiles import load_profile
from robocritic.ros.msgs import Bool, Float64MultiArray, JointState
from robocritic.ros.msgs.convert import numpy_to_joint_state
from robocritic.ros.qos import COMMANDS, SENSOR_DATA
from robocritic.ros.transport import InProcessBus, ParameterError
from robocritic.testing import run_closed_loop

ENV = "robocritic/ClippedPendulum-v0"
STATES = "/pendulum/joint_states"
COMMAND = "/pendulum/effort_command"
ESTOP = "/pendulum/estop"


class Graph:
    """A sim_bridge and a controller node on one in-process bus, plus a probe node."""

    def __init__(self, bridge: dict | None = None, controller: dict | None = None, factory=mpc_factory,
                 start_controller: bool = True) -> None:  # fmt: skip
        self.bus = InProcessBus()
        self.probe = self.bus.create_node("probe")
        self.commands: list[list[float]] = []
        self.probe.create_subscription(
            Float64MultiArray, COMMAND, lambda m: self.commands.append(list(m.data)), 100
        )
        bridge_params = {"real_time_factor": 0.0, **(bridge or {})}
        self.sim = SimBridgeNode(self.bus.create_node("sim_bridge", parameters=bridge_params))
        self.controller_params = {"use_sim_time": True, **(controller or {})}
        self.factory = factory
        self.ctl: ControllerNode | None = None
        if start_controller:
            self.start_controller()

    def start_controller(self) -> ControllerNode:
        node = self.bus.create_node("ctl", parameters=self.controller_params)
        self.ctl = ControllerNode(node, self.factory)
        return self.ctl

    def episode(self, i: int = 0) -> tuple[np.ndarray, np.ndarray]:
        ep = self.sim.logic.episodes[i]
        return np.array(ep["states"]), np.array(ep["actions"])


def test_lockstep_loop_equals_run_closed_loop_exactly():
    x0, steps = [0.25, -0.2], 60
    graph = Graph({"initial_state": x0, "max_steps": steps, "seed": 5})
    graph.bus.step(0.1)
    states, actions = graph.episode()
    ref = run_closed_loop(build_linear_mpc(load_profile("pendulum_sim")), ENV, x0=x0, steps=steps, seed=5)
    np.testing.assert_array_equal(states, ref.states)  # bit for bit, not approximately
    np.testing.assert_array_equal(actions, ref.actions)
    assert graph.sim.logic.safe_steps == {} and graph.ctl.logic.rejected == {}
    assert graph.sim.ignored_commands == 1  # the command for the final state, which is never stepped


@pytest.mark.parametrize(
    "bridge",
    [
        {"real_time_factor": 1.0},  # paced lockstep on virtual time
        {
            "mode": "free_running",
            "real_time_factor": 1.0,
        },  # in-process delivery is instant, so every tick has its fresh command
    ],
)
def test_paced_and_free_running_loops_also_match_in_process(bridge):
    x0, steps = [-0.15, 0.3], 30
    graph = Graph({"initial_state": x0, "max_steps": steps, **bridge})
    graph.bus.step(steps * 0.05 + 0.2)
    states, _ = graph.episode()
    ref = run_closed_loop(build_linear_mpc(load_profile("pendulum_sim")), ENV, x0=x0, steps=steps)
    np.testing.assert_array_equal(states, ref.states)
    assert graph.sim.logic.safe_steps == {} and graph.sim.logic.held_steps == 0


def test_explicit_controller_node_equals_explicit_mpc_in_process(tmp_path):
    # A one-region explicit law (the LQR gain, clipped): enough to exercise the node and the artefact.
    model = PendulumModel()
    lin = model.linearize()
    K, _ = dlqr(lin.A, lin.B, np.eye(2), np.array([[1e-3]]))
    box = np.vstack([np.eye(2), -np.eye(2)])
    law = ExplicitLaw.from_regions(
        [(box, np.full(4, 3.0))], K=-K[None], r=np.zeros((1, 1)), domain_A=box, domain_b=np.full(4, 3.0),
        domain_low=[-3.0, -3.0], domain_high=[3.0, 3.0], x_eq=[0.0, 0.0], u_eq=[0.0], u_low=[-2.0],
        u_high=[2.0], dt=0.05,
    )  # fmt: skip
    path = law.save(tmp_path / "law.npz")
    x0, steps = [0.2, 0.1], 40
    graph = Graph({"initial_state": x0, "max_steps": steps}, {"law": str(path)}, factory=explicit_factory)
    graph.bus.step(0.1)
    ref = run_closed_loop(ExplicitMPC(ExplicitLaw.load(path)), ENV, x0=x0, steps=steps)
    np.testing.assert_array_equal(graph.episode()[0], ref.states)


def test_inactive_controller_sends_nothing_and_deactivation_sends_one_safe_stop():
    graph = Graph({"initial_state": [0.1, 0.0], "real_time_factor": 1.0}, {"autostart": False})
    graph.bus.step(1.0)
    assert graph.commands == [] and graph.sim.logic.steps == 0
    assert graph.sim.resends >= 5  # the bridge keeps offering tick 0 meanwhile
    activate = graph.probe.create_publisher(Bool, "/ctl/activate", COMMANDS)
    activate.publish(Bool(data=True))
    graph.bus.step(0.5)
    assert 10 <= graph.sim.logic.steps <= 12  # paced: ~one tick per 0.05 s once activated
    activate.publish(Bool(data=False))
    graph.bus.step(0.01)
    n = len(graph.commands)
    assert graph.commands[-1] == [0.0] and graph.ctl.logic.safe_commands == {"deactivate": 1}
    graph.bus.step(5.0)
    assert len(graph.commands) == n  # silent while inactive
    # ... so the bridge, after lockstep_timeout_s without a command, steps with the safe command
    assert graph.sim.logic.safe_steps["lockstep_timeout"] >= 2


def test_estop_latches_safe_commands_in_controller_and_bridge():
    graph = Graph({"initial_state": [0.1, 0.0], "real_time_factor": 1.0})
    graph.bus.step(0.5)
    estop = graph.probe.create_publisher(Bool, ESTOP, COMMANDS)
    estop.publish(Bool(data=True))
    graph.bus.step(0.5)
    assert graph.ctl.logic.estopped and graph.sim.logic.estopped
    assert graph.ctl.logic.safe_commands["estop"] >= 10
    assert graph.sim.logic.safe_steps["estop"] >= 10
    assert all(c == [0.0] for c in graph.commands[-10:])
    estop.publish(Bool(data=False))
    graph.probe.create_publisher(Bool, "/ctl/activate", COMMANDS).publish(Bool(data=True))
    graph.probe.create_publisher(Bool, "/sim_bridge/reset_estop", COMMANDS).publish(Bool(data=True))
    graph.bus.step(0.3)
    assert not graph.ctl.logic.estopped and not graph.sim.logic.estopped
    assert graph.commands[-1] != [0.0]


def test_malformed_messages_are_counted_and_nothing_crashes():
    graph = Graph({"initial_state": [0.1, 0.0], "real_time_factor": 1.0})
    bad_states = graph.probe.create_publisher(JointState, STATES, SENSOR_DATA)
    bad_commands = graph.probe.create_publisher(Float64MultiArray, COMMAND, COMMANDS)
    graph.bus.step(0.2)
    for msg in (
        numpy_to_joint_state(["hinge"], [np.nan], [0.0]),
        numpy_to_joint_state(["elbow"], [0.1], [0.0]),
        JointState(name=["hinge"], position=[0.1, 0.2], velocity=[0.0]),
        numpy_to_joint_state(["hinge"], [0.1]),  # no velocity
    ):
        bad_states.publish(msg)
    bad_commands.publish(Float64MultiArray(data=[np.inf]))
    graph.bus.step(0.01)  # the command topic keeps only the newest sample (KEEP_LAST 1)
    bad_commands.publish(Float64MultiArray(data=[1.0, 2.0]))
    graph.bus.step(0.5)
    assert graph.ctl.logic.rejected == {"non_finite": 1, "unknown_joint": 1, "malformed": 1, "no_velocity": 1}
    assert graph.sim.logic.rejected == {"non_finite": 1, "wrong_size": 1}
    assert graph.ctl.node.stats.total_errors == 0 and graph.sim.node.stats.total_errors == 0
    assert graph.sim.logic.steps >= 13 and graph.sim.logic.safe_steps == {}


def test_wall_clock_controller_watchdog_sends_safe_commands_when_states_stop():
    bus = InProcessBus()
    probe = bus.create_node("probe")
    sent: list[list[float]] = []
    probe.create_subscription(Float64MultiArray, COMMAND, lambda m: sent.append(list(m.data)), 100)
    ctl = ControllerNode(bus.create_node("ctl"), mpc_factory)  # wall clock: timer-driven at 20 Hz
    states = probe.create_publisher(JointState, STATES, SENSOR_DATA)
    states.publish(numpy_to_joint_state(["hinge"], [0.2], [0.0]))
    bus.step(0.1)
    assert len(sent) == 2 and sent[-1][0] < -0.5  # pushes back towards upright
    bus.step(0.2)  # no state for > 0.15 s
    assert sent[-1] == [0.0] and ctl.logic.safe_commands["stale_state"] >= 1
    states.publish(numpy_to_joint_state(["hinge"], [0.2], [0.0]))
    bus.step(0.05)
    assert sent[-1][0] < -0.5


def test_a_controller_that_starts_late_is_picked_up_by_resends():
    graph = Graph(
        {"initial_state": [0.1, 0.0], "wait_for_subscribers": 0, "max_steps": 5}, start_controller=False
    )
    graph.bus.step(0.35)
    assert graph.sim.resends >= 3 and graph.sim.logic.steps == 0
    graph.start_controller()
    graph.bus.step(0.2)
    assert graph.sim.logic.steps == 5 and graph.sim.logic.safe_steps == {}


def test_shutdown_sends_a_safe_stop_and_writes_reports(tmp_path):
    graph = Graph(
        {"initial_state": [0.1, 0.0], "max_steps": 10, "report_path": str(tmp_path / "b.json")},
        {"report_path": str(tmp_path / "c.json")},
    )
    graph.bus.step(0.1)
    graph.ctl.shutdown()
    graph.sim.shutdown()
    graph.bus.step(0.05)
    assert graph.commands[-1] == [0.0]
    bridge = json.loads((tmp_path / "b.json").read_text())
    ctl = json.loads((tmp_path / "c.json").read_text())
    # 10 steps; 11 ticks published (the final state too), each answered by a command
    assert bridge["timing"]["ticks"] == 10 and len(bridge["timing"]["latencies_s"]) == 11
    assert len(bridge["episodes"][0]["states"]) == 11
    assert ctl["safe_commands"] == {"shutdown": 1} and ctl["states_accepted"] == 11


def _profile(tmp_path, **changes) -> str:
    text = load_profile("pendulum_sim").source
    from importlib import resources

    body = resources.files("robocritic.hardware").joinpath("pendulum_sim.yaml").read_text()
    for old, new in changes.items():
        assert old in body, old
        body = body.replace(old, new)
    path = tmp_path / "profile.yaml"
    path.write_text(body)
    del text
    return str(path)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"mode": "turbo"}, "parameter 'mode' = 'turbo' is invalid"),
        ({"mode": "free_running", "real_time_factor": 0.0}, "parameter 'real_time_factor'"),
        ({"use_sim_time": True}, "parameter 'use_sim_time' must be false"),
        ({"env_id": "robocritic/NoSuchEnv-v0"}, "parameter 'env_id' = 'robocritic/NoSuchEnv-v0' is invalid"),
        ({"initial_state": [0.1, float("nan")]}, "parameter 'initial_state'"),
        ({"initial_state": [0.1]}, "'initial_state' do not fit"),
        ({"real_time_factor": -1.0}, "parameter 'real_time_factor' = -1.0 is invalid"),
        ({"seed": 1.5}, "parameter 'seed' expects int"),
        ({"profile": "no_such_robot"}, "parameter 'profile' = 'no_such_robot' is invalid"),
        ({"profile": "diffdrive_depth"}, "parameter 'profile'.*a diff_drive profile lists no joints"),
        ({"max_steps": -1}, "parameter 'max_steps' = -1 is invalid"),
    ],
)
def test_bridge_parameters_are_validated_with_their_name(params, match):
    with pytest.raises(ParameterError, match=match):
        SimBridgeNode(InProcessBus().create_node("sim_bridge", parameters=params))


def test_lockstep_needs_the_control_rate_to_match_the_env(tmp_path):
    path = _profile(
        tmp_path, **{"control_hz: 20.0": "control_hz: 10.0", "state_timeout_s: 0.15": "state_timeout_s: 0.3"}
    )
    with pytest.raises(ParameterError, match="parameter 'mode' = 'lockstep' needs one command per env step"):
        SimBridgeNode(InProcessBus().create_node("sim_bridge", parameters={"profile": path}))


@pytest.mark.parametrize(
    ("factory", "params", "match"),
    [
        (mpc_factory, {"horizon": 0}, "parameter 'horizon' = 0 is invalid"),
        (mpc_factory, {"solver": "gurobi"}, "parameter 'solver' = 'gurobi' is invalid"),
        (mpc_factory, {"rate_hz": 0.0}, "parameter 'rate_hz' = 0.0 is invalid"),
        (mpc_factory, {"state_weight": [1.0]}, "parameter 'state_weight' needs 2 values"),
        (mpc_factory, {"input_weight": [0.0]}, "parameter 'input_weight' = \\[0.0\\] is invalid"),
        (mpc_factory, {"profile": "arm7_torque"}, "parameter 'profile'.*pendulum"),
        (explicit_factory, {}, "parameter 'law' is required"),
        (explicit_factory, {"law": "/no/such/law.npz"}, "parameter 'law' = '/no/such/law.npz': cannot load"),
        (mpc_factory, {"autostart": "yes"}, "parameter 'autostart' expects bool"),
    ],
)
def test_controller_parameters_are_validated_with_their_name(factory, params, match):
    with pytest.raises(ParameterError, match=match):
        ControllerNode(InProcessBus().create_node("ctl", parameters=params), factory)
