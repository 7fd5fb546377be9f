"""Wire compatibility of every robocritic ROS 2 message type, proven against ``rosbags``.

For each registered type: the DDS name and field layout match the ROS definition, and for a
default message, seeded random messages and hand-written realistic ones, the cyclonedds CDR bytes
equal rosbags' CDR bytes (ROS 2 Jazzy typestore), and each library decodes the other's bytes to
the same field values. The rosbags message is built from the cyclonedds one by one generic
converter driven by rosbags' own field definitions, so a field that is missing, misnamed,
misordered or mistyped shows up as a mismatch rather than being papered over per type.
"""

from __future__ import annotations

import ast
import dataclasses
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cyclonedds.idl import IdlStruct
from cyclonedds.idl._support import Endianness
from cyclonedds.idl._type_normalize import get_idl_annotations
from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from robocritic.ros import msgs
from robocritic.ros.msgs import cdr, convert
from robocritic.ros.msgs.sample import as_plain as plain
from robocritic.ros.msgs.sample import random_message

REPO = Path(__file__).resolve().parents[2]
TYPES = msgs.message_types()
SEED = 20240611

# rosbags base type -> numpy dtype of its array fields
_NUMPY_DTYPES = {
    "bool": np.bool_, "byte": np.uint8, "char": np.uint8, "int8": np.int8, "uint8": np.uint8,
    "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32,
    "int64": np.int64, "uint64": np.uint64, "float32": np.float32, "float64": np.float64,
}  # fmt: skip


@pytest.fixture(scope="module")
def typestore():
    """ROS 2 Jazzy typestore plus robocritic's custom types, registered from their .msg files."""
    store = get_typestore(Stores.ROS2_JAZZY)
    for path in sorted((REPO / "robocritic_msgs" / "msg").glob("*.msg")):
        store.register(get_types_from_msg(path.read_text(), f"robocritic_msgs/msg/{path.stem}"))
    return store


# --- generic conversion and comparison ---------------------------------------------------------


def to_rosbags(msg: IdlStruct, store) -> Any:
    """rosbags message equal in content to a cyclonedds message, walking rosbags' field defs."""
    name = msgs.ros_type_name(type(msg))
    _, fields = store.fielddefs[name]
    return store.types[name](**{fname: _convert(getattr(msg, fname), desc, store) for fname, desc in fields})


def _convert(value: Any, desc: tuple, store) -> Any:
    nodetype, detail = desc
    if nodetype == Nodetype.BASE:
        return value
    if nodetype == Nodetype.NAME:
        return to_rosbags(value, store)
    (sub_desc, _length) = detail
    sub_type, sub_detail = sub_desc
    if sub_type == Nodetype.BASE and sub_detail[0] != "string":
        if isinstance(value, (bytes, bytearray)):  # Image.data may be sent as bytes
            return np.frombuffer(value, dtype=_NUMPY_DTYPES[sub_detail[0]]).copy()
        return np.array(value, dtype=_NUMPY_DTYPES[sub_detail[0]])
    return [_convert(v, sub_desc, store) for v in value]


# --- message factories -------------------------------------------------------------------------

