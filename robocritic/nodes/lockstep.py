"""When a lockstep simulator bridge publishes: tick ``k`` out, wait for its command, step, tick ``k+1``.

:class:`LockstepScheduler` is the pacing shared by ``arm_sim_bridge`` and ``nav_sim_bridge``; the
bridge keeps its env, its messages, its counters and its log lines and hands the scheduler a few
callbacks. On each timer call the scheduler, in this order:

1. publishes a stepped tick whose wall-time slot has come (paced: ``real_time_factor`` > 0);
2. once the episode is done, sets :attr:`~LockstepScheduler.finished` one timer period later (so
   the last tick's messages are out) when ``shutdown_when_done``;
3. before the first tick, publishes tick 0 once ``can_start()`` says the graph is there;
4. while a tick awaits its command: after the first accepted command, a tick without one for
   ``lockstep_timeout_s`` of wall time is handed to ``on_timeout`` (the bridge steps it with its
   safe command); otherwise the tick is re-sent every ``resend_period_s``.

The bridge answers a tick by calling :meth:`~LockstepScheduler.close_tick`, stepping its env and
calling :meth:`~LockstepScheduler.next_tick`. ``sim_bridge`` (the pendulum) has its own loop: it
also runs free, counts late ticks and publishes a late tick at once.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from robocritic.nodes.report import percentiles_ms
from robocritic.ros.transport.base import Node

HOUSEKEEPING_PERIOD_S = 0.02
"""Timer period [s] when unpaced: how often re-sends and timeouts are checked."""
LATENCY_SAMPLES = 100_000
"""Default number of latencies kept (the most recent)."""


class LockstepScheduler:
    """Paces a bridge's lockstep loop on a timer of ``node`` (module docstring).

    Args:
        node: the bridge's node (its clock and the timer).
        dt_s: simulated time per tick [s].
        real_time_factor: simulated s per wall s; 0 unpaced (a tick goes out as soon as it is stepped).
        lockstep_timeout_s: wall time [s] a tick waits for its command before ``on_timeout``
            (only once a first command was accepted: a controller may take long to start).
        resend_period_s: wall time [s] between re-sends of the awaited tick.
        shutdown_when_done: set :attr:`finished` one timer period after the episode's end.
        publish: sends the current tick; ``publish(True)`` is a re-send of the awaited one (the
            bridge counts those).
        on_timeout: steps the awaited tick without its command (the bridge logs and counts it).
        can_start: whether the first tick may go out (enough subscribers).
        is_done: whether the episode has ended (the current tick is the last one).
        latency_samples: latencies kept for :meth:`timing` (the most recent).
        perf_clock: monotonic clock [ns] for latencies and the achieved rate.

    Attributes:
        paced: ``real_time_factor`` > 0. period_s: the timer's period [s]. finished: the node may exit.
        latencies_s: wall time from a tick's first publish to its first accepted command [s].
    """

    def __init__(
        self,
        node: Node,
        *,
        dt_s: float,
        real_time_factor: float,
        lockstep_timeout_s: float,
        resend_period_s: float,
        shutdown_when_done: bool,
        publish: Callable[[bool], None],
        on_timeout: Callable[[], None],
        can_start: Callable[[], bool],
        is_done: Callable[[], bool],
        latency_samples: int = LATENCY_SAMPLES,
        perf_clock: Callable[[], int] = time.perf_counter_ns,
    ) -> None:
        self._node = node
        self.real_time_factor = real_time_factor
        self.paced = real_time_factor > 0
        self.period_s = dt_s / real_time_factor if self.paced else HOUSEKEEPING_PERIOD_S
        self._timeout_ns = lockstep_timeout_s * 1e9
        self._resend_ns = resend_period_s * 1e9
        self._shutdown_when_done = shutdown_when_done
        self._publish_cb, self._on_timeout, self._can_start, self._is_done = (
            publish, on_timeout, can_start, is_done,
        )  # fmt: skip
        self._perf_clock = perf_clock
        self.latencies_s: deque[float] = deque(maxlen=latency_samples)
        self.finished = False
        self._started = False
        self._awaiting = False  # the current tick is out and waits for its command
        self._ready = False  # paced: stepped, waiting for the tick's wall-time slot
        self._command_seen = False
        self._published_ns = self._last_sent_ns = 0  # node clock: the tick's first publish, any send
        self._published_perf_ns: int | None = None  # the open tick's first publish, until its command
        self._first_perf_ns: int | None = None
        self._last_perf_ns: int | None = None
        self._done_since: int | None = None
        self._timer = node.create_timer(self.period_s, self._on_timer)

    @property
    def pacing(self) -> str:
        """``real-time factor <x>`` or ``unpaced``, for the bridge's start-up log line."""
        return f"real-time factor {self.real_time_factor:g}" if self.paced else "unpaced"

    @property
    def command_seen(self) -> bool:
        """Whether a command was ever accepted (:meth:`command_arrived`)."""
        return self._command_seen

    @property
    def awaiting(self) -> bool:
        """Whether the current tick is out and waits for its command."""
        return self._awaiting

    def command_arrived(self) -> bool:
        """Note an accepted command; returns whether a tick awaits it.

        The first command after a tick's first publish gives that tick's latency. When this
        returns ``False`` (before the first tick, after the end, a second answer) the bridge
        ignores the command; otherwise it answers the tick (:meth:`close_tick`, ...).
        """
        self._command_seen = True
        if self._published_perf_ns is not None:
            self.latencies_s.append((self._perf_clock() - self._published_perf_ns) / 1e9)
            self._published_perf_ns = None
        return self._awaiting

    def close_tick(self) -> None:
        """The awaited tick is answered (or timed out): stop waiting for it; call before stepping."""
        self._awaiting = False

    def next_tick(self) -> None:
        """The env has stepped: publish the new tick now (unpaced) or in its wall-time slot (paced)."""
        if self.paced:
            self._ready = True
        else:
            self._publish()

    def timing(self, ticks: int) -> dict[str, Any]:
        """The report's ``timing``: ``ticks``, ``wall_time_s`` from the first tick's publish to the
        last's, ``achieved_rate_hz`` (timed latencies less one per second of that span; ``None``
        without a span) and ``latency`` (:func:`~robocritic.nodes.report.percentiles_ms`)."""
        first, last = self._first_perf_ns, self._last_perf_ns
        span = (last - first) / 1e9 if first is not None and last is not None else 0.0
        intervals = max(len(self.latencies_s) - 1, 0)
        return {
            "ticks": ticks,
            "wall_time_s": span,
            "achieved_rate_hz": intervals / span if span > 0 else None,
            "latency": percentiles_ms(list(self.latencies_s)),
        }

    def _on_timer(self) -> None:
        now = self._node.now_ns()
        if self._ready:  # paced: the stepped tick's wall-time slot has come
            self._ready = False
            self._publish()
        elif self._is_done():
            if self._done_since is None:  # one period after the last tick, so its messages are out
                self._done_since = now
            elif self._shutdown_when_done:
                self.finished = True
        elif not self._started:
            if self._can_start():
                self._started = True
                self._publish()
        elif self._awaiting:
            if self._command_seen and now - self._published_ns > self._timeout_ns:
                self._on_timeout()
            elif now - self._last_sent_ns >= self._resend_ns:
                self._publish(resend=True)

    def _publish(self, resend: bool = False) -> None:
        self._publish_cb(resend)
        self._last_sent_ns = self._node.now_ns()
        if resend:
            return
        perf = self._perf_clock()
        self._published_ns, self._published_perf_ns = self._last_sent_ns, perf
        self._first_perf_ns = perf if self._first_perf_ns is None else self._first_perf_ns
        self._last_perf_ns = perf
        self._awaiting = not self._is_done()


__all__ = ["HOUSEKEEPING_PERIOD_S", "LATENCY_SAMPLES", "LockstepScheduler"]
