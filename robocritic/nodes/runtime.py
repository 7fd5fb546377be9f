"""``main()`` of every node executable: parse the command line, build the node, spin, shut down.

:func:`run_node` is the one place that handles process concerns, so each node module only says
which class to build. Shutdown is clean on SIGINT and SIGTERM (what ``ros2 launch`` and
``robocritic launch`` send): the spin loop ends, the node's ``shutdown()`` runs (a controller
sends its safe stop, reports are written), then the transport is released. A second signal
during shutdown is ignored rather than interrupting the safe stop half-way.

Exit status: 0 after a clean shutdown, 2 for a command-line or parameter error (printed as one
line naming the argument or parameter), 1 for an unexpected failure.

On ``--transport rclpy`` the same holds: the node initialises rclpy without its signal handlers,
so these handlers, not rclpy's, see SIGINT/SIGTERM; ``lifecycle=True`` (the controllers) makes the
node an rclpy lifecycle node there.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Protocol

from robocritic.nodes.args import NodeArgumentError, parse_node_arguments
from robocritic.profiles import ProfileError
from robocritic.ros.realtime import MAX_FIFO_PRIORITY, RealtimeSettings, apply_realtime
from robocritic.ros.transport import make_node
from robocritic.ros.transport.base import Node, ParameterError

_SPIN_TIMEOUT_S = 0.05  # bounds how long a signal waits for the spin loop to notice it


class NodeApp(Protocol):
    """What :func:`run_node` drives: built on a node, told when to stop."""

    @property
    def finished(self) -> bool:
        """``True`` when the node has done its job and the process should exit."""
        ...

    def shutdown(self) -> None:
        """Last words before the transport goes away (safe stop, reports); called once."""
        ...


def run_node(
    build: Callable[[Node], NodeApp],
    default_name: str,
    argv: Sequence[str] | None = None,
    *,
    prog: str | None = None,
    lifecycle: bool = False,
) -> int:
    """Run one node executable to completion; returns the process exit status.

    Args:
        build: makes the node's application object on a created node (declares its parameters,
            publishers, subscriptions and timers; raises ``ParameterError`` for a bad parameter).
        default_name: node name unless ``-r __node:=NAME`` says otherwise.
        argv: arguments after the program name (default ``sys.argv[1:]``).
        prog: program name for messages (default ``default_name``).
        lifecycle: the node is a managed node (``Node.manage_lifecycle``): on rclpy it is created
            as an rclpy lifecycle node, so lifecycle clients can drive it.
    """
    prog = prog or default_name
    argv = list(sys.argv[1:] if argv is None else argv)
    head = argv[: argv.index("--ros-args")] if "--ros-args" in argv else argv
    if any(a in ("-h", "--help") for a in head):
        print(_usage(prog))
        return 0
    try:
        args = parse_node_arguments(argv, default_name)
    except NodeArgumentError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.extra:
        print(f"{prog}: error: unexpected arguments {list(args.extra)} (node options go after --ros-args)",
              file=sys.stderr)  # fmt: skip
        return 2
    _configure_logging(args.log_level)
    log = logging.getLogger(f"robocritic.ros.{prog}")

    try:
        node = make_node(
            args.name, transport=args.transport, namespace=args.namespace,
            parameters=args.parameters, remappings=args.remappings, lifecycle=lifecycle,
        )  # fmt: skip
    except (ImportError, ValueError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.log_level:
        node.get_logger().set_level(getattr(logging, args.log_level.upper()))
    try:
        app = build(node)
    except (ParameterError, ProfileError, NodeArgumentError) as exc:
        node.destroy()
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C while starting up: nothing was commanded yet
        node.destroy()
        return 130
    try:
        realtime = _realtime_settings(node)
    except ParameterError as exc:
        node.destroy()
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    undeclared = getattr(node, "undeclared_overrides", list)()
    if undeclared:  # a typo in a launch or params file must not leave a default silently in force
        node.destroy()  # built, but nothing was spun: nothing has been commanded
        print(f"{prog}: error: {node.fully_qualified_name}: parameters given but never declared (typo?): "
              f"{undeclared}; run '{prog} --help' or see the node's documentation for its parameters",
              file=sys.stderr)  # fmt: skip
        return 2

    report = apply_realtime(realtime)  # set-up is done: freeze the GC, raise priority if asked
    if report.failed:
        log.warning("%s: real-time settings %s", node.fully_qualified_name, report)
    elif realtime.requested:
        log.info("%s: real-time settings %s", node.fully_qualified_name, report)

    stop = threading.Event()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in previous:
        signal.signal(sig, on_signal)
    status = 0
    try:
        while not stop.is_set() and not app.finished:
            node.spin_once(_SPIN_TIMEOUT_S)
    except Exception:
        log.exception("%s: spin loop failed", node.fully_qualified_name)
        status = 1
    finally:
        try:
            app.shutdown()
        except Exception:
            log.exception("%s: shutdown failed", node.fully_qualified_name)
            status = 1
        node.destroy()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def _realtime_settings(node: Node) -> RealtimeSettings:
    """The process-level real-time parameters every node executable takes (see ros/realtime.py)."""
    priority = node.declare_parameter(
        "realtime_priority", 0, lambda p: 0 <= p <= MAX_FIFO_PRIORITY or f"must be in 0..{MAX_FIFO_PRIORITY}",
        "SCHED_FIFO priority of all the process's threads; 0 keeps default scheduling",
    )  # fmt: skip
    lock = node.declare_parameter("lock_memory", False, description="mlockall the process's memory")
    latency = node.declare_parameter(
        "cpu_dma_latency_us", -1, lambda v: v >= -1 or "must be -1 (off) or >= 0",
        "hold a CPU wake-up latency request [us] while running; -1 off",
    )  # fmt: skip
    return RealtimeSettings(priority=priority, lock_memory=lock, cpu_dma_latency_us=None if latency < 0 else latency)


def _configure_logging(level: str | None) -> None:
    # The level applies to robocritic's loggers; third-party libraries stay at WARNING so their
    # import-time chatter does not drown the node's own output.
    logging.basicConfig(
        level=logging.WARNING, format="[%(levelname)s] [%(asctime)s] %(message)s", stream=sys.stderr
    )
    logging.getLogger("robocritic").setLevel(getattr(logging, (level or "info").upper()))


def _usage(prog: str) -> str:
    return (
        f"usage: {prog} [--transport {{auto,dds,rclpy,inprocess}}] [--ros-args [-p NAME:=VALUE] "
        "[-r FROM:=TO] [--params-file FILE] [--log-level LEVEL] ...]\n\n"
        "A robocritic ROS 2 node. Parameters, remaps, node name (-r __node:=NAME) and namespace "
        "(-r __ns:=/NS) are given as ROS 2 arguments after --ros-args; see the node module's docstring "
        "for its parameters."
    )


__all__ = ["NodeApp", "run_node"]
