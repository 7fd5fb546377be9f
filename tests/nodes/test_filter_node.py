"""The controller node's safety-filter stage over the in-process transport: certified commands are
what is published, at the filter's rate; a lockstep loop with a filter equals run_closed_loop with
the same filter; a failing filter yields safe commands; filter parameters are validated."""

from __future__ import annotations

import numpy as np
import pytest

from robocritic.nodes.controller_node import BuiltController, BuiltFilter, ControllerNode
from robocritic.nodes.mpc_controller import build_linear_mpc, mpc_factory
from robocritic.nodes.sim_bridge import SimBridgeNode
from robocritic.profiles import load_profile
from robocritic.ros.msgs import Float64MultiArray, JointState
from robocritic.ros.msgs.convert import numpy_to_joint_state
from robocritic.ros.qos import SENSOR_DATA
from robocritic.ros.transport import InProcessBus, ParameterError
from robocritic.testing import run_closed_loop

ENV = "robocritic/ClippedPendulum-v0"
STATES = "/pendulum/joint_states"
COMMAND = "/pendulum/effort_command"


class TorqueCap:
    """|u| <= cap; records every certification."""

    def __init__(self, cap: float = 0.5, fail: bool = False) -> None:
        self.cap, self.fail = cap, fail
        self.calls: list[tuple[np.ndarray, np.ndarray]] = []

    def certify(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict]:
        self.calls.append((obs.copy(), action.copy()))
        if self.fail:
            raise RuntimeError("filter QP failed")
        capped = np.clip(action, -self.cap, self.cap)
        return capped, {"capped": bool(np.any(capped != action))}


def filter_of(f: TorqueCap):
    def factory(node, profile) -> BuiltFilter:
        return BuiltFilter(f, description=f"torque cap {f.cap:g}", info={"cap": f.cap})

    return factory


def test_a_1khz_filter_behind_a_20hz_law_publishes_its_certification_every_tick():
    bus = InProcessBus()
    probe = bus.create_node("probe")
    sent: list[list[float]] = []
    probe.create_subscription(Float64MultiArray, COMMAND, lambda m: sent.append(list(m.data)), 1000)
    cap = TorqueCap(0.5)
    node = bus.create_node("ctl", parameters={"filter_rate_hz": 1000.0})
    ctl = ControllerNode(node, mpc_factory, filter_factory=filter_of(cap))
    states = probe.create_publisher(JointState, STATES, SENSOR_DATA)
    for k in range(100):  # a fresh state every ms for 0.1 s
        states.publish(numpy_to_joint_state(["hinge"], [0.2 - 0.001 * k], [0.0]))
        bus.step(0.001)
    policy_steps = len(ctl.logic.compute_times_s)
    assert 2 <= policy_steps <= 3  # 20 Hz
    assert len(cap.calls) >= 95 and len(sent) == len(cap.calls)  # 1 kHz, each one published
    # each certification saw the newest state and the law's latest action, and its answer went out
    assert len({a.tobytes() for _, a in cap.calls}) == policy_steps
    np.testing.assert_array_equal([s[0] for s in sent], [np.clip(a[0], -0.5, 0.5) for _, a in cap.calls])
    assert sent[-1] == [-0.5] and cap.calls[0][1][0] < -0.5  # the MPC wants more than the cap allows
    assert cap.calls[-1][0][0] < cap.calls[0][0][0]  # newer states
    counters = ctl.logic.counters()
    assert counters["filter_steps"] == len(cap.calls) and counters["filter_modified"] == len(cap.calls)
    report = ctl.report()
    assert report["filter"]["rate_hz"] == 1000.0 and report["filter"]["info"] == {"cap": 0.5}
    assert report["filter"]["compute"]["p50_ms"] is not None


