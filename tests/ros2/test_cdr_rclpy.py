"""robocritic's CDR bytes against rclpy's own, for every message type robocritic exports, on Jazzy
(in process) and on Kilted (a child in .venv-kilted).

The types are enumerated from ``robocritic.ros.msgs`` (its exports and its registry), so a new type
is compared as soon as it exists; one without an rclpy counterpart must be listed below with the
reason, and the listing is checked too. For each type: the default message and seeded random ones
(non-empty sequences, odd-length and UTF-8 strings, nested messages, extreme floats). Checks:

- the bytes Fast DDS puts on the wire (an rclpy publisher to a raw rclpy subscription) equal
  ``cdr.encode`` exactly in length and in every byte but alignment padding (zeros in ours; Fast CDR
  does not initialise it);
- ``serialize_message`` starts with the same bytes (its buffer has Fast CDR's estimated size, which
  can be larger than the encoding);
- robocritic decodes rclpy's bytes to the message's values, and rclpy's ``deserialize_message``
  reads robocritic's bytes to the same values.
"""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
import rclpy_msgs  # tests/ros2 is on sys.path (conftest)
from cyclonedds.idl import IdlStruct

from robocritic.ros import msgs
from robocritic.ros.msgs import cdr
from robocritic.ros.msgs.sample import as_plain, random_message

ROOT = Path(__file__).parents[2]
SEED = 20261203
RANDOM_PER_TYPE = 3

# Exported types with no generated class in the distro's venv, and why. A class in another layout of
# a type that exists there (label "pkg/msg/Type (ClassName)", see exported_types) is listed too.
NO_RCLPY_COUNTERPART = {
    "jazzy": {"tf2_msgs/msg/TFMessage": "PyPI has no tf2_msgs wheel for Jazzy"},
    "kilted": {
        "tf2_msgs/msg/TFMessage": "PyPI has no tf2_msgs wheel for Kilted",
        "robocritic_msgs/msg/JointImpedanceCommand": "robocritic_msgs is built for Jazzy only",
        "robocritic_msgs/msg/SafetyVerdict": "robocritic_msgs is built for Jazzy only",
    },
}


def exported_types() -> dict[str, type[IdlStruct]]:
    """label -> class for every message class robocritic.ros.msgs exports or registers.

    The label is the ROS name; a class that shares its ROS name with the registered one (another
    layout of the same type) is labelled ``"pkg/msg/Type (ClassName)"``.
    """
    registry = msgs.message_types()
    classes = {id(c): c for c in registry.values()}
    for name in msgs.__all__:
        obj = getattr(msgs, name)
        if isinstance(obj, type) and issubclass(obj, IdlStruct):
            classes[id(obj)] = obj
    labels = {}
    for cls in classes.values():
        ros_name = msgs.ros_type_name(cls)
        label = ros_name if registry.get(ros_name) is cls else f"{ros_name} ({cls.__qualname__})"
        labels[label] = cls
    return dict(sorted(labels.items()))


TYPES = exported_types()


def sample_messages(cls: type[IdlStruct]) -> list[IdlStruct]:
    """The default message and seeded random ones (the same on every run and in every venv)."""
    rng = random.Random(f"{SEED}-{msgs.ros_type_name(cls)}")
    return [cls()] + [random_message(cls, rng) for _ in range(RANDOM_PER_TYPE)]


def compared_types(distro: str) -> list[str]:
    return [label for label in TYPES if label not in NO_RCLPY_COUNTERPART[distro]]


def assert_listing_matches(distro: str, missing: set[str]) -> None:
    """Every type without a generated class is listed, and every listed ROS type is really absent
    (the list cannot rot when a wheel appears)."""
    listed = NO_RCLPY_COUNTERPART[distro]
    unlisted = sorted(missing - set(listed))
    build = any(m.startswith("robocritic_msgs/") for m in unlisted)
    hint = " (run scripts/build_ros_msgs.sh)" if build else ""
    assert not unlisted, f"{distro}: no rclpy class for {unlisted}{hint}"
    present = sorted(label for label in listed if " (" not in label and label not in missing)
    assert not present, f"{distro}: {present} now exist; compare them instead of listing them"


# --- Jazzy, in process ------------------------------------------------------------------------


def test_every_exported_type_has_an_rclpy_class_or_a_listed_reason():
    assert len(TYPES) >= 30 and "sensor_msgs/msg/JointState" in TYPES
    missing = set()
    for label in TYPES:
        try:
            rclpy_msgs.ros_class(label.split(" ")[0])
        except (ImportError, AttributeError):
            missing.add(label)
    assert_listing_matches("jazzy", missing)


