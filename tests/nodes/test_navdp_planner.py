"""navdp_planner: its logic drives the benchmark's episodes as run_episode does; the node on the
in-process bus answers every odometry tick with a Twist, publishes the plan, and stops with a
counted reason on no goal, a refused goal (NaN, other frame, too far, inside a seen obstacle), a
reached goal, stale sensors, an e-stop and a planner failure."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robocritic.navdp.checkpoint import load_model
from robocritic.navdp.evaluate import EpisodeSpec, make_env, make_loop_planner, reset_paired, run_episode
from robocritic.nodes.io.diffdrive import DiffDriveIO
from robocritic.nodes.navdp_planner import NavdpPlannerNode, NavPlannerLogic, depth_config, make_planner
from robocritic.profiles import load_profile
from robocritic.ros.msgs import Bool, Clock, Image, Odometry, Path, PoseStamped, Twist
from robocritic.ros.msgs.convert import make_header, ns_to_time
from robocritic.ros.qos import CLOCK, COMMANDS, SENSOR_DATA
from robocritic.ros.transport import InProcessBus, ParameterError

pytestmark = pytest.mark.timeout(120)
PROFILE = load_profile("diffdrive_depth")
TOPICS = {k: v.name for k, v in PROFILE.topics.items()}
IO = DiffDriveIO(PROFILE.camera, odom_frame="odom")
TICK = 100_000_000  # 10 Hz [ns]
FAR = np.full((PROFILE.camera.height, PROFILE.camera.width), 0.0, dtype=np.float32)  # nothing in view


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.mark.parametrize(("method", "world"), [("navdp", 5000), ("dwa", 5001)])
def test_logic_drives_the_benchmark_episode_as_run_episode_does(method, world):
    """The node's logic fed the env's depth and odometry (its goal in the odometry frame, as a
    PoseStamped carries it) takes the same steps as the in-process loop, to the trace's 0.1 mm."""
    env = make_env()
    spec = EpisodeSpec(world)
    ref = run_episode(env, make_loop_planner(method, model=load_model(_shipped())), spec, keep_trace=True)
    obs, info, seed = reset_paired(env, spec)
    logic = NavPlannerLogic(make_planner(method), depth_config(PROFILE.camera), seed=seed,
                            state_timeout_ns=3 * TICK, control_period_ns=TICK)
    assert logic.on_goal(np.asarray(env.unwrapped.goal, dtype=np.float64))
    xy, done = [info["pose"][:2].copy()], False
    for k in range(len(ref["trace"]["xy"]) + 5):
        logic.accept_depth(obs["depth"], k * TICK)
        logic.accept_state(np.asarray(obs["odom"], dtype=np.float64), k * TICK, k * TICK)
        command = logic.command(k * TICK)
        assert not command.safe, command.reason
        obs, _, terminated, truncated, info = env.step(command.action)
        xy.append(info["pose"][:2].copy())
        if done := terminated or truncated or info["success"] or info["collision"]:
            break
    env.close()
    assert done and ("success" if info["success"] else "collision") == ref["outcome"]
    assert len(xy) == len(ref["trace"]["xy"])
    np.testing.assert_allclose(xy, ref["trace"]["xy"], rtol=0, atol=6e-5)  # the trace is rounded to 0.1 mm


def _shipped():
    from robocritic.navdp.assets import small_model_path

    return small_model_path()


def _logic(**kwargs) -> NavPlannerLogic:
    return NavPlannerLogic(make_planner("straight"), depth_config(PROFILE.camera), state_timeout_ns=3 * TICK,
                           control_period_ns=TICK, **kwargs)


def _feed(logic: NavPlannerLogic, k: int, depth: np.ndarray = FAR, pose=(0.0, 0.0, 0.0)):
    logic.accept_depth(depth, k * TICK)
    logic.accept_state(np.array([*pose, 0.0, 0.0]), k * TICK, k * TICK)
    return logic.command(k * TICK)


def test_stop_reasons_no_goal_reached_and_refused():
    logic = _logic(max_goal_distance=10.0)
    assert _feed(logic, 0).reason == "no_goal"
    assert logic.on_goal(np.array([3.0, 0.0]))
    moving = _feed(logic, 1)
    assert not moving.safe and moving.action[0] > 0
    assert logic.on_goal(np.array([3.0, 0.0]))  # the same goal again: kept, counted as repeated
    assert logic.goals["repeated"] == 1 and not _feed(logic, 2).safe
    assert _feed(logic, 3, pose=(2.7, 0.1, 0.0)).reason == "goal_reached"
    assert logic.goal is None and _feed(logic, 4).reason == "no_goal"
    assert not logic.on_goal(np.array([30.0, 0.0]))  # beyond max_goal_distance
    assert logic.refused_goals["goal_out_of_range"] == 1 and logic.goal is None


def test_goal_inside_a_seen_obstacle_is_refused_and_cancels_the_old_goal():
    logic = _logic()
    wall = np.full_like(FAR, 2.0)  # a wall 2 m ahead filling the view
    assert _feed(logic, 0, wall).reason == "no_goal"
    assert logic.on_goal(np.array([1.0, 0.0]))  # in front of the wall: fine
    assert not _feed(logic, 1, wall).safe
    assert not logic.on_goal(np.array([2.2, 0.0]))  # 2.2 m: inside / behind the wall's surface
    assert logic.refused_goals["goal_in_obstacle"] == 1 and logic.goal is None
    assert _feed(logic, 2, wall).reason == "no_goal"  # the refused goal cancelled the previous one


