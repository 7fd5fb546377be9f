"""``sim_bridge``: a registered Gymnasium env as a robot on ROS 2 topics, driven by a hardware profile.

    sim_bridge --ros-args -p profile:=pendulum_sim -p mode:=lockstep -p seed:=3

A controller node cannot tell it from a robot driver that publishes the same topics (docs/ros2.md#sim-bridge):

=====================  =================================  =======================================
topic                  type                               role
=====================  =================================  =======================================
``/clock``             rosgraph_msgs/msg/Clock            simulated time (``publish_clock``)
``joint_states``       sensor_msgs/msg/JointState         joint readings, profile order and signs
``command``            std_msgs/msg/Float64MultiArray     efforts in, profile joint order
``estop``              std_msgs/msg/Bool                  ``true`` latches the safe command
``~/reset_estop``      std_msgs/msg/Bool                  ``true`` releases a latched e-stop
``~/ground_truth``     std_msgs/msg/Float64MultiArray     true env state per tick (for recording)
=====================  =================================  =======================================

Modes:

- ``lockstep``: publish tick ``k`` (``/clock`` = ``k dt``, the JointState stamped ``k dt``), wait
  for the command of that tick, step, publish tick ``k+1``; needs ``1 / dt`` = the profile's command
  rate (:func:`command_rate_hz`: ``critic_hz``, else ``control_hz``). Deterministic: the closed loop
  equals an in-process run of the same controller. ``real_time_factor`` > 0 paces the ticks to wall
  time (1.0 = real time); 0 runs as fast as the loop closes. While waiting, the tick's ``/clock``
  and JointState are re-sent every ``resend_period_s`` (a controller that started late or a lost
  best-effort sample cannot stall the loop); after the first command, a tick without a command for
  ``lockstep_timeout_s`` of wall time is stepped with the safe command and counted.
- ``free_running``: step every ``dt / real_time_factor`` of wall time with the newest command,
  holding it between commands; a command older than ``command_timeout_s`` (simulated time) is
  replaced by the safe command (the watchdog).

Either mode starts once the JointState topic has ``wait_for_subscribers`` subscriptions and the
command topic ``wait_for_command_publishers`` publishers (default 0). Hearing a publisher does not
mean that publisher has matched this node's subscription yet (discovery is per endpoint and, across
DDS vendors, one-sided for a moment), and lockstep answers each tick once: a command sent before
the match is lost and the loop stalls. So a lockstep controller waits for this subscription itself
(robocritic's controller nodes: ``command_subscribers``).

Other parameters: ``env_id`` (default the profile's ``sim.env_id``), ``seed`` (episode ``i``
resets with ``seed + i``), ``initial_state`` (start state of every episode, model units; default
sampled), ``state_source`` (``observation`` | ``state``, see
:mod:`~robocritic.nodes.bridge_logic`), ``max_steps`` (stop after this many steps; 0 never),
``episode_steps`` (episode length; 0 the env's), ``shutdown_when_done`` (exit after
``max_steps``), ``ground_truth_topic``, ``report_path`` (JSON report at shutdown: states,
commands, timing, counters). ``use_sim_time`` must stay false: this node is the clock.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from robocritic.nodes.bridge_logic import STATE_SOURCES, BridgeLogic
from robocritic.nodes.profile_params import (
    ESTOP_QOS,
    declare_profile,
    require_joints,
    require_topic,
    topic_qos,
)
from robocritic.nodes.report import percentiles_ms, write_report
from robocritic.nodes.runtime import run_node
from robocritic.nodes.validators import at_least, finite_list, non_negative, one_of, positive
from robocritic.profiles import HardwareProfile
from robocritic.ros.msgs import Bool, Clock, Float64MultiArray, JointState
from robocritic.ros.msgs.convert import ns_to_time, numpy_to_float64_multi_array, numpy_to_joint_state
from robocritic.ros.qos import CLOCK, Durability, QoSProfile, Reliability
from robocritic.ros.transport.base import Node, ParameterError

MODES = ("lockstep", "free_running")
GROUND_TRUTH_QOS = QoSProfile(
    depth=1000, reliability=Reliability.RELIABLE, durability=Durability.TRANSIENT_LOCAL
)
"""Ground truth: reliable, and kept for a recorder that joins a moment late (its first samples matter)."""
_HOUSEKEEPING_PERIOD_S = 0.02  # unpaced lockstep: how often re-sends and timeouts are checked
_LATENCY_SAMPLES = 100_000  # latencies kept for the report (the most recent; ~1.4 h at 20 Hz)


def command_rate_hz(profile: HardwareProfile) -> float:
    """Rate [Hz] at which a controller of ``profile`` sends efforts: one per tick of its fastest
    loop, ``rates.critic_hz`` where there is one (a safety filter's or an arm's impedance loop,
    one command per tick), else ``rates.control_hz``. Lockstep needs it equal to ``1 / dt``."""
    return profile.critic_rate_hz or profile.control_rate_hz


class SimBridgeNode:
    """The ``sim_bridge`` node (see the module docstring) over any transport's ``node``.

    Attributes:
        logic: the :class:`BridgeLogic` (env, counters, records).
        latencies_s: wall time from publishing a tick's state to receiving its command [s]
            (the most recent 100 000).
        finished: set after ``max_steps`` when ``shutdown_when_done``.
    """

    def __init__(self, node: Node) -> None:
        self.node = node
        # -- parameters
        profile = declare_profile(node)
        self.profile = profile
        joint_map = require_joints(profile)
        state_spec = require_topic(profile, "joint_states", "sensor_msgs/msg/JointState")
        command_spec = require_topic(profile, "command", "std_msgs/msg/Float64MultiArray")
        env_id = node.declare_parameter(
            "env_id", profile.sim_env or "", lambda v: None if v else "is required (the profile has no sim.env_id)",
            "registered Gymnasium env id",
        )  # fmt: skip
        self.mode = node.declare_parameter("mode", "lockstep", one_of(*MODES), "lockstep | free_running")
        seed = node.declare_parameter("seed", 0, description="reset seed of the first episode")
        initial_state = node.declare_parameter(
            "initial_state", [], finite_list, "start state of every episode (model units); [] samples one"
        )
        state_source = node.declare_parameter(
            "state_source", "observation", one_of(*STATE_SOURCES), "what the JointState reports"
        )
        publish_clock = node.declare_parameter("publish_clock", True, description="publish /clock")
        self.real_time_factor = node.declare_parameter(
            "real_time_factor", 1.0, non_negative, "simulated s per wall s; 0 = unpaced (lockstep only)"
        )
        command_timeout_s = node.declare_parameter(
            "command_timeout_s", profile.command_timeout_s, positive, "free-running watchdog [s sim time]"
        )
        self.lockstep_timeout_s = node.declare_parameter(
            "lockstep_timeout_s", 2.0, positive, "lockstep: wall s without the tick's command -> safe step"
        )
        self.resend_period_s = node.declare_parameter(
            "resend_period_s", 0.1, positive, "lockstep: re-send the awaited tick every this many wall s"
        )
        self.wait_for_subscribers = node.declare_parameter(
            "wait_for_subscribers", 1, at_least(0), "JointState subscriptions needed before the first tick"
        )
        self.wait_for_command_publishers = node.declare_parameter(
            "wait_for_command_publishers", 0, at_least(0), "command publishers needed before the first tick"
        )
        max_steps = node.declare_parameter("max_steps", 0, at_least(0), "stop after this many steps; 0 never")
        episode_steps = node.declare_parameter("episode_steps", 0, at_least(0), "episode length; 0 the env's")
        self.shutdown_when_done = node.declare_parameter(
            "shutdown_when_done", False, description="exit at max_steps"
        )
        ground_truth_topic = node.declare_parameter("ground_truth_topic", "~/ground_truth")
        self.report_path = node.declare_parameter("report_path", "", description="JSON report at shutdown")
        fqn = node.fully_qualified_name
        if node.get_parameter("use_sim_time"):
            raise ParameterError(
                f"{fqn}: parameter 'use_sim_time' must be false: sim_bridge publishes /clock"
            )
        lockstep = self.mode == "lockstep"
        if not lockstep and self.real_time_factor == 0:
            raise ParameterError(
                f"{fqn}: parameter 'real_time_factor' = 0.0 is invalid: free_running paces to wall time, use > 0"
            )
        env = _make_env(fqn, env_id, episode_steps)
        try:
            dt = float(env.unwrapped.dt)
            command_hz = command_rate_hz(profile)
            if lockstep and abs(command_hz * dt - 1.0) > 1e-9:
                raise ParameterError(
                    f"{fqn}: parameter 'mode' = 'lockstep' needs one command per env step, but the env steps "
                    f"every {dt:g} s and profile {profile.robot} commands at {command_hz:g} Hz"
                )
            self.logic = BridgeLogic(
                env, joint_map, state_source=state_source, command_timeout_ns=round(command_timeout_s * 1e9),
                seed=seed, initial_state=[float(v) for v in initial_state] or None, max_steps=max_steps,
                logger=node.get_logger(),
            )  # fmt: skip
        except ParameterError:
            env.close()
            raise
        except ValueError as exc:  # the env does not fit the profile (sizes, state layout)
            env.close()
            raise ParameterError(
                f"{fqn}: parameters 'env_id'/'profile'/'initial_state' do not fit: {exc}"
            ) from None
        self.lockstep = lockstep
        self.dt_s = dt
        self.paced = self.real_time_factor > 0
        self.deadline_s = dt / (self.real_time_factor if self.paced else 1.0)
        self.latencies_s: deque[float] = deque(maxlen=_LATENCY_SAMPLES)
        self.finished = False
        self._started = False
        self._awaiting = False  # lockstep: the current tick is published and waits for its command
        self._ready = False  # paced lockstep: stepped, waiting for the tick's wall-time slot
        self._slot_passed = False  # paced lockstep: a slot went by while awaiting (the tick is late)
        self._latency_open = False  # the current tick's first command has not been timed yet
        self._first_command_seen = False
        self._published_ns = 0  # node clock at the current tick's first publish
        self._published_perf_ns = 0
        self._last_sent_ns = 0
        self._first_tick_perf_ns: int | None = None
        self._last_tick_perf_ns: int | None = None
        self._done_since: int | None = None
        self.resends = 0
        self.ignored_commands = 0
        self.late_ticks = 0
        # -- publishers and subscriptions
        clock_spec = profile.topics.get("clock")
        self._clock_pub = (
            node.create_publisher(Clock, clock_spec.name if clock_spec else "/clock", CLOCK)
            if publish_clock
            else None
        )
        self._state_pub = node.create_publisher(JointState, state_spec.name, topic_qos(state_spec))
        self._truth_pub = node.create_publisher(Float64MultiArray, ground_truth_topic, GROUND_TRUTH_QOS)
        self._command_sub = node.create_subscription(
            Float64MultiArray, command_spec.name, self._on_command, topic_qos(command_spec)
        )
        node.create_subscription(Bool, profile.estop.name, self._on_estop, ESTOP_QOS)
        node.create_subscription(Bool, "~/reset_estop", self._on_reset_estop, ESTOP_QOS)
        # -- timer
        period = self.deadline_s if self.paced else _HOUSEKEEPING_PERIOD_S
        self._timer = node.create_timer(period, self._on_timer)
        node.get_logger().info(
            f"{env_id} as {profile.robot}: {self.mode}, dt {dt:g} s, "
            f"{'real-time factor ' + format(self.real_time_factor, 'g') if self.paced else 'unpaced'}"
        )

    # --- callbacks ------------------------------------------------------------------------------

    def _on_timer(self) -> None:
        now = self.node.now_ns()
        if self._ready:  # paced lockstep: the stepped tick's wall-time slot has come
            self._ready = False
            self._publish_tick()
            return
        if self.logic.done:
            # One timer period after the last tick, so its samples are on the wire before exiting.
            if self._done_since is None:
                self._done_since = now
            elif self.shutdown_when_done:
                self.finished = True
            return
        if not self._started:
            if (
                self._state_pub.get_subscription_count() >= self.wait_for_subscribers
                and self._command_sub.get_publisher_count() >= self.wait_for_command_publishers
            ):
                self._started = True
                self._publish_tick()
            return
        if not self.lockstep:
            self._step(*self.logic.select(self.logic.stamp_ns, lockstep=False))
            self._publish_tick()
            return
        if not self._awaiting:
            return
        if self.paced and not self._slot_passed:
            self._slot_passed = True  # the next slot came before the command: this tick is late
            self.late_ticks += 1
        if self._first_command_seen and now - self._published_ns > self.lockstep_timeout_s * 1e9:
            self.node.get_logger().warning(
                f"lockstep: no command for tick {self.logic.tick} within {self.lockstep_timeout_s:g} s; "
                "stepping with the safe command", throttle_s=1.0,
            )  # fmt: skip
            self._awaiting = False
            self._step(self.logic.safe_command.copy(), "lockstep_timeout")
            self._publish_tick()
        elif now - self._last_sent_ns >= self.resend_period_s * 1e9:
            self._publish_tick(resend=True)

    def _on_command(self, msg: Float64MultiArray) -> None:
        if not self.logic.on_command(msg.data, self.logic.stamp_ns):
            return
        self._first_command_seen = True
        if self._latency_open:
            self._latency_open = False
            self.latencies_s.append((time.perf_counter_ns() - self._published_perf_ns) / 1e9)
        if not self.lockstep:
            return
        if not self._awaiting:
            self.ignored_commands += 1  # before the first tick, after max_steps, or a duplicate
            self.logic.discard_fresh()
            return
        self._awaiting = False
        self._step(*self.logic.select(self.logic.stamp_ns, lockstep=True))
        if self.paced and not self._slot_passed:
            self._ready = True  # on time: the timer publishes it in its slot
        else:
            self._publish_tick()

    def _on_estop(self, msg: Bool) -> None:
        self.logic.on_estop(bool(msg.data))

    def _on_reset_estop(self, msg: Bool) -> None:
        if msg.data:
            self.logic.reset_estop()

    # --- stepping and publishing -----------------------------------------------------------------

    def _step(self, command: np.ndarray, reason: str) -> None:
        self.logic.step(command, reason)

    def _publish_tick(self, resend: bool = False) -> None:
        sample = self.logic.sensor()
        if self._clock_pub is not None:
            self._clock_pub.publish(Clock(clock=ns_to_time(sample.stamp_ns)))
        self._state_pub.publish(
            numpy_to_joint_state(
                sample.names, sample.position, sample.velocity, sample.effort, stamp_ns=sample.stamp_ns
            )
        )
        now = self.node.now_ns()
        self._last_sent_ns = now
        if resend:
            self.resends += 1
            return
        self._truth_pub.publish(numpy_to_float64_multi_array(sample.state, labels=["state"]))
        perf = time.perf_counter_ns()
        self._published_ns, self._published_perf_ns = now, perf
        if self.logic.steps == 1:  # the first stepped tick: before it, the graph was starting up
            self._first_tick_perf_ns = perf
        self._last_tick_perf_ns = perf
        self._latency_open = True
        self._slot_passed = False
        if self.lockstep:
            self.logic.discard_fresh()  # a command that came before this state was not computed from it
            self._awaiting = not self.logic.done

    # --- shutdown and report -------------------------------------------------------------------

    def shutdown(self) -> None:
        """Write the report (if asked) and close the env; called once by ``main``."""
        if self.report_path:
            write_report(self.report_path, self.report())
        self.logic.close()

    def report(self) -> dict[str, Any]:
        """States, applied commands, timing and counters of the run, JSON-ready.

        Timing: ``achieved_rate_hz`` is ticks per wall second from the first stepped tick to the
        last (``intervals`` of them; the wait for the first command is start-up, not rate;
        ``None`` before two ticks);
        ``latency`` the wall time from a tick's first publish to the first command received after
        it; a ``deadline_miss`` is a latency above ``deadline_s`` (one tick of wall time:
        ``dt / real_time_factor``, or ``dt`` unpaced); free-running also counts ticks stepped with
        a held or safe command (``stale_ticks``).
        """
        ticks = self.logic.steps
        intervals = max(ticks - 1, 0)
        span_s = (
            (self._last_tick_perf_ns - self._first_tick_perf_ns) / 1e9
            if self._first_tick_perf_ns is not None and self._last_tick_perf_ns is not None
            else 0.0
        )
        lat = np.asarray(self.latencies_s)
        safe = self.logic.safe_steps
        return {
            "node": self.node.fully_qualified_name,
            "env_id": self.logic.env.spec.id
            if self.logic.env.spec
            else type(self.logic.env.unwrapped).__name__,
            "profile": self.profile.source,
            "mode": self.mode,
            "real_time_factor": self.real_time_factor,
            "dt_s": self.dt_s,
            "state_source": self.logic.state_source,
            "episodes": list(self.logic.episodes),
            "timing": {
                "ticks": ticks,
                "intervals": intervals,
                "wall_time_s": span_s,
                "achieved_rate_hz": intervals / span_s if span_s > 0 else None,
                "target_rate_hz": (1.0 / self.deadline_s) if self.paced else None,
                "latency": percentiles_ms(list(self.latencies_s)),
                "latencies_s": list(self.latencies_s),
                "deadline_s": self.deadline_s,
                "deadline_misses": int(np.count_nonzero(lat > self.deadline_s)),
                "late_ticks": self.late_ticks,
                "stale_ticks": 0
                if self.lockstep
                else safe["watchdog"] + safe["no_command"] + self.logic.held_steps,
            },
            "counters": {
                **self.logic.counters(),
                "resends": self.resends,
                "ignored_commands": self.ignored_commands,
                "safe_steps": dict(safe),
                "callback_errors": dict(self.node.stats.callback_errors),
                "receive_errors": dict(self.node.stats.receive_errors),
            },
        }


def _make_env(fqn: str, env_id: str, episode_steps: int) -> gym.Env:
    import robocritic.envs  # noqa: F401 - registers the robocritic/ env ids

    kwargs = {"max_episode_steps": episode_steps} if episode_steps else {}
    try:
        return gym.make(env_id, **kwargs)
    except gym.error.Error as exc:
        raise ParameterError(f"{fqn}: parameter 'env_id' = {env_id!r} is invalid: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Console script ``sim_bridge``."""
    return run_node(SimBridgeNode, "sim_bridge", argv)


if __name__ == "__main__":
    sys.exit(main())