def realistic_messages() -> dict[str, IdlStruct]:
    """Hand-written messages as robocritic nodes send them."""
    stamp = convert.ns_to_time(1_718_000_123_456_789_012)
    header = msgs.Header(stamp=stamp, frame_id="base_link")
    depth = np.linspace(0.2, 9.5, 4 * 6, dtype=np.float32).reshape(4, 6)
    depth[1, 2] = np.nan  # REP 118: no return
    odom = msgs.Odometry(
        header=msgs.Header(stamp=stamp, frame_id="odom"),
        child_frame_id="base_link",
        pose=msgs.PoseWithCovariance(
            pose=convert.numpy_to_pose([1.5, -2.0, 0.0], [0.0, 0.0, 0.3826834323650898, 0.9238795325112867]),
            covariance=convert.numpy_to_covariance(np.diag([0.01, 0.01, 1e6, 1e6, 1e6, 0.05])),
        ),
        twist=msgs.TwistWithCovariance(
            twist=convert.numpy_to_twist([0.4, 0.0, 0.0, 0.0, 0.0, -0.25]),
            covariance=convert.numpy_to_covariance(np.eye(6) * 1e-3),
        ),
    )
    return {
        "twist": convert.numpy_to_twist([0.5, 0.0, 0.0, 0.0, 0.0, 1.25]),
        "joint_state_arm": convert.numpy_to_joint_state(
            [f"panda_joint{i}" for i in range(1, 8)],
            np.linspace(-1.0, 1.0, 7), np.zeros(7), np.linspace(0.5, -0.5, 7),
            stamp_ns=1_000_000_123, frame_id="",
        ),
        "joint_state_position_only": convert.numpy_to_joint_state(["hinge"], [3.14159]),
        "depth_image": convert.numpy_to_image(depth, "32FC1", stamp_ns=42, frame_id="depth_optical"),
        "rgb_image": convert.numpy_to_image(np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3), "rgb8"),
        "odometry": odom,
        "path": msgs.Path(header=header, poses=[
            msgs.PoseStamped(header=header, pose=convert.numpy_to_pose([i, 0.5 * i, 0.0], [0, 0, 0, 1]))
            for i in range(3)
        ]),
        "float64_multi_array": convert.numpy_to_float64_multi_array(
            np.arange(6.0).reshape(2, 3) / 7, labels=["rows", "cols"]
        ),
        "clock": msgs.Clock(clock=convert.s_to_time(12.345)),
        "wrench_stamped": msgs.WrenchStamped(
            header=header, wrench=convert.numpy_to_wrench([1, -2, 9.81, 0.1, 0, -0.1])
        ),
        "tf": msgs.TFMessage(transforms=[
            msgs.TransformStamped(header=header, child_frame_id="camera", transform=msgs.Transform(
                translation=convert.numpy_to_vector3([0.1, 0.0, 0.3]), rotation=msgs.Quaternion()))
        ]),
        "impedance_command": msgs.JointImpedanceCommand(
            header=header, name=["j1", "j2"], position=[0.1, -0.2], velocity=[0.0, 0.0],
            effort=[0.5, -0.5], stiffness=[300.0, 300.0], damping=[20.0, 20.0],
        ),
        "safety_verdict": msgs.SafetyVerdict(
            header=header, modified=True, value=-0.25, nominal=[2.0], certified=[1.2], reason="torque limit",
        ),
        "bool_true": msgs.Bool(data=True),
        "string_utf8": msgs.String(data="Grüße, ロボット"),
    }  # fmt: skip


def _cases() -> list[Any]:
    cases = []
    for name, cls in sorted(TYPES.items()):
        cases.append(pytest.param(cls, None, id=f"{name}-default"))
        for k in range(3):
            cases.append(pytest.param(cls, k, id=f"{name}-random{k}"))
    return cases


# --- tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TYPES))
def test_type_has_ros2_dds_name_and_ros_field_layout(name, typestore):
    cls = TYPES[name]
    pkg, kind, short = name.split("/")
    assert cls.__idl_typename__ == f"{pkg}.{kind}.dds_.{short}_"
    assert msgs.dds_type_name(cls) == f"{pkg}::{kind}::dds_::{short}_"
    assert get_idl_annotations(cls).get("extensibility") == "final"
    assert name in typestore.types, f"{name} is not a ROS 2 Jazzy type (or custom .msg missing)"
    _, ros_fields = typestore.fielddefs[name]
    assert [f.name for f in dataclasses.fields(cls)] == [fname for fname, _ in ros_fields]


@pytest.mark.parametrize(("cls", "seed"), _cases())
def test_cdr_bytes_equal_rosbags_and_decode_both_ways(cls, seed, typestore):
    msg = cls() if seed is None else random_message(cls, random.Random(SEED + seed))
    _assert_wire_equal(msg, typestore)


@pytest.mark.parametrize("case", sorted(realistic_messages()))
def test_realistic_messages_wire_equal(case, typestore):
    _assert_wire_equal(realistic_messages()[case], typestore)


