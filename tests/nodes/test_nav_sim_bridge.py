"""nav_sim_bridge on the in-process transport: the lockstep trajectory equals stepping the paired
episode's env directly, the published depth, odometry and goal are the env's, and rejected
commands, lockstep timeouts, the e-stop, the episode's end and bad parameters behave as documented."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from importlib import resources

import numpy as np
import pytest

from robocritic.navdp.evaluate import EpisodeSpec, make_env, reset_paired
from robocritic.nodes.io.diffdrive import DiffDriveIO
from robocritic.nodes.nav_sim_bridge import NavSimBridgeNode, main
from robocritic.profiles import load_profile
from robocritic.ros.msgs import Bool, Clock, Image, Odometry, PoseStamped, Twist
from robocritic.ros.msgs.convert import time_to_ns
from robocritic.ros.msgs.geometry_msgs import Vector3
from robocritic.ros.qos import CLOCK, COMMANDS, SENSOR_DATA
from robocritic.ros.transport import InProcessBus, ParameterError

DT_NS = 100_000_000
WORLD = {"world_seed": 1, "episode": 0}  # 30 steps of (0.2, 0.1) stay clear of obstacles
Script = Callable[[int, int], "tuple[float, float] | None"]  # (tick, times seen) -> (v, omega) or silence


def _constant(v: float, omega: float) -> Script:
    return lambda tick, seen: (v, omega) if seen == 1 else None


class Driver:
    """A scripted planner: records what it receives and answers each odometry message with the
    script's command (``None``: no answer)."""

    def __init__(self, bus: InProcessBus, script: Script) -> None:
        self.node = bus.create_node("driver")
        self.io = DiffDriveIO(load_profile("diffdrive_depth").camera, odom_frame="odom")
        self.script = script
        self.seen: Counter[int] = Counter()
        self.depth: dict[int, np.ndarray] = {}
        self.odom: dict[int, np.ndarray] = {}
        self.goals: list[np.ndarray] = []
        self.clock: list[int] = []
        self.cmd = self.node.create_publisher(Twist, "/cmd_vel", COMMANDS)
        self.estop = self.node.create_publisher(Bool, "/estop", COMMANDS)
        self.node.create_subscription(Image, "/camera/depth/image_raw", self._on_depth, SENSOR_DATA)
        self.node.create_subscription(Odometry, "/odom", self._on_odom, SENSOR_DATA)
        self.node.create_subscription(PoseStamped, "/goal_pose", self._on_goal, COMMANDS)
        self.node.create_subscription(Clock, "/clock", self._on_clock, CLOCK)

    def _on_goal(self, msg: PoseStamped) -> None:
        self.goals.append(self.io.decode_goal(msg))

    def _on_clock(self, msg: Clock) -> None:
        self.clock.append(time_to_ns(msg.clock))

    def _on_depth(self, msg: Image) -> None:
        depth, stamp = self.io.decode_depth(msg)
        self.depth[stamp // DT_NS] = depth

    def _on_odom(self, msg: Odometry) -> None:
        odom, stamp = self.io.decode_odometry(msg)
        assert stamp % DT_NS == 0
        tick = stamp // DT_NS
        self.odom[tick] = odom
        self.seen[tick] += 1
        command = self.script(tick, self.seen[tick])
        if command is not None:
            self.cmd.publish(Twist(linear=Vector3(x=command[0]), angular=Vector3(z=command[1])))


def _graph(script: Script, **params) -> tuple[InProcessBus, NavSimBridgeNode, Driver]:
    bus = InProcessBus()
    bridge = NavSimBridgeNode(bus.create_node("nav_sim_bridge", parameters={
        "real_time_factor": 0.0, **WORLD, **params}))  # fmt: skip
    return bus, bridge, Driver(bus, script)


def _reference(commands: list[np.ndarray], spec: EpisodeSpec) -> dict:
    """Step the paired episode's env directly with ``commands`` (until it ends)."""
    env = make_env("default")
    try:
        obs, info, _ = reset_paired(env, spec)
        goal = np.asarray(env.unwrapped.goal, dtype=np.float64).copy()
        xy, depth, odom = [info["pose"][:2].copy()], [obs["depth"]], [obs["odom"]]
        for command in commands:
            obs, _, terminated, truncated, info = env.step(np.asarray(command, dtype=np.float64))
            xy.append(info["pose"][:2].copy())
            depth.append(obs["depth"])
            odom.append(obs["odom"])
            if terminated or truncated or info["success"] or info["collision"]:
                break
    finally:
        env.close()
    return {"xy": np.array(xy), "depth": depth, "odom": odom, "goal": goal}


def test_trajectory_and_messages_equal_the_env_stepped_directly():
    steps = 30
    bus, bridge, driver = _graph(_constant(0.2, 0.1), max_steps=steps)
    bus.step(0.1)
    assert bridge.done and bridge.outcome == "timeout" and bridge.tick == steps
    ref = _reference([np.array([0.2, 0.1])] * steps, EpisodeSpec(**WORLD))
    np.testing.assert_array_equal(bridge.xy, ref["xy"])  # exactly, not approximately
    assert len(ref["xy"]) == steps + 1 and np.hypot(*(ref["xy"][-1] - ref["xy"][0])) > 0.5
    # every tick (the final one too) was published once, stamped k dt, with the env's observation
    assert sorted(driver.seen) == list(range(steps + 1)) and set(driver.seen.values()) == {1}
    assert driver.clock == [k * DT_NS for k in range(steps + 1)]
    for k in range(steps + 1):
        np.testing.assert_array_equal(driver.depth[k], ref["depth"][k])
        np.testing.assert_array_equal(driver.odom[k][[0, 1, 3, 4]], ref["odom"][k][[0, 1, 3, 4]])
        assert math.isclose(driver.odom[k][2], ref["odom"][k][2], abs_tol=1e-12)  # yaw via a quaternion
    assert len(driver.goals) == steps + 1 and all(np.array_equal(g, ref["goal"]) for g in driver.goals)
    assert np.array_equal(bridge.goal, ref["goal"])
    report = bridge.report()
    assert report["counters"]["rejected"] == {} and report["counters"]["safe_steps"] == {}
    assert report["counters"]["ignored_commands"] == 1  # the answer to the final tick
    assert report["trace"]["commands"] == [[0.2, 0.1]] * steps and report["steps"] == steps


def test_nan_command_is_rejected_and_the_answer_to_the_resend_steps_the_tick():
    # tick 3: NaN first; the re-sent tick 3 is answered with the good command
    def script(tick: int, seen: int):
        if tick == 3:
            return (math.nan, 0.1) if seen == 1 else (0.2, 0.1) if seen == 2 else None
        return (0.2, 0.1) if seen == 1 else None

    bus, bridge, driver = _graph(script, max_steps=6)
    bus.step(0.5)
    assert bridge.rejected == {"non_finite": 1} and bridge.resends == 1 and driver.seen[3] == 2
    assert bridge.tick == 6 and bridge.safe_steps == {}
    ref = _reference([np.array([0.2, 0.1])] * 6, EpisodeSpec(**WORLD))
    np.testing.assert_array_equal(bridge.xy, ref["xy"])


def test_nan_command_and_then_silence_is_stepped_with_zero_by_the_lockstep_timeout():
    def script(tick: int, seen: int):
        if tick == 3:
            return (math.nan, math.inf) if seen == 1 else None
        return (0.2, 0.1) if seen == 1 else None

    bus, bridge, _ = _graph(script, max_steps=6, lockstep_timeout_s=0.3, resend_period_s=1.0)
    bus.step(0.25)
    assert bridge.tick == 3 and bridge.rejected == {"non_finite": 1}  # waiting for tick 3
    bus.step(0.2)
    assert bridge.tick == 6 and bridge.safe_steps == {"lockstep_timeout": 1}
    assert bridge.reasons == ["command"] * 3 + ["lockstep_timeout"] + ["command"] * 2
    commands = [np.array([0.2, 0.1])] * 3 + [np.zeros(2)] + [np.array([0.2, 0.1])] * 2
    np.testing.assert_array_equal(bridge.xy, _reference(commands, EpisodeSpec(**WORLD))["xy"])


def test_estop_latches_zero_commands_until_reset():
    bus, bridge, driver = _graph(_constant(0.4, 0.3), max_steps=40)
    driver.estop.publish(Bool(data=True))
    bus.step(0.1)
    assert bridge.estopped and bridge.outcome == "timeout"
    n = bridge.tick
    assert n == 40 and bridge.safe_steps == {"estop": n} and bridge.reasons == ["estop"] * n
    assert all(c.tolist() == [0.0, 0.0] for c in bridge.commands) and bridge.commands_received == n + 1
    assert np.array_equal(np.array(bridge.poses), np.repeat(bridge.start[None], n + 1, axis=0))


def test_estop_reset_lets_the_robot_move_again():
    bus, bridge, driver = _graph(_constant(0.2, 0.0), max_steps=8, resend_period_s=10.0,
                                 lockstep_timeout_s=10.0)  # fmt: skip
    reset = driver.node.create_publisher(Bool, "/nav_sim_bridge/reset_estop", COMMANDS)
    driver.estop.publish(Bool(data=True))
    reset.publish(Bool(data=True))  # refused: the signal is still engaged
    bus.spin_until_idle()
    assert bridge.estopped
    driver.estop.publish(Bool(data=False))
    reset.publish(Bool(data=True))
    bus.spin_until_idle()
    assert not bridge.estopped
    bus.step(0.1)
    assert bridge.tick == 8 and bridge.safe_steps == {} and bridge.xy[-1][0] != bridge.xy[0][0]


def test_collision_ends_the_episode_and_finishes_with_shutdown_when_done(tmp_path):
    # world 0, episode 0: straight ahead at full speed hits an obstacle within ~1 s
    path = tmp_path / "bridge.json"
    bus, bridge, driver = _graph(_constant(0.5, 0.0), world_seed=0, episode=0, shutdown_when_done=True,
                                 report_path=str(path))  # fmt: skip
    bus.step(0.05)
    assert bridge.outcome == "collision" and 0 < bridge.tick < 30 and not bridge.finished
    bus.step(0.1)
    assert bridge.finished
    n = bridge.tick
    assert max(driver.seen) == n  # the final tick was published, and then nothing more
    bridge.shutdown()
    report = json.loads(path.read_text())
    assert report["outcome"] == "collision" and report["collision"] and not report["success"]
    assert report["steps"] == n and len(report["trace"]["xy"]) == n + 1 and report["terminated"]
    assert report["world_seed"] == 0 and report["episode"] == 0
    env = make_env("default")
    assert report["seed"] == reset_paired(env, EpisodeSpec(0, 0))[2]
    env.close()
    assert report["counters"]["ignored_commands"] == 1 and report["counters"]["callback_errors"] == {}
    assert report["timing"]["ticks"] == n and report["start"] == bridge.start.tolist()


def test_goal_goes_out_with_every_tick_and_resend():
    # a planner that answers nothing for a while, or whose goal subscription is matched late, still
    # gets the goal: tick 0 is sent 4 times (3 re-sends), ticks 1-3 once each
    bus, bridge, driver = _graph(lambda tick, seen: (0.2, 0.0) if seen == (4 if tick == 0 else 1) else None,
                                 max_steps=3)
    bus.step(0.5)
    assert bridge.tick == 3 and bridge.resends == 3 and len(driver.goals) == 7 == bridge.goal_sends
    assert bridge.safe_steps == {}


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"world_preset": "nowhere"}, "parameter 'world_preset' = 'nowhere' is invalid"),
        ({"world_seed": -1}, "parameter 'world_seed' = -1 is invalid"),
        ({"episode": -2}, "parameter 'episode' = -2 is invalid"),
        ({"use_sim_time": True}, "parameter 'use_sim_time' must be false"),
        ({"max_steps": -1}, "parameter 'max_steps' = -1 is invalid"),
        ({"lockstep_timeout_s": 0.0}, "parameter 'lockstep_timeout_s' = 0.0 is invalid"),
        ({"env_id": "robocritic/NoSuchEnv-v0"}, "parameter 'env_id' = 'robocritic/NoSuchEnv-v0' is invalid"),
        ({"env_id": "robocritic/ArmPressWipe-v0"}, "parameter 'env_id' = 'robocritic/ArmPressWipe-v0' is"),
        ({"env_id": "robocritic/NavExplore-v0"}, "parameter 'env_id' .* is not a point-goal nav env"),
        ({"profile": "pendulum_sim"}, "parameter 'profile'.*topics.odom is required"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(params, match):
    with pytest.raises(ParameterError, match=match):
        NavSimBridgeNode(InProcessBus().create_node("nav_sim_bridge", parameters=params))


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("width: 64", "width: 32", "parameter 'profile'.*the camera .* differs from the env's"),
        ("control_hz: 10.0", "control_hz: 20.0", "lockstep needs one command per step"),
        ("  depth: {name: /camera/depth/image_raw, type: sensor_msgs/msg/Image",
         "  depth: {name: /camera/depth/image_raw, type: sensor_msgs/msg/CompressedImage",
         "parameter 'profile'.*topics.depth.type must be sensor_msgs/msg/Image"),
    ],
)
def test_a_profile_that_does_not_fit_the_env_is_refused(tmp_path, old, new, match):
    body = resources.files("robocritic.hardware").joinpath("diffdrive_depth.yaml").read_text()
    assert old in body
    path = tmp_path / "profile.yaml"
    path.write_text(body.replace(old, new))
    with pytest.raises(ParameterError, match=match):
        NavSimBridgeNode(InProcessBus().create_node("nav_sim_bridge", parameters={"profile": str(path)}))


def test_main_exits_2_on_a_bad_parameter(capsys):
    assert main(["--transport", "inprocess", "--ros-args", "-p", "world_seed:=-1"]) == 2
    assert "world_seed" in capsys.readouterr().err


def test_paced_lockstep_keeps_simulated_time_on_wall_time():
    bus, bridge, _ = _graph(_constant(0.2, 0.1), max_steps=10, real_time_factor=2.0)
    bus.step(0.26)  # one tick per 0.05 s of (virtual) wall time
    assert 4 <= bridge.tick <= 6
    bus.step(0.5)
    assert bridge.tick == 10 and bridge.safe_steps == {} and bridge.resends == 0
    ref = _reference([np.array([0.2, 0.1])] * 10, EpisodeSpec(**WORLD))
    np.testing.assert_array_equal(bridge.xy, ref["xy"])
