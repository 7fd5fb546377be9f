"""Node inputs: hypothesis-generated messages with NaN, inf, huge or wrongly sized fields, wrong
frames and encodings reach the controller, Bresa and NavDP nodes through real topics (the
in-process transport, CDR bytes). Documented safe behaviour, checked per case: no callback ever
raises, the message is dropped and counted by reason (or, where it is valid, used), and every
command that goes out is finite and within the robot's limits. A parameter the node never
declares is refused at start (exit 2), as a typo must not leave a default silently in force."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from harness import COUNTS
from hypothesis import given, settings, strategies as st

from robocritic.nodes.controller_node import ControllerNode
from robocritic.nodes.io.diffdrive import DiffDriveIO
from robocritic.nodes.mpc_controller import mpc_factory
from robocritic.nodes.navdp_planner import NavdpPlannerNode
from robocritic.profiles import load_profile
from robocritic.ros.msgs import Clock, Float64MultiArray, Image, JointState, Odometry, PoseStamped, Twist
from robocritic.ros.msgs.convert import make_header, ns_to_time
from robocritic.ros.msgs.geometry_msgs import Point, Pose, PoseWithCovariance, Quaternion
from robocritic.ros.qos import CLOCK, COMMANDS, SENSOR_DATA
from robocritic.ros.transport import InProcessBus

pytestmark = pytest.mark.timeout(300)
ODD = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1e300, -1e300, 1e30, 0.0]))
TICK = 100_000_000


def _count(category: str, accepted: bool) -> None:
    COUNTS[category]["cases"] += 1
    COUNTS[category]["accepted" if accepted else "errors"] += 1


# --- a joint-space controller (the pendulum's MPC node) ---------------------------------------------


class Pendulum:
    """mpc_controller on the in-process bus; a probe publishes JointStates and records efforts."""

    def __init__(self) -> None:
        self.bus = InProcessBus()
        self.probe = self.bus.create_node("probe")
        self.efforts: list[list[float]] = []
        self.probe.create_subscription(Float64MultiArray, "/pendulum/effort_command",
                                       lambda m: self.efforts.append(list(m.data)), 100)  # fmt: skip
        self.states = self.probe.create_publisher(JointState, "/pendulum/joint_states", SENSOR_DATA)
        self.ctl = ControllerNode(self.bus.create_node("ctl"), mpc_factory)
        self.limit = max(j.effort_limit for j in load_profile("pendulum_sim").joints)


@pytest.fixture(scope="module")
def pendulum() -> Pendulum:
    return Pendulum()


@given(position=st.lists(ODD, min_size=0, max_size=3), velocity=st.lists(ODD, min_size=0, max_size=3),
       names=st.sampled_from([["pendulum_joint"], ["other"], [], ["pendulum_joint", "pendulum_joint"]]))
def test_controller_drops_bad_joint_states_and_commands_stay_finite(pendulum, position, velocity, names):
    rejected = sum(pendulum.ctl.logic.rejected.values())
    accepted = pendulum.ctl.logic.states_accepted
    pendulum.states.publish(JointState(header=make_header(0), name=names, position=position, velocity=velocity))
    pendulum.bus.step(0.05)
    stats = pendulum.ctl.node.stats
    assert not stats.callback_errors and not stats.receive_errors
    new_rejected = sum(pendulum.ctl.logic.rejected.values()) - rejected
    new_accepted = pendulum.ctl.logic.states_accepted - accepted
    assert new_rejected + new_accepted == 1  # every message is either used or dropped and counted
    valid = (names == ["pendulum_joint"] and len(position) == len(velocity) == 1
             and all(math.isfinite(v) and abs(v) < 1e6 for v in (*position, *velocity)))
    if new_accepted:
        assert valid or all(math.isfinite(v) for v in (*position, *velocity))
    assert all(math.isfinite(e) and abs(e) <= pendulum.limit for c in pendulum.efforts for e in c)
    _count("nodes", bool(new_accepted))


# --- navdp_planner ------------------------------------------------------------------------------------


class Base:
    """navdp_planner (straight-to-goal: no model load) under sim time; a probe plays the robot."""

    def __init__(self) -> None:
        profile = load_profile("diffdrive_depth")
        self.io = DiffDriveIO(profile.camera, odom_frame="odom")
        self.bus = InProcessBus()
        self.probe = self.bus.create_node("robot")
        self.twists: list[tuple[float, float]] = []
        self.probe.create_subscription(Twist, "/cmd_vel", lambda m: self.twists.append((m.linear.x, m.angular.z)),
                                       COMMANDS)  # fmt: skip
        self.clock = self.probe.create_publisher(Clock, "/clock", CLOCK)
        self.depth = self.probe.create_publisher(Image, "/camera/depth/image_raw", SENSOR_DATA)
        self.odom = self.probe.create_publisher(Odometry, "/odom", SENSOR_DATA)
        self.goal = self.probe.create_publisher(PoseStamped, "/goal_pose", COMMANDS)
        self.node = NavdpPlannerNode(self.bus.create_node("navdp_planner", parameters={
            "use_sim_time": True, "method": "straight"}))  # fmt: skip
        self.limits = (profile.limits["max_linear_speed"], profile.limits["max_angular_speed"])
        self.k = 0

    def tick(self, odom: Odometry | None = None, depth: Image | None = None) -> None:
        self.k += 1
        stamp = self.k * TICK
        self.clock.publish(Clock(clock=ns_to_time(stamp)))
        far = np.zeros((48, 64), np.float32)
        image = depth if depth is not None else self.io.depth_message(far, stamp)
        image.header = make_header(stamp, image.header.frame_id)
        self.depth.publish(image)
        msg = odom if odom is not None else self.io.odometry_message(np.zeros(5), stamp)
        msg.header = make_header(stamp, msg.header.frame_id)
        self.odom.publish(msg)
        self.bus.spin_until_idle()


@pytest.fixture(scope="module")
def base() -> Base:
    return Base()


def _check_base(base: Base) -> None:
    stats = base.node.node.stats
    assert not stats.callback_errors and not stats.receive_errors
    v_max, w_max = base.limits
    assert all(math.isfinite(v) and math.isfinite(w) and abs(v) <= v_max and abs(w) <= w_max
               for v, w in base.twists)


@given(x=ODD, y=ODD, frame=st.sampled_from(["odom", "map", "", "odom\x00"]))
def test_planner_goals_are_refused_or_driven_to(base, x, y, frame):
    before = sum(base.node.logic.refused_goals.values())
    base.goal.publish(PoseStamped(header=make_header(0, frame), pose=Pose(position=Point(x=x, y=y))))
    base.tick()
    _check_base(base)
    refused = sum(base.node.logic.refused_goals.values()) > before
    ok = frame == "odom" and math.isfinite(x) and math.isfinite(y) and math.hypot(x, y) <= 20.0
    assert refused != ok  # a valid goal is kept (or reached at once), every other one refused
    if refused:
        assert base.twists[-1] == (0.0, 0.0)  # a refused goal stops the robot
    _count("nodes", not refused)


@given(values=st.lists(ODD, min_size=8, max_size=8), frame=st.sampled_from(["odom", "map"]))
def test_planner_drops_bad_odometry(base, values, frame):
    px, py, qx, qy, qz, qw, v, w = values
    msg = Odometry(header=make_header(0, frame))
    msg.pose = PoseWithCovariance(pose=Pose(position=Point(x=px, y=py), orientation=Quaternion(qx, qy, qz, qw)))
    msg.twist.twist.linear.x, msg.twist.twist.angular.z = v, w
    before = sum(base.node.logic.rejected.values())
    base.tick(odom=msg)
    _check_base(base)
    dropped = sum(base.node.logic.rejected.values()) > before
    unit = all(math.isfinite(a) for a in values) and abs(math.hypot(qx, qy, qz, qw) - 1.0) <= 1e-3
    assert dropped == (frame != "odom" or not unit)
    _count("nodes", not dropped)


@given(height=st.integers(0, 80), width=st.integers(0, 80), encoding=st.sampled_from(["32FC1", "16UC1", "mono8", ""]),
       cut=st.integers(0, 16), fill=ODD)
@settings(max_examples=30)
def test_planner_drops_bad_depth_images(base, height, width, encoding, cut, fill):
    itemsize = {"32FC1": 4, "16UC1": 2}.get(encoding, 1)
    with np.errstate(over="ignore"):  # 1e300 as float32 is inf: one more odd value
        data = (np.full(height * width, fill if encoding == "32FC1" else 7).astype(
            {"32FC1": "<f4", "16UC1": "<u2"}.get(encoding, "u1")).tobytes())
    data = data[: max(len(data) - cut, 0)]
    image = Image(header=make_header(0, "camera"), height=height, width=width, encoding=encoding,
                  step=width * itemsize, data=data)
    before = sum(base.node.depth_rejections.counts.values())
    base.tick(depth=image)
    _check_base(base)
    dropped = sum(base.node.depth_rejections.counts.values()) > before
    assert dropped == ((height, width) != (48, 64) or encoding not in ("32FC1", "16UC1") or cut > 0)
    _count("nodes", not dropped)


# --- parameters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("exe, args", [
    ("sim_bridge", ["-p", "profile:=pendulum_sim", "-p", "max_stepz:=3"]),
    ("navdp_planner", ["-p", "methd:=dwa"]),
])
def test_a_parameter_the_node_never_declares_is_refused(exe, args):
    exe_path = Path(sys.executable).with_name(exe)
    out = subprocess.run([str(exe_path), "--ros-args", *args], capture_output=True, text=True, timeout=120,
                         env={"ROS_DOMAIN_ID": "117", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 2, out.stderr
    assert "never declared" in out.stderr and args[-1].split(":=")[0] in out.stderr
    assert "Traceback" not in out.stderr
    _count("nodes", False)


# --- bresa_controller ---------------------------------------------------------------------------------


class Arm:
    """bresa_controller (force clamp: no critic file) under sim time; a probe plays the planar arm."""

    def __init__(self) -> None:
        import gymnasium as gym

        import robocritic.envs  # noqa: F401 - registers the env ids
        from robocritic.nodes.bresa_controller import BresaControllerNode
        from robocritic.ros.msgs import WrenchStamped

        env = gym.make("robocritic/ArmPressWipe-v0")
        _, info = env.reset(seed=0)
        self.q, self.qd = info["arm_state"].q.copy(), info["arm_state"].qd.copy()
        env.close()
        self.bus = InProcessBus()
        self.probe = self.bus.create_node("robot")
        self.efforts: list[list[float]] = []
        self.probe.create_subscription(Float64MultiArray, "/arm3/effort_command",
                                       lambda m: self.efforts.append(list(m.data)), COMMANDS)  # fmt: skip
        self.clock = self.probe.create_publisher(Clock, "/clock", CLOCK)
        self.states = self.probe.create_publisher(JointState, "/arm3/joint_states", SENSOR_DATA)
        self.wrenches = self.probe.create_publisher(WrenchStamped, "/arm3/ft_sensor/wrench", SENSOR_DATA)
        self.ctl = BresaControllerNode(self.bus.create_node("bresa_controller", parameters={
            "profile": "arm3_sim", "use_sim_time": True, "method": "force_clamp"}))  # fmt: skip
        self.limits = np.array([j.effort_limit for j in load_profile("arm3_sim").joints])
        self.k = 0

    def tick(self, force: list[float], frame: str) -> None:
        from robocritic.ros.msgs import WrenchStamped
        from robocritic.ros.msgs.geometry_msgs import Vector3, Wrench

        self.k += 1
        stamp = self.k * 1_000_000
        self.clock.publish(Clock(clock=ns_to_time(stamp)))
        fx, fy, fz, tx, ty, tz = force
        self.wrenches.publish(WrenchStamped(header=make_header(stamp, frame), wrench=Wrench(
            force=Vector3(x=fx, y=fy, z=fz), torque=Vector3(x=tx, y=ty, z=tz))))
        self.states.publish(JointState(header=make_header(stamp), name=["joint1", "joint2", "joint3"],
                                       position=self.q.tolist(), velocity=self.qd.tolist()))
        self.bus.spin_until_idle()


@pytest.fixture(scope="module")
def arm() -> Arm:
    return Arm()


@given(force=st.lists(ODD, min_size=6, max_size=6), frame=st.sampled_from(["world", "tool"]))
@settings(max_examples=30)
def test_bresa_controller_drops_bad_wrenches_and_stays_within_limits(arm, force, frame):
    before = sum(arm.ctl.logic.rejected.values())
    arm.tick(force, frame)
    stats = arm.ctl.node.stats
    assert not stats.callback_errors and not stats.receive_errors
    dropped = sum(arm.ctl.logic.rejected.values()) > before
    if frame != "world" or not all(math.isfinite(f) for f in force[:3]):
        assert dropped
    assert all(np.isfinite(e).all() and (np.abs(e) <= arm.limits).all() for e in arm.efforts)
    _count("nodes", not dropped)
