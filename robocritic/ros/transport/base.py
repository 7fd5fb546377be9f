"""The node interface every transport implements, and the parts the local transports share.

Node logic is written once against :class:`Node`::

    class Echo:
        def __init__(self, node: Node) -> None:
            self.gain = node.declare_parameter("gain", 1.0, lambda g: g > 0 or "must be > 0")
            self.pub = node.create_publisher(Twist, "cmd_vel", COMMANDS)
            node.create_subscription(Twist, "cmd_in", self.on_cmd, COMMANDS)
            node.create_timer(0.01, self.on_tick)                     # 100 Hz

and runs unchanged on rclpy, on the ROS 2 wire-compatible DDS transport and on the in-process
bus. Callbacks run one at a time on the thread that spins the node, so node logic needs no locks.
A callback that raises is counted in :attr:`Node.stats`, logged at most once per second per
source, and never stops the dispatcher: one malformed message must not take a robot's controller
down.

:class:`LocalNode` holds what the DDS and in-process transports share: a parameter store with
validation, rate-limited logging, guarded callback dispatch, timers and ``use_sim_time``.
:func:`declared_value` is the parameter rule every transport applies (rclpy's too), and
:class:`Lifecycle` the ROS 2 managed-node state machine a node's activation can run on
(:meth:`Node.manage_lifecycle`; rclpy lifecycle nodes serve it over ``~/change_state``).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Self, TypeVar

from ..qos import CLOCK, QoSProfile
from .names import node_fqn, normalize_namespace, resolve_topic_name, validate_node_name

MsgT = TypeVar("MsgT")

Validator = Callable[[Any], "bool | str | None"]
"""Parameter check: return ``None``/``True`` if valid, ``False`` or a reason string if not."""

_PARAMETER_TYPES = (bool, int, float, str)
# How often (s) a repeated error from one source is logged; the count is kept regardless.
ERROR_LOG_PERIOD_S = 1.0


class ParameterError(ValueError):
    """A parameter is unknown, missing, of the wrong type, or rejected by its validator."""


@dataclass
class NodeStats:
    """Counters a node keeps so tests and health checks can see swallowed failures.

    Attributes:
        callback_errors: callbacks (subscription, timer) that raised, by source name.
        receive_errors: samples that could not be decoded, by topic.
    """

    callback_errors: Counter[str] = field(default_factory=Counter)
    receive_errors: Counter[str] = field(default_factory=Counter)

    @property
    def total_errors(self) -> int:
        """All callback and receive errors so far."""
        return sum(self.callback_errors.values()) + sum(self.receive_errors.values())


class NodeLogger:
    """Logger of one node: ``debug``/``info``/``warning``/``error``/``fatal`` with optional throttling.

    ``throttle_s`` limits one call site (or an explicit ``key``) to one record per ``throttle_s``
    seconds of wall time, like rclpy's ``throttle_duration_sec``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._logger = logging.getLogger("robocritic.ros" + (name.replace("/", ".") if name != "/" else ""))
        self._last: dict[Any, float] = {}

    def debug(
        self, msg: str, *, throttle_s: float | None = None, key: Any = None, exc_info: bool = False
    ) -> None:
        self._log(logging.DEBUG, msg, throttle_s, key, exc_info)

    def info(
        self, msg: str, *, throttle_s: float | None = None, key: Any = None, exc_info: bool = False
    ) -> None:
        self._log(logging.INFO, msg, throttle_s, key, exc_info)

    def warning(
        self, msg: str, *, throttle_s: float | None = None, key: Any = None, exc_info: bool = False
    ) -> None:
        self._log(logging.WARNING, msg, throttle_s, key, exc_info)

    warn = warning  # rclpy spelling

    def set_level(self, level: int) -> None:
        """Log this node's records at ``level`` (``logging.DEBUG`` ... ``logging.CRITICAL``) and above."""
        self._logger.setLevel(level)

    def error(
        self, msg: str, *, throttle_s: float | None = None, key: Any = None, exc_info: bool = False
    ) -> None:
        self._log(logging.ERROR, msg, throttle_s, key, exc_info)

    def fatal(
        self, msg: str, *, throttle_s: float | None = None, key: Any = None, exc_info: bool = False
    ) -> None:
        self._log(logging.CRITICAL, msg, throttle_s, key, exc_info)

    def _log(self, level: int, msg: str, throttle_s: float | None, key: Any, exc_info: bool) -> None:
        if not self._enabled(level):
            return
        if throttle_s is not None and self._throttled(throttle_s, key):
            return
        self._emit(level, msg, exc_info)

    def _throttled(self, throttle_s: float, key: Any) -> bool:
        """Whether this record falls within ``throttle_s`` [s] of the last one from its key; the
        default key is the node code's call site (the caller of info()/error()/...)."""
        if key is None:
            caller = sys._getframe(3)  # _throttled <- _log <- info()/error()/... <- node code
            key = (caller.f_code.co_filename, caller.f_lineno)
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < throttle_s:
            return True
        self._last[key] = now
        return False

    def _enabled(self, level: int) -> bool:
        """Whether a record at ``level`` is logged at all (checked before throttling counts it)."""
        return self._logger.isEnabledFor(level)

    def _emit(self, level: int, msg: str, exc_info: bool) -> None:
        """Hand one record to the backend (Python ``logging`` here)."""
        self._logger.log(level, "[%s] %s", self.name, msg, exc_info=exc_info)