@pytest.mark.parametrize("label", compared_types("jazzy"))
def test_jazzy_bytes_equal_robocritic_both_ways(label, rclpy_context):
    from rclpy.serialization import deserialize_message, serialize_message

    cls = TYPES[label]
    ros_cls = rclpy_msgs.ros_class(label.split(" ")[0])
    probe = rclpy_msgs.WireProbe(rclpy_context)
    try:
        for k, msg in enumerate(sample_messages(cls)):
            where = f"{label} sample {k}"
            value = as_plain(msg)
            ours = cdr.encode(msg)
            ros_msg = rclpy_msgs.to_ros(value, ros_cls)
            theirs = serialize_message(ros_msg)
            rclpy_msgs.assert_same_prefix(cls, ours, theirs, where)
            rclpy_msgs.assert_same_cdr(cls, ours, probe.roundtrip(ros_msg), where)
            assert as_plain(cdr.decode(cls, theirs)) == value, where
            assert rclpy_msgs.from_ros(deserialize_message(ours, ros_cls)) == value, where
    finally:
        probe.destroy()


def test_padding_offsets_of_a_known_layout():
    # Header: stamp (8) + frame_id "ab" (4 + 3): payload offset 15; name: count at 16 after 1 byte of
    # padding, then "j" (4 + 2) to 26; position: count at 28 after 2, float64s at 32 (aligned, none).
    msg = msgs.JointState(header=msgs.Header(frame_id="ab"), name=["j"], position=[1.0])
    data = cdr.encode(msg)
    assert cdr.padding_offsets(msgs.JointState, data) == [4 + 15, 4 + 26, 4 + 27]
    assert cdr.padding_offsets(msgs.Bool, cdr.encode(msgs.Bool(data=True))) == []
    with pytest.raises(cdr.CdrError, match="JointState"):
        cdr.padding_offsets(msgs.JointState, data[:20])
    with pytest.raises(cdr.CdrError, match="count"):
        cdr.padding_offsets(msgs.JointState, data[:12] + b"\xff\xff\xff\x7f" + data[16:])  # frame_id length


def test_random_samples_are_not_trivial():
    """The samples exercise what they claim: sequences and strings non-empty, nested values set."""
    msg = sample_messages(msgs.JointState)[1]
    assert msg.name and msg.position and msg.header.frame_id is not None
    path = sample_messages(msgs.Path)[1]
    assert path.poses and any(p.header.frame_id for p in path.poses)
    assert any(s.header.stamp.sec != 0 for s in sample_messages(msgs.Imu)[1:])


# --- Kilted, in a child process -----------------------------------------------------------------


def run_child(distro: str, cases: list[dict[str, Any]], env: dict[str, str]) -> list[dict[str, Any]]:
    python = ROOT / f".venv-{distro}" / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} is missing: run scripts/setup.sh --ros {distro}")
    proc = subprocess.run(
        [str(python), str(Path(__file__).with_name("rclpy_msgs.py"))],
        input=json.dumps({"cases": cases}), capture_output=True, text=True, timeout=240,
        env=rclpy_msgs.child_env(env), cwd=ROOT, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout)["results"]
    assert len(results) == len(cases)
    return results


def test_kilted_bytes_equal_robocritic_both_ways(ros_env):
    cases, where = [], []
    for label, cls in TYPES.items():
        for k, msg in enumerate(sample_messages(cls)):
            cases.append({"type": label.split(" ")[0], "value": as_plain(msg), "cdr": cdr.encode(msg).hex()})
            where.append((label, k, cls))
    results = run_child("kilted", cases, ros_env)
    missing = {label for (label, _, _), r in zip(where, results, strict=True) if "missing" in r}
    assert_listing_matches("kilted", missing)
    compared = 0
    for (label, k, cls), case, result in zip(where, cases, results, strict=True):
        if label in NO_RCLPY_COUNTERPART["kilted"]:
            continue
        at = f"Kilted {label} sample {k}"
        ours, theirs = bytes.fromhex(case["cdr"]), bytes.fromhex(result["cdr"])
        rclpy_msgs.assert_same_prefix(cls, ours, theirs, at)
        rclpy_msgs.assert_same_cdr(cls, ours, bytes.fromhex(result["wire"]), at)
        assert as_plain(cdr.decode(cls, theirs)) == case["value"], at
        assert result["value"] == case["value"], at
        compared += 1
    assert compared == len(compared_types("kilted")) * (1 + RANDOM_PER_TYPE)
