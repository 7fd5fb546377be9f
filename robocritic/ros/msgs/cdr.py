"""Fast CDR encoding and decoding of the ROS 2 message types, byte-identical to cyclonedds'.

cyclonedds' generic serialiser interprets each type's layout field by field in Python, which is
too slow for a 1 kHz loop (BENCHMARKS.md, msg_codec). Here each message class
gets an encoder and a decoder generated once from its field types: runs of fixed-size fields are
packed with one precompiled :class:`struct.Struct`, ``sequence[float64]`` and friends with one
pack call, and ``uint8`` sequences (images) as one block. The result is what ROS 2 puts on the
wire: the 4-byte encapsulation header (CDR, little endian) and XCDR1 plain CDR of a final struct
(primitives aligned to their size, counted from the end of the header; strings as uint32 length
including the NUL, bytes, NUL; sequences as uint32 count then elements; arrays without count).
tests/ros/test_msgs_cdr.py proves the bytes equal cyclonedds' and rosbags' for every type.

    data = encode(msg)                 # bytes, == msg.serialize()
    msg2 = decode(JointState, data)    # == JointState.deserialize(data), little or big endian

Decoded ``uint8`` sequences and arrays are ``bytes`` (cyclonedds gives a list of ints); every
other field decodes as cyclonedds decodes it. Types the generator does not cover (unions,
bounded strings, non-final structs, ...) use cyclonedds' own path, so every IDL struct works.
Malformed input raises :class:`CdrError` (a ``ValueError``) naming the type and byte offset.
:func:`padding_offsets` lists the alignment padding bytes of an encoding: zeros here, whatever the
buffer held in Fast CDR's output (tests/ros2/test_cdr_rclpy.py compares with rclpy's bytes).
"""

from __future__ import annotations

import struct
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, bounded_str, sequence

# IDL primitive name -> struct format code; the size of each is its CDR alignment (XCDR1).
_PRIMITIVES = {
    "int8": "b", "uint8": "B", "byte": "B", "int16": "h", "uint16": "H", "int32": "i", "uint32": "I",
    "int64": "q", "uint64": "Q", "float32": "f", "float64": "d",
}  # fmt: skip
_ENCAPSULATION = {b"\x00\x01": "<", b"\x00\x00": ">"}  # CDR_LE, CDR_BE (plain CDR, final types)
_HEADER_LE = b"\x00\x01\x00\x00"
_PAD = bytes(8)


class CdrError(ValueError):
    """Bytes that are not a valid CDR encoding of the expected message type."""


class UnsupportedType(TypeError):
    """A field type the generator does not handle; the type then uses cyclonedds' own codec."""


def encode(msg: IdlStruct) -> bytes:
    """CDR bytes of ``msg`` with the little-endian encapsulation header (as ``msg.serialize()``)."""
    return _codec(type(msg)).encode(msg)


def decode(msg_type: type[IdlStruct], data: bytes | bytearray | memoryview) -> Any:
    """Message of ``msg_type`` from CDR bytes with encapsulation header; ``CdrError`` if malformed."""
    return _codec(msg_type).decode(data)


# --- per-type codecs ------------------------------------------------------------------------------


class _Codec:
    def __init__(self, msg_type: type[IdlStruct]) -> None:
        self.msg_type = msg_type
        self.name = msg_type.__name__
        try:
            self._encode: Callable[[Any], bytes] | None = _EncoderBuilder(msg_type).build()
            self._decoders = {order: _DecoderBuilder(msg_type, order).build() for order in "<>"}
        except UnsupportedType:
            self._encode = None
            self._decoders = {}

    def encode(self, msg: Any) -> bytes:
        if self._encode is None:
            return msg.serialize()
        try:
            return self._encode(msg)
        except (struct.error, TypeError, ValueError, AttributeError, OverflowError):
            # Re-run cyclonedds' serialiser: it raises its own error naming the bad value (or
            # accepts a value type our packer does not), so behaviour never differs from it.
            return msg.serialize()

    def decode(self, data: bytes | bytearray | memoryview) -> Any:
        data = bytes(data)
        decoder = self._decoders.get(_ENCAPSULATION.get(data[:2], ""))
        if decoder is None:
            if not self._decoders and len(data) >= 4:
                return _generic_decode(self.msg_type, data)
            raise CdrError(f"{self.name}: unsupported CDR encapsulation {data[:4].hex() or 'empty'}")
        try:
            return decoder(data)
        except CdrError:
            raise
        except (struct.error, IndexError, UnicodeDecodeError, ValueError, TypeError) as exc:
            raise CdrError(f"{self.name}: malformed CDR ({exc})") from None


