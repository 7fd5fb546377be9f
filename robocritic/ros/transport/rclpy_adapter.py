"""rclpy transport: the :class:`~robocritic.ros.transport.base.Node` interface over a real rclpy node.

Used where ROS 2 is installed (robots, ROS desktops); rclpy is not on PyPI, so everything here
imports it lazily and :func:`require_rclpy` explains what is missing.

Messages stay robocritic's cyclonedds classes on both sides of the interface. The adapter moves
them as CDR bytes, which are identical to ROS 2's (tests/ros/test_msgs_wire.py): ``publish`` hands
``cdr.encode(msg)`` to rclpy's raw publish, and subscriptions are created with ``raw=True`` and
decode with ``cdr.decode``. rclpy still needs the generated ROS class of each type for
its type support; it is imported from the ROS package by name (``geometry_msgs.msg.Twist``), so
robocritic's own types need the ``robocritic_msgs`` interface package built on that machine.

Parameters keep robocritic's rules (exact types, validators, one-line errors) on rclpy's parameter
services too, and ``lifecycle=True`` gives a managed node (see :class:`RclpyNode`). Tested against
PyPI's ROS 2 Jazzy and Kilted wheels in tests/ros2.
"""

from __future__ import annotations

import array
import importlib
import importlib.util
import math
from collections.abc import Callable, Mapping
from typing import Any

from ..msgs import cdr, ros_type_name
from ..qos import QoSProfile, as_qos
from .base import (
    ERROR_LOG_PERIOD_S,
    Lifecycle,
    MsgT,
    Node,
    NodeLogger,
    ParameterError,
    Publisher,
    Subscription,
    Timer,
    Validator,
    check_parameter_type,
    declared_value,
    run_validator,
)

_MISSING = (
    "transport 'rclpy' needs a ROS 2 installation: rclpy is not on PyPI. Install ROS 2 (Humble or "
    "newer) and `source /opt/ros/<distro>/setup.bash`, or use transport='dds', the ROS 2 "
    "wire-compatible transport that needs no ROS install."
)


def rclpy_available() -> bool:
    """Whether ``import rclpy`` works in this interpreter (without importing it)."""
    return importlib.util.find_spec("rclpy") is not None


def require_rclpy() -> Any:
    """Import and return ``rclpy``; ``ImportError`` explaining how to get it if it is missing."""
    try:
        import rclpy
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    return rclpy


def ros_message_class(msg_type: type) -> type:
    """Generated rclpy class for a robocritic message class (``Twist`` -> ``geometry_msgs.msg.Twist``)."""
    pkg, kind, name = ros_type_name(msg_type).split("/")
    module_name = f"{pkg}.{kind}"
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise ImportError(
            f"ROS 2 interface {pkg}/{kind}/{name} is not installed here ({module_name}); "
            f"build and source the package that defines it"
        ) from exc


class _RclpyLogger(NodeLogger):
    """NodeLogger surface over an rclpy logger (throttling by NodeLogger, ``exc_info`` here)."""

    def __init__(self, name: str, ros_logger: Any) -> None:
        super().__init__(name)
        self._ros = ros_logger

    def set_level(self, level: int) -> None:
        super().set_level(level)
        self._ros.set_level(level)  # rcutils severities have the numbers of Python's levels

    def _enabled(self, level: int) -> bool:
        return True  # rclpy's logger filters by its own severity (set_level sets both)

    def _emit(self, level: int, msg: str, exc_info: bool) -> None:
        import logging
        import traceback

        if exc_info:
            msg = f"{msg}\n{traceback.format_exc()}"
        # rclpy fixes the severity of each call site (file, function, line) at its first use and
        # raises if the same line later logs at another one, so every severity gets its own line.
        if level <= logging.DEBUG:
            self._ros.debug(msg)
        elif level <= logging.INFO:
            self._ros.info(msg)
        elif level <= logging.WARNING:
            self._ros.warning(msg)
        elif level <= logging.ERROR:
            self._ros.error(msg)
        else:
            self._ros.fatal(msg)


class RclpyPublisher(Publisher[MsgT]):
    def __init__(self, ros_pub: Any, topic: str, msg_type: type[MsgT], qos: QoSProfile) -> None:
        super().__init__(topic, msg_type, qos)
        self._pub = ros_pub

    def publish(self, msg: MsgT) -> None:
        self._check(msg)
        self._pub.publish(cdr.encode(msg))  # bytes -> rclpy's raw publish; same CDR as ROS 2
        self.published += 1

    def get_subscription_count(self) -> int:
        return self._pub.get_subscription_count()

    def wait_for_acknowledgements(self, timeout_s: float) -> bool:
        from rclpy.duration import Duration

        return bool(self._pub.wait_for_all_acked(Duration(nanoseconds=int(timeout_s * 1e9))))

    def destroy(self) -> None:
        self._pub.destroy()


