"""The fast CDR codec on IDL features the ROS types here do not all use (arrays of structs, bool
and int64 arrays, float32, bounded strings inside sequences, ...), against cyclonedds' codec; and
types it does not generate code for (a union) falling back to cyclonedds' own codec.

No ``from __future__ import annotations``: cyclonedds reads these annotations unevaluated.
"""

import random
from dataclasses import dataclass, field

import numpy as np
import pytest
from cyclonedds.idl import IdlStruct, IdlUnion
from cyclonedds.idl._support import Endianness
from cyclonedds.idl.annotations import final
from cyclonedds.idl.types import (
    array,
    bounded_str,
    case,
    float32,
    float64,
    int8,
    int16,
    int64,
    sequence,
    uint8,
    uint16,
    uint64,
)

from robocritic.ros.msgs import cdr


@final
@dataclass
class Inner(IdlStruct, typename="robocritic_test.msg.dds_.Inner_"):
    a: int8 = 0
    b: float64 = 0.0
    c: str = ""
    d: uint16 = 0


@final
@dataclass
class Outer(IdlStruct, typename="robocritic_test.msg.dds_.Outer_"):
    flag: bool = False
    small: int16 = 0
    inners: array[Inner, 3] = field(default_factory=lambda: [Inner(), Inner(), Inner()])
    f32s: sequence[float32] = field(default_factory=list)
    bools: array[bool, 5] = field(default_factory=lambda: [False] * 5)
    u64: uint64 = 0
    names: sequence[bounded_str[10]] = field(default_factory=list)
    seqinner: sequence[Inner] = field(default_factory=list)
    i64s: array[int64, 2] = field(default_factory=lambda: [0, 0])
    tail: uint8 = 0
    raw: sequence[uint8] = field(default_factory=list)
    last: float32 = 0.0


def _random_outer(rng: random.Random) -> Outer:
    def inner() -> Inner:
        return Inner(a=rng.randint(-128, 127), b=rng.uniform(-1e3, 1e3), c="x" * rng.randint(0, 5),
                     d=rng.randint(0, 65535))  # fmt: skip

    def f32() -> float:
        return float(np.float32(rng.uniform(-10, 10)))

    return Outer(
        flag=rng.random() < 0.5, small=rng.randint(-300, 300), inners=[inner() for _ in range(3)],
        f32s=[f32() for _ in range(rng.randint(0, 4))], bools=[rng.random() < 0.5 for _ in range(5)],
        u64=rng.randint(0, 2**64 - 1), names=["n" * rng.randint(0, 10) for _ in range(rng.randint(0, 3))],
        seqinner=[inner() for _ in range(rng.randint(0, 3))], i64s=[rng.randint(-(2**63), 2**63 - 1) for _ in range(2)],
        tail=rng.randint(0, 255), raw=[rng.randint(0, 255) for _ in range(rng.randint(0, 7))], last=f32(),
    )  # fmt: skip


def test_generated_codec_matches_cyclonedds_on_mixed_features():
    rng = random.Random(20261128)
    for _ in range(300):
        msg = _random_outer(rng)
        little = IdlStruct.serialize(msg)
        assert cdr.encode(msg) == little
        for data in (little, IdlStruct.serialize(msg, endianness=Endianness.Big)):
            ours = cdr.decode(Outer, data)
            assert isinstance(ours.raw, bytes)
            ours.raw = list(ours.raw)  # the one documented difference: uint8 sequences as bytes
            assert ours == Outer.deserialize(data)
    assert cdr._CODECS[Outer]._encode is not None  # generated, not the fallback
    with pytest.raises(Exception, match="names"):  # a bound violation: cyclonedds' own error
        cdr.encode(Outer(names=["x" * 11]))


class Choice(IdlUnion, discriminator=int16):
    number: case[1, float64]
    count: case[2, int64]


@final
@dataclass
class WithUnion(IdlStruct, typename="robocritic_test.msg.dds_.WithUnion_"):
    label: str = ""
    choice: Choice = None
    raw: sequence[uint8] = b""


def test_unsupported_types_use_cyclonedds_codec():
    msg = WithUnion(label="u", choice=Choice(number=2.5), raw=[1, 2, 3])
    assert cdr.encode(msg) == msg.serialize()
    assert cdr.decode(WithUnion, msg.serialize()) == WithUnion.deserialize(msg.serialize())
    with pytest.raises(cdr.CdrError):
        cdr.decode(WithUnion, msg.serialize()[:6])
    with pytest.raises(TypeError, match="not an IDL struct"):
        cdr.decode(dict, b"")
