"""Bounded YAML reading: every YAML file robocritic reads (hardware profiles, launch and parameter
files, configs, explicit-MPC specs) goes through :func:`load_yaml` or :func:`compose_yaml`.

``yaml.safe_load`` is safe against code execution but not against size: a few hundred bytes of
nested aliases ("billion laughs") describe a structure with billions of entries once expanded,
and every consumer that walks, converts or prints it (``repr`` in an error message, lists turned
into tuples) expands it. Deep nesting exhausts the recursion limit, and PyYAML's scalar
constructors raise bare ``ValueError``/``AttributeError`` for ``!!int abc``. Here every problem is
a :class:`YamlError` (a ``ValueError``) that names the source and, for a limit, the limit:

* the file is at most ``max_bytes`` long and UTF-8 text;
* the document, with every alias expanded, has at most ``max_nodes`` nodes (an alias counts as
  the whole node it refers to, so a bomb is refused while it is being read, before anything
  walks it), and no alias refers to a node that contains it;
* nesting is at most ``max_depth`` levels;
* messages are shortened (PyYAML quotes anchors and scalars verbatim in its problems).

Imports nothing of robocritic: the ROS 2 runtime (``robocritic.ros``) uses it too.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "YamlError",
    "YamlLimitError",
    "YamlReadError",
    "YamlSyntaxError",
    "compose_yaml",
    "construct_node",
    "load_yaml",
    "read_yaml_text",
    "shorten",
]

MAX_BYTES = 1 << 20
"""Largest YAML file read (bytes); robocritic's own files are a few kilobytes."""
MAX_NODES = 50_000
"""Most nodes of one document with every alias expanded."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists; also keeps the recursive composer far from Python's
recursion limit."""
MAX_REASON = 500
"""Longest problem text kept in a message (characters)."""


def shorten(text: str, limit: int = MAX_REASON) -> str:
    """``text`` cut to at most ``limit`` characters, keeping both ends (a mark is at the end)."""
    if len(text) <= limit:
        return text
    keep = max(limit - 5, 2)
    return f"{text[: keep // 2]} ... {text[len(text) - (keep - keep // 2):]}"


class YamlError(ValueError):
    """A YAML source cannot be read; ``str()`` is ``SOURCE: PROBLEM``.

    Attributes:
        source: the file (or the label given for a text).
        reason: the problem without the source (shortened).
    """

    prefix = ""

    def __init__(self, source: str, reason: str | None = None) -> None:
        if reason is None:  # re-created from its message (unpickled, or handed back by a child process)
            self.source, self.reason = "", str(source)
            super().__init__(str(source))
            return
        self.source, self.reason = shorten(str(source), 300), shorten(reason)
        super().__init__(f"{self.source}: {self.prefix}{self.reason}")


class YamlReadError(YamlError):
    """The file is missing, a directory, unreadable or not UTF-8."""

    prefix = "cannot read: "


class YamlSyntaxError(YamlError):
    """The text is not valid YAML, or a value cannot be constructed (``!!int abc``)."""

    prefix = "not valid YAML: "


class YamlLimitError(YamlError):
    """The file or document exceeds a limit (size, expanded nodes, depth) or holds a recursive alias."""


@dataclass(frozen=True)
class _Limits:
    max_bytes: int
    max_nodes: int
    max_depth: int


class _LimitExceeded(Exception):
    """Raised inside the loader; :func:`compose_yaml` turns it into :class:`YamlLimitError`."""

    def __init__(self, reason: str, mark: yaml.Mark | None) -> None:
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        super().__init__(reason + where)


class _Constructor(yaml.constructor.SafeConstructor):
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        # PyYAML's scalar constructors raise these bare (int('abc'), a timestamp regex that does
        # not match, date(2024, 13, 45), base64 that is not), without a position.
        except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as exc:
            value = shorten(repr(node.value), 80) if isinstance(node, yaml.ScalarNode) else "value"
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {value} as {node.tag} ({shorten(str(exc), 120)})", node.start_mark
            ) from None