class Publisher(ABC, Generic[MsgT]):
    """Sends messages of one type on one topic.

    Attributes:
        topic: fully qualified ROS topic name (``/ns/cmd_vel``).
        msg_type: message class.
        qos: QoS profile.
        published: messages sent so far.
    """

    def __init__(self, topic: str, msg_type: type[MsgT], qos: QoSProfile) -> None:
        self.topic = topic
        self.msg_type = msg_type
        self.qos = qos
        self.published = 0

    def _check(self, msg: Any) -> None:
        if not isinstance(msg, self.msg_type):
            raise TypeError(
                f"publisher on {self.topic} sends {self.msg_type.__name__}, got {type(msg).__name__}"
            )

    @abstractmethod
    def publish(self, msg: MsgT) -> None:
        """Send ``msg`` (``TypeError`` if it is not of :attr:`msg_type`)."""

    @abstractmethod
    def get_subscription_count(self) -> int:
        """Subscriptions currently matched with this publisher."""

    @abstractmethod
    def wait_for_acknowledgements(self, timeout_s: float) -> bool:
        """Block until every matched reliable subscription has acknowledged what was published,
        at most ``timeout_s`` [s]; returns whether all did (``True`` at once for best effort).

        Call it before destroying a node whose last message matters (a safe stop): the middleware
        may still hold it in a send queue when the process exits.
        """

    @abstractmethod
    def destroy(self) -> None:
        """Stop publishing and release the publisher."""


class Subscription(ABC, Generic[MsgT]):
    """Receives messages of one type on one topic and calls a callback for each.

    Attributes:
        topic: fully qualified ROS topic name.
        msg_type: message class.
        qos: QoS profile.
        received: messages delivered to the callback so far.
        errors: callbacks that raised plus samples that failed to decode.
    """

    def __init__(
        self, topic: str, msg_type: type[MsgT], qos: QoSProfile, callback: Callable[[MsgT], Any]
    ) -> None:
        self.topic = topic
        self.msg_type = msg_type
        self.qos = qos
        self.callback = callback
        self.received = 0
        self.errors = 0

    @abstractmethod
    def get_publisher_count(self) -> int:
        """Publishers currently matched with this subscription."""

    @abstractmethod
    def destroy(self) -> None:
        """Stop receiving and release the subscription."""


class Timer(ABC):
    """Calls a callback every ``period_s`` seconds of the node's clock.

    Attributes:
        period_s: period [s].
        calls: callbacks made so far.
        missed: periods skipped because the node fell behind by more than one period.
    """

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self.calls = 0
        self.missed = 0

    @abstractmethod
    def cancel(self) -> None:
        """Stop the timer; it never fires again."""

    @property
    @abstractmethod
    def is_canceled(self) -> bool:
        """Whether :meth:`cancel` was called."""


LIFECYCLE_STATES = ("unconfigured", "inactive", "active", "finalized")
"""Primary states of a ROS 2 managed (lifecycle) node."""

# Transition label -> (states it starts from, state it reaches when its callback succeeds).
_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "configure": (frozenset({"unconfigured"}), "inactive"),
    "activate": (frozenset({"inactive"}), "active"),
    "deactivate": (frozenset({"active"}), "inactive"),
    "shutdown": (frozenset({"unconfigured", "inactive", "active"}), "finalized"),
}