def _generic_decode(msg_type: type[IdlStruct], data: bytes) -> Any:
    try:
        return msg_type.deserialize(data)
    except Exception as exc:  # noqa: BLE001 - cyclonedds raises anything on bad bytes
        raise CdrError(f"{msg_type.__name__}: malformed CDR ({exc})") from None


_CODECS: dict[type, _Codec] = {}


def _codec(msg_type: type[IdlStruct]) -> _Codec:
    codec = _CODECS.get(msg_type)
    if codec is None:
        if not (isinstance(msg_type, type) and issubclass(msg_type, IdlStruct)):
            raise TypeError(f"{msg_type!r} is not an IDL struct message type")
        codec = _CODECS[msg_type] = _Codec(msg_type)
    return codec


# --- type inspection ------------------------------------------------------------------------------


def _fields(cls: type) -> list[tuple[str, Any]]:
    """(name, field type) in declaration order of a final IDL struct."""
    if getattr(cls, "__idl_annotations__", {}).get("extensibility") != "final":
        raise UnsupportedType(f"{cls.__name__} is not a @final struct")
    if any(getattr(cls, "__idl_field_annotations__", {}).values()):
        raise UnsupportedType(f"{cls.__name__} has field annotations (keys, ids)")
    return list(typing.get_type_hints(cls, include_extras=True).items())


def _kind(tp: Any) -> tuple[str, Any]:
    """Classify a field type: ('prim', code) | ('bool', None) | ('str', max bytes or None) |
    ('struct', cls) | ('seq', element type) | ('array', (element type, length))."""
    if tp is bool:
        return "bool", None
    if tp is str:
        return "str", None
    if isinstance(tp, type) and issubclass(tp, IdlStruct):
        return "struct", tp
    args = typing.get_args(tp)
    # A field's type is Annotated[python type, meta]; an element type inside sequence/array may be
    # the bare meta object itself (e.g. sequence[bounded_str[10]]).
    meta = args[1] if typing.get_origin(tp) is typing.Annotated and len(args) == 2 else tp
    if isinstance(meta, str) and meta in _PRIMITIVES:
        return "prim", _PRIMITIVES[meta]
    if isinstance(meta, sequence) and meta.max_length is None:
        return "seq", meta.subtype
    if isinstance(meta, array):
        return "array", (meta.subtype, meta.length)
    if isinstance(meta, bounded_str):
        return "str", meta.max_length
    raise UnsupportedType(f"field type {tp!r}")


class _Alignment:
    """What is known at generation time of the payload offset: ``offset % unit == residue``."""

    def __init__(self, unit: int = 8, residue: int = 0) -> None:
        self.unit, self.residue = unit, residue

    def static_pad(self, size: int) -> int | None:
        """Padding bytes before an item of ``size`` if known now, else None."""
        if size <= self.unit:
            return -self.residue % size
        return None

    def advance(self, nbytes: int) -> None:
        self.residue = (self.residue + nbytes) % self.unit

    def reset(self, unit: int) -> None:
        self.unit, self.residue = unit, 0


class _Builder(ABC):
    """Shared code-generation state: emitted lines, constants, unique names, and the pending run of
    fixed-size fields (``run_fmt``, a struct format without byte order) with what is known of its
    alignment. Subclasses say how the generated code flushes a run and pads at run time."""

    def __init__(self, msg_type: type) -> None:
        self.msg_type = msg_type
        self.lines: list[str] = []
        self.indent = 1
        self.namespace: dict[str, Any] = {"_PAD": _PAD, "CdrError": CdrError}
        self._count = 0
        self.align = _Alignment()
        self.run_fmt = ""

    @abstractmethod
    def flush(self) -> None:
        """Emit the code for the pending run of fixed-size fields."""

    @abstractmethod
    def pad_statement(self, size: int) -> str:
        """Generated statement that aligns the offset to ``size`` bytes at run time."""

    def pad(self, size: int) -> None:
        """Align the next item to ``size`` bytes: inside the run if the offset is known, else at run time."""
        if size == 1:
            return
        static = self.align.static_pad(size)
        if static is None:
            self.flush()
            self.emit(self.pad_statement(size))
            self.align.reset(size)
        elif static:
            self.run_fmt += f"{static}x"
            self.align.advance(static)

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def const(self, prefix: str, value: Any) -> str:
        name = self.name(prefix)
        self.namespace[name] = value
        return name

    def compile(self, header: str) -> Callable[..., Any]:
        source = "\n".join([header, *self.lines])
        exec(compile(source, f"<cdr {self.msg_type.__name__}>", "exec"), self.namespace)  # noqa: S102 - code generated from type hints
        return self.namespace["_run"]


