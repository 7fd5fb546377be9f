"""rclpy's side of the wire tests: generated ROS message classes built from and read back to plain values.

Imported by the tests (Jazzy, in process) and run as a child in another ROS 2 venv (Kilted)::

    .venv-kilted/bin/python tests/ros2/rclpy_msgs.py < request.json > reply.json

Request: ``{"cases": [{"type": "pkg/msg/Type", "value": <plain>, "cdr": "<hex>"}, ...]}`` with
values as ``robocritic.ros.msgs.sample.as_plain`` gives them. Reply: ``{"results": [...]}``, per
case ``{"cdr": hex of serialize_message(value), "wire": hex a raw subscription received, "value":
plain of deserialize_message(cdr)}`` or, for a type this venv lacks, ``{"missing": "<reason>"}``.
Needs only rclpy (not robocritic); the child publishes on ROS_DOMAIN_ID, so run it in the netns.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any


def ros_class(ros_name: str) -> type:
    """Generated class for ``"pkg/msg/Type"``; ``ImportError`` or ``AttributeError`` if absent."""
    pkg, kind, name = ros_name.split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


def _nested_class(slot_type: Any) -> type | None:
    """The generated class of a slot that is a message, or of the elements of a sequence/array of them."""
    slot_type = getattr(slot_type, "value_type", slot_type)
    namespaces = getattr(slot_type, "namespaces", None)
    if namespaces is None:
        return None
    return getattr(importlib.import_module(".".join(namespaces)), slot_type.name)


def to_ros(value: dict[str, Any], cls: type) -> Any:
    """A message of generated class ``cls`` from plain values (field names as in the .msg)."""
    msg = cls()
    fields = list(cls.get_fields_and_field_types())
    if sorted(fields) != sorted(value):
        raise KeyError(f"{cls.__name__}: fields {fields} != given {sorted(value)}")
    for name, slot_type in zip(fields, cls.SLOT_TYPES, strict=True):
        nested = _nested_class(slot_type)
        item = value[name]
        if nested is not None:
            item = [to_ros(v, nested) for v in item] if isinstance(item, list) else to_ros(item, nested)
        setattr(msg, name, item)
    return msg


def from_ros(msg: Any) -> Any:
    """Plain values of a generated message (dicts, lists of Python scalars)."""
    if hasattr(type(msg), "get_fields_and_field_types"):
        return {name: from_ros(getattr(msg, name)) for name in type(msg).get_fields_and_field_types()}
    if hasattr(msg, "tolist"):  # numpy arrays (fixed-size arrays), array.array (sequences)
        return msg.tolist()
    if isinstance(msg, bytes | bytearray):
        return list(msg)
    if isinstance(msg, list | tuple):
        return [from_ros(v) for v in msg]
    return msg


class WireProbe:
    """An rclpy node that publishes messages and returns the bytes its own raw subscription receives:
    the CDR Fast DDS puts on the wire (``serialize_message`` returns a buffer sized by Fast CDR's
    estimate, which can exceed the encoding)."""

    def __init__(self, context: Any) -> None:
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node

        self.node = Node("robocritic_wire_probe", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.received: list[bytes] = []
        self.endpoints: dict[type, Any] = {}

    def _publisher(self, cls: type, timeout_s: float) -> Any:
        if cls not in self.endpoints:
            topic = f"wire_{cls.__module__.split('.')[0]}_{cls.__name__}"
            self.node.create_subscription(cls, topic, self.received.append, 10, raw=True)
            self.endpoints[cls] = self.node.create_publisher(cls, topic, 10)
        pub = self.endpoints[cls]
        deadline = time.monotonic() + timeout_s
        while pub.get_subscription_count() < 1:  # reliable delivery needs the match first
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: own subscription not matched in {timeout_s} s")
            self.executor.spin_once(timeout_sec=0.01)
        return pub

    def roundtrip(self, msg: Any, timeout_s: float = 20.0) -> bytes:
        """Publish ``msg``; the raw bytes the subscription gets (TimeoutError after ``timeout_s``)."""
        pub = self._publisher(type(msg), timeout_s)
        self.received.clear()
        pub.publish(msg)
        deadline = time.monotonic() + timeout_s
        while not self.received:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{type(msg).__name__}: nothing received in {timeout_s} s")
            self.executor.spin_once(timeout_sec=0.05)
        return bytes(self.received[0])

    def destroy(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def answer(case: dict[str, Any], probe: WireProbe | None = None) -> dict[str, Any]:
    """One request case: serialise its value, publish it (with ``probe``) and deserialise its bytes."""
    from rclpy.serialization import deserialize_message, serialize_message

    try:
        cls = ros_class(case["type"])
    except (ImportError, AttributeError) as exc:
        return {"missing": f"{type(exc).__name__}: {exc}"}
    msg = to_ros(case["value"], cls)
    reply = {
        "cdr": serialize_message(msg).hex(),
        "value": from_ros(deserialize_message(bytes.fromhex(case["cdr"]), cls)),
    }
    if probe is not None:
        reply["wire"] = probe.roundtrip(msg).hex()
    return reply


def assert_same_cdr(cls: type, ours: bytes, wire: bytes, where: str) -> None:
    """Bytes Fast DDS put on the wire equal ours, except alignment padding (zero in ours)."""
    assert len(ours) == len(wire), f"{where}: {len(ours)} bytes (robocritic) != {len(wire)} (rclpy)"
    assert_same_prefix(cls, ours, wire, where)


def assert_same_prefix(cls: type, ours: bytes, theirs: bytes, where: str) -> None:
    """``theirs`` starts with our bytes (padding aside). ``serialize_message`` returns a buffer of Fast
    CDR's estimated size, which after empty float64 sequences or a final odd-sized field is larger
    than the encoding; the tail is whatever the buffer held."""
    assert len(theirs) >= len(ours), f"{where}: rclpy gave {len(theirs)} bytes, robocritic {len(ours)}"
    from robocritic.ros.msgs import cdr

    padding = set(cdr.padding_offsets(cls, ours))
    assert all(ours[i] == 0 for i in padding), where
    differ = [i for i in range(len(ours)) if i not in padding and ours[i] != theirs[i]]
    assert not differ, f"{where}: bytes differ at {differ[:8]}\n ours  {ours.hex()}\n rclpy {theirs.hex()}"


def child_env(env: dict[str, str]) -> dict[str, str]:
    """Environment for a child in another ROS 2 venv: without this venv's library path.

    The wheels' bootstrap re-executes each interpreter with its own venv's lib/ on LD_LIBRARY_PATH
    and marks that done; a child inheriting both would load this venv's ROS libraries.
    """
    drop = ("LD_LIBRARY_PATH", "_ROS_WHEELS_BOOTSTRAP_COMPLETE", "PYTHONPATH", "AMENT_PREFIX_PATH")
    return {k: v for k, v in env.items() if k not in drop}


def main() -> None:
    import rclpy
    from rclpy.context import Context

    request = json.load(sys.stdin)
    context = Context()
    rclpy.init(context=context)  # ROS_DOMAIN_ID from the environment
    probe = WireProbe(context)
    try:
        results = [answer(c, probe) for c in request["cases"]]
    finally:
        probe.destroy()
        rclpy.shutdown(context=context)
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
