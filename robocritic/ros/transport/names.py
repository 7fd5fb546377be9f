"""ROS 2 name rules: validate node names and namespaces, expand topic names, apply remaps.

Expansion follows rcl: ``/x`` is absolute, ``x`` is relative to the node's namespace, ``~`` is the
node's fully qualified name (``~/x`` -> ``/ns/node/x``), and ``{node}``, ``{ns}``/``{namespace}``
substitute inside a name. Remap rules match the fully qualified name after expansion, both sides
expanded in the node's context, as ``--ros-args -r from:=to`` does. On the wire rmw_cyclonedds
prefixes topics with ``rt`` (``/cmd_vel`` -> ``rt/cmd_vel``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NODE_NAME = _TOKEN
TOPIC_PREFIX = "rt"


def validate_node_name(name: str) -> str:
    """Return ``name`` if it is a valid ROS node name (letters, digits, ``_``; no leading digit)."""
    if not isinstance(name, str) or not _NODE_NAME.match(name):
        raise ValueError(
            f"invalid node name {name!r}: use letters, digits and '_', not starting with a digit"
        )
    return name


def normalize_namespace(namespace: str | None) -> str:
    """``None``/``""`` -> ``"/"``; ``"robot"`` -> ``"/robot"``; validates each token."""
    if not namespace:
        return "/"
    ns = namespace if namespace.startswith("/") else "/" + namespace
    if ns == "/":
        return ns
    if ns.endswith("/"):
        raise ValueError(f"invalid namespace {namespace!r}: must not end with '/'")
    _check_tokens(ns, what="namespace")
    return ns


def node_fqn(node_name: str, namespace: str) -> str:
    """Fully qualified node name: ``/ns/node`` (``/node`` in the root namespace)."""
    ns = normalize_namespace(namespace)
    return f"{ns.rstrip('/')}/{validate_node_name(node_name)}"


def expand_topic_name(name: str, node_name: str, namespace: str) -> str:
    """Fully qualified topic name of ``name`` as seen from node ``node_name`` in ``namespace``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"invalid topic name {name!r}: empty")
    ns = normalize_namespace(namespace)
    validate_node_name(node_name)
    expanded = name.replace("{node}", node_name).replace("{namespace}", ns).replace("{ns}", ns)
    if expanded.startswith("~"):
        if expanded not in ("~",) and not expanded.startswith("~/"):
            raise ValueError(f"invalid topic name {name!r}: '~' must be followed by '/' or end the name")
        expanded = node_fqn(node_name, ns) + expanded[1:]
    elif not expanded.startswith("/"):
        expanded = ns.rstrip("/") + "/" + expanded
    expanded = expanded.replace("//", "/") if expanded.startswith("//") else expanded  # "{ns}/x" with ns "/"
    if expanded != "/" and expanded.endswith("/"):
        raise ValueError(f"invalid topic name {name!r}: must not end with '/'")
    if "~" in expanded[1:]:
        raise ValueError(f"invalid topic name {name!r}: '~' is only allowed at the start")
    _check_tokens(expanded, what=f"topic name {name!r}")
    return expanded


def resolve_topic_name(
    name: str, node_name: str, namespace: str, remappings: Mapping[str, str] | None = None
) -> str:
    """Expand ``name`` and apply the first remap rule whose (expanded) source equals it."""
    fq = expand_topic_name(name, node_name, namespace)
    for source, target in (remappings or {}).items():
        if expand_topic_name(source, node_name, namespace) == fq:
            return expand_topic_name(target, node_name, namespace)
    return fq


def dds_topic_name(fq_topic: str) -> str:
    """DDS topic of a fully qualified ROS topic: ``/cmd_vel`` -> ``rt/cmd_vel``."""
    if not fq_topic.startswith("/"):
        raise ValueError(f"expected a fully qualified topic name starting with '/', got {fq_topic!r}")
    return TOPIC_PREFIX + fq_topic


def ros_topic_name(dds_topic: str) -> str | None:
    """ROS topic of a DDS topic (``rt/cmd_vel`` -> ``/cmd_vel``); ``None`` for non-topic DDS names."""
    prefix = TOPIC_PREFIX + "/"
    return dds_topic[len(TOPIC_PREFIX) :] if dds_topic.startswith(prefix) else None


def _check_tokens(fq: str, what: str) -> None:
    if "//" in fq:
        raise ValueError(f"invalid {what}: contains '//'")
    for token in fq.strip("/").split("/"):
        if token and not _TOKEN.match(token):
            raise ValueError(
                f"invalid {what}: token {token!r} must be letters, digits and '_', not starting with a digit"
            )


__all__ = [
    "TOPIC_PREFIX",
    "dds_topic_name",
    "expand_topic_name",
    "node_fqn",
    "normalize_namespace",
    "resolve_topic_name",
    "ros_topic_name",
    "validate_node_name",
]
