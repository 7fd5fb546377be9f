"""Read a ROS 2 YAML launch file into a :class:`LaunchPlan`: the nodes to start, fully resolved.

Supported (the same meaning as ``ros2 launch``; anything else is a :class:`LaunchError` naming
the file, the line and the entity, never silently ignored):

=========================  =======================================================================
entity                     keys
=========================  =======================================================================
``arg``                    ``name``, ``default``, ``description``, ``choice`` (list of ``value``)
``node``                   ``pkg``, ``exec``, ``name``, ``namespace``, ``output``
                           (screen | log | both), ``args``, ``param`` (``name``/``value`` with
                           optional ``type``, nested ``param``, or ``from: FILE``), ``remap``
                           (``from``/``to``), ``env`` (``name``/``value``)
``group``                  a list of entities, or ``children`` with ``scoped``/``forwarding``
``include``                ``file`` (a YAML launch file), ``arg`` (``name``/``value``)
``push-ros-namespace``     ``namespace`` (also spelled ``push_ros_namespace``, as launch_ros
                           accepts both since Galactic)
=========================  =======================================================================

Substitutions: see :mod:`robocritic.ros.launcher.substitutions`.

Semantics kept from ``ros2 launch``: command-line arguments are launch configurations visible
everywhere; an ``arg`` with a default does not override a value already set; a ``group`` is
scoped (configurations and pushed namespaces set inside stay inside) unless ``scoped: false``;
an ``include`` is not scoped (its ``arg`` values and namespace pushes stay set after it, as in
``ros2 launch``; wrap it in a ``group`` to contain them); a relative node namespace is appended
to the pushed one, an absolute one replaces it.

Parameter types follow launch_ros exactly (checked against its Humble sources): a YAML number or
boolean keeps its type (``value: 4.0`` is a float, ``value: true`` a bool); a string containing a
substitution is read as a YAML scalar once substituted (``value: "$(var rate)"`` with
``rate:=4.0`` is a float, ``"$(var sim)"`` with ``sim:=true`` a bool); a plain quoted string stays
a string (``value: "4.0"`` is the string ``'4.0'``, as the robot would see it). ``type:`` forces a
type for substituted values.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from robocritic.utils.safe_yaml import (
    YamlError,
    YamlReadError,
    YamlSyntaxError,
    compose_yaml,
    construct_node,
    load_yaml,
)

from ..transport.names import normalize_namespace, validate_node_name
from .errors import LaunchError
from .packages import find_executable, find_package_share
from .substitutions import SubstitutionContext, evaluate, has_substitutions, parse_template

ParameterValue = bool | int | float | str | list
"""What a ROS 2 parameter holds: a scalar, or a homogeneous list of scalars."""

ACTIONS = ("arg", "node", "group", "include", "push-ros-namespace", "push_ros_namespace")
OUTPUTS = ("screen", "log", "both")
PARAMETER_TYPES: dict[str, tuple[type, bool]] = {
    "str": (str, False), "int": (int, False), "float": (float, False), "bool": (bool, False),
    "list_of_str": (str, True), "list_of_int": (int, True), "list_of_float": (float, True),
    "list_of_bool": (bool, True),
}  # fmt: skip
_MAX_INCLUDE_DEPTH = 32

# entity -> (allowed keys, required keys); sub-entities (param, remap, ...) are checked by the
# handlers and by _validate.
_SCHEMA: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "arg": (("name", "default", "description", "choice"), ("name",)),
    "node": (
        ("pkg", "exec", "name", "namespace", "output", "args", "param", "remap", "env"),
        ("pkg", "exec"),
    ),
    "group": (("children", "scoped", "forwarding"), ("children",)),
    "include": (("file", "arg"), ("file",)),
    "push-ros-namespace": (("namespace",), ("namespace",)),
    "push_ros_namespace": (("namespace",), ("namespace",)),
    "choice": (("value",), ("value",)),
    "remap": (("from", "to"), ("from", "to")),
    "env": (("name", "value"), ("name", "value")),
    "include.arg": (("name", "value"), ("name", "value")),
}


# --- the plan ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LaunchArgument:
    """A declared ``arg``: ``default`` is its unevaluated text (``None``: required)."""

    name: str
    default: str | None
    description: str
    choices: tuple[str, ...]
    where: str


@dataclass(frozen=True)
class Parameter:
    """One ``name``/``value`` parameter (nested names joined with ``.``)."""

    name: str
    value: ParameterValue


@dataclass(frozen=True)
class ParameterFile:
    """A ``from:`` parameter file (ROS 2 params YAML), passed as ``--params-file``."""

    path: Path


@dataclass(frozen=True)
class NodeSpec:
    """A node to start, every substitution performed.

    Attributes:
        package: ``pkg``.
        executable: ``exec``.
        name: node name override (``None``: the executable's default name).
        namespace: absolute namespace (``None``: none given or pushed).
        parameters: parameters and parameter files in the order given (later ones win).
        remappings: ``(from, to)`` topic remaps.
        env: extra environment variables for the process.
        arguments: extra command-line arguments before ``--ros-args``.
        output: ``screen``, ``log`` or ``both`` (ros2 launch's default is ``log``).
        where: ``FILE:LINE: path`` of the ``node`` entity.
        command: argv prefix that runs the executable (empty if not resolved).
    """

    package: str
    executable: str
    name: str | None
    namespace: str | None
    parameters: tuple[Parameter | ParameterFile, ...] = ()
    remappings: tuple[tuple[str, str], ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    arguments: tuple[str, ...] = ()
    output: str = "log"
    where: str = ""
    command: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """Short name for output prefixes: the node name, else the executable."""
        return self.name or self.executable

    def ros_arguments(self) -> list[str]:
        """``--ros-args`` for this node: name, namespace, parameters (in order), remaps."""
        args: list[str] = []
        if self.name:
            args += ["-r", f"__node:={self.name}"]
        if self.namespace:
            args += ["-r", f"__ns:={self.namespace}"]
        for rule in self.parameters:
            if isinstance(rule, ParameterFile):
                args += ["--params-file", str(rule.path)]
            else:
                args += ["-p", f"{rule.name}:={format_parameter_value(rule.value)}"]
        for source, target in self.remappings:
            args += ["-r", f"{source}:={target}"]
        return ["--ros-args", *args] if args else []

    def argv(self) -> list[str]:
        """Full command line (``command`` must be resolved)."""
        if not self.command:
            raise LaunchError(f"executable {self.package}/{self.executable} was not resolved", self.where)
        return [*self.command, *self.arguments, *self.ros_arguments()]


@dataclass(frozen=True)
class LaunchPlan:
    """What a launch file starts.

    Attributes:
        file: the launch file given.
        nodes: nodes in launch order.
        arguments: every ``arg`` declared (including in included files), in order.
        configuration: launch configurations at the end of the top-level file.
        files: launch files and parameter files read.
        unused_arguments: command-line arguments no ``arg`` declares (usually a typo).
    """

    file: Path
    nodes: tuple[NodeSpec, ...]
    arguments: tuple[LaunchArgument, ...]
    configuration: dict[str, str]
    files: tuple[Path, ...]
    unused_arguments: tuple[str, ...] = ()


def format_parameter_value(value: ParameterValue) -> str:
    """YAML text for ``-p name:=VALUE`` that reads back as ``value`` with its type.

    Strings that YAML would read as another type (``"4.0"``, ``"true"``, ``""``) are quoted.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        mantissa, e, exponent = text.partition("e")
        if "." not in mantissa:  # YAML 1.1 floats need a dot: 1e+20 -> 1.0e+20
            mantissa += ".0"
        return mantissa + e + exponent
    if isinstance(value, str):
        try:
            plain = load_yaml(value, "a parameter value") == value and value == value.strip() and value != ""
        except YamlError:  # not YAML on its own (or over the reader's limits): quote it
            plain = False
        return value if plain and "\n" not in value else "'" + value.replace("'", "''") + "'"
    if isinstance(value, list):
        items = [
            "'" + v.replace("'", "''") + "'" if isinstance(v, str) else format_parameter_value(v)
            for v in value
        ]
        return "[" + ", ".join(items) + "]"
    raise TypeError(f"not a parameter value: {value!r}")


# --- YAML with positions -------------------------------------------------------------------------


def _display(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _construct(node: yaml.Node, where: str) -> Any:
    """The value of a node; a tagged scalar that cannot be built (``!!int abc``) is a LaunchError."""
    try:
        return construct_node(node, "YAML")
    except YamlError as exc:
        raise LaunchError(exc.reason, where) from None


class _Entity:
    """A YAML mapping (or list of children) in a launch file, with its file, line and path."""

    def __init__(self, node: yaml.Node, file: Path, path: str) -> None:
        self.node, self.file, self.path = node, file, path
        self.line = node.start_mark.line + 1
        self.items: dict[str, yaml.Node] = {}
        self.key_lines: dict[str, int] = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = _construct(key_node, self._at(key_node.start_mark.line + 1))
                if not isinstance(key, str):
                    raise LaunchError(
                        f"keys must be strings; got {key!r}", self._at(key_node.start_mark.line + 1)
                    )
                if key in self.items:
                    raise LaunchError(f"duplicate key {key!r}", self._at(key_node.start_mark.line + 1))
                self.items[key] = value_node
                self.key_lines[key] = key_node.start_mark.line + 1

    def _at(self, line: int, suffix: str = "") -> str:
        return f"{_display(self.file)}:{line}: {self.path}{suffix}"

    @property
    def where(self) -> str:
        return self._at(self.line)

    def where_key(self, key: str) -> str:
        return self._at(self.key_lines.get(key, self.line), f".{key}")

    def error(self, message: str, key: str | None = None) -> LaunchError:
        return LaunchError(message, self.where_key(key) if key else self.where)

    def require_mapping(self, what: str) -> None:
        if not isinstance(self.node, yaml.MappingNode):
            raise self.error(f"{what} must be a mapping of keys; got a {_kind(self.node)}")

    def check_keys(self, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
        for key in self.items:
            if key not in allowed:
                raise self.error(
                    f"unsupported key {key!r} (robocritic launch supports: {', '.join(sorted(allowed))})", key
                )
        for key in required:
            if key not in self.items:
                raise self.error(f"missing required key {key!r}")

    def scalar(self, key: str) -> Any:
        node = self.items[key]
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(f"must be a scalar; got a {_kind(node)}", key)
        return _construct(node, self.where_key(key))

    def text(self, key: str, default: str | None = None) -> str | None:
        """A string attribute (ros2 launch types these strictly: ``1.0`` must be quoted)."""
        if key not in self.items:
            return default
        value = self.scalar(key)
        if not isinstance(value, str):
            raise self.error(
                f'must be a string; got {type(value).__name__} {value!r} (quote it: "{value}")', key
            )
        return value

    def value(self, key: str) -> Any:
        """Any YAML value (scalar or list of scalars) for parameter values."""
        node = self.items[key]
        if isinstance(node, yaml.ScalarNode):
            return _construct(node, self.where_key(key))
        if isinstance(node, yaml.SequenceNode) and all(isinstance(n, yaml.ScalarNode) for n in node.value):
            return [_construct(n, self.where_key(key)) for n in node.value]
        raise self.error(f"must be a scalar or a list of scalars; got a {_kind(node)}", key)

    def entities(self, key: str) -> list[_Entity]:
        """A list of mappings (``param``, ``remap``, ``env``, ``choice``, ``arg`` of include)."""
        node = self.items[key]
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(f"must be a list of mappings; got a {_kind(node)}", key)
        out = []
        for i, item in enumerate(node.value):
            entity = _Entity(item, self.file, f"{self.path}.{key}[{i}]")
            entity.require_mapping(key)
            out.append(entity)
        return out


def _kind(node: yaml.Node) -> str:
    return {yaml.MappingNode: "mapping", yaml.SequenceNode: "list"}.get(type(node), "scalar")


def _actions(node: yaml.Node, file: Path, path: str) -> Iterator[tuple[str, _Entity]]:
    """The entities of a list of single-key mappings (``- node: {...}``)."""
    if not isinstance(node, yaml.SequenceNode):
        raise LaunchError(
            f"must be a list of entities (- node: ..., - arg: ...); got a {_kind(node)}",
            f"{_display(file)}:{node.start_mark.line + 1}: {path}",
        )
    for i, item in enumerate(node.value):
        where = f"{_display(file)}:{item.start_mark.line + 1}: {path}[{i}]"
        if not isinstance(item, yaml.MappingNode) or len(item.value) != 1:
            raise LaunchError("each entity must be a mapping with exactly one key, the entity type", where)
        key_node, value_node = item.value[0]
        kind = _construct(key_node, where)
        if kind not in ACTIONS:
            raise LaunchError(
                f"unsupported entity {kind!r} (robocritic launch supports: "
                f"{', '.join(a for a in ACTIONS if a != 'push_ros_namespace')})",
                where,
            )
        yield kind, _Entity(value_node, file, f"{path}[{i}].{kind}")


def _validate(node: yaml.Node, file: Path, path: str) -> None:
    """Check a file's whole structure before running any of it, so an unsupported entity or key
    is reported as such and not masked by an earlier argument error (as ros2 launch parses first)."""
    for kind, entity in _actions(node, file, path):
        if kind == "group" and isinstance(entity.node, yaml.SequenceNode):
            _validate(entity.node, file, entity.path)
            continue
        entity.require_mapping(kind)
        entity.check_keys(*_SCHEMA[kind])
        if kind == "group":
            _validate(entity.items["children"], file, entity.path)
        subs = {"arg": ("choice",), "node": ("remap", "env"), "include": ("arg",)}.get(kind, ())
        for key in subs:
            if key in entity.items:
                for sub in entity.entities(key):
                    sub.check_keys(*_SCHEMA["include.arg" if kind == "include" else key])
        if kind == "node" and "param" in entity.items:
            _validate_params(entity.entities("param"))


def _validate_params(params: list[_Entity]) -> None:
    for param in params:
        if "from" in param.items:
            param.check_keys(("from",))
        else:
            param.check_keys(("name", "value", "type", "param"), required=("name",))
            if "param" in param.items:
                _validate_params(param.entities("param"))


# --- interpretation ------------------------------------------------------------------------------


@dataclass
class _Scope:
    variables: dict[str, str]
    namespace: str | None = None


@dataclass
class _Reader:
    environ: Mapping[str, str]
    check_executables: bool
    find_share: Callable[[str], Path]
    nodes: list[NodeSpec] = field(default_factory=list)
    arguments: list[LaunchArgument] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    stack: list[Path] = field(default_factory=list)

    # -- helpers --

    def context(self, scope: _Scope, file: Path) -> SubstitutionContext:
        return SubstitutionContext(
            variables=scope.variables,
            environ=dict(self.environ),
            find_package_share=lambda pkg: str(self.find_share(pkg)),
            dirname=str(file.parent),
        )

    def sub(self, entity: _Entity, key: str, scope: _Scope, text: str | None = None) -> str:
        raw = entity.text(key) if text is None else text
        assert raw is not None
        where = entity.where_key(key)
        return evaluate(parse_template(raw, where), self.context(scope, entity.file), where)

    # -- files --

    def read_file(self, path: Path, scope: _Scope, where: str | None) -> None:
        path = path.resolve()
        if path in self.stack:
            chain = " -> ".join(_display(p) for p in [*self.stack, path])
            raise LaunchError(f"include cycle: {chain}", where)
        if len(self.stack) >= _MAX_INCLUDE_DEPTH:
            raise LaunchError(f"includes nested deeper than {_MAX_INCLUDE_DEPTH}", where)
        if not path.name.endswith((".yaml", ".yml")):
            raise LaunchError(
                f"{_display(path)}: only YAML launch files (*.launch.yaml) are supported; "
                "Python and XML launch files need ros2 launch",
                where,
            )
        root = _compose_launch_file(path, where)
        self.files.append(path)
        if root is None:
            raise LaunchError(f"{_display(path)}: empty launch file (expected 'launch:' and a list)", where)
        top = _Entity(root, path, "")
        top.path = "<top level>"
        top.require_mapping("a launch file")
        if list(top.items) != ["launch"]:
            raise LaunchError("a launch file has exactly one top-level key, 'launch'", top.where)
        _validate(top.items["launch"], path, "launch")
        self.stack.append(path)
        try:
            self.run_actions(top.items["launch"], path, "launch", scope)
        finally:
            self.stack.pop()

    def run_actions(self, node: yaml.Node, file: Path, path: str, scope: _Scope) -> None:
        for kind, entity in _actions(node, file, path):
            handler = {
                "arg": self.on_arg, "node": self.on_node, "group": self.on_group,
                "include": self.on_include, "push-ros-namespace": self.on_push_namespace,
                "push_ros_namespace": self.on_push_namespace,
            }[kind]  # fmt: skip
            handler(entity, scope)

    # -- entities --

    def on_arg(self, entity: _Entity, scope: _Scope) -> None:
        entity.require_mapping("arg")
        entity.check_keys(*_SCHEMA["arg"])
        name = entity.text("name")
        assert name is not None
        if not name:
            raise entity.error("must not be empty", "name")
        default = entity.text("default")
        if default is not None:
            parse_template(default, entity.where_key("default"))  # reject bad syntax even if unused
        choices: list[str] = []
        if "choice" in entity.items:
            for choice in entity.entities("choice"):
                choice.check_keys(*_SCHEMA["choice"])
                value = choice.text("value")
                assert value is not None
                choices.append(value)
        self.arguments.append(
            LaunchArgument(name, default, entity.text("description", "") or "", tuple(choices), entity.where)
        )
        if name not in scope.variables:
            if default is None:
                raise entity.error(f"required launch argument {name!r} was not given (pass {name}:=VALUE)")
            scope.variables[name] = self.sub(entity, "default", scope)
        if choices and scope.variables[name] not in choices:
            raise entity.error(
                f"launch argument {name!r} = {scope.variables[name]!r} is not one of {choices}"
            )

    def on_push_namespace(self, entity: _Entity, scope: _Scope) -> None:
        entity.require_mapping("push-ros-namespace")
        entity.check_keys(*_SCHEMA["push-ros-namespace"])
        scope.namespace = _join_namespace(scope.namespace, self.sub(entity, "namespace", scope), entity)

    def on_group(self, entity: _Entity, scope: _Scope) -> None:
        scoped, forwarding = True, True
        children = entity.node
        if isinstance(entity.node, yaml.MappingNode):
            entity.check_keys(*_SCHEMA["group"])
            scoped = self.flag(entity, "scoped", scope, True)
            forwarding = self.flag(entity, "forwarding", scope, True)
            children = entity.items["children"]
        if not scoped:
            self.run_actions(children, entity.file, entity.path, scope)
            return
        inner = _Scope(dict(scope.variables) if forwarding else {}, scope.namespace)
        self.run_actions(children, entity.file, entity.path, inner)

    def flag(self, entity: _Entity, key: str, scope: _Scope, default: bool) -> bool:
        if key not in entity.items:
            return default
        value = entity.scalar(key)
        if isinstance(value, str):
            value = _safe_yaml(self.sub(entity, key, scope), entity.where_key(key))
        if not isinstance(value, bool):
            raise entity.error(f"must be true or false; got {value!r}", key)
        return value

    def on_include(self, entity: _Entity, scope: _Scope) -> None:
        entity.require_mapping("include")
        entity.check_keys(*_SCHEMA["include"])
        target = Path(self.sub(entity, "file", scope))
        if not target.is_absolute():
            target = entity.file.parent / target
        for arg in entity.entities("arg") if "arg" in entity.items else []:
            arg.check_keys(*_SCHEMA["include.arg"])
            scope.variables[self.sub(arg, "name", scope)] = self.sub(arg, "value", scope)
        self.read_file(target, scope, entity.where_key("file"))

    def on_node(self, entity: _Entity, scope: _Scope) -> None:
        entity.require_mapping("node")
        entity.check_keys(*_SCHEMA["node"])
        package = self.sub(entity, "pkg", scope)
        executable = self.sub(entity, "exec", scope)
        name = self.sub(entity, "name", scope) if "name" in entity.items else None
        if name is not None:
            try:
                validate_node_name(name)
            except ValueError as exc:
                raise entity.error(str(exc), "name") from None
        namespace = scope.namespace
        if "namespace" in entity.items:
            namespace = _join_namespace(namespace, self.sub(entity, "namespace", scope), entity, "namespace")
        output = self.sub(entity, "output", scope) if "output" in entity.items else "log"
        if output not in OUTPUTS:
            raise entity.error(f"must be one of {list(OUTPUTS)}; got {output!r}", "output")
        arguments = tuple(self.sub(entity, "args", scope).split()) if "args" in entity.items else ()
        parameters: list[Parameter | ParameterFile] = []
        for param in entity.entities("param") if "param" in entity.items else []:
            parameters.extend(self.parameter(param, scope, prefix=""))
        remappings = []
        for remap in entity.entities("remap") if "remap" in entity.items else []:
            remap.check_keys(*_SCHEMA["remap"])
            remappings.append((self.sub(remap, "from", scope), self.sub(remap, "to", scope)))
        env = []
        for var in entity.entities("env") if "env" in entity.items else []:
            var.check_keys(*_SCHEMA["env"])
            env.append((self.sub(var, "name", scope), self.sub(var, "value", scope)))
        command: tuple[str, ...] = ()
        if self.check_executables:
            try:
                command = tuple(find_executable(package, executable, self.environ))
            except LaunchError as exc:
                raise entity.error(str(exc)) from None
        self.nodes.append(
            NodeSpec(
                package=package, executable=executable, name=name, namespace=namespace,
                parameters=tuple(parameters), remappings=tuple(remappings), env=tuple(env),
                arguments=arguments, output=output, where=entity.where, command=command,
            )
        )  # fmt: skip

    def parameter(self, param: _Entity, scope: _Scope, prefix: str) -> list[Parameter | ParameterFile]:
        if "from" in param.items:
            if prefix:
                raise param.error("'from' is not allowed in a nested parameter")
            param.check_keys(("from",))
            path = Path(self.sub(param, "from", scope))
            if not path.is_absolute():
                path = param.file.parent / path
            _check_params_file(path, param.where_key("from"))
            self.files.append(path)
            return [ParameterFile(path)]
        param.check_keys(("name", "value", "type", "param"), required=("name",))
        name = prefix + self.sub(param, "name", scope)
        if "param" in param.items:
            if "value" in param.items or "type" in param.items:
                raise param.error("a parameter has either 'value' (and 'type') or nested 'param', not both")
            out: list[Parameter | ParameterFile] = []
            for child in param.entities("param"):
                out.extend(self.parameter(child, scope, prefix=name + "."))
            return out
        if "value" not in param.items:
            raise param.error("missing 'value' (or nested 'param')")
        type_name = param.text("type")
        if type_name is not None and type_name not in PARAMETER_TYPES:
            raise param.error(f"unknown type {type_name!r}; one of {sorted(PARAMETER_TYPES)}", "type")
        raw = param.value("value")
        value = self.parameter_value(param, raw, scope, type_name)
        return [Parameter(name, value)]

    def parameter_value(
        self, param: _Entity, raw: Any, scope: _Scope, type_name: str | None
    ) -> ParameterValue:
        """Value and type of one parameter, as launch_ros decides them (see the module docstring)."""
        where = param.where_key("value")
        context = self.context(scope, param.file)
        expected, is_list = PARAMETER_TYPES.get(type_name or "", (None, False))

        def item(value: Any, item_type: type | None) -> Any:
            if not isinstance(value, str):
                return value
            template = parse_template(value, where)
            if not has_substitutions(template):
                if item_type not in (None, str):  # launch_ros: a quoted plain string is a str
                    raise LaunchError(
                        f"{value!r} is a string, not a {item_type.__name__}: write the YAML value unquoted "
                        f"(ros2 launch rejects it too)",
                        where,
                    )
                return evaluate(template, context, where)
            return _coerce(evaluate(template, context, where), item_type, where)

        if raw is None:
            raise LaunchError("a parameter value must not be empty (null)", where)
        if isinstance(raw, list):
            if expected is not None and not is_list:
                raise LaunchError(f"a list is not a {type_name} (use list_of_{type_name})", where)
            values = [item(v, expected) for v in raw]
        elif is_list:
            if not (isinstance(raw, str) and has_substitutions(parse_template(raw, where))):
                raise LaunchError(f"{raw!r} is not a {type_name}: write a YAML list", where)
            values = _safe_yaml(evaluate(parse_template(raw, where), context, where), where)
            if not isinstance(values, list):
                raise LaunchError(f"{raw!r} does not evaluate to a {type_name}", where)
        else:
            value = item(raw, expected)
            if isinstance(value, list):  # a substitution that reads as a YAML list
                return _check_list(value, where)
            _check_type(value, expected, where)
            return value
        for value in values:
            _check_type(value, expected, where)
        return _check_list(values, where)


def _check_type(value: Any, expected: type | None, where: str) -> None:
    # Exact types, as launch_ros and rclpy check them: 4 is not a float, true is not an int.
    if expected is not None and type(value) is not expected:
        raise LaunchError(f"{value!r} is not a {expected.__name__}", where)


def _check_list(values: list, where: str) -> list:
    if not values:
        raise LaunchError("empty list parameters have no type in ROS 2; give at least one item", where)
    if not all(isinstance(v, (bool, int, float, str)) for v in values):
        raise LaunchError(f"list items must be bool, int, float or str; got {values!r}", where)
    if len({type(v) for v in values}) > 1:
        raise LaunchError(
            f"list items must all have one type (ROS 2 arrays are homogeneous); got {values!r}", where
        )
    return values


def _safe_yaml(text: str, where: str) -> Any:
    try:
        return load_yaml(text, "value")
    except YamlError as exc:
        raise LaunchError(f"{text!r} is not a YAML value: {exc.reason}", where) from None


def _compose_launch_file(path: Path, where: str | None) -> yaml.Node | None:
    """The node tree of a launch file, read within the limits of robocritic.utils.safe_yaml."""
    try:
        return compose_yaml(path, _display(path))
    except YamlReadError as exc:
        raise LaunchError(f"cannot read launch file {_display(path)}: {exc.reason}", where) from None
    except YamlSyntaxError as exc:
        raise LaunchError(f"{_display(path)}: invalid YAML: {exc.reason}", where) from None
    except YamlError as exc:  # a limit: size, alias expansion, nesting, a recursive alias
        raise LaunchError(str(exc), where) from None


def _coerce(text: str, expected: type | None, where: str) -> Any:
    """Type of a substituted string, as launch_ros decides it: YAML rules unless a type is given."""
    if expected is str:
        return text
    if expected in (int, float):
        try:
            return expected(text)
        except ValueError:
            raise LaunchError(f"{text!r} is not a {expected.__name__}", where) from None
    if not text and expected is None:
        return text
    value = _safe_yaml(text, where)
    if expected is bool:
        if not isinstance(value, bool):
            raise LaunchError(f"{text!r} is not a bool", where)
        return value
    if isinstance(value, list):
        return value
    if not isinstance(value, (bool, int, float, str)):
        raise LaunchError(
            f"{text!r} reads as {type(value).__name__}, not a bool, int, float, str or list of one of them",
            where,
        )
    return value


def _join_namespace(base: str | None, namespace: str, entity: _Entity, key: str = "namespace") -> str | None:
    if not namespace:
        return base
    joined = namespace if namespace.startswith("/") or not base else f"{base.rstrip('/')}/{namespace}"
    try:
        return normalize_namespace(joined.rstrip("/") or "/")
    except ValueError as exc:
        raise entity.error(str(exc), key) from None


def _check_params_file(path: Path, where: str) -> None:
    """A ROS 2 parameters file: ``NODE_PATTERN: {ros__parameters: {...}}`` at the top."""
    try:
        data = load_yaml(path, _display(path))
    except YamlReadError as exc:
        raise LaunchError(f"cannot read parameter file {_display(path)}: {exc.reason}", where) from None
    except YamlSyntaxError as exc:
        raise LaunchError(f"parameter file {_display(path)} is not valid YAML: {exc.reason}", where) from None
    except YamlError as exc:  # a limit
        raise LaunchError(f"parameter file {exc}", where) from None
    if not isinstance(data, dict) or not data:
        raise LaunchError(f"parameter file {_display(path)} must map node names to 'ros__parameters'", where)
    for node, body in data.items():
        if not isinstance(body, dict) or "ros__parameters" not in body:
            raise LaunchError(
                f"parameter file {_display(path)}: entry {node!r} needs a 'ros__parameters' mapping "
                "(e.g. '/**: {ros__parameters: {...}}')",
                where,
            )


def load_launch_file(
    path: str | os.PathLike[str],
    arguments: Mapping[str, str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    check_executables: bool = True,
) -> LaunchPlan:
    """Read a YAML launch file and everything it includes into a :class:`LaunchPlan`.

    Args:
        path: the ``*.launch.yaml`` file.
        arguments: launch arguments from the command line (``name -> value``).
        environ: environment for ``$(env ...)`` and package look-up (default ``os.environ``).
        check_executables: resolve each node's executable now (a missing one is an error).

    Raises:
        LaunchError: anything malformed, unsupported or unresolvable, with file, line and entity.
    """
    env = dict(os.environ if environ is None else environ)
    given = dict(arguments or {})
    reader = _Reader(environ=env, check_executables=check_executables,
                     find_share=lambda pkg: find_package_share(pkg, env))  # fmt: skip
    scope = _Scope(dict(given))
    reader.read_file(Path(path), scope, None)
    declared = {a.name for a in reader.arguments}
    return LaunchPlan(
        file=Path(path),
        nodes=tuple(reader.nodes),
        arguments=tuple(reader.arguments),
        configuration=scope.variables,
        files=tuple(dict.fromkeys(reader.files)),
        unused_arguments=tuple(sorted(set(given) - declared)),
    )


def parse_launch_arguments(items: list[str]) -> dict[str, str]:
    """``["a:=1", "b:=x"]`` -> ``{"a": "1", "b": "x"}`` (``LaunchError`` on anything else)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition(":=")
        if not sep or not name:
            raise LaunchError(f"launch arguments are written name:=value; got {item!r}")
        out[name] = value
    return out


__all__ = [
    "ACTIONS",
    "OUTPUTS",
    "LaunchArgument",
    "LaunchPlan",
    "NodeSpec",
    "Parameter",
    "ParameterFile",
    "ParameterValue",
    "format_parameter_value",
    "load_launch_file",
    "parse_launch_arguments",
]
