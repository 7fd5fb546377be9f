"""bresa_controller on the in-process bus with a probe as the robot: the arm model equals the env's
arm_state, bad inputs (NaN joint state, wrong joint names, stale or mis-framed wrench) give the
safe command (gravity compensation) and a counter, the e-stop latches, a failing filter fails
safe, and parameters are checked."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import robocritic.envs  # noqa: F401 - registers the env ids

from robocritic.nodes.arm_model import ArmModel
from robocritic.nodes.bresa_controller import BresaControllerNode
from robocritic.nodes.io.arm import ArmIO
from robocritic.nodes.rejections import InputRejected
from robocritic.profiles import load_profile
from robocritic.ros.msgs import Bool, Clock, Float64MultiArray, JointState, SafetyVerdict, WrenchStamped
from robocritic.ros.msgs.convert import ns_to_time, numpy_to_joint_state
from robocritic.ros.qos import CLOCK, COMMANDS, SENSOR_DATA
from robocritic.ros.transport import InProcessBus, ParameterError

pytestmark = pytest.mark.timeout(30)
PROFILE = load_profile("arm3_sim")
TOPICS = {k: v.name for k, v in PROFILE.topics.items()}
NAMES = tuple(j.name for j in PROFILE.joints)
MS = 1_000_000


@pytest.fixture(scope="module")
def start():
    """``(q, qd, force (3,))`` of the env's start state, seed 0."""
    env = gym.make("robocritic/ArmPressWipe-v0")
    _, info = env.reset(seed=0)
    st = info["arm_state"]
    force = env.unwrapped.contact_wrench_world()
    env.close()
    return st.q.copy(), st.qd.copy(), force


class Robot:
    """A probe that plays the arm: /clock, wrench and JointState per tick; records commands and verdicts."""

    def __init__(self, **params) -> None:
        self.bus = InProcessBus()
        self.probe = self.bus.create_node("robot")
        self.commands: list[np.ndarray] = []
        self.verdicts: list[SafetyVerdict] = []
        self.probe.create_subscription(Float64MultiArray, TOPICS["command"],
                                       lambda m: self.commands.append(np.array(m.data)), COMMANDS)
        self.probe.create_subscription(SafetyVerdict, TOPICS["verdict"], self.verdicts.append, COMMANDS)
        self.clock = self.probe.create_publisher(Clock, "/clock", CLOCK)
        self.states = self.probe.create_publisher(JointState, TOPICS["joint_states"], SENSOR_DATA)
        self.wrenches = self.probe.create_publisher(WrenchStamped, TOPICS["wrench"], SENSOR_DATA)
        self.estop = self.probe.create_publisher(Bool, PROFILE.estop.name, COMMANDS)
        self.ctl = BresaControllerNode(self.bus.create_node(
            "bresa_controller", parameters={"profile": "arm3_sim", "use_sim_time": True, **params}))

    def tick(self, k: int, q, qd, force, *, names=NAMES, wrench_k: int | None = None, frame="world") -> None:
        stamp = k * MS
        self.clock.publish(Clock(clock=ns_to_time(stamp)))
        wk = k if wrench_k is None else wrench_k
        if wk >= 0:
            self.wrenches.publish(ArmIO.wrench_message(force, wk * MS, frame))
        self.states.publish(numpy_to_joint_state(names, q, qd, np.zeros(len(names)), stamp_ns=stamp))
        self.bus.spin_until_idle()


def test_arm_model_equals_the_envs_arm_state_bit_for_bit():
    env = gym.make("robocritic/ArmPressWipe-v0")
    _, info = env.reset(seed=5)
    model, rng = ArmModel(), np.random.default_rng(1)
    for _ in range(50):
        st = info["arm_state"]
        mine = model.state(st.q, st.qd)
        for field in ("x", "jacobian", "mass_matrix", "bias"):
            np.testing.assert_array_equal(getattr(mine, field), getattr(st, field))
        _, _, _, _, info = env.step(st.bias + rng.normal(0.0, 1.0, 3))
    env.close()
    np.testing.assert_array_equal(model.gravity(st.q), ArmModel().state(st.q, np.zeros(3)).bias)


def test_good_ticks_send_torques_and_verdicts(start):
    q, qd, f = start
    robot = Robot()
    for k in range(3):
        robot.tick(k, q, qd, f)
    assert len(robot.commands) == len(robot.verdicts) == 3
    assert robot.ctl.logic.safe_commands == {} and robot.ctl.logic.rejected == {}
    v = robot.verdicts[-1]
    assert not v.modified and v.reason == "" and len(v.nominal) == len(v.certified) == 4
    assert np.isnan(v.value)  # force_clamp has no critic value


