"""One controller node for every control law: a thin adapter over :class:`ControllerLogic`.

The control law comes from a :data:`ControllerFactory` (and an optional safety filter from a
:data:`FilterFactory`), so ``mpc_controller`` and ``explicit_controller`` (and later ones) differ
only in the factories they pass.

Topics (names from the hardware profile, remappable):

=====================  =================================  =====================================
topic                  type                               role
=====================  =================================  =====================================
``joint_states``       sensor_msgs/msg/JointState         state in (profile QoS, sensor data)
``command``            std_msgs/msg/Float64MultiArray     efforts out, profile joint order
``estop``              std_msgs/msg/Bool                  ``true`` latches the safe command
``~/activate``         std_msgs/msg/Bool                  ``true`` activates, ``false`` deactivates
=====================  =================================  =====================================

Parameters (besides the factory's): ``profile`` (hardware profile name or path), ``rate_hz``
(control rate, default the profile's), ``state_timeout_s`` (watchdog, default the profile's),
``autostart`` (start active; default true, meant for simulation: on hardware set it false and
activate explicitly), ``ignore_unknown_joints`` (default false), ``command_subscribers`` (command
subscriptions to wait for before acting, default 1; 2 with a recorder), ``report_path`` (write a
JSON report at shutdown; default none), ``use_sim_time``. With a ``filter_factory``, also
``filter_rate_hz`` (the safety filter's rate, >= ``rate_hz``; default the profile's
``rates.critic_hz``, else ``rate_hz``) and the filter's own parameters.

Safety filter. A node built with a :data:`FilterFactory` certifies every command: at
``filter_rate_hz`` the filter gets the newest state and the law's latest action (held between the
law's steps at ``rate_hz``) and its answer, clipped to the effort limits, is what is published
(see :class:`~robocritic.nodes.shell.NodeShell`). A filter that raises or returns NaN/wrong size
sends the safe command (``safe_commands["filter_error"]``). Without a filter the node is exactly
the one-rate controller.

Lifecycle. The node is a ROS 2 managed node (:class:`~robocritic.ros.transport.base.Lifecycle`);
on ``--transport rclpy`` an rclpy lifecycle node whose ``~/change_state`` and ``~/get_state``
services drive it, on the other transports the same state machine without services. Parameters,
topics and the timer are set up at start, so ``configure`` and ``cleanup`` change nothing else;
``activate`` starts commanding (refused, staying inactive, while the e-stop is engaged);
``deactivate`` sends one safe stop and then nothing; ``shutdown`` sends the safe stop if active and
the process exits with status 0. ``autostart:=true`` configures and activates at start;
``autostart:=false`` leaves the node unconfigured, sending nothing, until a lifecycle client (or
``~/activate``) activates it. ``~/activate`` works on every transport and takes the same
transitions (``true``: configure if needed, then activate; ``false``: deactivate); ``true`` while
active re-arms the controller after a released e-stop without a transition.

Timing. On the wall clock a timer at ``rate_hz`` (``filter_rate_hz`` with a filter) computes a
command from the newest state. Under ``use_sim_time`` the step for simulated time ``t`` runs when
the state stamped ``t`` arrives (at most once per period): simulated time only moves when the
simulator publishes, and acting on the state of the tick itself, not on whichever of ``/clock`` or
the state happened to be delivered first, is what makes a lockstep run deterministic. The timer
then only runs the watchdog. A control step whose command nobody would hear (no matched
subscription yet) is not consumed, so the simulator's re-sent state triggers it again once the
graph is connected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from robocritic.interfaces import Controller, SafetyFilter
from robocritic.nodes.controller_logic import Command, ControllerLogic
from robocritic.nodes.profile_params import (
    ESTOP_QOS,
    declare_profile,
    require_joints,
    require_topic,
    topic_qos,
)
from robocritic.nodes.report import percentiles_ms, write_report
from robocritic.nodes.runtime import run_node
from robocritic.nodes.validators import at_least, positive
from robocritic.profiles import HardwareProfile
from robocritic.ros.msgs import Bool, Float64MultiArray, JointState
from robocritic.ros.msgs.convert import time_to_ns
from robocritic.ros.transport.base import Lifecycle, Node, ParameterError

SAFE_STOP_ACK_TIMEOUT_S = 1.0
"""How long shutdown waits for the robot to acknowledge the safe stop [s]."""


@dataclass(frozen=True)
class BuiltController:
    """What a factory returns.

    Attributes:
        controller: the control law; ``act([q, dq])`` in model joint order -> ``(n,)`` efforts.
        safe_command: ``(n,)`` model-order efforts for safe stops [N m or N]; default zeros.
        description: one line for the log (e.g. ``"LinearMPC N=10 (daqp)"``).
        info: facts for the report (horizon, solver, law file, ...).
    """

    controller: Controller
    safe_command: np.ndarray | None = None
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict)


ControllerFactory = Callable[[Node, HardwareProfile], BuiltController]
"""Declares the law's own parameters on the node and builds it for the profile."""


