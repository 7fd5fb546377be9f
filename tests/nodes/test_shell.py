"""NodeShell alone, on plain arrays (no message types): activation, e-stop, watchdog, output checks,
and the safety-filter stage at its own rate."""

from __future__ import annotations

import ast
import inspect
import logging

import numpy as np
import pytest

import robocritic.nodes.shell as shell_module
from robocritic.interfaces import SafetyFilter
from robocritic.nodes.rejections import InputRejected
from robocritic.nodes.shell import NodeShell
from robocritic.ros.transport.base import NodeLogger

MS = 1_000_000  # ns
TIMEOUT = 150 * MS
PERIOD = 50 * MS


class Law:
    """A 3-state, 2-input law (no joint structure): u = [x0 + x1, -x2]; records what it saw."""

    def __init__(self, fail_at: set[int] | None = None) -> None:
        self.seen: list[np.ndarray] = []
        self.resets = 0
        self.fail_at = fail_at or set()

    def reset(self) -> None:
        self.resets += 1

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.seen.append(obs.copy())
        if len(self.seen) in self.fail_at:
            raise RuntimeError("policy diverged")
        return np.array([obs[0] + obs[1], -obs[2]])


class Halve:
    """A filter that halves the action, or fails on the calls listed in ``fail`` ("raise" or "nan")."""

    def __init__(self, fail: dict[int, str] | None = None) -> None:
        self.calls: list[tuple[np.ndarray, np.ndarray]] = []
        self.fail = fail or {}

    def certify(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict]:
        self.calls.append((obs.copy(), action.copy()))
        how = self.fail.get(len(self.calls))
        if how == "raise":
            raise ValueError("QP infeasible")
        if how == "nan":
            return np.array([np.nan, 0.0]), {}
        return 0.5 * action, {"modified": True}


def make(law=None, *, safety_filter=None, filter_period_ns=None, active=True, **kw) -> NodeShell:
    return NodeShell(
        law or Law(), safe_command=[0.0, 0.0], state_timeout_ns=TIMEOUT, control_period_ns=PERIOD,
        action_low=[-1.0, -3.0], action_high=[1.0, 2.0], safety_filter=safety_filter,
        filter_period_ns=filter_period_ns, active=active, now_ns=0, logger=NodeLogger("/test_shell"), **kw,
    )  # fmt: skip


def test_the_shell_knows_no_message_types():
    imported = set()
    for node in ast.walk(ast.parse(inspect.getsource(shell_module))):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    forbidden = ("robocritic.ros.msgs", "robocritic.nodes.io", "robocritic.profiles")
    assert not {m for m in imported if m.startswith(forbidden)}


def test_states_in_arrays_out_with_activation_estop_and_watchdog():
    law = Law()
    shell = make(law, active=False)
    shell.accept_state(np.array([0.1, 0.2, 0.3]), 0, 0)
    assert shell.command(1 * MS) is None and law.seen == []  # inactive: silent
    assert shell.activate(2 * MS) and law.resets == 1
    cmd = shell.command(3 * MS)
    np.testing.assert_allclose(cmd.action, [0.1 + 0.2, -0.3])
    assert (cmd.safe, cmd.reason, cmd.state_stamp_ns) == (False, "control", 0)
    assert shell.on_estop(True).reason == "estop"
    assert shell.command(4 * MS).reason == "estop"
    shell.on_estop(False)
    assert shell.activate(5 * MS) and shell.command(6 * MS).reason == "control"
    assert shell.command(TIMEOUT + 1).reason == "stale_state"  # the one state was received at t = 0
    assert shell.deactivate().reason == "deactivate" and shell.command(7 * MS) is None
    assert shell.safe_commands == {"estop": 2, "stale_state": 1, "deactivate": 1}
    assert shell.counters()["states_accepted"] == 1 and "filter_steps" not in shell.counters()


def test_rejections_are_counted_by_reason_and_keep_the_last_good_state(caplog):
    shell = make()
    shell.accept_state(np.array([0.5, 0.0, 0.0]), 0, 0)
    with caplog.at_level(logging.WARNING, logger="robocritic.ros"):
        for _ in range(3):
            shell.reject(InputRejected("non_finite", "q is NaN"))
    assert shell.rejected == {"non_finite": 3}
    assert len([r for r in caplog.records if "dropped state: q is NaN" in r.getMessage()]) == 1
    np.testing.assert_array_equal(shell.command(1 * MS).action, [0.5, 0.0])


def test_actions_are_clipped_to_asymmetric_limits_and_counted():
    shell = make()
    shell.accept_state(np.array([2.0, 3.0, 5.0]), 0, 0)  # u = [5, -5] -> [1, -3]
    assert shell.command(1 * MS).action.tolist() == [1.0, -3.0] and shell.clipped == 1
    shell.accept_state(np.array([0.0, 0.5, -1.5]), 0, 0)  # u = [0.5, 1.5] inside
    assert shell.command(2 * MS).action.tolist() == [0.5, 1.5] and shell.clipped == 1