class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer,
              _Constructor, yaml.resolver.Resolver):
    """SafeLoader that counts nesting and alias-expanded nodes while composing."""

    def __init__(self, text: str, source: str, limits: _Limits) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Constructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self.name = source  # PyYAML's marks name the file, not "<unicode string>"
        self._limits = limits
        self._depth = 0
        self._expanded = 0
        self._sizes: dict[int, int] = {}  # id(anchored node) -> its size with aliases expanded
        self._open: set[str] = set()  # anchors whose node is still being composed

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise _LimitExceeded(f"alias *{shorten(str(event.anchor), 60)} refers to a node that contains "
                                     "it (a recursive alias)", event.start_mark)
            node = super().compose_node(parent, index)
            self._grow(self._sizes.get(id(node), 1), event.start_mark)
            return node
        self._depth += 1
        if self._depth > self._limits.max_depth:
            raise _LimitExceeded(f"nesting deeper than {self._limits.max_depth} levels (the limit)",
                                 event.start_mark)
        start = self._expanded
        self._grow(1, event.start_mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open.add(anchor)
        node = super().compose_node(parent, index)
        if anchor is not None:
            self._open.discard(anchor)
            self._sizes[id(node)] = self._expanded - start
        self._depth -= 1
        return node

    def _grow(self, count: int, mark: yaml.Mark) -> None:
        self._expanded += count
        if self._expanded > self._limits.max_nodes:
            raise _LimitExceeded(f"more than {self._limits.max_nodes} nodes with aliases expanded (the limit; "
                                 "an alias counts as the whole node it refers to)", mark)


class _RclLoader(_Loader):
    """:class:`_Loader` that also reads ``1e-3`` (no dot) as a float, as rcl reads parameter files
    (PyYAML follows YAML 1.1, where it is a string; a file that works on a robot must work here)."""


_RclLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read_yaml_text(path: str | os.PathLike[str], source: str | None = None, *,
                   max_bytes: int = MAX_BYTES) -> str:
    """The text of a YAML file: at most ``max_bytes`` bytes of UTF-8 (a BOM is allowed).

    Raises:
        YamlReadError: missing, a directory, unreadable, or not UTF-8.
        YamlLimitError: larger than ``max_bytes``.
    """
    source = str(path) if source is None else source
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)  # never more, whatever the file (or device) holds
    except IsADirectoryError:
        raise YamlReadError(source, "is a directory, not a file") from None
    except FileNotFoundError:
        raise YamlReadError(source, "no such file") from None
    except OSError as exc:
        raise YamlReadError(source, exc.strerror or type(exc).__name__) from None
    except ValueError as exc:  # a path with a NUL byte
        raise YamlReadError(source, f"not a usable path ({exc})") from None
    if len(data) > max_bytes:
        raise YamlLimitError(source, f"larger than {max_bytes} bytes (the limit for a YAML file)")
    return _decode(data, source)


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlReadError(source, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def _text(text_or_path: str | bytes | os.PathLike[str], source: str | None, limits: _Limits) -> tuple[str, str]:
    if isinstance(text_or_path, os.PathLike):
        source = str(text_or_path) if source is None else source
        return read_yaml_text(text_or_path, source, max_bytes=limits.max_bytes), source
    source = "<yaml>" if source is None else source
    if len(text_or_path) > limits.max_bytes:  # characters of a str: at least as many bytes
        raise YamlLimitError(source, f"longer than {limits.max_bytes} bytes (the limit for a YAML text)")
    if isinstance(text_or_path, bytes):
        return _decode(text_or_path, source), source
    return text_or_path, source


def _run(text_or_path: str | bytes | os.PathLike[str], source: str | None, limits: _Limits,
         construct: bool, rcl_floats: bool = False) -> Any:
    text, source = _text(text_or_path, source, limits)
    loader = None
    try:
        loader = (_RclLoader if rcl_floats else _Loader)(text, source, limits)  # checks non-printables
        return loader.get_single_data() if construct else loader.get_single_node()
    except _LimitExceeded as exc:
        raise YamlLimitError(source, str(exc)) from None
    except yaml.YAMLError as exc:
        if isinstance(exc, yaml.reader.ReaderError):
            exc.name = source  # raised before the loader could name its marks
        raise YamlSyntaxError(source, str(exc)) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml(text_or_path: str | bytes | os.PathLike[str], source: str | None = None, *,
              max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH,
              rcl_floats: bool = False) -> Any:
    """``yaml.safe_load`` with the limits of the module docstring.

    Args:
        text_or_path: a path (``pathlib.Path`` or another ``os.PathLike``) is read from disk; a
            ``str`` is YAML text; ``bytes`` are UTF-8 YAML text.
        source: the name in messages (default: the path, or ``"<yaml>"`` for a text).
        rcl_floats: also read ``1e-3`` as a float, as rcl reads ROS 2 parameter files.

    Returns:
        The single document's data (``None`` for an empty one).

    Raises:
        YamlError: :class:`YamlReadError`, :class:`YamlSyntaxError` or :class:`YamlLimitError`,
            the message starting with ``source``.
    """
    return _run(text_or_path, source, _Limits(max_bytes, max_nodes, max_depth), construct=True,
                rcl_floats=rcl_floats)


def compose_yaml(text_or_path: str | bytes | os.PathLike[str], source: str | None = None, *,
                 max_bytes: int = MAX_BYTES, max_nodes: int = MAX_NODES,
                 max_depth: int = MAX_DEPTH) -> yaml.Node | None:
    """``yaml.compose`` (nodes with positions, nothing constructed) with the limits of
    :func:`load_yaml`; build values from the nodes with :func:`construct_node`."""
    return _run(text_or_path, source, _Limits(max_bytes, max_nodes, max_depth), construct=False)


def construct_node(node: yaml.Node, source: str) -> Any:
    """The value of one node of :func:`compose_yaml` (safe types only).

    Raises:
        YamlSyntaxError: a value that cannot be constructed (``!!int abc``, an unhashable key).
    """
    try:
        return _Constructor().construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(source, str(exc)) from None
