"""Controller node logic without middleware: activation, e-stop, watchdog, input checks.

:class:`ControllerLogic` wraps any :class:`~robocritic.interfaces.Controller` with what a node
that moves hardware must do (STYLE.md 15, ROS2.md):

- **inactive until activated**: :meth:`ControllerLogic.command` returns ``None`` (send nothing);
  activation resets the controller (a new episode) and deactivation returns one safe stop;
- **e-stop** (latched): every command is the safe command until the e-stop signal is released
  *and* the controller is activated again;
- **watchdog**: no accepted state for ``state_timeout_s`` (on the node's clock) -> safe command;
- **input checks**: a NaN/inf, malformed, wrong-size, unknown-joint or physically impossible
  (``out_of_range``: beyond :data:`~robocritic.nodes.common.PLAUSIBLE_FACTOR` times the
  profile's position/velocity limits, a sensor fault) state is dropped and counted by reason,
  logged at most once per second per reason, and never raises. A dropped state counts as
  missing: the controller keeps acting on the last accepted state until the watchdog expires,
  then sends the safe command (one rule for every kind of bad state);
- **output checks**: a controller that raises or returns NaN/wrong size yields the safe command;
  efforts are clipped to the profile's limits (and counted).

Times are integer nanoseconds of the node's clock (sim time under ``use_sim_time``).
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robocritic.interfaces import Controller
from robocritic.profiles import JointMap
from robocritic.ros.transport.base import NodeLogger
from robocritic.nodes.common import PLAUSIBLE_FACTOR, InputRejected, PlausibleRange, RejectionCounter, decode_joint_state

SAFE_REASONS = ("estop", "stale_state", "controller_error", "deactivate", "shutdown")
"""Why a safe command was sent (keys of :attr:`ControllerLogic.safe_commands`)."""

_COMPUTE_SAMPLES = 100_000  # compute times kept for percentiles (a bounded window, ~1.4 h at 20 Hz)


@dataclass(frozen=True)
class Command:
    """One command to send.

    Attributes:
        effort: ``(n,)`` efforts in model joint order [N m or N].
        safe: whether this is the safe command rather than the controller's.
        reason: ``"control"`` or one of :data:`SAFE_REASONS`.
        state_stamp_ns: stamp of the state it was computed from (``None`` for a safe command
            that used no state).
    """

    effort: np.ndarray
    safe: bool
    reason: str
    state_stamp_ns: int | None = None


class ControllerLogic:
    """Activation, e-stop, watchdog and input/output checks around a controller (no middleware).

    Args:
        controller: the control law; ``act(x)`` gets the model-order state ``[q, dq]``.
        joint_map: the profile's joint order, signs and offsets.
        effort_limits: ``(n,)`` |effort| limits in model units [N m or N].
        safe_command: ``(n,)`` effort applied on e-stop, stale state, deactivation [N m or N].
        state_timeout_ns: watchdog timeout on the node's clock [ns].
        control_period_ns: control period [ns]; used by :meth:`claim_tick` under sim time.
        active: start active (``autostart``).
        now_ns: clock reading at construction, for the watchdog's grace period after an
            ``active`` start (``None``: the first reading :meth:`stale` sees).
        ignore_unknown_joints: accept JointStates that carry joints the profile does not list.
        plausible_factor: reject states beyond this factor of the joint map's position/velocity
            limits as ``out_of_range`` (see :class:`~robocritic.nodes.common.PlausibleRange`);
            ``None`` turns the check off.
        logger: where warnings go (rate-limited); default a logger named ``controller``.

    Attributes:
        rejected: dropped states by reason (see :func:`~robocritic.nodes.common.decode_joint_state`).
        safe_commands: safe commands sent, by reason.
        commands_sent: every command returned by :meth:`command` / :meth:`deactivate`.
        clipped: controller outputs clipped to the effort limits.
        states_accepted: states that passed the checks.
        compute_times_s: recent wall times of ``controller.act`` [s].
    """

    def __init__(
        self,
        controller: Controller,
        joint_map: JointMap,
        *,
        effort_limits: Sequence[float] | np.ndarray,
        safe_command: Sequence[float] | np.ndarray,
        state_timeout_ns: int,
        control_period_ns: int,
        active: bool = True,
        now_ns: int | None = None,
        ignore_unknown_joints: bool = False,
        plausible_factor: float | None = PLAUSIBLE_FACTOR,
        logger: NodeLogger | None = None,
    ) -> None:
        n = len(joint_map.names)
        self.controller = controller
        self.joint_map = joint_map
        self.effort_limits = np.asarray(effort_limits, dtype=np.float64).reshape(-1)
        self.safe_command = np.asarray(safe_command, dtype=np.float64).reshape(-1)
        if self.effort_limits.shape != (n,) or self.safe_command.shape != (n,):
            raise ValueError(
                f"effort_limits and safe_command need one value per joint ({n}); got "
                f"{self.effort_limits.shape} and {self.safe_command.shape}"
            )
        if state_timeout_ns <= 0 or control_period_ns <= 0:
            raise ValueError("state_timeout_ns and control_period_ns must be > 0")
        self.state_timeout_ns = int(state_timeout_ns)
        self.control_period_ns = int(control_period_ns)
        self.ignore_unknown_joints = ignore_unknown_joints
        self.plausible = None if plausible_factor is None else PlausibleRange.of(joint_map, plausible_factor)
        self.logger = logger or NodeLogger("controller")
        self._rejections = RejectionCounter(self.logger, "joint state")
        self.rejected = self._rejections.counts
        self.safe_commands: Counter[str] = Counter()
        self.commands_sent = 0
        self.clipped = 0
        self.states_accepted = 0
        self.compute_times_s: deque[float] = deque(maxlen=_COMPUTE_SAMPLES)
        self._active = False
        self._activated_ns: int | None = None
        self._state: np.ndarray | None = None
        self._state_stamp_ns: int | None = None
        self._state_received_ns: int | None = None
        self._last_tick_stamp_ns: int | None = None
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
        self._last_tick_stamp_ns = None
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

    # --- inputs ---------------------------------------------------------------------------------

    def on_state(
        self,
        names: Sequence[str],
        position: Sequence[float],
        velocity: Sequence[float],
        stamp_ns: int,
        now_ns: int,
    ) -> bool:
        """Check and store a JointState's fields; ``False`` (counted, logged) if dropped.

        Args:
            names, position, velocity: the message's fields (robot order and units).
            stamp_ns: ``header.stamp`` [ns].
            now_ns: receipt time on the node's clock [ns] (what the watchdog measures).
        """
        try:
            x = decode_joint_state(
                self.joint_map, names, position, velocity,
                ignore_unknown_joints=self.ignore_unknown_joints, plausible=self.plausible,
            )  # fmt: skip
        except InputRejected as exc:
            self._rejections.reject(exc)
            return False
        except (TypeError, ValueError) as exc:  # e.g. a name that is not a string-like value
            self._rejections.reject(InputRejected("malformed", str(exc)))
            return False
        self._state = x
        self._state_stamp_ns = int(stamp_ns)
        self._state_received_ns = int(now_ns)
        self.states_accepted += 1
        return True

    @property
    def state(self) -> np.ndarray | None:
        """Latest accepted model-order state ``[q, dq]`` (``None`` before the first)."""
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
        """Under sim time: whether the state stamped ``stamp_ns`` starts a new control period.

        At most one command per control period of stamps, so a re-sent state (same stamp) does
        not produce a second command; a stamp earlier than the last tick (the simulation was
        restarted) starts over. Inactive: ``False`` and nothing is consumed.
        """
        if not self._active:
            return False
        last = self._last_tick_stamp_ns
        # 1% slack: float rates (1/30 s) round to ns differently on the two sides.
        if last is None or stamp_ns < last or stamp_ns - last >= self.control_period_ns * 99 // 100:
            self._last_tick_stamp_ns = int(stamp_ns)
            return True
        return False

    # --- output ---------------------------------------------------------------------------------

    def command(self, now_ns: int) -> Command | None:
        """The command to send now, or ``None`` (inactive, or no state yet within the grace period)."""
        if not self._active:
            return None
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
        if self._state is None:
            return None
        start = time.perf_counter()
        try:
            u = np.asarray(self.controller.act(self._state.copy()), dtype=np.float64).reshape(-1)
            ok = u.shape == self.safe_command.shape and bool(np.all(np.isfinite(u)))
            problem = f"returned {u.tolist()}"
        except Exception as exc:  # noqa: BLE001 - any controller failure becomes a safe command
            ok, problem = False, f"raised {type(exc).__name__}: {exc}"
        self.compute_times_s.append(time.perf_counter() - start)
        if not ok:
            self.logger.error(
                f"controller {problem} for state {self._state.tolist()}; sending the safe command",
                throttle_s=1.0,
                key="controller_error",
            )
            return self._safe("controller_error", self._state_stamp_ns)
        clipped = np.clip(u, -self.effort_limits, self.effort_limits)
        if not np.array_equal(clipped, u):
            self.clipped += 1
        self.commands_sent += 1
        return Command(clipped, False, "control", self._state_stamp_ns)

    def shutdown(self) -> Command | None:
        """The safe stop to send before the node exits (``None`` if inactive: it sent nothing)."""
        return self.deactivate("shutdown")

    def _safe(self, reason: str, stamp_ns: int | None) -> Command:
        self.safe_commands[reason] += 1
        self.commands_sent += 1
        return Command(self.safe_command.copy(), True, reason, stamp_ns)

    def counters(self) -> dict[str, object]:
        """Counters for a report or health check."""
        return {
            "active": self._active,
            "estopped": self._estop_latched,
            "states_accepted": self.states_accepted,
            "rejected": dict(self.rejected),
            "commands_sent": self.commands_sent,
            "safe_commands": dict(self.safe_commands),
            "clipped": self.clipped,
        }


__all__ = ["SAFE_REASONS", "Command", "ControllerLogic"]