class Lifecycle:
    """The ROS 2 managed-node state machine of one node, driving its activation.

    ``unconfigured --configure--> inactive --activate--> active --deactivate--> inactive``, and
    ``shutdown`` from any of those to ``finalized``. ``on_activate`` may refuse (return
    ``False``): the node then stays ``inactive``. On the local transports the state lives here
    (they have no services); on rclpy a lifecycle node keeps it in rclpy's state machine, which
    lifecycle clients also drive over ``~/change_state``, and calls the same callbacks.

    Args:
        on_activate: start acting; ``False`` refuses the activation.
        on_deactivate: stop acting (e.g. send one safe stop).
        on_shutdown: last words before the node is finalized.
    """

    def __init__(
        self,
        on_activate: Callable[[], bool],
        on_deactivate: Callable[[], None],
        on_shutdown: Callable[[], None],
    ) -> None:
        self._on_activate = on_activate
        self._on_deactivate = on_deactivate
        self._on_shutdown = on_shutdown
        self._state = "unconfigured"

    @property
    def state(self) -> str:
        """Current primary state, one of :data:`LIFECYCLE_STATES`."""
        return self._state

    def activate(self) -> bool:
        """Configure if needed, then activate; whether the node is now active."""
        if self.state == "unconfigured" and not self._transition("configure"):
            return False
        if self.state == "inactive":
            self._transition("activate")
        return self.state == "active"

    def deactivate(self) -> None:
        """Deactivate if active."""
        if self.state == "active":
            self._transition("deactivate")

    def shutdown(self) -> None:
        """Finalize (``on_shutdown`` runs once) unless already finalized."""
        if self.state != "finalized":
            self._transition("shutdown")

    def _callback(self, label: str) -> bool:
        """Run the callback of transition ``label``; whether it succeeded."""
        if label == "activate":
            return bool(self._on_activate())
        if label == "deactivate":
            self._on_deactivate()
        elif label == "shutdown":
            self._on_shutdown()
        return True

    def _transition(self, label: str) -> bool:
        """Take transition ``label`` from the current state; whether it succeeded."""
        sources, target = _TRANSITIONS[label]
        if self._state not in sources:
            return False
        if self._callback(label):
            self._state = target
            return True
        return False


