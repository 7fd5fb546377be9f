"""Types the fast CDR codec does not generate code for (here a union) use cyclonedds' own codec.

No ``from __future__ import annotations``: cyclonedds reads these annotations unevaluated.
"""

from dataclasses import dataclass

import pytest
from cyclonedds.idl import IdlStruct, IdlUnion
from cyclonedds.idl.annotations import final
from cyclonedds.idl.types import case, float64, int16, int64, sequence, uint8

from robocritic.ros.msgs import cdr


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