@dataclass(frozen=True)
class BuiltFilter:
    """What a filter factory returns.

    Attributes:
        safety_filter: ``certify([q, dq], u)`` in model joint order -> ``((n,) efforts, info)``.
        description: one line for the log (e.g. ``"CBF on joint limits"``).
        info: facts for the report.
    """

    safety_filter: SafetyFilter
    description: str = ""
    info: dict[str, Any] = field(default_factory=dict)


FilterFactory = Callable[[Node, HardwareProfile], BuiltFilter]
"""Declares the filter's own parameters on the node and builds it for the profile; it may read
the node's ``rate_hz`` and ``filter_rate_hz`` parameters."""


class ControllerNode:
    """A controller node (see the module docstring); ``node`` is any transport's node.

    Args:
        node: the transport's node (parameters, topics, timer, clock).
        factory: builds the control law.
        filter_factory: builds the safety filter; ``None``: no filter stage.

    Attributes:
        logic: the :class:`ControllerLogic` (counters, state, activation).
        built: what ``factory`` returned.
        built_filter: what ``filter_factory`` returned (``None`` without one).
        lifecycle: the node's managed-node state (``unconfigured``, ``inactive``, ``active``,
            ``finalized``).
        profile: the hardware profile in use.
        unheard: control steps skipped because no subscription was matched to the command topic.
        finished: ``True`` once the lifecycle ``shutdown`` transition ran: the process should exit.
    """

    def __init__(
        self, node: Node, factory: ControllerFactory, *, filter_factory: FilterFactory | None = None
    ) -> None:
        self.node = node
        # -- parameters
        self.profile = declare_profile(node)
        joint_map = require_joints(self.profile)
        state_spec = require_topic(self.profile, "joint_states", "sensor_msgs/msg/JointState")
        command_spec = require_topic(self.profile, "command", "std_msgs/msg/Float64MultiArray")
        rate_hz = node.declare_parameter(
            "rate_hz", self.profile.control_rate_hz, positive, "control rate [Hz]; default the profile's"
        )
        state_timeout_s = node.declare_parameter(
            "state_timeout_s", self.profile.state_timeout_s, positive,
            "watchdog: no state for this long [s] -> safe command; default the profile's",
        )  # fmt: skip
        autostart = node.declare_parameter(
            "autostart", True, description="start active (simulation); on hardware set false and activate"
        )
        ignore_unknown = node.declare_parameter(
            "ignore_unknown_joints", False, description="accept JointStates carrying joints the profile lacks"
        )
        self.command_subscribers = node.declare_parameter(
            "command_subscribers", 1, at_least(1),
            "command-topic subscriptions to wait for before a control step (the robot, plus any recorder)",
        )  # fmt: skip
        self.report_path = node.declare_parameter("report_path", "", description="JSON report at shutdown")
        self.use_sim_time = bool(node.get_parameter("use_sim_time"))
        filter_rate_hz = None if filter_factory is None else self._declare_filter_rate(rate_hz)
        built = factory(node, self.profile)
        self.built = built
        self.built_filter = None if filter_factory is None else filter_factory(node, self.profile)
        n = len(joint_map.names)
        safe = np.zeros(n) if built.safe_command is None else np.asarray(built.safe_command, dtype=np.float64)
        self.logic = ControllerLogic(
            built.controller, joint_map,
            effort_limits=[j.effort_limit for j in self.profile.joints], safe_command=safe,
            state_timeout_ns=round(state_timeout_s * 1e9), control_period_ns=round(1e9 / rate_hz),
            active=False, ignore_unknown_joints=ignore_unknown, logger=node.get_logger(),
            safety_filter=None if self.built_filter is None else self.built_filter.safety_filter,
            filter_period_ns=None if filter_rate_hz is None else round(1e9 / filter_rate_hz),
        )  # fmt: skip
        self.unheard = 0
        self.finished = False
        # -- publishers and subscriptions
        self._command_pub = node.create_publisher(
            Float64MultiArray, command_spec.name, topic_qos(command_spec)
        )
        node.create_subscription(JointState, state_spec.name, self._on_state, topic_qos(state_spec))
        node.create_subscription(Bool, self.profile.estop.name, self._on_estop, ESTOP_QOS)
        node.create_subscription(Bool, "~/activate", self._on_activate, ESTOP_QOS)
        # -- timer
        timer_hz = rate_hz if filter_rate_hz is None else filter_rate_hz  # one command per tick
        self._timer = node.create_timer(1.0 / timer_hz, self._on_timer)
        certified = ""
        if self.built_filter is not None:
            what = self.built_filter.description or type(self.built_filter.safety_filter).__name__
            certified = f", certified by {what} at {filter_rate_hz:g} Hz"
        node.get_logger().info(
            f"{built.description or type(built.controller).__name__} at {rate_hz:g} Hz{certified} on "
            f"{self.profile.robot} ({'sim time' if self.use_sim_time else 'wall clock'}); "
            f"{'active' if autostart else 'inactive until activated'}"
        )
        # -- lifecycle, last: a client may activate the node as soon as this exists
        self.lifecycle: Lifecycle = node.manage_lifecycle(self._start, self._stop, self._finalize)
        if autostart:
            self.activate()

    def _declare_filter_rate(self, rate_hz: float) -> float:
        default = self.profile.critic_rate_hz or rate_hz
        filter_rate_hz = self.node.declare_parameter(
            "filter_rate_hz", max(default, rate_hz), positive,
            "safety filter rate [Hz], >= rate_hz; default the profile's critic rate, else rate_hz",
        )  # fmt: skip
        if filter_rate_hz < rate_hz:
            raise ParameterError(
                f"{self.node.fully_qualified_name}: parameter 'filter_rate_hz' = {filter_rate_hz!r} is "
                f"invalid: must be >= rate_hz ({rate_hz:g}): the filter certifies every action the law sends"
            )
        return filter_rate_hz

    # --- lifecycle ------------------------------------------------------------------------------

    def activate(self) -> bool:
        """Configure if needed and activate; when already active, re-arm after an e-stop.

        Returns whether the controller is now commanding.
        """
        if self.lifecycle.state == "active":
            return self._start()
        return self.lifecycle.activate()

    def deactivate(self) -> None:
        """Stop commanding after one safe stop (lifecycle ``deactivate``)."""
        self.lifecycle.deactivate()

    def _start(self) -> bool:
        """Start commanding (resets the law); under sim time, act at once on a waiting state."""
        now = self.node.now_ns()
        if not self.logic.activate(None if self.use_sim_time and now == 0 else now):
            return False
        stamp = self.logic.state_stamp_ns
        if self.use_sim_time and stamp is not None:
            self._control_step(stamp)
        return True

    def _stop(self) -> None:
        self._send(self.logic.deactivate())

    def _finalize(self) -> None:
        self._send(self.logic.shutdown())
        self.finished = True

    def shutdown(self) -> None:
        """Safe stop (if active) and the report; called once by ``main`` before the node is destroyed."""
        self._send(self.logic.shutdown())
        # The middleware may still hold the safe stop when the node is destroyed right after this
        # (the robot would then keep the last effort): wait until the robot has acknowledged it.
        if not self._command_pub.wait_for_acknowledgements(SAFE_STOP_ACK_TIMEOUT_S):
            self.node.get_logger().warning(
                f"the safe stop on {self._command_pub.topic} was not acknowledged within {SAFE_STOP_ACK_TIMEOUT_S} s"
            )
        if self.report_path:
            write_report(self.report_path, self.report())

    # --- callbacks ------------------------------------------------------------------------------

    def _on_state(self, msg: JointState) -> None:
        stamp = time_to_ns(msg.header.stamp)
        accepted = self.logic.on_state(msg.name, msg.position, msg.velocity, stamp, self.node.now_ns())
        if accepted and self.use_sim_time:
            self._control_step(stamp)

    def _control_step(self, stamp_ns: int) -> None:
        # A command sent before the robot's subscription has matched is lost (volatile QoS), and a
        # recorder that matched first would otherwise count as the robot.
        if self._command_pub.get_subscription_count() < self.command_subscribers:
            self.unheard += 1
            return
        if self.logic.claim_tick(stamp_ns):
            self._send(self.logic.tick(self.node.now_ns(), stamp_ns))

    def _on_timer(self) -> None:
        now = self.node.now_ns()
        if self.use_sim_time and not self.logic.stale(now):
            return  # control steps follow the state stamps; only the watchdog runs here
        self._send(self.logic.tick(now))

    def _on_estop(self, msg: Bool) -> None:
        self._send(self.logic.on_estop(bool(msg.data)))

    def _on_activate(self, msg: Bool) -> None:
        if msg.data:
            self.activate()
        else:
            self.deactivate()

    def _send(self, command: Command | None) -> None:
        if command is None:
            return
        self._command_pub.publish(self.logic.joints.command_message(command.effort))

    # --- reporting ------------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """Counters and compute-time percentiles (the filter's too, with one), JSON-ready."""
        report: dict[str, Any] = {
            "node": self.node.fully_qualified_name,
            "controller": self.built.description,
            "info": self.built.info,
            "profile": self.profile.source,
            "use_sim_time": self.use_sim_time,
            **self.logic.counters(),
            "unheard": self.unheard,
            "compute": percentiles_ms(list(self.logic.compute_times_s)),
            "callback_errors": dict(self.node.stats.callback_errors),
            "receive_errors": dict(self.node.stats.receive_errors),
        }
        if self.built_filter is not None:
            report["filter"] = {
                "description": self.built_filter.description,
                "info": self.built_filter.info,
                "rate_hz": 1e9 / self.logic.filter_period_ns,
                "compute": percentiles_ms(list(self.logic.filter_times_s)),
            }
        return report


def run_controller(
    factory: ControllerFactory,
    default_name: str,
    argv: Sequence[str] | None = None,
    *,
    filter_factory: FilterFactory | None = None,
) -> int:
    """``main()`` of a controller executable: a managed :class:`ControllerNode` of ``factory``'s law
    (behind ``filter_factory``'s safety filter, when given)."""
    return run_node(
        lambda node: ControllerNode(node, factory, filter_factory=filter_factory),
        default_name,
        argv,
        lifecycle=True,
    )


__all__ = [
    "BuiltController",
    "BuiltFilter",
    "ControllerFactory",
    "ControllerNode",
    "FilterFactory",
    "run_controller",
]