def test_stale_sensors_and_estop_stop_the_robot():
    logic = _logic()
    logic.on_goal(np.array([3.0, 0.0]))
    assert not _feed(logic, 0).safe
    assert logic.command(4 * TICK).reason == "stale_state"  # nothing for 0.4 s > 0.3 s
    assert logic.on_estop(True).reason == "estop"
    assert _feed(logic, 5).reason == "estop"
    logic.on_estop(False)
    assert _feed(logic, 6).reason == "estop"  # latched until re-activated
    logic.activate(6 * TICK)
    assert not _feed(logic, 7).safe
    with pytest.raises(ValueError, match="depth"):
        logic.accept_depth(np.zeros((10, 10), np.float32), 8 * TICK)


class Failing:
    """A planner that raises at every plan."""

    def begin(self, context) -> None:
        pass

    def plan(self, obs, info):
        raise RuntimeError("planner failed")


def test_a_planner_error_stops_the_robot():
    logic = NavPlannerLogic(Failing(), depth_config(PROFILE.camera), state_timeout_ns=3 * TICK,
                            control_period_ns=TICK)
    logic.on_goal(np.array([3.0, 0.0]))
    bad = _feed(logic, 0)
    assert bad.safe and bad.reason == "controller_error" and not bad.action.any()
    assert logic.counters()["safe_commands"]["controller_error"] == 1


class Robot:
    """A probe playing the base: /clock, goal, depth and odometry per tick; records Twists and Paths."""

    def __init__(self, **params) -> None:
        self.bus = InProcessBus()
        self.probe = self.bus.create_node("robot")
        self.twists: list[Twist] = []
        self.paths: list[Path] = []
        self.probe.create_subscription(Twist, TOPICS["cmd_vel"], self.twists.append, COMMANDS)
        self.probe.create_subscription(Path, TOPICS["path"], self.paths.append, COMMANDS)
        self.clock = self.probe.create_publisher(Clock, "/clock", CLOCK)
        self.goal = self.probe.create_publisher(PoseStamped, TOPICS["goal"], COMMANDS)
        self.depth = self.probe.create_publisher(Image, TOPICS["depth"], SENSOR_DATA)
        self.odom = self.probe.create_publisher(Odometry, TOPICS["odom"], SENSOR_DATA)
        self.estop = self.probe.create_publisher(Bool, PROFILE.estop.name, COMMANDS)
        self.node = NavdpPlannerNode(self.bus.create_node(
            "navdp_planner", parameters={"use_sim_time": True, "method": "straight", **params}))

    def tick(self, k: int, pose=(0.0, 0.0, 0.0), depth: np.ndarray = FAR, depth_k: int | None = None) -> None:
        self.clock.publish(Clock(clock=ns_to_time(k * TICK)))
        self.depth.publish(IO.depth_message(depth, (k if depth_k is None else depth_k) * TICK))
        self.odom.publish(IO.odometry_message(np.array([*pose, 0.0, 0.0]), k * TICK))
        self.bus.spin_until_idle()


def test_node_answers_every_tick_and_publishes_the_plan():
    robot = Robot()
    robot.tick(0)
    assert len(robot.twists) == 1 and robot.twists[0].linear.x == 0.0  # no goal yet: stop
    robot.goal.publish(IO.goal_message(np.array([3.0, 1.0]), 0))
    for k in range(1, 6):
        robot.tick(k, pose=(0.05 * k, 0.0, 0.0))
    assert len(robot.twists) == 6
    assert all(t.linear.x > 0 or t.angular.z != 0 for t in robot.twists[1:])
    assert len(robot.paths) == 2  # plans at 0.1 s and 0.35 s (every 0.25 s from the first)
    assert robot.paths[0].header.frame_id == "odom" and robot.paths[0].poses
    report = robot.node.report()
    assert report["goals"]["accepted"] == 1 and report["paths_sent"] == 2 and report["rejected"] == {}


def test_node_counts_bad_inputs_and_stops():
    robot = Robot()
    robot.goal.publish(IO.goal_message(np.array([3.0, 0.0]), 0))
    robot.tick(0)
    assert robot.twists[-1].linear.x > 0
    robot.goal.publish(PoseStamped(header=make_header(0, "odom")))  # fine: (0, 0), reached at once
    robot.goal.publish(IO.goal_message(np.array([np.nan, 0.0]), 0))
    robot.tick(1)
    assert robot.twists[-1].linear.x == 0.0 and robot.twists[-1].angular.z == 0.0
    assert robot.node.report()["refused_goals"] == {"goal_non_finite": 1}
    robot.goal.publish(IO.goal_message(np.array([3.0, 0.0]), 0))
    robot.odom.publish(IO.odometry_message(np.array([np.nan, 0, 0, 0, 0]), 2 * TICK))
    robot.depth.publish(IO.depth_message(np.zeros((10, 10), np.float32), 2 * TICK))
    robot.bus.spin_until_idle()
    report = robot.node.report()
    assert report["rejected"] == {"non_finite": 1} and report["depth_rejected"] == {"depth_size": 1}
    robot.estop.publish(Bool(data=True))
    robot.tick(3)
    assert robot.twists[-1].linear.x == 0.0 and robot.node.report()["safe_commands"]["estop"] >= 1


def test_node_parameters_are_checked():
    bus = InProcessBus()
    with pytest.raises(ParameterError, match="method"):
        NavdpPlannerNode(bus.create_node("a", parameters={"method": "expert"}))
    with pytest.raises(ParameterError, match="profile.*diff_drive"):
        NavdpPlannerNode(bus.create_node("b", parameters={"profile": "arm3_sim"}))
    with pytest.raises(ParameterError, match="checkpoint"):
        NavdpPlannerNode(bus.create_node("c", parameters={"checkpoint": "/nonexistent/model.pt"}))