class Node(ABC):
    """A ROS 2 node: parameters, publishers, subscriptions, timers, a clock and a logger.

    Create one with :func:`robocritic.ros.transport.make_node`. ``qos`` arguments accept a
    :class:`~robocritic.ros.qos.QoSProfile`, a profile name (``"sensor_data"``) or a depth.
    """

    def __init__(
        self,
        name: str,
        namespace: str = "",
        remappings: Mapping[str, str] | None = None,
    ) -> None:
        self._name = validate_node_name(name)
        self._namespace = normalize_namespace(namespace)
        self._remappings = dict(remappings or {})
        self.stats = NodeStats()

    # --- identity and names ----------------------------------------------------------------

    @property
    def name(self) -> str:
        """Node name without namespace."""
        return self._name

    @property
    def namespace(self) -> str:
        """Node namespace (``/`` or ``/a/b``)."""
        return self._namespace

    @property
    def fully_qualified_name(self) -> str:
        """``/namespace/name``."""
        return node_fqn(self._name, self._namespace)

    def resolve_topic_name(self, topic: str) -> str:
        """Fully qualified name ``topic`` resolves to from this node, remaps applied."""
        return resolve_topic_name(topic, self._name, self._namespace, self._remappings)

    # --- parameters -------------------------------------------------------------------------

    @abstractmethod
    def declare_parameter(
        self, name: str, default: Any = None, validator: Validator | None = None, description: str = ""
    ) -> Any:
        """Declare a parameter and return its value (an override given at creation, else ``default``).

        The type is fixed by ``default`` and checked as strictly as rclpy does (an int override
        for a float parameter is an error, so a params file that works here works on the robot);
        ``default=None`` makes the parameter required. ``validator`` checks the initial value and every later
        :meth:`set_parameter`; a failure raises :class:`ParameterError` naming parameter, value
        and reason.
        """

    @abstractmethod
    def get_parameter(self, name: str) -> Any:
        """Current value of a declared parameter (:class:`ParameterError` if undeclared)."""

    @abstractmethod
    def set_parameter(self, name: str, value: Any) -> None:
        """Change a declared parameter after validation (:class:`ParameterError` with the reason)."""

    # --- lifecycle --------------------------------------------------------------------------

    def manage_lifecycle(
        self,
        on_activate: Callable[[], bool],
        on_deactivate: Callable[[], None],
        on_shutdown: Callable[[], None],
    ) -> Lifecycle:
        """The node's managed-node state machine, calling these on its transitions (see :class:`Lifecycle`).

        Call once, after the node's entities exist. The node starts ``unconfigured``.
        """
        return Lifecycle(on_activate, on_deactivate, on_shutdown)

    # --- communication ----------------------------------------------------------------------

    @abstractmethod
    def create_publisher(
        self, msg_type: type[MsgT], topic: str, qos: QoSProfile | str | int | None = None
    ) -> Publisher[MsgT]:
        """Publisher of ``msg_type`` on ``topic`` (relative names resolve in the node's namespace)."""

    @abstractmethod
    def create_subscription(
        self,
        msg_type: type[MsgT],
        topic: str,
        callback: Callable[[MsgT], Any],
        qos: QoSProfile | str | int | None = None,
    ) -> Subscription[MsgT]:
        """Subscription calling ``callback(msg)`` for every message received on ``topic``."""

    @abstractmethod
    def create_timer(self, period_s: float, callback: Callable[[], Any]) -> Timer:
        """Timer calling ``callback()`` every ``period_s`` seconds of the node's clock."""

    # --- time, logging, execution -----------------------------------------------------------

    @abstractmethod
    def now_ns(self) -> int:
        """Current time of the node's clock [ns]: wall time, or ``/clock`` under ``use_sim_time``."""

    def now(self) -> float:
        """Current time of the node's clock [s] (see :meth:`now_ns`)."""
        return self.now_ns() / 1e9

    @abstractmethod
    def get_logger(self) -> NodeLogger:
        """The node's logger."""

    def _invoke(self, source: str, callback: Callable[..., Any], *args: Any) -> bool:
        """Run one callback; count, log (rate-limited) and swallow any ``Exception`` it raises."""
        try:
            callback(*args)
            return True
        except Exception as exc:
            self.stats.callback_errors[source] += 1
            count = self.stats.callback_errors[source]
            self.get_logger().error(
                f"{source}: callback raised {type(exc).__name__}: {exc} ({count} error(s) from this source)",
                throttle_s=ERROR_LOG_PERIOD_S,
                key=("callback", source),
                exc_info=count == 1,
            )
            return False

    @abstractmethod
    def spin_once(self, timeout_s: float | None = 0.0) -> int:
        """Run the callbacks that are ready, waiting up to ``timeout_s`` for one (None: forever).

        Returns the number of callbacks run.
        """

    @abstractmethod
    def spin(self, duration_s: float | None = None) -> None:
        """Run callbacks until :meth:`destroy`, or for ``duration_s`` [s].

        Wall time on the dds and rclpy transports, virtual time on the in-process bus.
        """

    @abstractmethod
    def destroy(self) -> None:
        """Release publishers, subscriptions and timers; idempotent."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


# --- shared implementation of the local (non-rclpy) transports ---------------------------------


@dataclass
class _ParameterSlot:
    value: Any
    default: Any
    validator: Validator | None
    description: str


class LocalTimer(Timer):
    """Timer state for the local transports; the owning node fires it from its executor."""

    def __init__(self, period_s: float, callback: Callable[[], Any], start_ns: int, source: str) -> None:
        super().__init__(period_s)
        self.callback = callback
        self.period_ns = max(1, round(period_s * 1e9))
        self.next_ns = start_ns + self.period_ns
        self.source = source
        self._canceled = False

    def cancel(self) -> None:
        self._canceled = True

    @property
    def is_canceled(self) -> bool:
        return self._canceled

    def advance(self, now_ns: int) -> None:
        """Schedule the next deadline after a call at ``now_ns``, keeping phase and counting skips."""
        self.next_ns += self.period_ns
        if self.next_ns <= now_ns:
            behind = (now_ns - self.next_ns) // self.period_ns + 1
            self.missed += behind
            self.next_ns += behind * self.period_ns


class LocalNode(Node):
    """Parameters, logging, guarded dispatch, timers and ``use_sim_time`` for local transports.

    Subclasses provide communication (``create_publisher``/``create_subscription``), execution
    (``spin_once``/``spin``) and two clocks: :meth:`_system_now_ns` (what :meth:`now_ns` returns
    without sim time) and :meth:`_steady_now_ns` (what timers run on without sim time).
    """

    def __init__(
        self,
        name: str,
        namespace: str = "",
        parameters: Mapping[str, Any] | None = None,
        remappings: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(name, namespace, remappings)
        self._overrides: dict[str, Any] = dict(parameters or {})
        self._parameters: dict[str, _ParameterSlot] = {}
        self._logger = NodeLogger(self.fully_qualified_name)
        self._timers: list[LocalTimer] = []
        self._destroyed = False
        self._sim_time_ns: int | None = None  # None: wall clock; else the last /clock received
        self._clock_subscription: Subscription | None = None

    def _init_clock(self) -> None:
        """Declare ``use_sim_time`` and follow ``/clock`` if set; call once communication works."""
        if self.declare_parameter(
            "use_sim_time", False, description="follow /clock instead of the wall clock"
        ):
            from ..msgs.rosgraph_msgs import Clock  # deferred: keeps base free of message imports at load

            self._sim_time_ns = 0  # ROS semantics: time is 0 until the first /clock arrives
            self._clock_subscription = self.create_subscription(Clock, "/clock", self._on_clock, CLOCK)

    @property
    def use_sim_time(self) -> bool:
        """Whether the node's clock follows ``/clock``."""
        return self._sim_time_ns is not None

    def _on_clock(self, msg: Any) -> None:
        self._sim_time_ns = int(msg.clock.sec) * 1_000_000_000 + int(msg.clock.nanosec)
        self._fire_due_timers()

    # --- parameters -------------------------------------------------------------------------

    def declare_parameter(
        self, name: str, default: Any = None, validator: Validator | None = None, description: str = ""
    ) -> Any:
        default, value = declared_value(
            self.fully_qualified_name, name, default, self._overrides, validator,
            already_declared=name in self._parameters,
        )  # fmt: skip
        self._parameters[name] = _ParameterSlot(value, default, validator, description)
        return value

    def get_parameter(self, name: str) -> Any:
        try:
            return self._parameters[name].value
        except KeyError:
            raise ParameterError(f"{self.fully_qualified_name}: parameter {name!r} is not declared") from None

    def set_parameter(self, name: str, value: Any) -> None:
        slot = self._parameters.get(name)
        if slot is None:
            raise ParameterError(f"{self.fully_qualified_name}: parameter {name!r} is not declared")
        value = check_parameter_type(name, value, slot.default)
        run_validator(self.fully_qualified_name, name, value, slot.validator)
        slot.value = value

    def undeclared_overrides(self) -> list[str]:
        """Parameters given at creation that the node never declared (usually a typo in a launch file)."""
        return sorted(set(self._overrides) - set(self._parameters))

    # --- time and logging -------------------------------------------------------------------

    def now_ns(self) -> int:
        return self._sim_time_ns if self._sim_time_ns is not None else self._system_now_ns()

    def _timer_now_ns(self) -> int:
        return self._sim_time_ns if self._sim_time_ns is not None else self._steady_now_ns()

    @abstractmethod
    def _system_now_ns(self) -> int: ...

    @abstractmethod
    def _steady_now_ns(self) -> int: ...

    def get_logger(self) -> NodeLogger:
        return self._logger

    # --- timers and dispatch ----------------------------------------------------------------

    def create_timer(self, period_s: float, callback: Callable[[], Any]) -> Timer:
        if not (isinstance(period_s, (int, float)) and math.isfinite(period_s) and period_s > 0):
            raise ValueError(f"timer period must be a finite number > 0 s; got {period_s!r}")
        timer = LocalTimer(float(period_s), callback, self._timer_now_ns(), f"timer[{len(self._timers)}]")
        self._timers.append(timer)
        return timer

    def _next_timer_deadline_ns(self) -> int | None:
        deadlines = [t.next_ns for t in self._timers if not t.is_canceled]
        return min(deadlines) if deadlines else None

    def _fire_due_timers(self) -> int:
        """Call every timer whose deadline has passed, earliest first; returns calls made."""
        calls = 0
        now = self._timer_now_ns()
        while not self._destroyed:
            due = [t for t in self._timers if not t.is_canceled and t.next_ns <= now]
            if not due:
                break
            timer = min(due, key=lambda t: t.next_ns)  # stable: creation order breaks ties
            timer.advance(now)
            timer.calls += 1
            calls += 1
            self._invoke(timer.source, timer.callback)
        # Remove in place (no rebinding): another thread may be appending a new timer right now.
        for timer in [t for t in self._timers if t.is_canceled]:
            self._timers.remove(timer)
        return calls


    def _count_receive_error(self, topic: str, exc: BaseException) -> None:
        self.stats.receive_errors[topic] += 1
        self._logger.error(
            f"{topic}: dropped an undecodable sample ({type(exc).__name__}: {exc}; "
            f"{self.stats.receive_errors[topic]} so far)",
            throttle_s=ERROR_LOG_PERIOD_S,
            key=("receive", topic),
        )


