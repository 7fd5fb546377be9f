"""``arm_sim_bridge``: robocritic/ArmPressWipe-v0 as a torque-controlled arm on ROS 2 topics, in
lockstep with simulated time.

    arm_sim_bridge --ros-args -p profile:=arm3_sim -p seed:=3 -p surface_offset:=0.02

=====================  ====================================  =====================================
topic                  type                                  role
=====================  ====================================  =====================================
``/clock``             rosgraph_msgs/msg/Clock               simulated time
``wrench``             geometry_msgs/msg/WrenchStamped       wrist F/T (see below), published first
``joint_states``       sensor_msgs/msg/JointState            true ``q, qd`` (float64), profile order
``command``            std_msgs/msg/Float64MultiArray        joint torques in, profile joint order
``estop``              std_msgs/msg/Bool                     ``true`` latches the safe command
``~/reset_estop``      std_msgs/msg/Bool                     ``true`` releases a latched e-stop
``~/ground_truth``     std_msgs/msg/Float64MultiArray        true env state per tick (for recording)
=====================  ====================================  =====================================

Lockstep (the only mode): publish tick ``k`` (``/clock`` = ``k dt``, wrench and JointState stamped
``k dt``), wait for the command of that tick, step the env once (1 ms), publish tick ``k+1``.
``real_time_factor`` > 0 paces the ticks to wall time; 0 runs as fast as the loop closes. While
waiting, the tick is re-sent every ``resend_period_s``; after the first command, a tick without a
command for ``lockstep_timeout_s`` of wall time is stepped with the safe command and counted (the
pacing is :class:`~robocritic.nodes.lockstep.LockstepScheduler`, shared with ``nav_sim_bridge``). The
env core (command checks, e-stop, records, episodes) is the pendulum bridge's
:class:`~robocritic.nodes.bridge_logic.BridgeLogic`.

What is published, and why the controller reproduces the in-process run exactly:

- the JointState carries the env's true float64 ``q, qd`` (``info["state"]``), what
  :func:`~robocritic.bresa.hierarchy.run_episode` hands its loop (the env's observation is float32);
- the wrench is the env's ``contact_wrench_world()``: the external force on the tool in the base
  frame (``frames.base``) with the tool's weight removed, as a driver with tool-load compensation
  publishes it; its component along the surface normal is the env's raw normal force exactly. The
  torque is not published (zeros): the task reads only the force. The controller low-passes the
  normal force with the env's own 5 ms filter, reset at the same tick, so its filtered force is
  the env's bit for bit (publishing the filtered value instead would hide the filter from a
  controller that must run it on a real sensor).

Parameters: ``profile`` (an ``arm`` profile with ``sim.env_id``), ``env_id`` (``""``: the profile's), ``seed`` (episode
``i`` resets with ``seed + i``), ``surface_offset`` [m] and ``contact_stiffness_scale`` (the env's
reset options; a negative offset / zero scale draws them per episode), ``initial_state`` (``[q, qd]``;
``[]`` samples), ``max_steps`` (0 never stops), ``episode_steps`` (0: the env's own),
``shutdown_when_done``, ``real_time_factor``, ``resend_period_s``, ``lockstep_timeout_s``,
``wait_for_subscribers``, ``report_path``. ``use_sim_time`` must stay false: this node is the clock.

Episodes: at an episode's end the env is reset (``seed + i``) while simulated time runs on; the
controller is not told (its task clock and setpoint would jump), so run one episode
(``max_steps`` = the episode length, as the launch file does) or deactivate and re-activate the
controller between episodes.

Not shared with ``sim_bridge``: its lockstep check requires one command per env step at the
profile's ``control_hz``; an arm is commanded at ``critic_hz``.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from robocritic.nodes.bridge_logic import BridgeLogic
from robocritic.nodes.io.arm import ArmIO
from robocritic.nodes.lockstep import LockstepScheduler
from robocritic.nodes.profile_params import (
    ESTOP_QOS,
    declare_profile,
    require_joints,
    require_topic,
    topic_qos,
)
from robocritic.nodes.report import write_report
from robocritic.nodes.runtime import run_node
from robocritic.nodes.sim_bridge import GROUND_TRUTH_QOS
from robocritic.nodes.validators import at_least, finite_list, non_negative, positive
from robocritic.ros.msgs import Bool, Clock, Float64MultiArray, JointState, WrenchStamped
from robocritic.ros.msgs.convert import ns_to_time, numpy_to_float64_multi_array, numpy_to_joint_state
from robocritic.ros.qos import CLOCK
from robocritic.ros.transport.base import Node, ParameterError

_RECORD_TICKS = 100_000  # per-step force records kept (the most recent)


class ResetOptions(gym.Wrapper):
    """Adds fixed ``options`` to every ``reset`` (the caller's own options win)."""

    def __init__(self, env: gym.Env, options: dict[str, Any]) -> None:
        super().__init__(env)
        self.fixed_options = dict(options)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        return self.env.reset(seed=seed, options={**self.fixed_options, **(options or {})})


def make_arm_env(env_id: str, episode_steps: int = 0, **options: Any) -> gym.Env:
    """The env behind the bridge: ``env_id`` with reset ``options`` (``surface_offset``, ...)."""
    import robocritic.envs  # noqa: F401 - registers the robocritic/ env ids

    env = gym.make(env_id, **({"max_episode_steps": episode_steps} if episode_steps else {}))
    return ResetOptions(env, options) if options else env


class ArmSimBridgeNode:
    """The ``arm_sim_bridge`` node (module docstring) over any transport's ``node``.

    Attributes:
        logic: the :class:`~robocritic.nodes.bridge_logic.BridgeLogic` (env, counters, episodes).
        forces: per step ``(force_raw, force_filtered)`` [N] of the env after the step (recent).
        latencies_s: wall time from a tick's first publish to its command [s].
        finished: set after ``max_steps`` when ``shutdown_when_done``.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        fqn = node.fully_qualified_name
        self.profile = profile = declare_profile(node, "arm3_sim")
        joint_map = require_joints(profile)
        state_spec = require_topic(profile, "joint_states", "sensor_msgs/msg/JointState")
        wrench_spec = require_topic(profile, "wrench", "geometry_msgs/msg/WrenchStamped")
        command_spec = require_topic(profile, "command", "std_msgs/msg/Float64MultiArray")
        env_id = node.declare_parameter(
            "env_id", profile.sim_env or "",
            lambda v: None if v or profile.sim_env else "is required (the profile has no sim.env_id)",
            "registered Gymnasium env id ('': the profile's sim.env_id)",
        ) or profile.sim_env  # fmt: skip
        seed = node.declare_parameter("seed", 0, description="reset seed of the first episode")
        offset = node.declare_parameter("surface_offset", -1.0, description="table offset [m]; < 0 draws it")
        scale = node.declare_parameter("contact_stiffness_scale", 0.0, non_negative,
                                       "contact stiffness scale; 0 draws it")  # fmt: skip
        initial_state = node.declare_parameter("initial_state", [], finite_list, "[q, qd] of every episode")
        self.real_time_factor = node.declare_parameter("real_time_factor", 1.0, non_negative,
                                                       "simulated s per wall s; 0 unpaced")  # fmt: skip
        self.lockstep_timeout_s = node.declare_parameter("lockstep_timeout_s", 2.0, positive,
                                                         "wall s without the tick's command -> safe step")
        self.resend_period_s = node.declare_parameter("resend_period_s", 0.1, positive,
                                                      "re-send the awaited tick every this many wall s")
        self.wait_for_subscribers = node.declare_parameter("wait_for_subscribers", 1, at_least(0),
                                                           "JointState subscriptions needed first")
        max_steps = node.declare_parameter("max_steps", 0, at_least(0), "stop after this many steps; 0 never")
        episode_steps = node.declare_parameter("episode_steps", 0, at_least(0), "episode length; 0 the env's")
        self.shutdown_when_done = node.declare_parameter(
            "shutdown_when_done", False, description="exit at max_steps"
        )
        ground_truth_topic = node.declare_parameter("ground_truth_topic", "~/ground_truth")
        self.report_path = node.declare_parameter("report_path", "", description="JSON report at shutdown")
        if node.get_parameter("use_sim_time"):
            raise ParameterError(
                f"{fqn}: parameter 'use_sim_time' must be false: arm_sim_bridge publishes /clock"
            )
        options = {k: v for k, v, on in (("surface_offset", offset, offset >= 0),
                                         ("contact_stiffness_scale", scale, scale > 0)) if on}  # fmt: skip
        try:
            env = make_arm_env(env_id, episode_steps, **options)
        except gym.error.Error as exc:
            raise ParameterError(f"{fqn}: parameter 'env_id' = {env_id!r} is invalid: {exc}") from None
        try:
            dt = float(env.unwrapped.dt)
            command_hz = profile.critic_rate_hz or profile.control_rate_hz
            if abs(command_hz * dt - 1.0) > 1e-9:
                raise ParameterError(
                    f"{fqn}: the env steps every {dt:g} s but profile {profile.robot} commands "
                    f"at {command_hz:g} Hz; lockstep needs one command per step"
                )
            self.logic = BridgeLogic(
                env, joint_map, state_source="state",
                command_timeout_ns=round(profile.command_timeout_s * 1e9),
                seed=seed, initial_state=[float(v) for v in initial_state] or None, max_steps=max_steps,
                logger=node.get_logger(),
            )  # fmt: skip
        except ParameterError:
            env.close()
            raise
        except ValueError as exc:  # a bad reset option or an env that does not fit the profile
            env.close()
            raise ParameterError(f"{fqn}: parameters 'profile'/'initial_state'/'surface_offset'/"
                                 f"'contact_stiffness_scale' do not fit: {exc}") from None  # fmt: skip
        self.arm = env.unwrapped
        self.frame_id = profile.frames.get("base", "")
        self.dt_s = dt
        self.forces: deque[tuple[float, float]] = deque(maxlen=_RECORD_TICKS)
        self.resends = 0
        self.ignored_commands = 0
        clock_spec = profile.topics.get("clock")
        self._clock_pub = node.create_publisher(Clock, clock_spec.name if clock_spec else "/clock", CLOCK)
        self._wrench_pub = node.create_publisher(WrenchStamped, wrench_spec.name, topic_qos(wrench_spec))
        self._state_pub = node.create_publisher(JointState, state_spec.name, topic_qos(state_spec))
        self._truth_pub = node.create_publisher(Float64MultiArray, ground_truth_topic, GROUND_TRUTH_QOS)
        node.create_subscription(
            Float64MultiArray, command_spec.name, self._on_command, topic_qos(command_spec)
        )
        node.create_subscription(Bool, profile.estop.name, self._on_estop, ESTOP_QOS)
        node.create_subscription(Bool, "~/reset_estop", self._on_reset_estop, ESTOP_QOS)
        self._lockstep = LockstepScheduler(
            node, dt_s=dt, real_time_factor=self.real_time_factor, lockstep_timeout_s=self.lockstep_timeout_s,
            resend_period_s=self.resend_period_s, shutdown_when_done=self.shutdown_when_done,
            publish=self._publish_tick, on_timeout=self._on_lockstep_timeout,
            can_start=lambda: self._state_pub.get_subscription_count() >= self.wait_for_subscribers,
            is_done=lambda: self.logic.done, latency_samples=_RECORD_TICKS,
        )  # fmt: skip
        self.latencies_s: deque[float] = self._lockstep.latencies_s
        node.get_logger().info(
            f"{env_id} as {profile.robot}: lockstep, dt {dt:g} s, options {options}, {self._lockstep.pacing}"
        )

    @property
    def finished(self) -> bool:
        """Set one timer period after ``max_steps`` when ``shutdown_when_done``."""
        return self._lockstep.finished

    # --- callbacks ------------------------------------------------------------------------------

    def _on_lockstep_timeout(self) -> None:
        self.node.get_logger().warning(
            f"lockstep: no command for tick {self.logic.tick} within {self.lockstep_timeout_s:g} s; "
            "stepping with the safe command", throttle_s=1.0,
        )  # fmt: skip
        self._step(self.logic.safe_command.copy(), "lockstep_timeout")

    def _on_command(self, msg: Float64MultiArray) -> None:
        if not self.logic.on_command(msg.data, self.logic.stamp_ns):
            return
        if not self._lockstep.command_arrived():
            self.ignored_commands += 1  # before the first tick, after max_steps, or a duplicate
            self.logic.discard_fresh()
            return
        self._step(*self.logic.select(self.logic.stamp_ns, lockstep=True))

    def _on_estop(self, msg: Bool) -> None:
        self.logic.on_estop(bool(msg.data))

    def _on_reset_estop(self, msg: Bool) -> None:
        if msg.data:
            self.logic.reset_estop()

    # --- stepping and publishing -----------------------------------------------------------------

    def _step(self, command: np.ndarray, reason: str) -> None:
        self._lockstep.close_tick()
        self.logic.step(command, reason)
        self.forces.append((self.arm.normal_force_raw(), float(self.arm.force_filter.y)))
        self._lockstep.next_tick()

    def _publish_tick(self, resend: bool) -> None:
        sample = self.logic.sensor()
        self._clock_pub.publish(Clock(clock=ns_to_time(sample.stamp_ns)))
        # The wrench first: in-process (and usually over DDS) it then arrives before the state.
        self._wrench_pub.publish(ArmIO.wrench_message(self.arm.contact_wrench_world(), sample.stamp_ns,
                                                      self.frame_id))  # fmt: skip
        self._state_pub.publish(numpy_to_joint_state(sample.names, sample.position, sample.velocity,
                                                     sample.effort, stamp_ns=sample.stamp_ns))  # fmt: skip
        if resend:
            self.resends += 1
            return
        self._truth_pub.publish(numpy_to_float64_multi_array(sample.state, labels=["state"]))
        self.logic.discard_fresh()  # a command that came before this state was not computed from it

    # --- shutdown and report -------------------------------------------------------------------

    def shutdown(self) -> None:
        """Write the report (if asked) and close the env; called once by ``main``."""
        if self.report_path:
            write_report(self.report_path, self.report())
        self.logic.close()

    def report(self) -> dict[str, Any]:
        """Episodes (states, applied torques), per-step forces, timing and counters, JSON-ready."""
        return {
            "node": self.node.fully_qualified_name,
            "profile": self.profile.source,
            "dt_s": self.dt_s,
            "real_time_factor": self.real_time_factor,
            "episodes": list(self.logic.episodes),
            "forces": [list(f) for f in self.forces],
            "timing": self._lockstep.timing(self.logic.steps),
            "counters": {**self.logic.counters(), "resends": self.resends,
                         "ignored_commands": self.ignored_commands,
                         "callback_errors": dict(self.node.stats.callback_errors)},
        }


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``arm_sim_bridge``."""
    return run_node(ArmSimBridgeNode, "arm_sim_bridge", argv)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["ArmSimBridgeNode", "ResetOptions", "main", "make_arm_env"]
