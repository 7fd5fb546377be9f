"""CDR encode/decode time per message: robocritic's generated codec versus cyclonedds' generic one,
and, where rclpy is installed, rclpy's ``serialize_message`` / ``deserialize_message`` on its
generated message classes.

    .venv/bin/python benchmarks/msg_codec.py [--repeats 7] [--no-write]
    .venv-jazzy/bin/python benchmarks/msg_codec.py     # with the rclpy columns

For each message, each repeat times ``--calls`` back-to-back calls of every method in turn
(interleaved, so machine noise hits both alike); a repeat's value is the mean call time, and the
table gives the median over repeats with the p25-p75 spread. Both sides produce the same bytes
(checked here before timing, and for every type in tests/ros/test_msgs_wire.py and, against rclpy,
tests/ros2/test_cdr_rclpy.py).
"""

from __future__ import annotations

import argparse
import time
import timeit
from typing import Any

import numpy as np
from common import command, machine, stats, write_section
from cyclonedds.idl import IdlStruct

from robocritic.ros import msgs
from robocritic.ros.msgs import cdr, convert
from robocritic.ros.transport.rclpy_adapter import rclpy_available, ros_message_class


def messages() -> dict[str, tuple[IdlStruct, int]]:
    """name -> (message, calls per repeat)."""
    stamp = convert.ns_to_time(1_718_000_123_456_789_012)
    header = msgs.Header(stamp=stamp, frame_id="base_link")
    joints = [f"panda_joint{i}" for i in range(1, 8)]
    arm = msgs.JointState(
        header=header, name=joints, position=[0.1] * 7, velocity=[0.2] * 7, effort=[1.5] * 7
    )
    pendulum = msgs.JointState(header=header, name=["hinge"], position=[0.1], velocity=[0.0], effort=[])
    odom = msgs.Odometry(header=msgs.Header(stamp=stamp, frame_id="odom"), child_frame_id="base_link")
    tf = msgs.TFMessage(
        transforms=[msgs.TransformStamped(header=header, child_frame_id=f"link{i}") for i in range(8)]
    )
    depth = convert.numpy_to_image(
        np.full((480, 640), 2.5, np.float32), "32FC1", stamp_ns=0, frame_id="camera"
    )
    return {
        "std_msgs/Float64MultiArray (2 values)": (msgs.Float64MultiArray(data=[1.5, 7.0]), 2000),
        "sensor_msgs/JointState (1 joint)": (pendulum, 2000),
        "sensor_msgs/JointState (7 joints)": (arm, 2000),
        "nav_msgs/Odometry": (odom, 2000),
        "tf2_msgs/TFMessage (8 transforms)": (tf, 500),
        "sensor_msgs/Image 640x480 32FC1": (depth, 3),
    }


def rclpy_methods(msg: IdlStruct, data: bytes) -> dict[str, Any]:
    """rclpy's serialize/deserialize of the same message, if rclpy and the message package are here."""
    if not rclpy_available():
        return {}
    from rclpy.serialization import deserialize_message, serialize_message

    try:
        ros_cls = ros_message_class(type(msg))
    except ImportError:
        return {}  # e.g. no tf2_msgs wheel
    ros_msg = deserialize_message(data, ros_cls)
    return {
        "encode rclpy": lambda m=ros_msg: serialize_message(m),
        "decode rclpy": lambda c=ros_cls, d=data: deserialize_message(d, c),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print the section, do not write it")
    args = parser.parse_args()
    started = time.monotonic()
    rows = []
    for name, (msg, calls) in messages().items():
        cls = type(msg)
        data = IdlStruct.serialize(msg)
        if cdr.encode(msg) != data:
            raise SystemExit(f"{name}: the codecs disagree; fix that before timing")
        methods = {
            "encode cyclonedds": lambda m=msg: IdlStruct.serialize(m),
            "encode robocritic": lambda m=msg: cdr.encode(m),
            "decode cyclonedds": lambda c=cls, d=data: c.deserialize(d),
            "decode robocritic": lambda c=cls, d=data: cdr.decode(c, d),
            **rclpy_methods(msg, data),
        }
        samples: dict[str, list[float]] = {m: [] for m in methods}
        for _ in range(args.repeats):
            for method, call in methods.items():
                samples[method].append(timeit.timeit(call, number=calls) / calls * 1e6)
        med = {m: stats(np.array(v)) for m, v in samples.items()}
        rows.append((name, len(data), med))
        print(name, {m: round(v[0], 2) for m, v in med.items()}, flush=True)

    def cell(v: tuple[float, float, float]) -> str:
        return f"{v[0]:,.2f} [{v[1]:,.2f}, {v[2]:,.2f}]"

    with_rclpy = any("encode rclpy" in med for _, _, med in rows)
    lines = [
        "## ROS 2 message CDR codec",
        "",
        f"Machine: {machine()}. Command: `{command()}` ({time.monotonic() - started:.0f} s).",
        (
            "Microseconds per message, median over repeats [p25, p75]; methods interleaved per repeat. "
            "`robocritic` = `robocritic.ros.msgs.cdr` (what the DDS, in-process and rclpy transports and the "
            "bag recorder use), `cyclonedds` = `IdlStruct.serialize` / `deserialize` (cyclonedds-python 11)"
            + (
                ", `rclpy` = `rclpy.serialization.serialize_message` / `deserialize_message` on the "
                "generated class (ROS 2 Jazzy wheels; n/a: no wheel for the package). robocritic and cyclonedds "
                "give identical bytes; rclpy's buffer holds the same CDR but leaves padding bytes uninitialised "
                "and may be longer (Fast CDR's size estimate)."
                if with_rclpy else ". Both give identical bytes."
            )
        ),
        "",
    ]
    columns = ["encode cyclonedds", "encode robocritic", "speed-up", "decode cyclonedds", "decode robocritic",
               "speed-up"]  # fmt: skip
    if with_rclpy:
        columns = columns[:3] + ["encode rclpy"] + columns[3:] + ["decode rclpy"]
    lines += ["| message | bytes | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|"]
    for name, size, med in rows:
        cells = {m: cell(v) for m, v in med.items()}
        cells["speed-up"] = f"{med['encode cyclonedds'][0] / med['encode robocritic'][0]:.1f}x"
        encode = [cells.get(c, "n/a") for c in columns[: columns.index("decode cyclonedds")]]
        cells["speed-up"] = f"{med['decode cyclonedds'][0] / med['decode robocritic'][0]:.1f}x"
        decode = [cells.get(c, "n/a") for c in columns[columns.index("decode cyclonedds") :]]
        lines.append(f"| {name} | {size:,} | " + " | ".join(encode + decode) + " |")
    body = "\n".join(lines)
    print("\n" + body)
    if not args.no_write:
        write_section("msg_codec", body)


if __name__ == "__main__":
    main()