# --- encoder --------------------------------------------------------------------------------------


class _EncoderBuilder(_Builder):
    """Generates ``_run(msg) -> bytes``; ``buf`` holds header + payload, so offset = len(buf) - 4."""

    def __init__(self, msg_type: type) -> None:
        super().__init__(msg_type)
        self.run_args: list[str] = []  # values of the pending run
        self.namespace.update(_U32=struct.Struct("<I"), _pack=struct.pack, _uint8_block=_uint8_block)

    def build(self) -> Callable[[Any], bytes]:
        self.emit(f"buf = bytearray({_HEADER_LE!r})")
        self.struct_fields(self.msg_type, "msg")
        self.flush()
        self.emit("return bytes(buf)")
        return self.compile("def _run(msg):")

    def flush(self) -> None:
        if self.run_fmt:
            packer = self.const("_S", struct.Struct("<" + self.run_fmt))
            self.emit(f"buf += {packer}.pack({', '.join(self.run_args)})")
            self.run_fmt, self.run_args = "", []

    def pad_statement(self, size: int) -> str:
        return f"buf += _PAD[:(4 - len(buf)) & {size - 1}]"

    def fixed(self, code: str, count: int, args: list[str]) -> None:
        size = struct.calcsize(code)
        self.pad(size)
        self.run_fmt += f"{count}{code}" if count != 1 else code
        self.run_args += args
        self.align.advance(size * count)

    def struct_fields(self, cls: type, expr: str) -> None:
        for field, tp in _fields(cls):
            self.field(tp, f"{expr}.{field}")

    def field(self, tp: Any, expr: str) -> None:
        kind, arg = _kind(tp)
        if kind in ("prim", "bool"):
            self.fixed(_code(kind, arg), 1, [expr])
        elif kind == "struct":
            self.struct_fields(arg, expr)
        elif kind == "str":
            self.string(expr, arg)
        elif kind == "array":
            self.array(*arg, expr)
        else:
            self.sequence(arg, expr)

    def string(self, expr: str, max_bytes: int | None) -> None:
        self.pad(4)
        self.flush()
        raw = self.name("s")
        self.emit(f"{raw} = {expr}.encode()")
        if max_bytes is not None:  # cyclonedds' serialiser then reports the bound
            self.emit(f"if len({raw}) > {max_bytes}:")
            self.emit(f"    raise ValueError('string longer than {max_bytes} bytes')")
        self.emit(f"buf += _U32.pack(len({raw}) + 1)")
        self.emit(f"buf += {raw}")
        self.emit("buf += b'\\0'")
        self.align.reset(1)

    def array(self, element: Any, length: int, expr: str) -> None:
        kind, arg = _kind(element)
        if kind in ("prim", "bool"):  # part of the static run; struct checks the element count
            self.fixed(_code(kind, arg), length, [f"*{expr}"])
            return
        self.flush()
        self.emit(f"if len({expr}) != {length}:")
        self.emit(f"    raise TypeError('array field needs {length} elements')")
        self.loop(element, expr)

    def sequence(self, element: Any, expr: str) -> None:
        kind, arg = _kind(element)
        if kind not in ("prim", "bool"):
            self.fixed("I", 1, [f"len({expr})"])
            self.flush()
            self.loop(element, expr)
            return
        code = _code(kind, arg)
        self.pad(4)
        self.flush()
        values = self.name("v")
        if code == "B":  # uint8/byte: one block, e.g. an image
            self.emit(f"{values} = _uint8_block({expr})")
            self.emit(f"buf += _U32.pack(len({values}))")
            self.emit(f"buf += {values}")
            self.align.reset(1)
            return
        size = struct.calcsize(code)
        self.emit(f"{values} = {expr}")
        self.emit(f"buf += _U32.pack(len({values}))")
        self.emit(f"if len({values}):")
        if size > 1:
            self.emit("    " + self.pad_statement(size))
        self.emit(f"    buf += _pack(f'<{{len({values})}}{code}', *{values})")
        self.align.reset(min(size, 4))  # the count is 4-aligned; the elements only if there are any

    def loop(self, element: Any, expr: str) -> None:
        """Elements that are strings, structs or sequences: each starts at an unknown offset."""
        item = self.name("e")
        self.emit(f"for {item} in {expr}:")
        self.indent += 1
        self.align.reset(1)
        self.field(element, item)
        self.flush()
        self.indent -= 1
        self.align.reset(1)