def declared_value(
    node: str,
    name: str,
    default: Any,
    overrides: Mapping[str, Any],
    validator: Validator | None,
    *,
    already_declared: bool = False,
) -> tuple[Any, Any]:
    """``(default, value)`` of a parameter being declared, both type-checked; the value validated.

    The one implementation of :meth:`Node.declare_parameter`'s rules, shared by every transport
    so a bad parameter gives the same :class:`ParameterError` text on each.

    Args:
        node: the node's fully qualified name, for messages.
        name: parameter name.
        default: default value (``None``: required).
        overrides: values given at node creation, name -> value.
        validator: the parameter's check, or ``None``.
        already_declared: whether the node already has a parameter ``name``.
    """
    if not isinstance(name, str) or not name or already_declared:
        raise ParameterError(f"{node}: parameter {name!r} is empty or already declared")
    if default is not None:
        default = check_parameter_type(name, default, None)
    if name in overrides:
        value = check_parameter_type(name, overrides[name], default)
    elif default is None:
        raise ParameterError(f"{node}: parameter {name!r} is required and was not given")
    else:
        value = default
    run_validator(node, name, value, validator)
    return default, value


def check_parameter_type(name: str, value: Any, default: Any) -> Any:
    """``value`` with the parameter's type, or :class:`ParameterError`.

    Scalars are bool, int, float or str; lists hold one of them; a tuple becomes a list. With a
    ``default`` (``None``: none), the type must be exactly the default's (no int for a float).
    """
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        if not all(isinstance(v, _PARAMETER_TYPES) for v in value):
            raise ParameterError(
                f"parameter {name!r}: list items must be bool, int, float or str; got {value!r}"
            )
        if len({type(v) for v in value}) > 1:  # a ROS 2 array parameter holds one type; rcl refuses others
            raise ParameterError(f"parameter {name!r}: list items must all have one type; got {value!r}")
    elif not isinstance(value, _PARAMETER_TYPES):
        raise ParameterError(f"parameter {name!r}: unsupported type {type(value).__name__} ({value!r})")
    if default is None:
        return value
    if isinstance(default, list):
        if not isinstance(value, list):
            raise ParameterError(f"parameter {name!r} expects a list; got {value!r}")
        item_type = type(default[0]) if default else None
        if item_type is None:
            return value
        return [_coerce_scalar(f"{name}[{i}]", v, item_type) for i, v in enumerate(value)]
    return _coerce_scalar(name, value, type(default))


