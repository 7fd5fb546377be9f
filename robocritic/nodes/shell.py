"""The safety shell of a control node, without messages: arrays in, commands out.

:class:`NodeShell` wraps any :class:`~robocritic.interfaces.Controller` (and optionally a
:class:`~robocritic.interfaces.SafetyFilter`) with what a node that moves hardware must do, for
any robot kind; the per-kind I/O (:mod:`robocritic.nodes.io`) turns messages into the arrays it
takes and its commands back into messages.

- **inactive until activated**: the shell returns ``None`` (send nothing); activation resets the
  controller (a new episode) and deactivation returns one safe stop;
- **e-stop** (latched): every command is the safe command until the e-stop signal is released
  *and* the shell is activated again;
- **watchdog**: no accepted state for ``state_timeout_ns`` (on the node's clock) -> safe command;
- **inputs**: the I/O layer decodes and checks a state; the shell stores an accepted one
  (:meth:`NodeShell.accept_state`) or counts a rejected one by reason
  (:meth:`NodeShell.reject`). A dropped state counts as missing: the controller keeps acting on
  the last accepted state until the watchdog expires, then the safe command goes out;
- **output checks**: a controller (or filter) that raises or returns NaN/wrong size yields the
  safe command; the action is clipped to ``[action_low, action_high]`` (counted).

Two rates. Without a filter, one step per control period: the controller acts on the newest
state (:meth:`NodeShell.command`). With a filter, the shell ticks at the filter's rate
(:meth:`NodeShell.tick`): at the ticks where a control period has passed the controller acts and
its action is held; at every tick the filter certifies the held action against the newest state,
and what it returns (after the output checks) is the command. So a 20 Hz policy behind a 1 kHz
filter is certified 50 times per action, each time on a fresh state.

Times are integer nanoseconds of the node's clock (sim time under ``use_sim_time``).
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robocritic.interfaces import Controller, SafetyFilter
from robocritic.nodes.rejections import InputRejected, RejectionCounter
from robocritic.ros.transport.base import NodeLogger

SAFE_REASONS = ("estop", "stale_state", "controller_error", "filter_error", "deactivate", "shutdown")
"""Why a safe command was sent (keys of :attr:`NodeShell.safe_commands`)."""

_TIMING_SAMPLES = 100_000  # compute times kept for percentiles (a bounded window, ~1.4 h at 20 Hz)
_RATE_SLACK = 0.99  # float rates (1/30 s) round to ns differently on the two sides of a topic


@dataclass(frozen=True)
class Command:
    """One command to send.

    Attributes:
        effort: ``(n_u,)`` action in model order and units (efforts [N m or N] for a joint-space
            robot; the name is kept from then).
        safe: whether this is the safe command rather than the controller's.
        reason: ``"control"`` or one of :data:`SAFE_REASONS`.
        state_stamp_ns: stamp of the state it was computed from (``None`` for a safe command
            that used no state).
    """

    effort: np.ndarray
    safe: bool
    reason: str
    state_stamp_ns: int | None = None

    @property
    def action(self) -> np.ndarray:
        """The ``(n_u,)`` action (same array as :attr:`effort`), for robots whose input is no effort."""
        return self.effort


class _PeriodClock:
    """At most one claim per ``period_ns`` of a time stream; a time before the last claim restarts."""

    def __init__(self, period_ns: int) -> None:
        self.period_ns = period_ns
        self._min_gap_ns = int(period_ns * _RATE_SLACK)
        self.last_ns: int | None = None

    def claim(self, t_ns: int) -> bool:
        last = self.last_ns
        if last is None or t_ns < last or t_ns - last >= self._min_gap_ns:
            self.last_ns = int(t_ns)
            return True
        return False

    def reset(self) -> None:
        self.last_ns = None


class NodeShell:
    """Activation, e-stop, watchdog, output checks and a filter stage around a controller.

    Args:
        controller: the control law; ``act(x)`` gets the newest accepted state ``(n_x,)``.
        safe_command: ``(n_u,)`` action on e-stop, stale state, deactivation (model units).
        state_timeout_ns: watchdog timeout on the node's clock [ns].
        control_period_ns: the controller's period [ns].
        action_low, action_high: ``(n_u,)`` limits the command is clipped to (model units);
            ``None``: no clipping.
        safety_filter: certifies every command (module docstring); ``None``: none.
        filter_period_ns: the filter's period [ns], at most ``control_period_ns``; default
            ``control_period_ns``. Only with ``safety_filter``.
        active: start active (``autostart``).
        now_ns: clock reading at construction, for the watchdog's grace period after an
            ``active`` start (``None``: the first reading :meth:`stale` sees).
        logger: where warnings go (rate-limited); default a logger named ``controller``.
        what: what a state is, for log lines (``"joint state"``).

    Attributes:
        rejected: dropped states by reason.
        safe_commands: safe commands sent, by reason.
        commands_sent: every command returned.
        clipped: commands clipped to the action limits.
        states_accepted: states that passed the I/O layer's checks.
        compute_times_s: recent wall times of ``controller.act`` [s].
        filter_times_s: recent wall times of ``safety_filter.certify`` [s].
        filter_steps: certifications run.
        filter_modified: certifications that changed the action.
    """

    def __init__(
        self,
        controller: Controller,
        *,
        safe_command: Sequence[float] | np.ndarray,
        state_timeout_ns: int,
        control_period_ns: int,
        action_low: Sequence[float] | np.ndarray | None = None,
        action_high: Sequence[float] | np.ndarray | None = None,
        safety_filter: SafetyFilter | None = None,
        filter_period_ns: int | None = None,
        active: bool = True,
        now_ns: int | None = None,
        logger: NodeLogger | None = None,
        what: str = "state",
    ) -> None:
        self.controller = controller
        self.safe_command = np.asarray(safe_command, dtype=np.float64).reshape(-1)
        n_u = self.safe_command.size
        self.action_low = _bound("action_low", action_low, n_u)
        self.action_high = _bound("action_high", action_high, n_u)
        if state_timeout_ns <= 0 or control_period_ns <= 0:
            raise ValueError("state_timeout_ns and control_period_ns must be > 0")
        if safety_filter is None and filter_period_ns is not None:
            raise ValueError("filter_period_ns needs a safety_filter")
        filter_period_ns = control_period_ns if filter_period_ns is None else int(filter_period_ns)
        if not 0 < filter_period_ns <= control_period_ns:
            raise ValueError(
                f"filter_period_ns must be in (0, control_period_ns = {control_period_ns}]; "
                f"got {filter_period_ns}"
            )
        self.state_timeout_ns = int(state_timeout_ns)
        self.control_period_ns = int(control_period_ns)
        self.safety_filter = safety_filter
        self.filter_period_ns = filter_period_ns
        self.logger = logger or NodeLogger("controller")
        self._rejections = RejectionCounter(self.logger, what)
        self.rejected = self._rejections.counts
        self.safe_commands: Counter[str] = Counter()
        self.commands_sent = 0
        self.clipped = 0
        self.states_accepted = 0
        self.compute_times_s: deque[float] = deque(maxlen=_TIMING_SAMPLES)
        self.filter_times_s: deque[float] = deque(maxlen=_TIMING_SAMPLES)
        self.filter_steps = 0
        self.filter_modified = 0
        self._active = False
        self._activated_ns: int | None = None
        self._state: np.ndarray | None = None
        self._state_stamp_ns: int | None = None
        self._state_received_ns: int | None = None
        # Ticks (one command each): the control period without a filter, the filter's with one.
        self._ticks = _PeriodClock(filter_period_ns if safety_filter is not None else self.control_period_ns)
        self._policy = _PeriodClock(self.control_period_ns)
        self._held: np.ndarray | None = None  # the controller's latest action, certified at every tick
        self._held_failed = False  # the controller failed at its latest step: hold the safe command
        self._estop_signal = False
        self._estop_latched = False
        if active:
            self.activate(now_ns)

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether commands are being sent."""
        return self._active

    @property
    def estopped(self) -> bool:
        """Whether an e-stop is latched."""
        return self._estop_latched

    @property
    def tick_period_ns(self) -> int:
        """Period of the shell's commands [ns]: the filter's with a filter, else the controller's."""
        return self._ticks.period_ns

    def activate(self, now_ns: int | None) -> bool:
        """Start sending commands; resets the controller and releases a latched e-stop.

        ``now_ns`` starts the watchdog's grace period; ``None`` (a sim-time node that has not
        received ``/clock`` yet) starts it at the first time :meth:`stale` is asked, so the jump
        from 0 to the simulation's time is not mistaken for a silent sensor. Refused (``False``,
        logged) while the e-stop signal is still engaged.
        """
        if self._estop_signal:
            self.logger.warning("activation refused: the e-stop is engaged")
            return False
        if self._active and not self._estop_latched:
            return True
        self.controller.reset()
        self._active = True
        self._estop_latched = False
        self._activated_ns = None if now_ns is None else int(now_ns)
        self._ticks.reset()
        self._policy.reset()
        self._held, self._held_failed = None, False
        self.logger.info("activated")
        return True

    def deactivate(self, reason: str = "deactivate") -> Command | None:
        """Stop sending commands; returns the one safe stop to send (``None`` if already inactive)."""
        if not self._active:
            return None
        self._active = False
        self.logger.info(f"deactivated ({reason}); sending a safe stop")
        return self._safe(reason, None)

    def on_estop(self, engaged: bool) -> Command | None:
        """E-stop signal; when it engages, latch and return a safe command to send at once."""
        self._estop_signal = bool(engaged)
        if engaged and not self._estop_latched:
            self._estop_latched = True
            self.logger.warning("E-STOP engaged: holding the safe command until released and re-activated")
            if self._active:
                return self._safe("estop", None)
        return None

    def shutdown(self) -> Command | None:
        """The safe stop to send before the node exits (``None`` if inactive: it sent nothing)."""
        return self.deactivate("shutdown")

    # --- inputs ---------------------------------------------------------------------------------

    def accept_state(self, x: np.ndarray, stamp_ns: int, now_ns: int) -> None:
        """Store a decoded, checked state ``(n_x,)`` stamped ``stamp_ns``, received at ``now_ns`` [ns]."""
        self._state = x
        self._state_stamp_ns = int(stamp_ns)
        self._state_received_ns = int(now_ns)
        self.states_accepted += 1

    def reject(self, exc: InputRejected) -> None:
        """Count a dropped state by ``exc.reason`` and log it (rate-limited per reason)."""
        self._rejections.reject(exc)

    @property
    def state(self) -> np.ndarray | None:
        """Latest accepted state (``None`` before the first)."""
        return None if self._state is None else self._state.copy()

    @property
    def state_stamp_ns(self) -> int | None:
        """Stamp of the latest accepted state [ns]."""
        return self._state_stamp_ns

    def stale(self, now_ns: int) -> bool:
        """Whether the watchdog has expired at ``now_ns``.

        Measured from the last accepted state, or, before any state, from activation (a grace
        period of one timeout for the sensors to come up). Always ``False`` while inactive.
        """
        if not self._active:
            return False
        if self._state_received_ns is not None:
            return now_ns - self._state_received_ns > self.state_timeout_ns
        if self._activated_ns is None:  # first reading after a sim-time activation: grace starts now
            self._activated_ns = int(now_ns)
            return False
        return now_ns - self._activated_ns > self.state_timeout_ns

    def claim_tick(self, stamp_ns: int) -> bool:
        """Under sim time: whether the state stamped ``stamp_ns`` starts a new tick.

        At most one command per :attr:`tick_period_ns` of stamps, so a re-sent state (same stamp)
        does not produce a second command; a stamp earlier than the last tick (the simulation was
        restarted) starts over. Inactive: ``False`` and nothing is consumed.
        """
        if not self._active:
            return False
        return self._ticks.claim(stamp_ns)

    # --- output ---------------------------------------------------------------------------------

    def tick(self, now_ns: int, stamp_ns: int | None = None) -> Command | None:
        """The command of one tick: a controller step when a control period has passed (always,
        without a filter), else the filter's certification of the held action.

        ``stamp_ns`` is the tick's time on the control grid (the state's stamp under sim time;
        default ``now_ns``). Returns ``None`` when there is nothing to send (inactive, or no
        state yet within the grace period).
        """
        if self.safety_filter is None:
            return self.command(now_ns)
        # A control period starts at the first tick that has a state to act on.
        at_ns = now_ns if stamp_ns is None else stamp_ns
        if self._active and self._state is not None and self._policy.claim(at_ns):
            return self.command(now_ns)
        return self._filter_tick(now_ns)

    def command(self, now_ns: int) -> Command | None:
        """A controller step now (then the filter's certification, with one), or ``None``
        (inactive, or no state yet within the grace period)."""
        if not self._active:
            return None
        unsafe = self._unsafe(now_ns)
        if unsafe is not None or self._state is None:
            return unsafe
        x = self._state
        start = time.perf_counter()
        try:
            u = np.asarray(self.controller.act(x.copy()), dtype=np.float64).reshape(-1)
            problem = None if self._valid(u) else u
        except Exception as exc:
            problem = exc
        self.compute_times_s.append(time.perf_counter() - start)
        if problem is not None:
            self._held, self._held_failed = None, True
            self.logger.error(
                f"controller {_describe(problem)} for state {x.tolist()}; sending the safe command",
                throttle_s=1.0,
                key="controller_error",
            )
            return self._safe("controller_error", self._state_stamp_ns)
        if self.safety_filter is not None:
            self._held, self._held_failed = u, False
            return self._certify(x, u)
        return self._send(u)

    def _filter_tick(self, now_ns: int) -> Command | None:
        if not self._active:
            return None
        unsafe = self._unsafe(now_ns)
        if unsafe is not None or self._state is None:
            return unsafe
        if self._held_failed:  # until the controller produces an action again
            return self._safe("controller_error", self._state_stamp_ns)
        if self._held is None:  # the controller has not acted since activation
            return None
        return self._certify(self._state, self._held)

    def _certify(self, x: np.ndarray, u: np.ndarray) -> Command:
        start = time.perf_counter()
        try:
            certified, _info = self.safety_filter.certify(x.copy(), u.copy())
            v = np.asarray(certified, dtype=np.float64).reshape(-1)
            problem = None if self._valid(v) else v
        except Exception as exc:
            problem = exc
        self.filter_times_s.append(time.perf_counter() - start)
        self.filter_steps += 1
        if problem is not None:
            self.logger.error(
                f"safety filter {_describe(problem)} for state {x.tolist()} and action {u.tolist()}; "
                "sending the safe command",
                throttle_s=1.0,
                key="filter_error",
            )
            return self._safe("filter_error", self._state_stamp_ns)
        if (v != u).any():
            self.filter_modified += 1
        return self._send(v)

    def _unsafe(self, now_ns: int) -> Command | None:
        """The safe command when an active shell must not send a computed one (e-stop, watchdog)."""
        if self._estop_latched:
            return self._safe("estop", self._state_stamp_ns)
        if self.stale(now_ns):
            age = (
                "no state yet"
                if self._state_received_ns is None
                else (f"last state {(now_ns - self._state_received_ns) / 1e9:.3f} s ago")
            )
            self.logger.warning(
                f"watchdog: {age} (timeout {self.state_timeout_ns / 1e9:g} s); sending the safe command",
                throttle_s=1.0,
                key="stale",
            )
            return self._safe("stale_state", self._state_stamp_ns)
        return None

    def _valid(self, u: np.ndarray) -> bool:
        # ndarray methods and bare ufuncs: this runs at the filter rate, and numpy's function
        # wrappers (np.all, np.clip, np.array_equal) cost more than the arithmetic here.
        return u.shape == self.safe_command.shape and bool(np.isfinite(u).all())

    def _send(self, u: np.ndarray) -> Command:
        low, high = self.action_low, self.action_high
        clipped = u if low is None else np.maximum(u, low)
        clipped = clipped if high is None else np.minimum(clipped, high)
        if clipped is not u:
            if (clipped != u).any():
                self.clipped += 1
            u = clipped
        self.commands_sent += 1
        return Command(u, False, "control", self._state_stamp_ns)

    def _safe(self, reason: str, stamp_ns: int | None) -> Command:
        self.safe_commands[reason] += 1
        self.commands_sent += 1
        return Command(self.safe_command.copy(), True, reason, stamp_ns)

    def counters(self) -> dict[str, object]:
        """Counters for a report or health check (filter counters only with a filter)."""
        counters: dict[str, object] = {
            "active": self._active,
            "estopped": self._estop_latched,
            "states_accepted": self.states_accepted,
            "rejected": dict(self.rejected),
            "commands_sent": self.commands_sent,
            "safe_commands": dict(self.safe_commands),
            "clipped": self.clipped,
        }
        if self.safety_filter is not None:
            counters["filter_steps"] = self.filter_steps
            counters["filter_modified"] = self.filter_modified
        return counters


def _bound(name: str, value: Sequence[float] | np.ndarray | None, n_u: int) -> np.ndarray | None:
    if value is None:
        return None
    a = np.asarray(value, dtype=np.float64).reshape(-1)
    if a.size not in (1, n_u) or np.any(np.isnan(a)):
        raise ValueError(
            f"{name} needs 1 or {n_u} numbers (one per input, like safe_command); got {a.tolist()}"
        )
    return np.broadcast_to(a, (n_u,)).copy()


def _describe(problem: np.ndarray | Exception) -> str:
    if isinstance(problem, Exception):
        return f"raised {type(problem).__name__}: {problem}"
    return f"returned {problem.tolist()}"


__all__ = ["SAFE_REASONS", "Command", "NodeShell"]
