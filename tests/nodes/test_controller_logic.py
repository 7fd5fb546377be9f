"""ControllerLogic without any middleware: activation, e-stop, watchdog, input and output checks."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from robocritic.nodes.controller_logic import ControllerLogic
from robocritic.profiles import JointMap, JointSpec, load_profile
from robocritic.ros.transport.base import NodeLogger

MS = 1_000_000  # ns
TIMEOUT = 150 * MS
PERIOD = 50 * MS


class Gain:
    """u = -k * q - d * dq per joint; counts resets and calls."""

    def __init__(self, k: float = 2.0, d: float = 0.5, fail: str | None = None) -> None:
        self.k, self.d, self.fail = k, d, fail
        self.resets = 0
        self.calls: list[np.ndarray] = []

    def reset(self) -> None:
        self.resets += 1

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.calls.append(obs.copy())
        if self.fail == "raise":
            raise RuntimeError("solver exploded")
        if self.fail == "nan":
            return np.array([np.nan])
        if self.fail == "size":
            return np.zeros(3)
        n = obs.size // 2
        return -self.k * obs[:n] - self.d * obs[n:]


def joint_map(sign: int = 1, offset: float = 0.0) -> JointMap:
    return JointMap((JointSpec("hinge", sign, offset, (-2.0, 2.0), 8.0, 2.0),))


def make(controller=None, *, active=True, sign=1, offset=0.0, **kw) -> ControllerLogic:
    return ControllerLogic(
        controller or Gain(), joint_map(sign, offset), effort_limits=[2.0], safe_command=[0.0],
        state_timeout_ns=TIMEOUT, control_period_ns=PERIOD, active=active, now_ns=0,
        logger=NodeLogger("/test_controller"), **kw,
    )  # fmt: skip


def feed(
    logic: ControllerLogic, q: float = 0.1, dq: float = -0.2, *, at: int = 0, stamp: int | None = None
) -> bool:
    return logic.on_state(["hinge"], [q], [dq], at if stamp is None else stamp, at)


def test_inactive_sends_nothing_until_activated():
    ctl = Gain()
    logic = make(ctl, active=False)
    assert feed(logic)
    assert logic.command(10 * MS) is None
    assert logic.command(10_000 * MS) is None  # no watchdog either: an inactive node is silent
    assert logic.shutdown() is None  # it never moved anything, so no stop either
    assert logic.commands_sent == 0 and ctl.calls == []
    assert logic.activate(20 * MS) and ctl.resets == 1
    feed(logic, at=30 * MS)
    cmd = logic.command(40 * MS)
    assert cmd is not None and not cmd.safe and cmd.reason == "control"
    np.testing.assert_allclose(cmd.effort, [-2.0 * 0.1 - 0.5 * -0.2])


def test_deactivation_and_shutdown_send_one_safe_stop():
    logic = make()
    feed(logic)
    assert not logic.command(1 * MS).safe
    stop = logic.deactivate()
    assert stop.safe and stop.reason == "deactivate" and stop.effort.tolist() == [0.0]
    assert logic.deactivate() is None and logic.command(2 * MS) is None
    logic.activate(3 * MS)
    assert logic.shutdown().reason == "shutdown"
    assert logic.safe_commands == {"deactivate": 1, "shutdown": 1}


def test_estop_latches_until_released_and_reactivated():
    logic = make()
    feed(logic)
    now = logic.on_estop(True)
    assert now is not None and now.safe and now.reason == "estop"  # sent at once, not at the next tick
    assert logic.command(1 * MS).reason == "estop"
    assert not logic.activate(2 * MS)  # refused while the signal is engaged
    logic.on_estop(False)
    assert logic.estopped and logic.command(3 * MS).reason == "estop"  # release alone does not resume
    assert logic.activate(4 * MS) and not logic.estopped
    feed(logic, at=5 * MS)
    assert logic.command(6 * MS).reason == "control"


def test_watchdog_grace_then_safe_command_on_stale_state():
    logic = make()  # activated at t = 0 without a state
    assert logic.command(100 * MS) is None  # within the grace period: nothing to act on yet
    assert logic.command(151 * MS).reason == "stale_state"  # sensors never came up
    feed(logic, at=200 * MS)
    assert logic.command(300 * MS).reason == "control"
    assert logic.command(350 * MS).reason == "control"  # exactly the timeout: still fresh
    assert logic.command(351 * MS).reason == "stale_state"
    feed(logic, at=400 * MS)
    assert logic.command(410 * MS).reason == "control"
    assert logic.safe_commands["stale_state"] == 2


def test_sim_time_activation_starts_the_grace_at_the_first_clock_reading():
    logic = make(active=False)
    logic.activate(None)  # sim time, no /clock yet: the node's clock reads 0
    assert not logic.stale(5_000_000 * MS)  # the first reading starts the grace period
    assert not logic.stale(5_000_000 * MS + TIMEOUT)
    assert logic.stale(5_000_000 * MS + TIMEOUT + 1)


@pytest.mark.parametrize(
    ("names", "position", "velocity", "reason"),
    [
        (["hinge"], [float("nan")], [0.0], "non_finite"),
        (["hinge"], [0.1], [float("inf")], "non_finite"),
        (["hinge"], [0.1, 0.2], [0.0], "malformed"),
        (["hinge", "hinge"], [0.1, 0.2], [0.0, 0.0], "malformed"),
        (["hinge", "elbow"], [0.1, 0.2], [0.0, 0.0], "unknown_joint"),
        (["elbow"], [0.1], [0.0], "unknown_joint"),
        ([], [], [], "missing_joint"),
        (["hinge"], [0.1], [], "no_velocity"),
        (["hinge"], ["abc"], [0.0], "malformed"),
        (["hinge"], [1e300], [0.0], "out_of_range"),
        (["hinge"], [0.1], [-1e300], "out_of_range"),
    ],
)
def test_bad_states_are_dropped_counted_and_never_raise(names, position, velocity, reason):
    ctl = Gain()
    logic = make(ctl)
    assert feed(logic, q=0.3, dq=0.0, at=0)
    assert not logic.on_state(names, position, velocity, 1 * MS, 1 * MS)
    assert logic.rejected == {reason: 1}
    np.testing.assert_array_equal(logic.state, [0.3, 0.0])  # the last good state is kept
    cmd = logic.command(2 * MS)
    assert cmd.reason == "control" and np.all(np.isfinite(cmd.effort))
    # the rejected message does not refresh the watchdog
    assert logic.command(151 * MS).reason == "stale_state"


@pytest.mark.parametrize(
    ("q", "dq", "accepted"),
    [
        (4.0, 0.0, True),  # 2x the position limit of 2 rad: a joint well past its soft limit
        (-4.0, 16.0, True),  # and 2x the velocity limit of 8 rad/s: still possible
        (np.pi, -7.9, True),  # a wrapped angle of a fallen pendulum
        (4.0 + 1e-9, 0.0, False),
        (0.0, -16.0 - 1e-9, False),
        (1e300, 0.0, False),
    ],
)
def test_states_beyond_twice_the_profile_limits_are_out_of_range(q, dq, accepted):
    logic = make()
    assert logic.on_state(["hinge"], [q], [dq], 0, 0) is accepted
    assert logic.rejected == ({} if accepted else {"out_of_range": 1})


def test_an_absurd_state_never_reaches_the_controller_and_the_watchdog_answers_safely(caplog):
    ctl = Gain()
    logic = make(ctl)
    assert feed(logic, q=0.3, dq=0.0, at=0)
    with caplog.at_level(logging.WARNING, logger="robocritic.ros"):
        for t in range(1, 11):  # 10 absurd states, one every 20 ms, past the 150 ms timeout
            assert not feed(logic, q=1e300, dq=0.0, at=t * 20 * MS)
    assert logic.rejected == {"out_of_range": 10} and logic.states_accepted == 1
    assert logic.command(100 * MS).reason == "control"  # within the timeout: the last good state
    cmd = logic.command(200 * MS)
    assert (cmd.safe, cmd.reason, cmd.effort.tolist()) == (True, "stale_state", [0.0])
    assert all(abs(c[0]) < 1.0 for c in ctl.calls)  # the controller only ever saw q = 0.3
    lines = [r.getMessage() for r in caplog.records if "dropped joint state" in r.getMessage()]
    assert len(lines) == 1 and "JointState position of joint 'hinge' is 1e+300" in lines[0]
    assert "plausible [-4, 4]" in lines[0] and "(out_of_range: 1 so far)" in lines[0]


def test_the_range_is_checked_in_model_units_about_the_limits_centre():
    # arm7 joint 4 has limits [-3.0718, -0.0698]: centre -1.5708, plausible [-4.5728, 1.4312]
    arm = load_profile("arm7_torque")
    names = [j.name for j in arm.joints]
    logic = ControllerLogic(
        Gain(), arm.joint_map, effort_limits=[j.effort_limit for j in arm.joints], safe_command=np.zeros(7),
        state_timeout_ns=TIMEOUT, control_period_ns=PERIOD, now_ns=0, logger=NodeLogger("/arm"),
    )  # fmt: skip
    home = [0.0, 0.0, 0.0, -1.5, 0.0, 1.8, 0.0]

    def joint4(q: float) -> bool:
        return logic.on_state(names, home[:3] + [q] + home[4:], [0.0] * 7, 0, 0)

    assert joint4(-4.5) and joint4(1.4)
    assert not joint4(1.45) and not joint4(-4.6)
    assert logic.rejected == {"out_of_range": 2}
    # sign and offset apply first: robot 4.2 with sign -1, offset 0.25 is model -3.95 (plausible)
    flipped = make(sign=-1, offset=0.25)
    assert flipped.on_state(["hinge"], [4.2], [0.0], 0, 0)
    assert not flipped.on_state(["hinge"], [-4.0], [0.0], 0, 0)  # model 4.25


def test_a_joint_without_position_limits_has_only_its_velocity_checked():
    free = JointMap((JointSpec("hinge", 1, 0.0, None, 8.0, 2.0),))
    logic = ControllerLogic(
        Gain(), free, effort_limits=[2.0], safe_command=[0.0], state_timeout_ns=TIMEOUT,
        control_period_ns=PERIOD, now_ns=0, logger=NodeLogger("/free"),
    )  # fmt: skip
    assert logic.on_state(["hinge"], [1e6], [0.0], 0, 0)  # a multi-turn encoder may read anything
    assert not logic.on_state(["hinge"], [0.0], [17.0], 0, 0)
    assert logic.rejected == {"out_of_range": 1}


def test_the_plausibility_check_can_be_turned_off_and_its_factor_is_validated():
    logic = make(plausible_factor=None)
    assert logic.on_state(["hinge"], [1e300], [0.0], 0, 0) and logic.rejected == {}
    assert make(plausible_factor=10.0).on_state(["hinge"], [19.0], [79.0], 0, 0)
    with pytest.raises(ValueError, match="plausible factor must be a finite number >= 1; got 0.5"):
        make(plausible_factor=0.5)


def test_unknown_joints_can_be_ignored_by_parameter():
    logic = make(ignore_unknown_joints=True)
    assert logic.on_state(["finger", "hinge"], [9.0, 0.2], [9.0, 0.1], 0, 0)
    np.testing.assert_array_equal(logic.state, [0.2, 0.1])


def test_rejections_are_logged_at_most_once_per_second_per_reason(caplog):
    logic = make()
    with caplog.at_level(logging.WARNING, logger="robocritic.ros"):
        for _ in range(50):
            logic.on_state(["hinge"], [float("nan")], [0.0], 0, 0)
            logic.on_state(["elbow"], [0.0], [0.0], 0, 0)
    assert logic.rejected == {"non_finite": 50, "unknown_joint": 50}
    dropped = [r for r in caplog.records if "dropped joint state" in r.getMessage()]
    assert len(dropped) == 2  # one line per reason, the counters hold the rest


@pytest.mark.parametrize("fail", ["raise", "nan", "size"])
def test_controller_failure_yields_the_safe_command(fail):
    logic = make(Gain(fail=fail))
    feed(logic)
    cmd = logic.command(1 * MS)
    assert cmd.safe and cmd.reason == "controller_error" and cmd.effort.tolist() == [0.0]


def test_efforts_are_clipped_to_the_profile_limit():
    logic = make(Gain(k=100.0))
    feed(logic, q=0.5, dq=0.0)
    cmd = logic.command(1 * MS)
    assert cmd.effort.tolist() == [-2.0] and logic.clipped == 1


def test_joint_sign_and_offset_reach_the_controller_in_model_units():
    ctl = Gain()
    logic = make(ctl, sign=-1, offset=0.25)
    feed(logic, q=0.1, dq=0.4)
    logic.command(1 * MS)
    np.testing.assert_allclose(ctl.calls[-1], [-0.1 + 0.25, -0.4])


def test_claim_tick_allows_one_command_per_control_period():
    logic = make(active=False)
    assert not logic.claim_tick(0)  # inactive: nothing consumed
    logic.activate(None)
    assert logic.claim_tick(0)
    assert not logic.claim_tick(0)  # the same state re-sent
    assert not logic.claim_tick(PERIOD // 2)
    assert logic.claim_tick(PERIOD)
    assert logic.claim_tick(3 * PERIOD)
    assert logic.claim_tick(0)  # time went back: the simulation restarted


def test_construction_checks_sizes():
    with pytest.raises(ValueError, match="one value per joint"):
        ControllerLogic(Gain(), joint_map(), effort_limits=[1.0, 2.0], safe_command=[0.0],
                        state_timeout_ns=TIMEOUT, control_period_ns=PERIOD)  # fmt: skip
