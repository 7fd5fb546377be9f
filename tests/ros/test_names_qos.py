"""ROS 2 name resolution and QoS mapping to cyclonedds."""

from __future__ import annotations

import pytest

from robocritic.ros.qos import CLOCK, COMMANDS, LATCHED, SENSOR_DATA, QoSProfile
from robocritic.ros.transport.names import (
    dds_topic_name,
    expand_topic_name,
    node_fqn,
    normalize_namespace,
    resolve_topic_name,
    ros_topic_name,
)


@pytest.mark.parametrize(
    ("name", "node", "ns", "expected"),
    [
        ("cmd_vel", "ctl", "", "/cmd_vel"),
        ("cmd_vel", "ctl", "/robot", "/robot/cmd_vel"),
        ("cmd_vel", "ctl", "robot", "/robot/cmd_vel"),
        ("/cmd_vel", "ctl", "/robot", "/cmd_vel"),
        ("~/state", "ctl", "/robot", "/robot/ctl/state"),
        ("~", "ctl", "/", "/ctl"),
        ("arm/joint_states", "ctl", "/a/b", "/a/b/arm/joint_states"),
        ("{node}/debug", "ctl", "/r", "/r/ctl/debug"),
    ],
)
def test_expand_like_rcl(name, node, ns, expected):
    assert expand_topic_name(name, node, ns) == expected


@pytest.mark.parametrize("bad", ["", "a//b", "a/", "1abc", "a/2b", "a~", "~x", "a b", "a-b"])
def test_invalid_topic_names_raise(bad):
    with pytest.raises(ValueError, match="invalid topic name"):
        expand_topic_name(bad, "n", "/")


def test_node_names_namespaces_and_remaps():
    assert node_fqn("ctl", "") == "/ctl" and node_fqn("ctl", "/r") == "/r/ctl"
    assert normalize_namespace(None) == "/"
    for bad_ns in ("/r/", "/1r"):
        with pytest.raises(ValueError, match="invalid namespace"):
            normalize_namespace(bad_ns)
    with pytest.raises(ValueError, match="invalid node name"):
        node_fqn("my-node", "/")
    remaps = {"state": "/pendulum/joint_states", "/cmd": "cmd_out"}
    assert resolve_topic_name("state", "ctl", "/r", remaps) == "/pendulum/joint_states"
    assert resolve_topic_name("/r/state", "ctl", "/r", remaps) == "/pendulum/joint_states"
    assert resolve_topic_name("/cmd", "ctl", "/r", remaps) == "/r/cmd_out"
    assert resolve_topic_name("other", "ctl", "/r", remaps) == "/r/other"


def test_dds_topic_prefix():
    assert dds_topic_name("/cmd_vel") == "rt/cmd_vel"
    assert ros_topic_name("rt/a/b") == "/a/b" and ros_topic_name("rq/x/srvRequest") is None
    with pytest.raises(ValueError):
        dds_topic_name("cmd_vel")


def test_profiles_match_ros2md():
    assert (SENSOR_DATA.depth, SENSOR_DATA.reliability.value, SENSOR_DATA.durability.value) == (
        5,
        "best_effort",
        "volatile",
    )
    assert (COMMANDS.reliability.value, CLOCK.depth, CLOCK.reliability.value) == (
        "reliable",
        1,
        "best_effort",
    )
    assert SENSOR_DATA.incompatibility(COMMANDS) is not None and COMMANDS.incompatibility(SENSOR_DATA) is None
    assert QoSProfile(durability="volatile").incompatibility(LATCHED) is not None


def test_cyclonedds_qos_mapping():
    from cyclonedds.qos import Policy

    qos = SENSOR_DATA.to_cyclonedds()
    assert qos[Policy.Reliability] == Policy.Reliability.BestEffort
    assert qos[Policy.History] == Policy.History.KeepLast(depth=5)
    assert qos[Policy.Durability] == Policy.Durability.Volatile
    latched = LATCHED.to_cyclonedds()
    assert isinstance(latched[Policy.Reliability], Policy.Reliability.Reliable)
    assert latched[Policy.Durability] == Policy.Durability.TransientLocal
    assert QoSProfile(history="keep_all").to_cyclonedds()[Policy.History] == Policy.History.KeepAll