def _code(kind: str, arg: str | None) -> str:
    return "?" if kind == "bool" else str(arg)


def _uint8_block(values: Any) -> bytes | bytearray:
    """A uint8 sequence as bytes: from bytes, bytearray, a 1-byte numpy array or a list of ints."""
    if isinstance(values, bytes | bytearray):
        return values
    dtype = getattr(values, "dtype", None)
    if dtype is not None:
        if dtype.kind not in "ub" or dtype.itemsize != 1:
            raise TypeError(f"a uint8 sequence needs a uint8 array, got dtype {dtype}")
        return values.tobytes()
    return bytes(values)


# --- decoder --------------------------------------------------------------------------------------


class _DecoderBuilder(_Builder):
    """Generates ``_run(data) -> msg``; ``o`` is the absolute offset, so payload offset = o - 4."""

    def __init__(self, msg_type: type, order: str) -> None:
        super().__init__(msg_type)
        self.order = order
        self.run_targets: list[tuple[str, int]] = []  # (local name, element count; 1 = scalar)
        self.namespace.update(_U32=struct.Struct(order + "I"), _unpack=struct.unpack_from)

    def build(self) -> Callable[[bytes], Any]:
        self.emit("o = 4")
        result = self.struct_value(self.msg_type)
        self.flush()
        self.emit(f"return {result}")
        return self.compile("def _run(data):")

    def flush(self) -> None:
        if not self.run_fmt:
            return
        unpacker = struct.Struct(self.order + self.run_fmt)
        name = self.const("_S", unpacker)
        if all(count == 1 for _, count in self.run_targets):
            self.emit(f"{', '.join(t for t, _ in self.run_targets)}, = {name}.unpack_from(data, o)")
        else:
            values, index = self.name("r"), 0
            self.emit(f"{values} = {name}.unpack_from(data, o)")
            for target, count in self.run_targets:
                item = f"{values}[{index}]" if count == 1 else f"list({values}[{index}:{index + count}])"
                self.emit(f"{target} = {item}")
                index += count
        self.emit(f"o += {unpacker.size}")
        self.run_fmt, self.run_targets = "", []

    def pad_statement(self, size: int) -> str:
        return f"o += (4 - o) & {size - 1}"

    def fixed(self, code: str, count: int) -> str:
        """Queue ``count`` primitives in the current run; return the local that will hold them."""
        size = struct.calcsize(code)
        self.pad(size)
        target = self.name("f")
        self.run_fmt += code if count == 1 else f"{count}{code}"
        self.run_targets.append((target, count))
        self.align.advance(size * count)
        return target

    def struct_value(self, cls: type) -> str:
        """Decode the fields of ``cls``; return an expression constructing it, valid after a flush."""
        parts = [f"{field}={self.value(tp)}" for field, tp in _fields(cls)]
        return f"{self.const('_C', cls)}({', '.join(parts)})"

    def value(self, tp: Any) -> str:
        kind, arg = _kind(tp)
        if kind in ("prim", "bool"):
            return self.fixed(_code(kind, arg), 1)
        if kind == "struct":
            return self.struct_value(arg)
        if kind == "str":
            return self.string()
        if kind == "array":
            element, length = arg
            element_kind, element_arg = _kind(element)
            if element_kind in ("prim", "bool") and _code(element_kind, element_arg) != "B":
                return self.fixed(_code(element_kind, element_arg), length)
            self.flush()
            return self.elements(element, str(length))
        count = self.fixed("I", 1)
        self.flush()
        return self.elements(arg, count)

    def string(self) -> str:
        self.pad(4)
        self.flush()
        n, target = self.name("n"), self.name("s")
        self.emit(f"{n}, = _U32.unpack_from(data, o)")
        self.emit(f"if {n} < 1 or o + 4 + {n} > len(data):")
        self.emit(f"    raise CdrError(f'bad string length {{{n}}} at byte {{o - 4}}')")
        self.emit(f"{target} = data[o + 4:o + 3 + {n}].decode()")
        self.emit(f"o += 4 + {n}")
        self.align.reset(1)
        return target

    def elements(self, element: Any, count: str) -> str:
        """``count`` elements (a local or a literal) of a sequence or a non-primitive array."""
        kind, arg = _kind(element)
        target = self.name("a")
        # every element takes at least one byte: a count beyond the data is malformed, not a loop
        size = struct.calcsize(_code(kind, arg)) if kind in ("prim", "bool") else 1
        self.emit(f"if {count} * {size} > len(data) - o:")
        self.emit(f"    raise CdrError(f'{{{count}}} elements overrun the data at byte {{o - 4}}')")
        if kind in ("prim", "bool"):
            code = _code(kind, arg)
            if code == "B":
                self.emit(f"{target} = data[o:o + {count}]")
                self.emit(f"o += {count}")
                self.align.reset(1)
                return target
            self.emit(f"if {count}:")
            if size > 1:
                self.emit("    " + self.pad_statement(size))
            self.emit(f"    {target} = list(_unpack(f'{self.order}{{{count}}}{code}', data, o))")
            self.emit(f"    o += {count} * {size}")
            self.emit("else:")
            self.emit(f"    {target} = []")
            self.align.reset(min(size, 4))
            return target
        self.emit(f"{target} = []")
        self.emit(f"for _ in range({count}):")
        self.indent += 1
        self.align.reset(1)
        item = self.value(element)
        self.flush()
        self.emit(f"{target}.append({item})")
        self.indent -= 1
        self.align.reset(1)
        return target


