"""rclpy transport: the :class:`~robocritic.ros.transport.base.Node` interface over a real rclpy node.

Used where ROS 2 is installed (robots, ROS desktops); rclpy is not on PyPI, so everything here
imports it lazily and :func:`require_rclpy` explains what is missing.

Messages stay robocritic's cyclonedds classes on both sides of the interface. The adapter moves
them as CDR bytes, which are identical to ROS 2's (tests/ros/test_msgs_wire.py): ``publish`` hands
``cdr.encode(msg)`` to rclpy's raw publish, and subscriptions are created with ``raw=True`` and
decode with ``cdr.decode``. rclpy still needs the generated ROS class of each type for
its type support; it is imported from the ROS package by name (``geometry_msgs.msg.Twist``), so
robocritic's own types need the ``robocritic_msgs`` interface package built on that machine.

Not exercised in this repository's CI (no ROS 2 there); kept deliberately thin.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Callable, Mapping
from typing import Any

from ..msgs import cdr, ros_type_name
from ..qos import QoSProfile, as_qos
from .base import (
    ERROR_LOG_PERIOD_S,
    MsgT,
    Node,
    NodeLogger,
    ParameterError,
    Publisher,
    Subscription,
    Timer,
    Validator,
    _check_parameter_type,
    _run_validator,
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
    """NodeLogger surface over an rclpy logger (throttling and ``exc_info`` done here)."""

    def __init__(self, name: str, ros_logger: Any) -> None:
        super().__init__(name)
        self._ros = ros_logger

    def _log(self, level: int, msg: str, throttle_s: float | None, key: Any, exc_info: bool) -> None:
        import logging
        import time
        import traceback

        if throttle_s is not None:
            key = key if key is not None else msg
            now = time.monotonic()
            last = self._last.get(key)
            if last is not None and now - last < throttle_s:
                return
            self._last[key] = now
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


class RclpyNode(Node):
    """The node interface over ``rclpy.node.Node``; initialises rclpy if nobody has."""

    def __init__(
        self,
        name: str,
        *,
        namespace: str = "",
        parameters: Mapping[str, Any] | None = None,
        remappings: Mapping[str, str] | None = None,
    ) -> None:
        rclpy = require_rclpy()
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node as RosNode
        from rclpy.parameter import Parameter

        super().__init__(name, namespace, remappings)
        self._owns_context = not rclpy.ok()
        if self._owns_context:
            rclpy.init(args=None)
        cli_args = ["--ros-args"]
        for source, target in self._remappings.items():
            cli_args += ["-r", f"{source}:={target}"]
        self._node = RosNode(
            name,
            namespace=self.namespace,
            cli_args=cli_args if len(cli_args) > 1 else None,
            parameter_overrides=[Parameter(k, value=v) for k, v in (parameters or {}).items()],
        )
        self._validators: dict[str, tuple[Validator | None, Any]] = {}
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

        if default is not None:
            default = _check_parameter_type(name, default, None)
        self._validators[name] = (validator, default)
        # Without a default the type comes from the override, which rclpy only allows when dynamic.
        descriptor = ParameterDescriptor(description=description, dynamic_typing=default is None)
        param = self._node.declare_parameter(name, default, descriptor)
        value = param.value
        if value is None:
            raise ParameterError(
                f"{self.fully_qualified_name}: parameter {name!r} is required and was not given"
            )
        value = _check_parameter_type(name, value, default)
        _run_validator(self.fully_qualified_name, name, value, validator)
        return value

    def _on_set_parameters(self, params: list[Any]) -> Any:
        from rcl_interfaces.msg import SetParametersResult

        for param in params:
            validator, default = self._validators.get(param.name, (None, None))
            try:
                value = _check_parameter_type(param.name, param.value, default)
                _run_validator(self.fully_qualified_name, param.name, value, validator)
            except ParameterError as exc:
                return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def get_parameter(self, name: str) -> Any:
        if not self._node.has_parameter(name):
            raise ParameterError(f"{self.fully_qualified_name}: parameter {name!r} is not declared")
        return self._node.get_parameter(name).value

    def set_parameter(self, name: str, value: Any) -> None:
        from rclpy.parameter import Parameter

        if not self._node.has_parameter(name):
            raise ParameterError(f"{self.fully_qualified_name}: parameter {name!r} is not declared")
        result = self._node.set_parameters([Parameter(name, value=value)])[0]
        if not result.successful:
            raise ParameterError(result.reason)

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
            except Exception as exc:  # noqa: BLE001 - malformed bytes from the network
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
        if self._owns_context:
            import rclpy

            if rclpy.ok():
                rclpy.shutdown()


__all__ = ["RclpyNode", "rclpy_available", "require_rclpy", "ros_message_class"]