def _coerce_scalar(name: str, value: Any, expected: type) -> Any:
    # Exact types, as rclpy enforces them: an int for a float (YAML "4" vs "4.0") fails on the
    # robot, so it fails here too; and bool, an int subclass in Python, never passes for an int.
    if type(value) is not expected:
        hint = " (write it as a float, e.g. 4.0)" if expected is float and type(value) is int else ""
        raise ParameterError(
            f"parameter {name!r} expects {expected.__name__}; got {type(value).__name__} {value!r}{hint}"
        )
    return value


def run_validator(node: str, name: str, value: Any, validator: Validator | None) -> None:
    """Apply ``validator`` to ``value``; :class:`ParameterError` with ``node`` and the reason if rejected."""
    if validator is None:
        return
    try:
        verdict = validator(value)
    except (ValueError, TypeError) as exc:
        verdict = str(exc) or type(exc).__name__
    if verdict is None or verdict is True:
        return
    reason = verdict if isinstance(verdict, str) else "rejected by validator"
    raise ParameterError(f"{node}: parameter {name!r} = {value!r} is invalid: {reason}")


__all__ = [
    "ERROR_LOG_PERIOD_S",
    "LIFECYCLE_STATES",
    "Lifecycle",
    "LocalNode",
    "LocalTimer",
    "MsgT",
    "Node",
    "NodeLogger",
    "NodeStats",
    "ParameterError",
    "Publisher",
    "Subscription",
    "Timer",
    "Validator",
    "check_parameter_type",
    "declared_value",
    "run_validator",
]
