"""In-process transport: deterministic pub/sub/timers, QoS semantics, parameters, sim time, robustness.

Also covers the transport-neutral parts of the node interface (parameters, guarded callbacks,
transport selection), since the in-process bus exercises them without any middleware.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from robocritic.ros import msgs
from robocritic.ros.msgs import convert
from robocritic.ros.qos import COMMANDS, LATCHED, SENSOR_DATA, QoSProfile, Reliability
from robocritic.ros.transport import InProcessBus, ParameterError, make_node, resolve_transport


@pytest.fixture
def bus():
    return InProcessBus()


def node(bus, name, **kwargs):
    return make_node(name, transport="inprocess", bus=bus, **kwargs)


# --- delivery ----------------------------------------------------------------------------------


def test_pub_sub_resolves_names_like_ros(bus):
    talker = node(bus, "talker", namespace="robot")
    listener = node(bus, "listener", namespace="robot", remappings={"cmd": "/robot/cmd_vel"})
    got = []
    sub = listener.create_subscription(msgs.Twist, "cmd", lambda m: got.append(m.linear.x), COMMANDS)
    pub = talker.create_publisher(msgs.Twist, "cmd_vel", COMMANDS)  # relative -> /robot/cmd_vel
    private = talker.create_publisher(msgs.String, "~/status")
    assert (sub.topic, pub.topic, private.topic) == (
        "/robot/cmd_vel",
        "/robot/cmd_vel",
        "/robot/talker/status",
    )
    assert pub.get_subscription_count() == 1 and sub.get_publisher_count() == 1
    pub.publish(convert.numpy_to_twist([0.5, 0, 0, 0, 0, 0]))
    assert got == []  # nothing moves until the bus is driven
    assert bus.spin_once() == 1
    assert got == [0.5] and sub.received == 1 and pub.published == 1


def test_subscriber_gets_a_wire_copy_unless_disabled():
    for copy in (True, False):
        bus = InProcessBus(copy_messages=copy)
        got = []
        node(bus, "b").create_subscription(msgs.JointState, "/js", got.append)
        sent = convert.numpy_to_joint_state(["a"], [1.0])
        node(bus, "a").create_publisher(msgs.JointState, "/js").publish(sent)
        bus.spin_until_idle()
        assert (got[0] is sent) is (not copy)
        assert got[0] == sent


def test_timers_fire_in_deadline_order_and_runs_are_identical():
    def run() -> list[tuple[int, str]]:
        bus = InProcessBus()
        a, b = node(bus, "a"), node(bus, "b")
        log: list[tuple[int, str]] = []
        pub = a.create_publisher(msgs.Float64, "/x")
        b.create_subscription(msgs.Float64, "/x", lambda m: log.append((b.now_ns(), f"rx {m.data}")))
        a.create_timer(0.010, lambda: (log.append((a.now_ns(), "fast")), pub.publish(msgs.Float64(a.now()))))
        b.create_timer(0.025, lambda: log.append((b.now_ns(), "slow")))
        calls = bus.step(0.1)
        assert bus.time_s == pytest.approx(0.1)
        return log, calls

    log, calls = run()
    assert [e for _, e in log].count("fast") == 10 and [e for _, e in log].count("slow") == 4
    assert calls == 10 + 10 + 4
    # each message is delivered at the instant it was sent, before time moves on
    assert log[:3] == [(10_000_000, "fast"), (10_000_000, "rx 0.01"), (20_000_000, "fast")]
    assert run() == (log, calls)


def test_lockstep_closed_loop_is_deterministic():
    """A toy plant and P controller over the bus: two runs give bit-identical trajectories."""

    def run() -> np.ndarray:
        bus = InProcessBus()
        plant, ctl = node(bus, "plant"), node(bus, "ctl", parameters={"kp": 4.0})
        state = {"x": 1.0, "u": 0.0}
        trace = []
        kp = ctl.declare_parameter("kp", 1.0)
        cmd_pub = ctl.create_publisher(msgs.Float64, "/u", COMMANDS)
        ctl.create_subscription(
            msgs.JointState,
            "/state",
            lambda m: cmd_pub.publish(msgs.Float64(-kp * m.position[0])),
            SENSOR_DATA,
        )
        plant.create_subscription(msgs.Float64, "/u", lambda m: state.update(u=m.data), COMMANDS)
        state_pub = plant.create_publisher(msgs.JointState, "/state", SENSOR_DATA)

        def tick() -> None:
            state["x"] += 0.01 * state["u"]
            trace.append(state["x"])
            state_pub.publish(convert.numpy_to_joint_state(["x"], [state["x"]]))

        plant.create_timer(0.01, tick)
        bus.step(1.0)
        return np.array(trace)

    first = run()
    assert len(first) == 100 and abs(first[-1]) < 0.05  # converged: x decays as (1 - 0.04)^k
    np.testing.assert_array_equal(first, run())


# --- QoS semantics -----------------------------------------------------------------------------


def test_keep_last_drops_oldest_and_keep_all_keeps_everything(bus):
    a, b = node(bus, "a"), node(bus, "b")
    last, every = [], []
    sensor_sub = b.create_subscription(msgs.Float64, "/s", lambda m: last.append(m.data), SENSOR_DATA)
    b.create_subscription(msgs.Float64, "/s", lambda m: every.append(m.data), QoSProfile(history="keep_all"))
    pub = a.create_publisher(msgs.Float64, "/s", QoSProfile(depth=100))
    for i in range(12):
        pub.publish(msgs.Float64(float(i)))
    bus.spin_until_idle()
    assert last == [7.0, 8.0, 9.0, 10.0, 11.0] and sensor_sub.dropped == 7
    assert every == [float(i) for i in range(12)]


def test_reliable_subscription_does_not_match_best_effort_publisher(bus, caplog):
    a, b = node(bus, "a"), node(bus, "b")
    reliable, best_effort = [], []
    b.create_subscription(msgs.Float64, "/s", reliable.append, COMMANDS)
    b.create_subscription(msgs.Float64, "/s", best_effort.append, SENSOR_DATA)
    with caplog.at_level(logging.WARNING, logger="robocritic.ros"):
        pub = a.create_publisher(msgs.Float64, "/s", SENSOR_DATA)
    assert "requires RELIABLE" in caplog.text
    pub.publish(msgs.Float64(1.0))
    bus.spin_until_idle()
    assert (len(reliable), len(best_effort), pub.get_subscription_count()) == (0, 1, 1)


def test_transient_local_replays_to_late_joiner(bus):
    pub = node(bus, "a").create_publisher(msgs.String, "/description", LATCHED)
    pub.publish(msgs.String("old"))
    pub.publish(msgs.String("robot v2"))
    got = []
    node(bus, "b").create_subscription(msgs.String, "/description", lambda m: got.append(m.data), LATCHED)
    bus.spin_until_idle()
    assert got == ["robot v2"]  # depth 1


def test_qos_accepts_names_depths_and_rejects_nonsense(bus):
    n = node(bus, "a")
    assert n.create_publisher(msgs.Float64, "/a", "sensor_data").qos == SENSOR_DATA
    assert n.create_publisher(msgs.Float64, "/b", 3).qos == QoSProfile(depth=3)
    assert QoSProfile.from_dict({"reliability": "best_effort"}).reliability is Reliability.BEST_EFFORT
    with pytest.raises(ValueError, match="reliability must be one of"):
        QoSProfile(reliability="sometimes")
    with pytest.raises(ValueError, match="depth must be an int >= 1"):
        QoSProfile(depth=0)
    with pytest.raises(ValueError, match="unknown QoS keys"):
        QoSProfile.from_dict({"deepth": 3})
    with pytest.raises(ValueError, match="unknown QoS profile"):
        n.create_publisher(msgs.Float64, "/c", "fast")


# --- robustness --------------------------------------------------------------------------------


def test_raising_callbacks_are_counted_logged_rate_limited_and_never_stop_delivery(bus, caplog):
    a, b = node(bus, "a"), node(bus, "b")
    good = []

    def picky(msg: msgs.JointState) -> None:
        if list(msg.name) != ["j1"]:
            raise convert.MessageError(f"unknown joints {list(msg.name)}")
        good.append(msg.position[0])

    sub = b.create_subscription(msgs.JointState, "/js", picky, QoSProfile(depth=1000))
    ticks = []

    def tick() -> None:
        ticks.append(b.now())
        if len(ticks) == 2:
            raise ZeroDivisionError("second tick fails")

    b.create_timer(0.01, tick)
    pub = a.create_publisher(msgs.JointState, "/js", QoSProfile(depth=1000))
    with caplog.at_level(logging.ERROR, logger="robocritic.ros"):
        for i in range(200):
            name = "j1" if i % 2 == 0 else "wrong"
            pub.publish(convert.numpy_to_joint_state([name], [float(i)]))
        bus.step(0.05)
    assert len(good) == 100 and sub.received == 200 and sub.errors == 100
    assert b.stats.callback_errors == {"/js": 100, "timer[0]": 1}
    assert len(ticks) == 5  # the timer survived its own exception
    records = [r for r in caplog.records if "/js" in r.getMessage()]
    assert len(records) == 1, "100 identical errors within a second must log once"
    assert "MessageError" in records[0].getMessage() and records[0].exc_info


def test_type_errors_are_raised_to_the_author(bus):
    a = node(bus, "a")
    pub = a.create_publisher(msgs.Twist, "/x")
    with pytest.raises(TypeError, match="sends Twist, got String"):
        pub.publish(msgs.String("no"))
    with pytest.raises(TypeError, match="already carries"):
        a.create_subscription(msgs.String, "/x", print)


def test_message_loop_is_caught():
    bus = InProcessBus(max_callbacks_per_step=1000)
    a = node(bus, "a")
    pub = a.create_publisher(msgs.Float64, "/ping")
    a.create_subscription(msgs.Float64, "/ping", pub.publish)
    pub.publish(msgs.Float64(0.0))
    with pytest.raises(RuntimeError, match="message loop"):
        bus.spin_until_idle()


def test_destroy_removes_endpoints_and_pending_messages(bus):
    a, b = node(bus, "a"), node(bus, "b")
    got = []
    b.create_subscription(msgs.Float64, "/x", got.append)
    pub = a.create_publisher(msgs.Float64, "/x")
    pub.publish(msgs.Float64(1.0))
    b.destroy()
    assert bus.pending() == 0 and pub.get_subscription_count() == 0
    bus.spin_until_idle()
    assert got == []
    with pytest.raises(RuntimeError, match="destroyed"):
        b.create_publisher(msgs.Float64, "/y")


# --- parameters --------------------------------------------------------------------------------


def test_parameters_overrides_types_and_validation(bus):
    n = node(bus, "ctl", parameters={"rate_hz": 200.0, "gains": (1.0, 2.0), "name": "pd", "typo_param": 1})
    assert n.declare_parameter("rate_hz", 100.0, lambda v: v > 0 or "must be > 0") == 200.0
    assert n.declare_parameter("gains", [0.0, 0.0]) == [1.0, 2.0]
    assert n.declare_parameter("name", "lqr") == "pd"
    assert n.declare_parameter("horizon", 20) == 20
    assert n.get_parameter("use_sim_time") is False
    assert n.undeclared_overrides() == ["typo_param"]
    with pytest.raises(ParameterError, match=r"'rate_hz' = -5.0 is invalid: must be > 0"):
        n.set_parameter("rate_hz", -5.0)
    with pytest.raises(ParameterError, match=r"expects float; got int 300 \(write it as a float"):
        n.set_parameter("rate_hz", 300)  # strict like rclpy: a params file valid here is valid on the robot
    assert n.get_parameter("rate_hz") == 200.0  # unchanged after a rejected update
    with pytest.raises(ParameterError, match="expects int; got bool"):
        n.set_parameter("horizon", True)
    with pytest.raises(ParameterError, match="not declared"):
        n.get_parameter("nope")
    with pytest.raises(ParameterError, match="already declared"):
        n.declare_parameter("horizon", 3)
    with pytest.raises(ParameterError, match="required and was not given"):
        n.declare_parameter("robot_profile")


def test_parameter_validator_failure_at_declaration_names_field(bus):
    n = node(bus, "ctl", parameters={"dt": "fast"})
    with pytest.raises(ParameterError, match="'dt' expects float; got str 'fast'"):
        n.declare_parameter("dt", 0.01)

    def positive(v: float) -> None:
        if v <= 0:
            raise ValueError("dt must be positive")

    m = node(bus, "ctl2", parameters={"dt": -1.0})
    with pytest.raises(ParameterError, match="dt must be positive"):
        m.declare_parameter("dt", 0.01, positive)


# --- sim time ----------------------------------------------------------------------------------


def test_use_sim_time_follows_clock_and_drives_timers(bus):
    sim = node(bus, "sim")
    ctl = node(bus, "ctl", parameters={"use_sim_time": True})
    assert ctl.now_ns() == 0  # ROS: zero until the first /clock
    fired = []
    ctl.create_timer(0.1, lambda: fired.append(ctl.now()))
    clock = sim.create_publisher(msgs.Clock, "/clock", "clock")
    # the simulator runs 5x faster than the bus's wall clock: 50 ms of sim time per 10 ms tick
    sim_t = [0]

    def tick() -> None:
        sim_t[0] += 50_000_000
        clock.publish(msgs.Clock(convert.ns_to_time(sim_t[0])))

    sim.create_timer(0.01, tick)
    bus.step(0.1)
    assert ctl.now() == pytest.approx(0.5) and sim.now() == pytest.approx(0.1)
    assert fired == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])


# --- transport selection -----------------------------------------------------------------------


def test_transport_selection(monkeypatch):
    from robocritic.ros.transport.rclpy_adapter import rclpy_available

    monkeypatch.delenv("ROBOCRITIC_TRANSPORT", raising=False)
    assert resolve_transport("auto") == ("rclpy" if rclpy_available() else "dds")
    monkeypatch.setenv("ROBOCRITIC_TRANSPORT", "inprocess")
    assert resolve_transport("auto") == "inprocess"
    with pytest.raises(ValueError, match="unknown transport"):
        resolve_transport("zenoh")
    with pytest.raises(ValueError, match="bus= applies to the inprocess transport"):
        make_node("a", "dds", bus=InProcessBus())


def test_rclpy_transport_explains_missing_ros(monkeypatch):
    from robocritic.ros.transport.rclpy_adapter import rclpy_available

    if rclpy_available():
        pytest.skip("rclpy is installed here")
    with pytest.raises(ImportError, match="needs a ROS 2 installation.*transport='dds'"):
        make_node("a", "rclpy")
