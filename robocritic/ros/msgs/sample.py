"""Seeded random messages of any robocritic message type, and a library-neutral view of messages.

For wire tests against other CDR implementations (rosbags, rclpy) and codec benchmarks::

    rng = random.Random(7)
    msg = random_message(JointState, rng)   # every field set: non-empty sequences, odd strings
    as_plain(msg)                           # {"header": {"stamp": {...}, ...}, "name": [...], ...}
"""

import dataclasses
import random
import typing
from typing import Any

import numpy as np
from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import array, bounded_str, sequence

_INT_RANGES = {
    "int8": (-(2**7), 2**7 - 1), "uint8": (0, 2**8 - 1), "byte": (0, 2**8 - 1),
    "int16": (-(2**15), 2**15 - 1), "uint16": (0, 2**16 - 1), "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1), "int64": (-(2**63), 2**63 - 1), "uint64": (0, 2**64 - 1),
}  # fmt: skip
# Odd lengths (alignment after them), empty, and multi-byte UTF-8.
_STRINGS = ["base_link", "odom", "", "joint_ü_7", "a longer frame id / with spaces", "ŝ"]


def random_message(cls: type[IdlStruct], rng: random.Random, max_len: int = 4) -> Any:
    """A message of ``cls`` with every field set to a seeded random value.

    Sequences get 1..``max_len`` elements; float64 values include -0.0 and 1e300; float32 values are
    exactly representable in float32.
    """
    hints = typing.get_type_hints(cls, include_extras=True)
    return cls(**{f.name: _random_value(hints[f.name], rng, max_len) for f in dataclasses.fields(cls)})


def _random_value(hint: Any, rng: random.Random, max_len: int) -> Any:
    if hint is str:
        return rng.choice(_STRINGS)
    if hint is bool:
        return rng.random() < 0.5
    if isinstance(hint, type) and issubclass(hint, IdlStruct):
        return random_message(hint, rng, max_len)
    # A field's type is Annotated[python type, meta]; an element type may be the bare meta object.
    args = typing.get_args(hint)
    meta = args[1] if typing.get_origin(hint) is typing.Annotated and len(args) == 2 else hint
    if isinstance(meta, array):
        return [_random_value(meta.subtype, rng, max_len) for _ in range(meta.length)]
    if isinstance(meta, sequence):
        return [_random_value(meta.subtype, rng, max_len) for _ in range(rng.randint(1, max_len))]
    if isinstance(meta, bounded_str):
        return rng.choice([s for s in _STRINGS if len(s.encode()) <= meta.max_length])
    if isinstance(meta, str) and meta in _INT_RANGES:
        return rng.randint(*_INT_RANGES[meta])
    if meta == "float64":
        return rng.choice([rng.uniform(-1e3, 1e3), rng.gauss(0, 1e-3), -0.0, 1e300])
    if meta == "float32":
        return float(np.float32(rng.uniform(-1e3, 1e3)))
    raise TypeError(f"random_message: no generator for field type {hint!r}")


def as_plain(value: Any) -> Any:
    """Library-neutral form: dataclasses -> dicts; arrays, bytes and lists -> lists of Python scalars."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, bytes | bytearray):
        return list(value)
    if isinstance(value, list | tuple):
        return [as_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


__all__ = ["as_plain", "random_message"]