def _assert_wire_equal(msg: IdlStruct, store) -> None:
    name = msgs.ros_type_name(type(msg))
    ours = msg.serialize()
    assert cdr.encode(msg) == ours, "the fast codec must give cyclonedds' bytes"
    reference_msg = to_rosbags(msg, store)
    theirs = bytes(store.serialize_cdr(reference_msg, name))
    assert ours[:4] == b"\x00\x01\x00\x00", "encapsulation must be CDR little endian, like ROS 2"
    assert ours == theirs, f"{name}: CDR differs at byte {_first_difference(ours, theirs)}"
    # Each side decodes the other's bytes to the same values.
    assert plain(store.deserialize_cdr(ours, name)) == plain(reference_msg)
    assert plain(type(msg).deserialize(theirs)) == plain(msg)
    assert plain(cdr.decode(type(msg), theirs)) == plain(msg)


def _first_difference(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))


def test_every_type_creates_a_dds_topic():
    """cyclonedds resolves each type's fields at topic creation (docs/ros2.md#idl-type-modules)."""
    from cyclonedds.domain import DomainParticipant
    from cyclonedds.topic import Topic

    from robocritic.ros.transport.dds import configure_environment

    configure_environment()
    participant = DomainParticipant(random.Random().randint(100, 200))
    for name, cls in TYPES.items():
        topic = Topic(participant, "rt/robocritic_test/" + name.replace("/", "_"), cls)
        assert topic.get_type_name() == msgs.dds_type_name(cls)


def test_idl_modules_avoid_known_cyclonedds_pitfalls():
    folder = REPO / "robocritic" / "ros" / "msgs"
    idl_modules = [p for p in folder.glob("*.py") if p.name not in ("__init__.py", "convert.py", "cdr.py")]
    assert len(idl_modules) >= 7
    for path in idl_modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                assert "annotations" not in [a.name for a in node.names], f"{path.name}: future annotations"
            if isinstance(node, ast.Import):
                aliased = [a.name for a in node.names if a.name.startswith("cyclonedds.idl") and a.asname]
                assert not aliased, f"{path.name}: aliased import of {aliased}"


def test_custom_msg_files_match_embedded_definitions():
    files = {f"robocritic_msgs/msg/{p.stem}": p.read_text() for p in (REPO / "robocritic_msgs" / "msg").glob("*.msg")}
    assert files == msgs.MSG_DEFINITIONS
    custom = {name for name in TYPES if name.startswith("robocritic_msgs/")}
    assert custom == set(files)


def test_registry_lookup():
    assert msgs.get_message_type("geometry_msgs/msg/Twist") is msgs.Twist
    assert msgs.get_message_type("geometry_msgs/Twist") is msgs.Twist
    assert msgs.ros_type_name(msgs.JointState) == "sensor_msgs/msg/JointState"
    with pytest.raises(KeyError, match="no message type registered"):
        msgs.get_message_type("geometry_msgs/msg/Accel")
    with pytest.raises(ValueError, match="not a ROS message type name"):
        msgs.get_message_type("Twist")
    with pytest.raises(TypeError, match="not a ROS 2 DDS message type"):
        msgs.ros_type_name(dict)
    assert msgs.register_message_type(msgs.Twist) is msgs.Twist  # idempotent for the same class


# --- the fast codec (robocritic.ros.msgs.cdr) beyond the rosbags comparison above ---------------


CDR_SEED = 20261128


def _random(cls: type, seed: int) -> IdlStruct:
    return random_message(cls, random.Random(CDR_SEED + seed))


