"""``nav_sim_bridge``: robocritic/NavPointGoal-v0 (a differential-drive base with a depth camera in a
procedural MuJoCo world) on the topics of a ``diff_drive`` hardware profile, in lockstep with
simulated time.

    nav_sim_bridge --ros-args -p profile:=diffdrive_depth -p world_seed:=3 -p episode:=0

=====================  ====================================  =====================================
topic                  type                                  role
=====================  ====================================  =====================================
``/clock``             rosgraph_msgs/msg/Clock               simulated time
``goal``               geometry_msgs/msg/PoseStamped         the episode's goal (``frames.odom``)
``depth``              sensor_msgs/msg/Image                 ``32FC1`` depth [m], NaN = no return
``odom``               nav_msgs/msg/Odometry                 the env's odometry, published last
``cmd_vel``            geometry_msgs/msg/Twist               ``(linear.x, angular.z)`` in
``estop``              std_msgs/msg/Bool                     ``true`` latches a zero command
``~/reset_estop``      std_msgs/msg/Bool                     ``true`` releases a latched e-stop
=====================  ====================================  =====================================

Lockstep (the only mode), as ``arm_sim_bridge``: publish tick ``k`` (``/clock`` = ``k dt``; the
depth image and the odometry stamped ``k dt``), wait for the ``cmd_vel`` of that tick, step the env
once (``dt`` = 0.1 s, so the profile's ``control_hz`` must be 10), publish tick ``k+1``.
``real_time_factor`` > 0 paces the ticks to wall time; 0 runs as fast as the loop closes. While
waiting, the tick is re-sent every ``resend_period_s``; after the first accepted command, a tick
without one for ``lockstep_timeout_s`` of wall time is stepped with the zero command and counted
(``lockstep_timeout``). A ``cmd_vel`` with NaN/inf is dropped and counted (``rejected``) and counts
as missing: the tick stays open, so the next good command for it (e.g. the answer to a re-send)
steps it, else the lockstep timeout does. Other Twist components are ignored; speeds beyond the
robot's limits are saturated by the env, as by a motor driver. A latched e-stop steps every tick
with the zero command (still at the planner's pace: each tick waits for its command first).

What is published, so that a planner node sees what :func:`~robocritic.navdp.evaluate.run_episode`
hands its planner: the env's observation of the tick. The goal is the env's world-frame goal (the
env's world frame is the odometry frame), published with every tick and re-send, so a planner
still gets it when DDS discovery matches its goal subscription after its command publisher
(repeating the same goal does not reset a planner). The depth image is ``obs["depth"]`` (0 = no return becomes NaN). The
odometry is ``obs["odom"]`` ``[x, y, yaw, v, omega]`` (noise-free unless the env randomises it),
not the true pose, which only the report holds.

Parameters: ``profile`` (a ``diff_drive`` profile with a ``camera`` section matching the env's
camera), ``env_id`` (default the profile's ``sim.env_id``), ``world_preset`` (a world preset:
``default``, ``dense``, ``empty``), ``world_seed`` and ``episode`` (the benchmark's paired episode:
:func:`~robocritic.navdp.evaluate.reset_paired`, same world, start and goal), ``max_steps``
(0: until the episode ends), ``real_time_factor``, ``resend_period_s``, ``lockstep_timeout_s``,
``wait_for_subscribers`` (odometry subscriptions needed before tick 0), ``shutdown_when_done``,
``report_path``. ``use_sim_time`` must stay false: this node is the clock.

One episode: it ends on success, on collision or on the env's time limit (the benchmark env's,
:func:`~robocritic.navdp.evaluate.make_env`, 601 steps) or ``max_steps`` (both ``timeout``); the
final tick is still published, then ticking stops and, with ``shutdown_when_done``, the node
exits. ``run_episode``'s ``stuck`` rule (no geodesic progress) needs privileged geometry and is
left to whoever scores the run; it can be applied to the report's trajectory. For ``run_episode``'s
60 s limit pass ``max_steps:=600``.
"""

from __future__ import annotations

