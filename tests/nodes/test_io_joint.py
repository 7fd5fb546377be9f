"""Joint I/O: JointState fields -> [q, dq] and efforts <-> command messages, all through the
profile's JointMap (order, sign, offset), with the node's rejection reasons."""

from __future__ import annotations

import numpy as np
import pytest

from robocritic.nodes.io.joint import JointIO, PlausibleRange, decode_effort
from robocritic.nodes.rejections import InputRejected
from robocritic.profiles import JointMap, JointSpec
from robocritic.ros.msgs.convert import float64_multi_array_to_numpy


def arm() -> JointMap:
    return JointMap((
        JointSpec("a", 1, 0.0, (-2.0, 2.0), 3.0, 10.0),
        JointSpec("b", -1, 0.5, (-1.0, 1.0), 3.0, 5.0),
    ))  # fmt: skip


def test_states_decode_in_model_order_and_units_from_any_order():
    io = JointIO(arm())
    x = io.decode_state(["b", "a"], [0.25, 1.0], [2.0, -1.0])
    np.testing.assert_allclose(x, [1.0, -0.25 + 0.5, -1.0, -2.0])
    assert io.n_joints == 2 and io.effort_limits.tolist() == [10.0, 5.0]


def test_commands_leave_in_robot_units_and_decode_back_to_the_same_efforts():
    jm = arm()
    io = JointIO(jm)
    u = np.array([3.0, -4.0])
    msg = io.command_message(u)
    assert msg.data == [3.0, 4.0] and msg.layout.dim[0].label == "joints"
    np.testing.assert_array_equal(decode_effort(float64_multi_array_to_numpy(msg), jm), u)


@pytest.mark.parametrize(
    ("names", "position", "velocity", "reason"),
    [
        (["a"], [0.0], [0.0], "missing_joint"),
        (["a", "b", "c"], [0.0] * 3, [0.0] * 3, "unknown_joint"),
        (["a", "a"], [0.0] * 2, [0.0] * 2, "malformed"),
        (["a", "b"], [0.0], [0.0] * 2, "malformed"),
        (["a", "b"], [0.0, "x"], [0.0] * 2, "malformed"),
        (["a", "c"], [0.0] * 2, [], "unknown_joint"),  # a name fault comes before the missing velocity
        (["a", "b"], [0.0] * 2, [], "no_velocity"),
        (["a", "b"], [0.0, np.inf], [0.0] * 2, "non_finite"),
        (["a", "b"], [0.0, 0.0], [6.1, 0.0], "out_of_range"),
    ],
)
def test_unusable_states_are_rejected_with_a_reason(names, position, velocity, reason):
    with pytest.raises(InputRejected) as err:
        JointIO(arm()).decode_state(names, position, velocity)
    assert err.value.reason == reason


def test_unknown_joints_and_implausible_values_can_be_allowed():
    io = JointIO(arm(), ignore_unknown_joints=True, plausible_factor=None)
    assert io.plausible is None
    x = io.decode_state(["c", "a", "b"], [9.0, 0.0, 0.5], [0.0, 60.0, 0.0])
    np.testing.assert_allclose(x, [0, 0, 60, 0])


def test_commands_are_checked_in_model_units():
    jm = arm()
    plausible = PlausibleRange.of(jm)
    np.testing.assert_array_equal(decode_effort([20.0, -10.0], jm, plausible), [20.0, 10.0])
    bad = (([20.1, 0.0], "out_of_range"), ([0.0], "wrong_size"), ([np.nan, 0.0], "non_finite"))
    for values, reason in bad:
        with pytest.raises(InputRejected) as err:
            decode_effort(values, jm, plausible)
        assert err.value.reason == reason