@pytest.mark.parametrize("name", sorted(TYPES))
def test_every_type_round_trips_and_decodes_big_endian(name):
    cls = TYPES[name]
    for seed in range(3):
        msg = _random(cls, seed)
        generic = IdlStruct.serialize(msg)
        assert cdr.encode(msg) == generic
        assert plain(cdr.decode(cls, generic)) == plain(msg)
        big = IdlStruct.serialize(msg, endianness=Endianness.Big)
        assert big[:2] == b"\x00\x00"
        assert plain(cdr.decode(cls, big)) == plain(msg)
        # cyclonedds pads what it writes to 4 bytes: trailing padding must be ignored
        assert plain(cdr.decode(cls, generic + bytes(-len(generic) & 3))) == plain(msg)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_alignment_after_empty_and_odd_sequences(n):
    """Empty float64 sequences add no padding; odd-length strings and byte blocks shift the rest."""
    js = msgs.JointState(
        header=msgs.Header(frame_id="x" * n), name=["j"] * n, position=[0.5] * n, velocity=[], effort=[1.0] * n
    )
    img = msgs.Image(encoding="8UC1" if n % 2 else "mono16", height=1, width=n, step=n, data=list(range(n)))
    for msg in (js, img, msgs.CameraInfo(header=msgs.Header(frame_id="c" * n), distortion_model="p" * n)):
        generic = IdlStruct.serialize(msg)
        assert cdr.encode(msg) == generic
        assert plain(cdr.decode(type(msg), generic)) == plain(msg)


def test_numpy_and_bytes_inputs_encode_like_lists():
    pos = np.array([0.1, -2.0, 3.5])
    js = msgs.JointState(name=["a", "b", "c"], position=pos, velocity=list(pos), effort=pos.astype(np.float32))
    as_lists = msgs.JointState(
        name=["a", "b", "c"], position=list(pos), velocity=list(pos), effort=[float(np.float32(x)) for x in pos]
    )
    assert cdr.encode(js) == IdlStruct.serialize(as_lists)
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)  # a 2-D array: all 12 bytes, not 3 rows
    as_list = msgs.Image(height=3, width=4, step=4, encoding="mono8", data=pixels.ravel().tolist())
    for data in (pixels, pixels.tobytes(), bytearray(pixels.tobytes())):
        image = msgs.Image(height=3, width=4, step=4, encoding="mono8", data=data)
        assert cdr.encode(image) == cdr.encode(as_list)
    decoded = cdr.decode(msgs.Image, cdr.encode(as_list))
    assert decoded.data == pixels.tobytes() and isinstance(decoded.data, bytes)


def test_bad_values_raise_cyclonedds_errors():
    """A value the packer rejects goes through cyclonedds' serialiser, which names the problem."""
    bad = [
        msgs.JointState(position=["a"]),
        msgs.Time(sec=2**40),
        msgs.Image(data=np.zeros(3, dtype=np.float64)),
        msgs.PoseWithCovariance(covariance=[0.0] * 35),
        msgs.String(data=None),
    ]
    for msg in bad:
        with pytest.raises(Exception) as ours:  # whatever cyclonedds raises
            cdr.encode(msg)
        with pytest.raises(type(ours.value)):
            IdlStruct.serialize(msg)


@pytest.mark.parametrize("name", ["sensor_msgs/msg/JointState", "nav_msgs/msg/Odometry", "tf2_msgs/msg/TFMessage",
                                  "sensor_msgs/msg/Image", "std_msgs/msg/Float64MultiArray"])  # fmt: skip
def test_malformed_bytes_raise_cdr_error_only(name):
    """Truncations, flipped bytes and huge counts: CdrError (a ValueError), never anything else."""
    cls = TYPES[name]
    rng = random.Random(CDR_SEED)
    good = cdr.encode(_random(cls, 7))
    cases = [good[:k] for k in range(len(good))]
    for _ in range(300):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(4, len(data))] = rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)])
        cases.append(bytes(data))
    cases.append(good[:4] + b"\xff\xff\xff\x7f" * 8)  # counts of 2^31 - 1
    cases.append(b"\x00\x07\x00\x00" + good[4:])  # an encapsulation we do not read
    decoded = 0
    for data in cases:
        try:
            cdr.decode(cls, data)
            decoded += 1
        except cdr.CdrError:
            pass
    assert decoded < len(cases)  # the truncations at least must fail
    with pytest.raises(cdr.CdrError, match="unsupported CDR encapsulation"):
        cdr.decode(cls, b"")