def test_without_a_filter_a_tick_is_a_controller_step():
    law = Law()
    shell = make(law)
    shell.accept_state(np.array([0.1, 0.0, 0.0]), 0, 0)
    for t in range(5):
        assert shell.tick(t * MS).reason == "control"
    assert len(law.seen) == 5 and shell.tick_period_ns == PERIOD


def test_a_faster_filter_certifies_the_held_action_on_every_fresh_state():
    law, halve = Law(), Halve()
    shell = make(law, safety_filter=halve, filter_period_ns=1 * MS)
    assert shell.tick_period_ns == 1 * MS
    sent = []
    for k in range(100):  # 100 ms of 1 kHz ticks, a fresh state before each
        x = np.array([0.01 * k, 0.0, -0.002 * k])
        shell.accept_state(x, k * MS, k * MS)
        sent.append(shell.tick(k * MS))
    # the 20 Hz policy acted at 0 and 50 ms, each time on the state of that tick
    assert len(law.seen) == 2
    np.testing.assert_array_equal(law.seen[1], [0.5, 0.0, -0.1])
    # the filter certified at every tick: the newest state, the policy's latest action
    assert len(halve.calls) == 100 and shell.filter_steps == 100
    assert shell.filter_modified == 50  # halving the first action, [0, 0], changes nothing
    obs_49, action_49 = halve.calls[49]
    np.testing.assert_array_equal(obs_49, [0.49, 0.0, -0.098])
    np.testing.assert_allclose(action_49, [0.0, 0.0])  # held from t = 0
    np.testing.assert_allclose(halve.calls[50][1], [0.5, 0.1])  # the new action from t = 50 ms
    # what went out is the filter's modification (then the limits), every tick
    assert all(c.reason == "control" and not c.safe for c in sent)
    np.testing.assert_allclose(sent[60].action, [0.25, 0.05])
    assert shell.commands_sent == 100 and len(shell.filter_times_s) == 100


def test_a_failing_filter_is_counted_and_yields_the_safe_command():
    halve = Halve(fail={2: "raise", 3: "nan"})
    shell = make(safety_filter=halve, filter_period_ns=1 * MS)
    shell.accept_state(np.array([0.2, 0.2, 0.0]), 0, 0)
    out = [shell.tick(k * MS) for k in range(4)]
    assert [c.reason for c in out] == ["control", "filter_error", "filter_error", "control"]
    assert out[1].safe and out[1].action.tolist() == [0.0, 0.0]
    assert shell.safe_commands == {"filter_error": 2} and shell.filter_steps == 4
    np.testing.assert_allclose(out[3].action, [0.2, 0.0])


def test_after_a_controller_error_the_filter_ticks_hold_the_safe_command():
    law = Law(fail_at={2})
    shell = make(law, safety_filter=Halve(), filter_period_ns=10 * MS)
    shell.accept_state(np.array([0.2, 0.0, 0.0]), 0, 0)
    reasons = [shell.tick(k * 10 * MS).reason for k in range(11)]  # policy at 0, 50 (fails), 100 ms
    assert reasons == ["control"] * 5 + ["controller_error"] * 5 + ["control"]
    assert len(law.seen) == 3 and shell.safe_commands == {"controller_error": 5}


def test_the_filter_stage_keeps_the_watchdog_and_estop():
    shell = make(safety_filter=Halve(), filter_period_ns=1 * MS)
    shell.accept_state(np.array([0.2, 0.0, 0.0]), 0, 0)
    assert shell.tick(1 * MS).reason == "control"
    assert shell.tick(TIMEOUT + 1).reason == "stale_state"
    shell.accept_state(np.array([0.2, 0.0, 0.0]), TIMEOUT + 2, TIMEOUT + 2)
    shell.on_estop(True)
    assert shell.tick(TIMEOUT + 3).reason == "estop"


def test_no_filter_output_before_the_policy_has_acted_and_sim_time_ticks_per_filter_period():
    shell = make(safety_filter=Halve(), filter_period_ns=10 * MS, active=False)
    shell.activate(None)
    assert shell.tick(0) is None  # no state yet: nothing to act on or certify
    assert shell.claim_tick(0) and not shell.claim_tick(5 * MS) and shell.claim_tick(10 * MS)
    shell.accept_state(np.array([0.2, 0.0, 0.0]), 10 * MS, 0)
    assert shell.tick(0, 10 * MS).reason == "control"  # the first tick with a state runs the policy


def test_construction_checks():
    assert isinstance(Halve(), SafetyFilter)
    with pytest.raises(ValueError, match="filter_period_ns must be in"):
        make(safety_filter=Halve(), filter_period_ns=2 * PERIOD)
    with pytest.raises(ValueError, match="filter_period_ns needs a safety_filter"):
        make(filter_period_ns=MS)
    with pytest.raises(ValueError, match=r"action_low needs 1 or 2 numbers"):
        NodeShell(Law(), safe_command=[0.0, 0.0], state_timeout_ns=TIMEOUT, control_period_ns=PERIOD,
                  action_low=[0.0, 0.0, 0.0])  # fmt: skip