class RclpySubscription(Subscription[MsgT]):
    def __init__(
        self, topic: str, msg_type: type[MsgT], qos: QoSProfile, callback: Callable[[MsgT], Any]
    ) -> None:
        super().__init__(topic, msg_type, qos, callback)
        self._sub: Any = None
        self._node: Any = None

    def get_publisher_count(self) -> int:
        return self._node.count_publishers(self.topic)

    def destroy(self) -> None:
        self._node.destroy_subscription(self._sub)


class RclpyTimer(Timer):
    def __init__(self, period_s: float) -> None:
        super().__init__(period_s)
        self._timer: Any = None

    def cancel(self) -> None:
        self._timer.cancel()

    @property
    def is_canceled(self) -> bool:
        return self._timer.is_canceled()


class _RclpyLifecycle(Lifecycle):
    """A :class:`Lifecycle` kept in an rclpy lifecycle node's state machine.

    Lifecycle clients (``~/change_state``) and this object's methods take the same transitions;
    either way rclpy calls the node's callbacks through a managed entity.
    """

    def __init__(
        self,
        ros_node: Any,
        logger: NodeLogger,
        on_activate: Callable[[], bool],
        on_deactivate: Callable[[], None],
        on_shutdown: Callable[[], None],
    ) -> None:
        from rclpy.lifecycle import ManagedEntity

        super().__init__(on_activate, on_deactivate, on_shutdown)
        self._ros = ros_node
        self._logger = logger
        run = self._run_callback

        class _Entity(ManagedEntity):
            def on_activate(self, state: Any) -> Any:
                return run("activate")

            def on_deactivate(self, state: Any) -> Any:
                return run("deactivate")

            def on_shutdown(self, state: Any) -> Any:
                return run("shutdown")

        ros_node.add_managed_entity(_Entity())
        self._guard_change_state()

    def _guard_change_state(self) -> None:
        """Answer a transition that is invalid from the current state with ``success=False``.

        rclpy's ``~/change_state`` handler raises (RCLError) for a transition id the current
        state lacks; the exception leaves the executor and would end the node, with no reply.
        """
        from lifecycle_msgs.srv import ChangeState

        for service in self._ros.services:
            if service.srv_type is not ChangeState:
                continue
            handle = service.callback

            def guarded(request: Any, response: Any, handle: Callable[..., Any] = handle) -> Any:
                try:
                    return handle(request, response)
                except Exception as exc:
                    self._logger.warning(
                        f"lifecycle: refused transition {request.transition.id} "
                        f"{request.transition.label!r} from {self.state}: {exc}"
                    )
                    response.success = False
                    return response

            service.callback = guarded

    @property
    def state(self) -> str:
        # rclpy (Jazzy, Kilted) has no public getter; ~/get_state answers from the same field.
        return self._ros._state_machine.current_state[1]

    def _run_callback(self, label: str) -> Any:
        from rclpy.lifecycle import TransitionCallbackReturn

        try:
            ok = self._callback(label)
        except Exception as exc:
            self._logger.error(f"lifecycle {label}: {type(exc).__name__}: {exc}", exc_info=True)
            ok = False
        return TransitionCallbackReturn.SUCCESS if ok else TransitionCallbackReturn.FAILURE

    def _transition(self, label: str) -> bool:
        from rclpy.lifecycle import TransitionCallbackReturn

        return getattr(self._ros, f"trigger_{label}")() == TransitionCallbackReturn.SUCCESS


def _ros_parameter(name: str, value: Any) -> Any:
    """``rclpy.parameter.Parameter`` holding ``value`` (:class:`ParameterError` if rclpy cannot hold it)."""
    from rclpy.parameter import Parameter

    try:
        return Parameter(name, value=list(value) if isinstance(value, tuple) else value)
    except (TypeError, ValueError) as exc:  # e.g. a list mixing types: ROS 2 arrays hold one type
        raise ParameterError(
            f"parameter {name!r}: {value!r} is not a ROS 2 parameter value ({exc})"
        ) from None


def _try_ros_parameter(name: str, value: Any) -> Any:
    try:
        return _ros_parameter(name, value)
    except ParameterError:
        return None


def _from_ros(value: Any) -> Any:
    """A parameter value as robocritic holds it: rclpy gives arrays from the wire as ``array.array``."""
    if isinstance(value, array.array):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value


def _type_text(default: Any) -> str:
    """The type rule of a parameter, for its descriptor (``ros2 param describe``)."""
    if default is None:
        return "required; any type"
    if isinstance(default, list):
        item = type(default[0]).__name__ if default else "bool, int, float or str"
        return f"type list of {item}"
    return f"type {type(default).__name__} (exact)"