# --- layout ---------------------------------------------------------------------------------------


def padding_offsets(msg_type: type[IdlStruct], data: bytes | bytearray | memoryview) -> list[int]:
    """Offsets (from the start of ``data``, header included) of the alignment padding bytes in a CDR
    encoding of ``msg_type``.

    :func:`encode` writes zeros there; Fast CDR (rclpy, Fast DDS) leaves whatever the buffer held,
    so comparing with its bytes must skip these. An interpreter over the type hints, independent of
    the generated codecs; raises ``CdrError`` if ``data`` does not fit the type.
    """
    walker = _PaddingWalker(bytes(data), _ENCAPSULATION.get(bytes(data[:2]), "<"))
    try:
        walker.struct(msg_type)
    except (struct.error, IndexError) as exc:
        raise CdrError(f"{msg_type.__name__}: malformed CDR ({exc})") from None
    return walker.padding


class _PaddingWalker:
    def __init__(self, data: bytes, order: str) -> None:
        self.data, self.order, self.o, self.padding = data, order, 4, []

    def align(self, size: int) -> None:
        pad = -(self.o - 4) % size
        self.padding.extend(range(self.o, self.o + pad))
        self.o += pad

    def count(self) -> int:
        self.align(4)
        (n,) = struct.unpack_from(self.order + "I", self.data, self.o)
        self.o += 4
        if n > len(self.data):
            raise CdrError(f"count {n} beyond the data at byte {self.o - 8}")
        return n

    def struct(self, cls: type) -> None:
        for _, tp in _fields(cls):
            self.value(tp)

    def value(self, tp: Any) -> None:
        kind, arg = _kind(tp)
        if kind in ("prim", "bool"):
            size = struct.calcsize(_code(kind, arg))
            self.align(size)
            self.o += size
        elif kind == "struct":
            self.struct(arg)
        elif kind == "str":
            length = self.count()  # not `self.o += self.count()`: count() moves self.o first
            self.o += length
        elif kind == "array":
            for _ in range(arg[1]):
                self.value(arg[0])
        else:
            for _ in range(self.count()):
                self.value(arg)


__all__ = ["CdrError", "decode", "encode", "padding_offsets"]
