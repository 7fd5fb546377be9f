"""LockstepScheduler on a fake node and fake clocks: every timer branch (paced slot, done -> finished,
start, lockstep timeout, re-send), command arrival and latency, and the report's timing block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from robocritic.nodes.lockstep import HOUSEKEEPING_PERIOD_S, LockstepScheduler

MS = 1_000_000  # ns


class FakeNode:
    """The two things the scheduler uses: a node clock [ns] and one timer, fired by the test."""

    def __init__(self) -> None:
        self.clock_ns = 0
        self.timers: list[tuple[float, Callable[[], Any]]] = []

    def now_ns(self) -> int:
        return self.clock_ns

    def create_timer(self, period_s: float, callback: Callable[[], Any]) -> object:
        self.timers.append((period_s, callback))
        return object()


class Bridge:
    """A bridge's side of the callbacks: records what the scheduler asked for."""

    def __init__(self, **settings: Any) -> None:
        self.node = FakeNode()
        self.perf_ns = 0
        self.sent: list[tuple[int, bool]] = []  # (tick, resend)
        self.timeouts = 0
        self.subscribers = 0
        self.tick = 0
        self.last_tick = 3
        params = {"dt_s": 0.1, "real_time_factor": 0.0, "lockstep_timeout_s": 2.0, "resend_period_s": 0.1,
                  "shutdown_when_done": True, **settings}  # fmt: skip
        self.lockstep = LockstepScheduler(
            self.node, **params, publish=lambda resend: self.sent.append((self.tick, resend)),
            on_timeout=self.on_timeout, can_start=lambda: self.subscribers >= 1,
            is_done=lambda: self.tick >= self.last_tick, perf_clock=lambda: self.perf_ns,
        )  # fmt: skip

    def fire(self, advance_ms: int = 0) -> None:
        """Advance both clocks, then call the timer."""
        self.node.clock_ns += advance_ms * MS
        self.perf_ns += advance_ms * MS
        (_, callback) = self.node.timers[0]
        callback()

    def step(self) -> None:
        """What a bridge does to answer the awaited tick."""
        self.lockstep.close_tick()
        self.tick += 1
        self.lockstep.next_tick()

    def answer(self, after_ms: int = 0) -> bool:
        """A command arrives ``after_ms`` later; stepped when a tick awaits it."""
        self.node.clock_ns += after_ms * MS
        self.perf_ns += after_ms * MS
        awaited = self.lockstep.command_arrived()
        if awaited:
            self.step()
        return awaited

    def on_timeout(self) -> None:
        self.timeouts += 1
        self.step()


def _started(**settings: Any) -> Bridge:
    b = Bridge(**settings)
    b.subscribers = 1
    b.fire()
    assert b.sent == [(0, False)] and b.lockstep.awaiting
    return b


def test_timer_period_is_one_tick_of_wall_time_when_paced_else_housekeeping():
    assert Bridge(real_time_factor=0.5).node.timers[0][0] == pytest.approx(0.2)
    assert Bridge(real_time_factor=0.5).lockstep.pacing == "real-time factor 0.5"
    unpaced = Bridge()
    assert unpaced.node.timers[0][0] == HOUSEKEEPING_PERIOD_S and unpaced.lockstep.pacing == "unpaced"


def test_first_tick_waits_for_can_start():
    b = Bridge()
    b.fire(100)
    b.fire(100)
    assert b.sent == [] and not b.lockstep.awaiting
    b.subscribers = 1
    b.fire(20)
    assert b.sent == [(0, False)] and b.lockstep.awaiting


def test_a_command_before_the_first_tick_is_not_awaited():
    b = Bridge()
    assert not b.answer() and b.lockstep.command_seen and b.tick == 0 and not b.lockstep.latencies_s


def test_unpaced_answer_publishes_the_next_tick_at_once():
    b = _started()
    assert b.answer(after_ms=5)
    assert b.sent == [(0, False), (1, False)] and b.lockstep.awaiting
    assert b.answer(after_ms=3)
    assert b.tick == 2 and list(b.lockstep.latencies_s) == pytest.approx([0.005, 0.003])


def test_paced_answer_publishes_in_the_next_timer_slot_and_a_second_answer_is_not_awaited():
    b = _started(real_time_factor=1.0)
    assert b.answer(after_ms=10)
    assert b.sent == [(0, False)] and not b.lockstep.awaiting  # stepped, waiting for its slot
    assert not b.answer(after_ms=5)  # a duplicate: neither stepped nor timed
    b.fire(85)
    assert b.sent == [(0, False), (1, False)] and b.lockstep.awaiting
    assert b.tick == 1 and list(b.lockstep.latencies_s) == pytest.approx([0.010])


def test_the_awaited_tick_is_resent_every_resend_period():
    b = _started()
    b.fire(50)
    assert b.sent == [(0, False)]
    b.fire(50)
    b.fire(20)
    b.fire(80)
    assert b.sent == [(0, False), (0, True), (0, True)]
    assert b.answer(after_ms=5) and b.lockstep.latencies_s[0] == pytest.approx(0.205)  # from the first send


def test_no_lockstep_timeout_before_the_first_command():
    b = _started()
    for _ in range(30):
        b.fire(100)
    assert b.timeouts == 0 and b.tick == 0 and b.sent == [(0, False)] + [(0, True)] * 30


def test_lockstep_timeout_after_the_first_command_steps_the_tick():
    b = _started()
    assert b.answer(after_ms=1)  # tick 1 is out at t = 1 ms
    b.fire(2000)  # 2000 ms since: not yet over the timeout, a re-send
    assert b.timeouts == 0 and b.sent[-1] == (1, True)
    b.fire(1)
    assert b.timeouts == 1 and b.tick == 2 and b.sent[-1] == (2, False)


def test_the_last_tick_is_not_awaited_and_finished_comes_one_period_later():
    b = _started()
    b.last_tick = 1
    assert b.answer()
    assert b.sent[-1] == (1, False) and not b.lockstep.awaiting and not b.answer()
    b.fire(20)
    assert not b.lockstep.finished
    b.fire(20)
    assert b.lockstep.finished and b.sent == [(0, False), (1, False)] and b.timeouts == 0


def test_paced_last_tick_is_published_before_the_end_counts():
    b = _started(real_time_factor=1.0)
    b.last_tick = 1
    assert b.answer()
    b.fire(100)  # the slot of the last tick
    assert b.sent[-1] == (1, False) and not b.lockstep.finished
    b.fire(100)
    b.fire(100)
    assert b.lockstep.finished


def test_without_shutdown_when_done_it_never_finishes():
    b = _started(shutdown_when_done=False)
    b.last_tick = 1
    b.answer()
    for _ in range(5):
        b.fire(20)
    assert not b.lockstep.finished


def test_timing_spans_first_to_last_publish():
    b = Bridge()
    assert b.lockstep.timing(0) == {"ticks": 0, "wall_time_s": 0.0, "achieved_rate_hz": None,
                                    "latency": {"p50_ms": None, "p99_ms": None, "max_ms": None}}  # fmt: skip
    b.subscribers = 1
    b.fire(7)
    for _ in range(3):
        b.answer(after_ms=10)  # ticks 1..3 go out 10, 20, 30 ms after tick 0
    timing = b.lockstep.timing(b.tick)
    assert timing["ticks"] == 3 and timing["wall_time_s"] == pytest.approx(0.03)
    assert timing["achieved_rate_hz"] == pytest.approx(2 / 0.03)  # latencies - 1 intervals
    assert timing["latency"]["p50_ms"] == pytest.approx(10.0)