class RclpyNode(Node):
    """The node interface over ``rclpy.node.Node``; initialises rclpy if nobody has.

    Parameters follow the rules of every transport (:meth:`Node.declare_parameter`): exact types,
    the validator, and the same :class:`ParameterError` text, at declaration and on every later
    set, including sets through rclpy's parameter services (``ros2 param set``), which get
    ``SetParametersResult(successful=False, reason=...)`` naming the parameter. They are declared
    dynamically typed in rclpy because those rules, not rclpy's, fix their types: rclpy would
    reject a mistyped set without naming the parameter, and types an empty-list default as a
    byte array that no command-line list matches.

    ``lifecycle=True`` makes it an rclpy lifecycle node (``~/change_state``, ``~/get_state``
    services); :meth:`manage_lifecycle` then runs the node's activation on rclpy's state machine.

    When it initialises rclpy it installs no signal handlers: whoever runs the node owns
    SIGINT/SIGTERM (nodes/runtime.py turns them into a clean shutdown), as on the other transports.
    """

    def __init__(
        self,
        name: str,
        *,
        namespace: str = "",
        parameters: Mapping[str, Any] | None = None,
        remappings: Mapping[str, str] | None = None,
        lifecycle: bool = False,
    ) -> None:
        rclpy = require_rclpy()
        from rclpy.exceptions import ParameterException
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.lifecycle import LifecycleNode
        from rclpy.node import Node as RosNode
        from rclpy.signals import SignalHandlerOptions

        super().__init__(name, namespace, remappings)
        self._overrides: dict[str, Any] = dict(parameters or {})
        # rclpy declares use_sim_time itself while constructing the node; check it first so a bad
        # override is the same one-line error as on the other transports, not rclpy's exception.
        if "use_sim_time" in self._overrides:
            check_parameter_type("use_sim_time", self._overrides["use_sim_time"], False)
        # declare_parameter applies overrides itself (with the shared rules and messages); rclpy
        # needs them only for its own parameters, so one it cannot hold waits for that check.
        overrides = [p for k, v in self._overrides.items() if (p := _try_ros_parameter(k, v)) is not None]
        self._owns_context = not rclpy.ok()
        if self._owns_context:
            # args=[]: rcl would otherwise parse sys.argv again, by its own rules (robocritic's
            # parser already applied the command line: name, namespace, parameters, remaps).
            rclpy.init(args=[], signal_handler_options=SignalHandlerOptions.NO)
        cli_args = ["--ros-args"]
        for source, target in self._remappings.items():
            cli_args += ["-r", f"{source}:={target}"]
        try:
            self._node = (LifecycleNode if lifecycle else RosNode)(
                name,
                namespace=self.namespace,
                cli_args=cli_args if len(cli_args) > 1 else None,
                parameter_overrides=overrides,
            )
        except Exception as exc:
            self._release_context()
            if isinstance(exc, ParameterException):
                raise ParameterError(f"{self.fully_qualified_name}: {exc}") from None
            raise
        self._checks: dict[str, tuple[Validator | None, Any]] = {}  # name -> (validator, default)
        self._node.add_on_set_parameters_callback(self._on_set_parameters)
        self._logger = _RclpyLogger(self.fully_qualified_name, self._node.get_logger())
        self._executor = SingleThreadedExecutor()
        self._executor.add_node(self._node)
        self._destroyed = False

    @property
    def ros_node(self) -> Any:
        """The wrapped ``rclpy.node.Node`` (escape hatch for ROS-only features)."""
        return self._node

    def resolve_topic_name(self, topic: str) -> str:
        return self._node.resolve_topic_name(topic)

    # --- parameters -------------------------------------------------------------------------

    def declare_parameter(
        self, name: str, default: Any = None, validator: Validator | None = None, description: str = ""
    ) -> Any:
        from rcl_interfaces.msg import ParameterDescriptor
        from rclpy.exceptions import ParameterException

        default, value = declared_value(
            self.fully_qualified_name, name, default, self._overrides, validator,
            already_declared=self._node.has_parameter(name),
        )  # fmt: skip
        self._checks[name] = (validator, default)
        descriptor = ParameterDescriptor(
            description=description, dynamic_typing=True, additional_constraints=_type_text(default)
        )
        try:  # ignore_override: the override is already applied, and checked, above
            self._node.declare_parameter(
                name, _ros_parameter(name, value).value, descriptor, ignore_override=True
            )
        except ParameterException as exc:
            raise ParameterError(f"{self.fully_qualified_name}: {exc}") from None
        return value

    def _on_set_parameters(self, params: list[Any]) -> Any:
        from rcl_interfaces.msg import SetParametersResult

        for param in params:
            if param.name not in self._checks:
                continue  # rclpy's own parameters (use_sim_time, ...): statically typed by rclpy
            validator, default = self._checks[param.name]
            try:
                value = check_parameter_type(param.name, _from_ros(param.value), default)
                run_validator(self.fully_qualified_name, param.name, value, validator)
            except ParameterError as exc:
                return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def get_parameter(self, name: str) -> Any:
        if not self._node.has_parameter(name):
            raise ParameterError(f"{self.fully_qualified_name}: parameter {name!r} is not declared")
        return _from_ros(self._node.get_parameter(name).value)

    def set_parameter(self, name: str, value: Any) -> None:
        if not self._node.has_parameter(name):
            raise ParameterError(f"{self.fully_qualified_name}: parameter {name!r} is not declared")
        result = self._node.set_parameters([_ros_parameter(name, value)])[0]
        if not result.successful:
            raise ParameterError(result.reason)

    def undeclared_overrides(self) -> list[str]:
        """Parameters given at creation that the node never declared (usually a typo in a launch file)."""
        return sorted(k for k in self._overrides if not self._node.has_parameter(k))

    # --- lifecycle --------------------------------------------------------------------------

    def manage_lifecycle(
        self,
        on_activate: Callable[[], bool],
        on_deactivate: Callable[[], None],
        on_shutdown: Callable[[], None],
    ) -> Lifecycle:
        from rclpy.lifecycle import LifecycleNode

        if not isinstance(self._node, LifecycleNode):
            return super().manage_lifecycle(on_activate, on_deactivate, on_shutdown)
        return _RclpyLifecycle(self._node, self._logger, on_activate, on_deactivate, on_shutdown)

    # --- communication ----------------------------------------------------------------------

    def create_publisher(
        self, msg_type: type[MsgT], topic: str, qos: QoSProfile | str | int | None = None
    ) -> RclpyPublisher[MsgT]:
        profile = as_qos(qos)
        ros_pub = self._node.create_publisher(ros_message_class(msg_type), topic, profile.to_rclpy())
        return RclpyPublisher(ros_pub, ros_pub.topic_name, msg_type, profile)

    def create_subscription(
        self,
        msg_type: type[MsgT],
        topic: str,
        callback: Callable[[MsgT], Any],
        qos: QoSProfile | str | int | None = None,
    ) -> RclpySubscription[MsgT]:
        profile = as_qos(qos)
        sub = RclpySubscription(self.resolve_topic_name(topic), msg_type, profile, callback)

        def on_raw(data: bytes) -> None:
            try:
                msg = cdr.decode(msg_type, data)
            except Exception as exc:
                sub.errors += 1
                self.stats.receive_errors[sub.topic] += 1
                self._logger.error(
                    f"{sub.topic}: dropped an undecodable sample: {exc}", throttle_s=ERROR_LOG_PERIOD_S
                )
                return
            sub.received += 1
            if not self._invoke(sub.topic, callback, msg):
                sub.errors += 1

        sub._node = self._node
        sub._sub = self._node.create_subscription(
            ros_message_class(msg_type), topic, on_raw, profile.to_rclpy(), raw=True
        )
        return sub

    def create_timer(self, period_s: float, callback: Callable[[], Any]) -> RclpyTimer:
        if not (isinstance(period_s, (int, float)) and math.isfinite(period_s) and period_s > 0):
            raise ValueError(f"timer period must be a finite number > 0 s; got {period_s!r}")
        timer = RclpyTimer(float(period_s))
        source = f"timer[{id(timer):x}]"

        def on_timer() -> None:
            timer.calls += 1
            self._invoke(source, callback)

        timer._timer = self._node.create_timer(float(period_s), on_timer)
        return timer


    # --- time, logging, execution -----------------------------------------------------------

    def now_ns(self) -> int:
        return self._node.get_clock().now().nanoseconds

    def get_logger(self) -> NodeLogger:
        return self._logger

    def spin_once(self, timeout_s: float | None = 0.0) -> int:
        self._executor.spin_once(timeout_sec=timeout_s)
        return 1  # rclpy does not report how many callbacks ran

    def spin(self, duration_s: float | None = None) -> None:
        import time

        if duration_s is None:
            self._executor.spin()
            return
        end = time.monotonic() + duration_s
        while (remaining := end - time.monotonic()) > 0 and not self._destroyed:
            self._executor.spin_once(timeout_sec=min(remaining, 0.1))

    def destroy(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        self._executor.remove_node(self._node)
        self._node.destroy_node()
        self._executor.shutdown()
        self._release_context()

    def _release_context(self) -> None:
        if self._owns_context:
            import rclpy

            if rclpy.ok():
                rclpy.shutdown()


__all__ = ["RclpyNode", "rclpy_available", "require_rclpy", "ros_message_class"]