import math
import sys
from collections import Counter, deque
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from robocritic.envs.nav.world import PRESETS
from robocritic.navdp.evaluate import ENV_ID, EpisodeSpec, make_env, reset_paired
from robocritic.nodes.io.diffdrive import DiffDriveIO
from robocritic.nodes.lockstep import LockstepScheduler
from robocritic.nodes.profile_params import ESTOP_QOS, declare_profile, require_topic, topic_qos
from robocritic.nodes.rejections import InputRejected, RejectionCounter
from robocritic.nodes.report import write_report
from robocritic.nodes.runtime import run_node
from robocritic.nodes.validators import at_least, non_negative, one_of, positive
from robocritic.profiles import HardwareProfile
from robocritic.ros.msgs import Bool, Clock, Image, Odometry, PoseStamped, Twist
from robocritic.ros.msgs.convert import ns_to_time
from robocritic.ros.qos import CLOCK
from robocritic.ros.transport.base import Node, ParameterError

ZERO_COMMAND = np.zeros(2)
"""The safe command ``(v, omega)``: stand still."""
OUTCOMES = ("success", "collision", "timeout")


def decode_twist(msg: Twist) -> np.ndarray:
    """``(v, omega)`` [m/s, rad/s] of a ``cmd_vel`` (``linear.x``, ``angular.z``; the rest ignored).

    Raises:
        InputRejected: ``non_finite`` for NaN/inf.
    """
    v, omega = float(msg.linear.x), float(msg.angular.z)
    if not (math.isfinite(v) and math.isfinite(omega)):
        raise InputRejected("non_finite", f"cmd_vel has NaN/inf: linear.x {v}, angular.z {omega}")
    return np.array([v, omega])


def make_nav_env(env_id: str = ENV_ID, preset: str = "default") -> gym.Env:
    """The env behind the bridge: the benchmark's (:func:`~robocritic.navdp.evaluate.make_env`) for
    ``robocritic/NavPointGoal-v0``, else ``env_id`` on world preset ``preset``."""
    if env_id == ENV_ID:
        return make_env(preset)
    import robocritic.envs  # noqa: F401 - registers the robocritic/ env ids

    return gym.make(env_id, world_spec=preset)


def _check_camera(profile: HardwareProfile, nav: Any) -> None:
    """The profile's camera is the env's (size, field of view, range, mounting)."""
    cam, env_cam = profile.camera, nav.depth_config
    ours = (cam.width, cam.height, math.radians(cam.hfov_deg), cam.min_range, cam.max_range, cam.x, cam.z,
            math.radians(cam.pitch_deg))  # fmt: skip
    env = (env_cam.width, env_cam.height, env_cam.hfov, *env_cam.range, *env_cam.position, env_cam.pitch)
    if not np.allclose(ours, env, rtol=0.0, atol=1e-9):
        raise ParameterError(
            f"parameter 'profile' ({profile.source}): the camera (width, height, hfov, min_range, max_range, "
            f"x, z, pitch) = {np.round(ours, 6).tolist()} differs from the env's {np.round(env, 6).tolist()}"
        )