def test_lockstep_with_a_filter_equals_run_closed_loop_with_that_filter():
    x0, steps = [0.3, -0.2], 40
    bus = InProcessBus()
    bridge = {"real_time_factor": 0.0, "initial_state": x0, "max_steps": steps}
    sim = SimBridgeNode(bus.create_node("sim_bridge", parameters=bridge))
    ControllerNode(bus.create_node("ctl", parameters={"use_sim_time": True}), mpc_factory,
                   filter_factory=filter_of(TorqueCap(0.5)))  # fmt: skip
    bus.step(0.1)
    episode = sim.logic.episodes[0]
    ref = run_closed_loop(
        build_linear_mpc(load_profile("pendulum_sim")), ENV, x0=x0, steps=steps, safety_filter=TorqueCap(0.5)
    )
    np.testing.assert_array_equal(np.array(episode["states"]), ref.states)
    np.testing.assert_array_equal(np.array(episode["actions"]), ref.actions)
    assert np.max(np.abs(ref.actions)) == 0.5  # the filter did act


def test_a_raising_filter_is_counted_and_the_safe_command_goes_out():
    bus = InProcessBus()
    probe = bus.create_node("probe")
    sent: list[list[float]] = []
    probe.create_subscription(Float64MultiArray, COMMAND, lambda m: sent.append(list(m.data)), 1000)
    ctl = ControllerNode(
        bus.create_node("ctl", parameters={"filter_rate_hz": 200.0}), mpc_factory,
        filter_factory=filter_of(TorqueCap(fail=True)),
    )  # fmt: skip
    states = probe.create_publisher(JointState, STATES, SENSOR_DATA)
    for _ in range(10):
        states.publish(numpy_to_joint_state(["hinge"], [0.2], [0.0]))
        bus.step(0.01)
    assert len(sent) >= 15 and all(s == [0.0] for s in sent)
    assert ctl.logic.safe_commands == {"filter_error": len(sent)}
    assert ctl.node.stats.total_errors == 0


def test_the_filter_rate_defaults_to_the_profiles_critic_rate():
    class Hold:
        def reset(self) -> None: ...

        def act(self, obs: np.ndarray) -> np.ndarray:
            return np.zeros(obs.size // 2)

    ctl = ControllerNode(
        InProcessBus().create_node("ctl", parameters={"profile": "arm7_torque"}),
        lambda node, profile: BuiltController(Hold()), filter_factory=filter_of(TorqueCap()),
    )  # fmt: skip
    assert ctl.logic.control_period_ns == 50_000_000 and ctl.logic.filter_period_ns == 1_000_000
    assert ctl.logic.tick_period_ns == 1_000_000
    pendulum = ControllerNode(
        InProcessBus().create_node("ctl"), mpc_factory, filter_factory=filter_of(TorqueCap())
    )
    assert pendulum.logic.filter_period_ns == pendulum.logic.control_period_ns  # no critic rate: rate_hz


def test_without_a_filter_factory_there_is_no_filter_parameter():
    node = InProcessBus().create_node("ctl", parameters={"filter_rate_hz": 1000.0})
    ctl = ControllerNode(node, mpc_factory)
    assert ctl.logic.safety_filter is None and node.undeclared_overrides() == ["filter_rate_hz"]
    assert "filter" not in ctl.report() and "filter_steps" not in ctl.report()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"filter_rate_hz": 0.0}, "parameter 'filter_rate_hz' = 0.0 is invalid"),
        ({"filter_rate_hz": 10.0}, r"parameter 'filter_rate_hz' = 10.0 is invalid: must be >= rate_hz \(20\)"),
        ({"filter_rate_hz": 1000}, "parameter 'filter_rate_hz' expects float"),
        ({"rate_hz": 50.0, "filter_rate_hz": 40.0}, "must be >= rate_hz \\(50\\)"),
    ],
)
def test_filter_parameters_are_validated_with_their_name(params, match):
    with pytest.raises(ParameterError, match=match):
        ControllerNode(InProcessBus().create_node("ctl", parameters=params), mpc_factory,
                       filter_factory=filter_of(TorqueCap()))  # fmt: skip
