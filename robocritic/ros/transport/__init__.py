"""One node interface, three transports, chosen by :func:`make_node`.

=============  ==================================================================================
transport      when
=============  ==================================================================================
``rclpy``      ROS 2 installed; a real rclpy node (imported lazily)
``dds``        no ROS 2: ROS 2 wire-compatible DDS on cyclonedds (``rt/`` topics, ROS type names)
``inprocess``  deterministic lockstep tests on an :class:`InProcessBus` with virtual time
``auto``       ``$ROBOCRITIC_TRANSPORT`` if set, else ``rclpy`` if importable, else ``dds``
=============  ==================================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .base import Node, NodeLogger, NodeStats, ParameterError, Publisher, Subscription, Timer, Validator
from .inprocess import InProcessBus, InProcessNode
from .names import dds_topic_name, expand_topic_name, resolve_topic_name

TRANSPORTS = ("auto", "rclpy", "dds", "inprocess")

_default_bus: InProcessBus | None = None


def default_bus() -> InProcessBus:
    """The process-wide bus ``make_node(transport="inprocess")`` uses when no ``bus`` is given."""
    global _default_bus
    if _default_bus is None:
        _default_bus = InProcessBus()
    return _default_bus


def resolve_transport(transport: str = "auto") -> str:
    """The concrete transport ``transport`` stands for here (``auto`` resolved)."""
    if transport == "auto":
        transport = os.environ.get("ROBOCRITIC_TRANSPORT", "").strip() or "auto"
        if transport == "auto":
            from .rclpy_adapter import rclpy_available

            return "rclpy" if rclpy_available() else "dds"
    if transport not in TRANSPORTS or transport == "auto":
        raise ValueError(f"unknown transport {transport!r}; choose one of {TRANSPORTS}")
    return transport


def make_node(
    name: str,
    transport: str = "auto",
    *,
    namespace: str = "",
    parameters: Mapping[str, Any] | None = None,
    remappings: Mapping[str, str] | None = None,
    bus: InProcessBus | None = None,
    domain_id: int | None = None,
    lifecycle: bool = False,
) -> Node:
    """Create a node on the chosen transport.

    Args:
        name: node name (letters, digits, ``_``).
        transport: ``"auto"``, ``"rclpy"``, ``"dds"`` or ``"inprocess"`` (see module docstring).
        namespace: node namespace; relative topic names resolve inside it.
        parameters: parameter overrides, name -> value (e.g. from a launch file or params YAML).
        remappings: topic remaps, from -> to (``{"cmd_vel": "/robot/cmd_vel"}``).
        bus: in-process bus (``inprocess`` only; default :func:`default_bus`).
        domain_id: DDS domain (``dds`` only; default ``$ROS_DOMAIN_ID`` or 0).
        lifecycle: on ``rclpy``, make an rclpy lifecycle node (``~/change_state``, ``~/get_state``);
            the other transports keep the lifecycle state in Python (:meth:`Node.manage_lifecycle`).

    Raises:
        ImportError: ``rclpy`` requested where ROS 2 is not installed (the message says what to do).
        ValueError: unknown transport, or an option that does not apply to the chosen one.
    """
    kind = resolve_transport(transport)
    if bus is not None and kind != "inprocess":
        raise ValueError(f"bus= applies to the inprocess transport, not {kind!r}")
    if domain_id is not None and kind != "dds":
        raise ValueError(f"domain_id= applies to the dds transport, not {kind!r} (rclpy reads ROS_DOMAIN_ID)")
    common = {"namespace": namespace, "parameters": parameters, "remappings": remappings}
    if kind == "inprocess":
        return InProcessNode(name, bus=bus or default_bus(), **common)
    if kind == "dds":
        from .dds import DdsNode

        return DdsNode(name, domain_id=domain_id, **common)
    from .rclpy_adapter import RclpyNode

    return RclpyNode(name, lifecycle=lifecycle, **common)


__all__ = [
    "TRANSPORTS",
    "InProcessBus",
    "InProcessNode",
    "Node",
    "NodeLogger",
    "NodeStats",
    "ParameterError",
    "Publisher",
    "Subscription",
    "Timer",
    "Validator",
    "dds_topic_name",
    "default_bus",
    "expand_topic_name",
    "make_node",
    "resolve_topic_name",
    "resolve_transport",
]