class NavSimBridgeNode:
    """The ``nav_sim_bridge`` node (module docstring) over any transport's ``node``.

    Attributes:
        env: the env (owned; closed by :meth:`shutdown`). goal: ``(2,)`` world/odometry-frame goal.
        start: ``(3,)`` true start pose. seed: the env's reset seed of the paired episode.
        tick: the current tick (= steps taken). poses: true pose ``[x, y, yaw]`` per tick
            (``steps + 1``). commands: ``(v, omega)`` applied per step. reasons: why, per step
            (``command``, ``estop``, ``lockstep_timeout``).
        outcome: ``None`` while running, then one of :data:`OUTCOMES`; :attr:`done` says it ended.
        rejected: dropped ``cmd_vel`` by reason. safe_steps: zero-command steps by reason.
        latencies_s: wall time from a tick's first publish to its first accepted command [s].
        finished: set one timer period after the end when ``shutdown_when_done``.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        fqn = node.fully_qualified_name
        self.profile = profile = declare_profile(node, "diffdrive_depth")
        odom_spec = require_topic(profile, "odom", "nav_msgs/msg/Odometry")
        depth_spec = require_topic(profile, "depth", "sensor_msgs/msg/Image")
        goal_spec = require_topic(profile, "goal", "geometry_msgs/msg/PoseStamped")
        cmd_spec = require_topic(profile, "cmd_vel", "geometry_msgs/msg/Twist")
        if profile.camera is None:
            raise ParameterError(f"parameter 'profile' ({profile.source}): camera is required by this node")
        env_id = node.declare_parameter(
            "env_id", profile.sim_env or "",
            lambda v: None if v else "is required (the profile has no sim.env_id)",
            "registered Gymnasium env id",
        )  # fmt: skip
        preset = node.declare_parameter("world_preset", "default", one_of(*PRESETS), "world generator preset")
        world_seed = node.declare_parameter("world_seed", 0, at_least(0), "world of the paired episode")
        episode = node.declare_parameter("episode", 0, at_least(0), "episode index in that world")
        self.max_steps = node.declare_parameter("max_steps", 0, at_least(0),
                                                "end the episode after this many steps; 0 never")
        self.real_time_factor = node.declare_parameter("real_time_factor", 1.0, non_negative,
                                                       "simulated s per wall s; 0 unpaced")  # fmt: skip
        self.lockstep_timeout_s = node.declare_parameter("lockstep_timeout_s", 2.0, positive,
                                                         "wall s without the tick's command -> zero step")
        self.resend_period_s = node.declare_parameter("resend_period_s", 0.1, positive,
                                                      "re-send the awaited tick every this many wall s")
        self.wait_for_subscribers = node.declare_parameter("wait_for_subscribers", 1, at_least(0),
                                                           "odometry subscriptions needed first")
        self.shutdown_when_done = node.declare_parameter("shutdown_when_done", False,
                                                         description="exit when the episode ends")
        self.report_path = node.declare_parameter("report_path", "", description="JSON report at shutdown")
        if node.get_parameter("use_sim_time"):
            raise ParameterError(
                f"{fqn}: parameter 'use_sim_time' must be false: nav_sim_bridge publishes /clock"
            )
        try:
            env = make_nav_env(env_id, preset)
        except (gym.error.Error, TypeError) as exc:  # not registered, or takes no world_spec
            raise ParameterError(f"{fqn}: parameter 'env_id' = {env_id!r} is invalid: {exc}") from None
        try:
            self.dt_s = dt = float(env.unwrapped.dt)
            if abs(profile.control_rate_hz * dt - 1.0) > 1e-9:
                raise ParameterError(
                    f"{fqn}: the env steps every {dt:g} s but profile {profile.robot} commands at "
                    f"{profile.control_rate_hz:g} Hz (rates.control_hz); lockstep needs one command per step"
                )
            _check_camera(profile, env.unwrapped)
            self.spec = EpisodeSpec(world_seed, episode)
            try:
                self._obs, info, self.seed = reset_paired(env, self.spec)
            except (ValueError, RuntimeError) as exc:
                raise ParameterError(f"{fqn}: parameters 'world_seed'/'episode' = {world_seed}/{episode} "
                                     f"give no episode: {exc}") from None  # fmt: skip
            goal, start, clearance = env.unwrapped.goal, info["pose"], float(info["clearance"])
        except (AttributeError, KeyError) as exc:  # not a point-goal nav env
            env.close()
            raise ParameterError(f"{fqn}: parameter 'env_id' = {env_id!r} is not a point-goal nav env "
                                 f"(depth camera, goal, pose): {exc!r}") from None  # fmt: skip
        except ParameterError:
            env.close()
            raise
        self.env, self.env_id, self.preset = env, env_id, preset
        self.dt_ns = round(dt * 1e9)
        self.goal = np.asarray(goal, dtype=np.float64).copy()
        self.start = np.asarray(start, dtype=np.float64).copy()
        self.poses: list[np.ndarray] = [self.start.copy()]
        self.commands: list[np.ndarray] = []
        self.reasons: list[str] = []
        self.tick = 0
        self.outcome: str | None = None
        self.terminated = self.truncated = False
        self.path_length, self.min_clearance = 0.0, clearance
        self._info = info
        frames = profile.frames
        self.io = DiffDriveIO(profile.camera, odom_frame=frames.get("odom", "odom"),
                              base_frame=frames.get("base", "base_link"),
                              camera_frame=frames.get("camera", "camera_depth_optical_frame"))  # fmt: skip
        self._rejections = RejectionCounter(node.get_logger(), "cmd_vel")
        self.rejected = self._rejections.counts
        self.safe_steps: Counter[str] = Counter()
        self.commands_received = self.resends = self.ignored_commands = self.goal_sends = 0
        self._estop_signal = self._estop_latched = False
        clock_spec = profile.topics.get("clock")
        self._clock_pub = node.create_publisher(Clock, clock_spec.name if clock_spec else "/clock", CLOCK)
        self._goal_pub = node.create_publisher(PoseStamped, goal_spec.name, topic_qos(goal_spec))
        self._depth_pub = node.create_publisher(Image, depth_spec.name, topic_qos(depth_spec))
        self._odom_pub = node.create_publisher(Odometry, odom_spec.name, topic_qos(odom_spec))
        node.create_subscription(Twist, cmd_spec.name, self._on_command, topic_qos(cmd_spec))
        node.create_subscription(Bool, profile.estop.name, self._on_estop, ESTOP_QOS)
        node.create_subscription(Bool, "~/reset_estop", self._on_reset_estop, ESTOP_QOS)
        self._lockstep = LockstepScheduler(
            node, dt_s=dt, real_time_factor=self.real_time_factor, lockstep_timeout_s=self.lockstep_timeout_s,
            resend_period_s=self.resend_period_s, shutdown_when_done=self.shutdown_when_done,
            publish=self._publish_tick, on_timeout=self._on_lockstep_timeout,
            can_start=lambda: self._odom_pub.get_subscription_count() >= self.wait_for_subscribers,
            is_done=lambda: self.done,
        )  # fmt: skip
        self.latencies_s: deque[float] = self._lockstep.latencies_s
        node.get_logger().info(
            f"{env_id} as {profile.robot}: world {preset}/{world_seed}, episode {episode} "
            f"(seed {self.seed}), start {np.round(self.start, 3).tolist()}, "
            f"goal {np.round(self.goal, 3).tolist()}; lockstep, dt {dt:g} s, {self._lockstep.pacing}"
        )

    @property
    def done(self) -> bool:
        """Whether the episode has ended (:attr:`outcome` says how)."""
        return self.outcome is not None

    @property
    def finished(self) -> bool:
        """Set one timer period after the end when ``shutdown_when_done``."""
        return self._lockstep.finished

    @property
    def stamp_ns(self) -> int:
        """Simulated time of the current tick [ns]."""
        return self.tick * self.dt_ns

    @property
    def xy(self) -> np.ndarray:
        """The executed true positions ``(steps + 1, 2)`` [m], the start first."""
        return np.array(self.poses)[:, :2]

    @property
    def estopped(self) -> bool:
        """Whether an e-stop is latched."""
        return self._estop_latched

    # --- callbacks ------------------------------------------------------------------------------

    def _on_lockstep_timeout(self) -> None:
        self.node.get_logger().warning(
            f"lockstep: no cmd_vel for tick {self.tick} within {self.lockstep_timeout_s:g} s; "
            "stepping with zero velocity", throttle_s=1.0,
        )  # fmt: skip
        self._step(ZERO_COMMAND, "lockstep_timeout")

    def _on_command(self, msg: Twist) -> None:
        try:
            command = decode_twist(msg)
        except InputRejected as exc:
            self._rejections.reject(exc)
            return
        self.commands_received += 1
        if not self._lockstep.command_arrived():
            self.ignored_commands += 1  # before the first tick, after the end, or a second answer
            return
        if self._estop_latched:
            self._step(ZERO_COMMAND, "estop")
        else:
            self._step(command, "command")

    def _on_estop(self, msg: Bool) -> None:
        self._estop_signal = bool(msg.data)
        if msg.data and not self._estop_latched:
            self._estop_latched = True
            self.node.get_logger().warning("E-STOP engaged: zero velocity until reset")

    def _on_reset_estop(self, msg: Bool) -> None:
        if not msg.data:
            return
        if self._estop_signal:
            self.node.get_logger().warning("e-stop reset refused: the e-stop signal is still engaged")
        elif self._estop_latched:
            self._estop_latched = False
            self.node.get_logger().info("e-stop released")

    # --- stepping and publishing -----------------------------------------------------------------

    def _step(self, command: np.ndarray, reason: str) -> None:
        self._lockstep.close_tick()
        if reason != "command":
            self.safe_steps[reason] += 1
        command = np.array(command, dtype=np.float64)
        self._obs, _, terminated, truncated, info = self.env.step(command)
        self.tick += 1
        pose = np.asarray(info["pose"], dtype=np.float64).copy()
        self.path_length += float(np.hypot(*(pose[:2] - self.poses[-1][:2])))
        self.min_clearance = min(self.min_clearance, float(info["clearance"]))
        self.poses.append(pose)
        self.commands.append(command)
        self.reasons.append(reason)
        self._info = info
        self.terminated, self.truncated = bool(terminated), bool(truncated)
        if info["success"]:
            self.outcome = "success"
        elif info["collision"]:
            self.outcome = "collision"
        elif terminated or truncated or (self.max_steps and self.tick >= self.max_steps):
            self.outcome = "timeout"
        if self.done:
            self.node.get_logger().info(f"episode ended at tick {self.tick}: {self.outcome}")
        self._lockstep.next_tick()

    def _publish_tick(self, resend: bool) -> None:
        stamp = self.stamp_ns
        self._clock_pub.publish(Clock(clock=ns_to_time(stamp)))
        # Every tick, not only until the first command: a planner whose goal subscription is matched
        # after its cmd_vel publisher answers tick 0 with a stop and would otherwise never get a goal.
        self._goal_pub.publish(self.io.goal_message(self.goal, stamp))
        self.goal_sends += 1
        # The depth image before the odometry: in-process (and usually over DDS) it arrives first.
        self._depth_pub.publish(self.io.depth_message(self._obs["depth"], stamp))
        self._odom_pub.publish(self.io.odometry_message(self._obs["odom"], stamp))
        if resend:
            self.resends += 1

    # --- shutdown and report -------------------------------------------------------------------

    def shutdown(self) -> None:
        """Write the report (if asked) and close the env; called once by ``main``."""
        if self.report_path:
            write_report(self.report_path, self.report())
        self.env.close()

    def report(self) -> dict[str, Any]:
        """The episode (outcome, true trajectory, applied commands), counters and timing, JSON-ready."""
        final = self.poses[-1][:2]
        return {
            "node": self.node.fully_qualified_name,
            "profile": self.profile.source,
            "env_id": self.env_id,
            "world_preset": self.preset,
            "world_seed": self.spec.world_seed,
            "episode": self.spec.episode,
            "seed": self.seed,
            "dt_s": self.dt_s,
            "real_time_factor": self.real_time_factor,
            "start": self.start.tolist(),
            "goal": self.goal.tolist(),
            "outcome": self.outcome,
            "success": self.outcome == "success",
            "collision": self.outcome == "collision",
            "terminated": self.terminated,
            "truncated": self.truncated,
            "steps": self.tick,
            "time_s": self.tick * self.dt_s,
            "path_length": self.path_length,
            "final_distance": float(np.hypot(*(self.goal - final))),
            "min_clearance": self.min_clearance,
            "trace": {"xy": self.xy.tolist(), "yaw": [float(p[2]) for p in self.poses],
                      "commands": [c.tolist() for c in self.commands],
                      "reasons": list(self.reasons)},
            "timing": self._lockstep.timing(self.tick),
            "counters": {
                "commands_received": self.commands_received,
                "rejected": dict(self.rejected),
                "safe_steps": dict(self.safe_steps),
                "resends": self.resends,
                "goal_sends": self.goal_sends,
                "ignored_commands": self.ignored_commands,
                "action_saturations": int(self._info.get("action_saturations", 0)),
                "estopped": self._estop_latched,
                "callback_errors": dict(self.node.stats.callback_errors),
                "receive_errors": dict(self.node.stats.receive_errors),
            },
        }


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``nav_sim_bridge``."""
    return run_node(NavSimBridgeNode, "nav_sim_bridge", argv)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["OUTCOMES", "ZERO_COMMAND", "NavSimBridgeNode", "decode_twist", "main", "make_nav_env"]