@pytest.mark.parametrize(
    ("tick", "reason"),
    [
        ({"q": [np.nan, -1.7, 0.2]}, "non_finite"),
        ({"names": ("joint1", "joint2", "wrist")}, "unknown_joint"),
        ({"names": ("joint1", "joint3"), "trim": True}, "missing_joint"),
        ({"wrench_k": -1, "force": [0.0, 0.0, np.nan]}, "non_finite"),  # the NaN wrench is rejected
        ({"frame": "tool"}, "wrong_frame"),
    ],
)
def test_a_bad_input_gives_gravity_compensation_and_a_counter(start, tick, reason):
    q, qd, f = start
    robot = Robot()
    robot.tick(0, q, qd, f)
    args = {"q": q, "qd": qd, "force": f, **tick}
    if "force" in tick:  # a NaN wrench on its own, for tick 1
        robot.wrenches.publish(ArmIO.wrench_message(np.array(tick["force"]), MS, "world"))
        robot.bus.spin_until_idle()
        args["force"] = f
    else:
        n = 2 if tick.get("trim") else 3
        robot.tick(1, args["q"][:n], args["qd"][:n], args["force"], names=args.get("names", NAMES),
                   frame=args.get("frame", "world"))
    logic = robot.ctl.logic
    assert logic.rejected[reason] == 1
    assert logic.safe_commands == {"bad_input": 1}
    expected = np.clip(ArmModel().gravity(q), -logic.effort_limits, logic.effort_limits)
    np.testing.assert_array_equal(robot.commands[-1], expected)  # gravity compensation at the last good q
    assert robot.verdicts[-1].modified and robot.verdicts[-1].reason == "bad_input"


def test_a_stale_wrench_is_rejected(start):
    q, qd, f = start
    robot = Robot(state_timeout_s=0.05)  # the watchdog stays quiet over the 20 ms jump
    robot.tick(0, q, qd, f)
    robot.tick(20, q, qd, f, wrench_k=10)  # 10 ms older than the state; the limit is 5 ms
    assert robot.ctl.logic.rejected == {"stale_wrench": 1}
    assert robot.ctl.logic.safe_commands == {"bad_input": 1}
    # A state whose wrench is only a tick behind waits for it (two topics are not ordered).
    robot.tick(21, q, qd, f, wrench_k=20)
    n = len(robot.commands)
    robot.wrenches.publish(ArmIO.wrench_message(f, 21 * MS, "world"))
    robot.bus.spin_until_idle()
    assert len(robot.commands) == n + 1 and robot.ctl.logic.safe_commands == {"bad_input": 1}


def test_estop_latches_until_released_and_reactivated(start):
    q, qd, f = start
    robot = Robot()
    robot.tick(0, q, qd, f)
    robot.estop.publish(Bool(data=True))
    robot.bus.spin_until_idle()
    for k in range(1, 4):
        robot.tick(k, q, qd, f)
    robot.estop.publish(Bool(data=False))
    robot.bus.spin_until_idle()
    robot.tick(4, q, qd, f)
    logic = robot.ctl.logic
    assert logic.estopped and logic.safe_commands["estop"] == 5  # at engagement, then every tick
    assert robot.verdicts[-1].reason == "estop"
    assert robot.ctl.activate() and not logic.estopped
    robot.tick(5, q, qd, f)
    assert logic.safe_commands["estop"] == 5 and not robot.verdicts[-1].modified


def test_a_failing_filter_fails_safe(start, monkeypatch):
    q, qd, f = start
    robot = Robot()
    inner = robot.ctl.bresa.tick.loop.safety_filter.inner

    def broken(obs, action):
        raise RuntimeError("critic weights gone")

    monkeypatch.setattr(inner, "certify", broken)
    robot.tick(0, q, qd, f)
    assert robot.ctl.logic.safe_commands == {"controller_error": 1}
    assert robot.ctl.bresa.tick.errors == {"filter": 1}
    assert robot.verdicts[-1].reason == "controller_error"


def test_the_watchdog_sends_the_safe_command_when_states_stop(start):
    q, qd, f = start
    robot = Robot()
    robot.tick(0, q, qd, f)
    for k in range(1, 12):  # the clock runs on, no states
        robot.clock.publish(Clock(clock=ns_to_time(k * MS)))
        robot.bus.step(0.001)
    assert robot.ctl.logic.safe_commands["stale_state"] >= 1


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"method": "reflex_1khz"}, "parameter 'critic'|critic: method 'reflex_1khz' needs"),
        ({"method": "magic"}, "parameter 'method'"),
        ({"profile": "pendulum_sim"}, "needs an arm profile"),
        ({"normal_axis": "w"}, "parameter 'normal_axis'"),
    ],
)
def test_parameters_are_checked(params, match):
    with pytest.raises(ParameterError, match=match):
        BresaControllerNode(InProcessBus().create_node("ctl", parameters=params))


def test_arm_io_checks_wrench_frame_and_freshness():
    io = ArmIO(PROFILE.joint_map, base_frame="world", max_contact_force=30.0)
    good = io.decode_wrench(ArmIO.wrench_message(np.array([1.0, 0.0, 7.5]), 3 * MS, "world"))
    assert good.normal == 7.5 and good.stamp_ns == 3 * MS
    with pytest.raises(InputRejected, match="frame 'tool'") as info:
        io.decode_wrench(ArmIO.wrench_message(np.zeros(3), 0, "tool"))
    assert info.value.reason == "wrong_frame"
    with pytest.raises(InputRejected) as info:
        io.decode_wrench(ArmIO.wrench_message(np.array([0.0, 0.0, 1e4]), 0, "world"))
    assert info.value.reason == "out_of_range"
    assert io.check_fresh(good, 5 * MS, 2 * MS) is good
    with pytest.raises(InputRejected) as info:
        io.check_fresh(good, 6 * MS, 2 * MS)
    assert info.value.reason == "stale_wrench"
