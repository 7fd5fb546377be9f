"""Command lines of robocritic's node executables: ROS 2 ``--ros-args`` plus ``--transport``.

A node executable accepts what ``ros2 run`` / ``ros2 launch`` (and ``robocritic launch``) pass::

    sim_bridge [--transport dds] --ros-args -r __node:=sim -r __ns:=/pendulum \\
        --params-file params.yaml -p mode:=lockstep -r joint_states:=/robot/joints --log-level debug

Supported inside ``--ros-args`` (until ``--`` or the end), as rcl reads them:

- ``-p`` / ``--param NAME:=VALUE``: the value is YAML (``4`` int, ``4.0`` float, ``true`` bool,
  ``[0.1, 0.2]`` list, anything else a string);
- ``--params-file FILE``: a ROS 2 parameter file (``node: {ros__parameters: {...}}``; node keys
  may be ``/**``, ``/ns/node``, ``node`` or contain ``*``; nested mappings become ``a.b``);
- ``-r`` / ``--remap FROM:=TO``, ``NODE:FROM:=TO`` (only for node ``NODE``), and the special
  ``__node:=`` / ``__name:=`` (node name) and ``__ns:=`` (namespace);
- ``--log-level LEVEL`` or ``--log-level NAME:=LEVEL``;
- the rosout/stdout logging switches (``--enable-rosout-logs`` ...) are accepted and ignored:
  these transports log to stderr only.

Parameter sources apply in command-line order, the last assignment of a name winning, as rcl does.
Anything else (``--enclave``, ``--log-config-file``, unknown options) is a :class:`NodeArgumentError`
that names it: a launch file relying on a feature that is silently ignored here would behave
differently on the robot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robocritic.ros.transport import TRANSPORTS
from robocritic.ros.transport.names import node_fqn, normalize_namespace, validate_node_name
from robocritic.utils.safe_yaml import YamlError, load_yaml, shorten

_IGNORED_FLAGS = frozenset({
    "--enable-rosout-logs", "--disable-rosout-logs", "--enable-stdout-logs", "--disable-stdout-logs",
    "--enable-external-lib-logs", "--disable-external-lib-logs",
})  # fmt: skip
_UNSUPPORTED = {
    "-e": "security enclaves are not supported by the DDS transport",
    "--enclave": "security enclaves are not supported by the DDS transport",
    "--log-config-file": "a log configuration file is not supported; use --log-level",
    "--log-file-name": "log files are not written by these transports; redirect stderr",
}
LOG_LEVELS = ("debug", "info", "warn", "warning", "error", "fatal")


def _load_yaml(text: str | Path, source: str) -> Any:
    """YAML as rcl types parameter values (``1e-3`` is a float), bounded in size, aliases and depth."""
    return load_yaml(text, source, rcl_floats=True)


class NodeArgumentError(ValueError):
    """A node command line that cannot be honoured; the message names the argument."""


@dataclass(frozen=True)
class NodeArguments:
    """What a node's command line asks for.

    Attributes:
        name: node name (``__node`` remap, else the executable's default).
        namespace: node namespace (``/`` when not given).
        parameters: parameter overrides after applying every source in order.
        remappings: topic remaps ``from -> to`` for this node.
        transport: ``auto``, ``dds``, ``rclpy`` or ``inprocess`` (``--transport``).
        log_level: ``debug`` ... ``fatal`` or ``None`` (default: info).
        extra: arguments outside ``--ros-args`` that were not ``--transport`` (for the node to use).
    """

    name: str
    namespace: str
    parameters: dict[str, Any] = field(default_factory=dict)
    remappings: dict[str, str] = field(default_factory=dict)
    transport: str = "auto"
    log_level: str | None = None
    extra: tuple[str, ...] = ()

    @property
    def fully_qualified_name(self) -> str:
        """``/namespace/name``."""
        return node_fqn(self.name, self.namespace)


def parse_node_arguments(argv: Sequence[str], default_name: str) -> NodeArguments:
    """Parse a node executable's command line (see the module docstring).

    Args:
        argv: arguments after the program name.
        default_name: node name when no ``__node:=`` remap is given.

    Raises:
        NodeArgumentError: unknown or unsupported option, malformed ``NAME:=VALUE``, a parameter
            file that is missing or not a ROS 2 parameter file.
    """
    name, namespace = default_name, "/"
    transport = "auto"
    log_level: str | None = None
    remaps: list[tuple[str | None, str, str]] = []  # (target node or None, from, to)
    sources: list[tuple[str, Any]] = []  # ("param", (name, value)) | ("file", path)
    extra: list[str] = []

    args = list(argv)
    i = 0
    in_ros = False

    def value_of(option: str) -> str:
        nonlocal i
        if i + 1 >= len(args):
            raise NodeArgumentError(f"{option} needs a value")
        i += 1
        return args[i]

    while i < len(args):
        arg = args[i]
        if arg == "--ros-args":
            in_ros = True
        elif in_ros and arg == "--":
            in_ros = False
        elif not in_ros:
            if arg == "--transport" or arg.startswith("--transport="):
                transport = arg.split("=", 1)[1] if "=" in arg else value_of(arg)
                if transport not in TRANSPORTS:
                    raise NodeArgumentError(f"--transport must be one of {TRANSPORTS}; got {transport!r}")
            else:
                extra.append(arg)
        elif arg in ("-p", "--param"):
            sources.append(("param", _parse_param_rule(value_of(arg))))
        elif arg in ("-r", "--remap"):
            remaps.append(_parse_remap_rule(value_of(arg)))
        elif arg == "--params-file":
            sources.append(("file", value_of(arg)))
        elif arg == "--log-level":
            log_level = _parse_log_level(value_of(arg), default_name)
        elif arg in _IGNORED_FLAGS:
            pass
        elif arg in _UNSUPPORTED:
            raise NodeArgumentError(f"{arg}: {_UNSUPPORTED[arg]}")
        else:
            raise NodeArgumentError(f"unknown ROS argument {arg!r}")
        i += 1

    # __node and __ns first: node-targeted remaps and parameter-file keys match the final name.
    for target, source, dest in remaps:
        if target not in (None, default_name):
            continue
        if source in ("__node", "__name"):
            name = dest
        elif source == "__ns":
            namespace = dest
    try:
        name = validate_node_name(name)
        namespace = normalize_namespace(namespace)
    except ValueError as exc:
        raise NodeArgumentError(str(exc)) from None
    fqn = node_fqn(name, namespace)
    remappings = {
        source: dest
        for target, source, dest in remaps
        if source not in ("__node", "__name", "__ns") and target in (None, name, default_name)
    }
    parameters: dict[str, Any] = {}
    for kind, payload in sources:
        if kind == "param":
            key, value = payload
            parameters[key] = value
        else:
            parameters.update(load_params_file(payload, fqn))
    return NodeArguments(
        name=name, namespace=namespace, parameters=parameters, remappings=remappings,
        transport=transport, log_level=log_level, extra=tuple(extra),
    )  # fmt: skip


def _split_assignment(rule: str, what: str) -> tuple[str, str]:
    key, sep, value = rule.partition(":=")
    if not sep or not key:
        raise NodeArgumentError(f"{what} must be written NAME:=VALUE; got {rule!r}")
    return key, value


def _parse_param_rule(rule: str) -> tuple[str, Any]:
    key, text = _split_assignment(rule, "-p")
    if ":" in key:  # rcl's "node:param:=value" form is not supported for -p; say so instead of guessing
        raise NodeArgumentError(f"-p {rule!r}: node-prefixed parameter rules are not supported")
    return key, parse_parameter_value(text, key)


def parse_parameter_value(text: str, name: str = "value") -> Any:
    """A ``-p`` value as rcl types it: YAML scalar or flow sequence (``ValueError`` naming ``name``)."""
    try:
        value = _load_yaml(text, f"parameter {name!r}") if text.strip() else None
    except YamlError as exc:
        raise NodeArgumentError(f"{shorten(str(exc))} (value {shorten(repr(text), 200)})") from None
    return _check_value(value, name, text)


def _check_value(value: Any, name: str, shown: Any) -> Any:
    scalar = (bool, int, float, str)
    if isinstance(value, list):
        if not all(isinstance(v, scalar) for v in value):
            raise NodeArgumentError(f"parameter {name!r}: list items must be scalars; got {shown!r}")
        return value
    if not isinstance(value, scalar):
        raise NodeArgumentError(
            f"parameter {name!r}: expected a bool, int, float, string or list; got {shown!r}"
        )
    return value


def _parse_remap_rule(rule: str) -> tuple[str | None, str, str]:
    source, dest = _split_assignment(rule, "-r")
    target: str | None = None
    # "node:from:=to" targets one node; a topic name itself never contains ':'.
    if ":" in source:
        target, source = source.split(":", 1)
    if not dest:
        raise NodeArgumentError(f"-r {rule!r}: the target name is empty")
    return target, source, dest


def _parse_log_level(text: str, node_name: str) -> str | None:
    if ":=" in text:
        logger, level = _split_assignment(text, "--log-level")
        if logger not in (node_name,):
            return None  # a level for another logger (e.g. rcl) does not concern this node
    else:
        level = text
    level = level.lower()
    if level not in LOG_LEVELS:
        raise NodeArgumentError(f"--log-level must be one of {LOG_LEVELS}; got {text!r}")
    return "warning" if level == "warn" else level


def load_params_file(path: str | Path, node_fqn_: str) -> dict[str, Any]:
    """Parameters a ROS 2 parameter file gives node ``node_fqn_`` (``/ns/name``), in file order.

    Raises:
        NodeArgumentError: the file is missing, not YAML, or not a ROS 2 parameter file.
    """
    path = Path(path)
    try:
        data = _load_yaml(path, f"--params-file {path}")
    except YamlError as exc:
        raise NodeArgumentError(str(exc)) from None
    if not isinstance(data, dict):
        raise NodeArgumentError(
            f"--params-file {path}: expected a mapping of node names; got {type(data).__name__}"
        )
    result: dict[str, Any] = {}
    for pattern, params in _node_sections(data, (), path):
        if _node_pattern(pattern).fullmatch(node_fqn_):
            result.update(params)
    return result


def _node_sections(data: dict, prefix: tuple[str, ...], path: Path) -> list[tuple[str, dict[str, Any]]]:
    sections: list[tuple[str, dict[str, Any]]] = []
    for key, value in data.items():
        if key == "ros__parameters":
            if not prefix:
                raise NodeArgumentError(f"--params-file {path}: 'ros__parameters' needs a node name above it")
            if not isinstance(value, dict):
                raise NodeArgumentError(
                    f"--params-file {path}: {'/'.join(prefix)}.ros__parameters must be a mapping"
                )
            where = "/".join(prefix)
            sections.append((where, _flatten(value, "", path, where)))
        elif isinstance(value, dict):
            sections += _node_sections(value, (*prefix, str(key).strip("/")), path)
        else:
            raise NodeArgumentError(
                f"--params-file {path}: {'/'.join((*prefix, str(key)))} is not under a 'ros__parameters' key"
            )
    return sections


def _flatten(params: dict, prefix: str, path: Path, where: str) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + ".", path, where))
        else:
            try:
                flat[name] = _check_value(value, name, value)
            except NodeArgumentError as exc:
                raise NodeArgumentError(f"--params-file {path} ({where}): {exc}") from None
    return flat


def _node_pattern(pattern: str) -> re.Pattern[str]:
    """rcl's node-name wildcards: ``**`` any number of tokens, ``*`` one token; relative = from root."""
    tokens = [t for t in pattern.split("/") if t]
    parts = []
    for token in tokens:
        if token == "**":
            parts.append(r"(?:/[^/]+)*")
        else:
            parts.append("/" + re.escape(token).replace(r"\*", "[^/]+"))
    return re.compile("".join(parts) or "/")


__all__ = [
    "LOG_LEVELS",
    "NodeArgumentError",
    "NodeArguments",
    "load_params_file",
    "parse_node_arguments",
    "parse_parameter_value",
]
