"""robocritic's QoS profiles map onto rclpy's field by field."""

from __future__ import annotations

import pytest
from rclpy.qos import DurabilityPolicy, HistoryPolicy, ReliabilityPolicy

from robocritic.ros import qos as rq

PROFILES = {name: value for name, value in vars(rq).items() if isinstance(value, rq.QoSProfile)}


def test_every_named_profile_is_checked():
    assert {"SENSOR_DATA", "COMMANDS", "CLOCK", "DEFAULT"} <= set(PROFILES)


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_maps_to_rclpy(name):
    ours = PROFILES[name]
    theirs = ours.to_rclpy()
    assert theirs.depth == ours.depth
    assert theirs.reliability == {
        rq.Reliability.RELIABLE: ReliabilityPolicy.RELIABLE,
        rq.Reliability.BEST_EFFORT: ReliabilityPolicy.BEST_EFFORT,
    }[ours.reliability]
    assert theirs.durability == {
        rq.Durability.VOLATILE: DurabilityPolicy.VOLATILE,
        rq.Durability.TRANSIENT_LOCAL: DurabilityPolicy.TRANSIENT_LOCAL,
    }[ours.durability]
    assert theirs.history == {
        rq.History.KEEP_LAST: HistoryPolicy.KEEP_LAST,
        rq.History.KEEP_ALL: HistoryPolicy.KEEP_ALL,
    }[ours.history]
