"""Sim bridge logic without middleware: an env stepped by joint-effort commands, with safeguards.

:class:`BridgeLogic` owns a Gymnasium env whose true state is ``[q (n,), dq (n,)]`` in the joint
order of a hardware profile, and turns it into what a robot driver offers a controller:

- a **sensor sample** per tick (JointState fields in robot order, sign and offset applied by the
  profile's :class:`~robocritic.profiles.JointMap`, stamped with simulated time ``tick * dt``);
- **command intake**: efforts in robot joint order, checked (size, NaN/inf, and
  ``out_of_range``: beyond :data:`~robocritic.nodes.io.joint.PLAUSIBLE_FACTOR` times the
  profile's effort limit, a scaling or unit fault rather than a request for full effort) and
  counted when dropped. A dropped command counts as missing: free-running holds the last good
  command until the watchdog applies the safe one, lockstep waits for the tick's command (then
  ``lockstep_timeout``). Efforts between the limit and that factor pass to the env, which
  saturates them as an actuator would;
- **which command to apply** (:meth:`BridgeLogic.select`): lockstep applies only a command that
  arrived for the current tick; free-running holds the last command; both apply the safe command
  (the model's ``u_eq``, zero effort for the pendulum) on a latched e-stop, and free-running also
  when no fresh command came for ``command_timeout_ns`` (the watchdog), each counted by reason;
- **records** of the true states and applied commands per episode, for reports and tests.

What the controller sees (``state_source``): ``"observation"`` publishes the env's observation
(sensor noise and float32 rounding included: exactly what ``run_closed_loop`` hands a
controller, so a lockstep run through the nodes is bit-identical to it), ``"state"`` the
noise-free ``info["state"]``.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from robocritic.nodes.io.joint import PLAUSIBLE_FACTOR, PlausibleRange, decode_effort
from robocritic.nodes.rejections import InputRejected, RejectionCounter
from robocritic.profiles import JointMap
from robocritic.ros.transport.base import NodeLogger

STATE_SOURCES = ("observation", "state")
SAFE_STEP_REASONS = ("no_command", "watchdog", "estop", "lockstep_timeout")


@dataclass(frozen=True)
class SensorSample:
    """What the bridge publishes for one tick.

    Attributes:
        tick: simulation tick (``stamp_ns = tick * dt_ns``).
        stamp_ns: simulated time [ns].
        names: joint names in profile order.
        position, velocity: ``(n,)`` robot-order joint readings [rad, rad/s or m, m/s].
        effort: ``(n,)`` robot-order effort applied in the step that led here [N m or N].
        state: true (noise-free) env state ``info["state"]``.
    """

    tick: int
    stamp_ns: int
    names: tuple[str, ...]
    position: np.ndarray
    velocity: np.ndarray
    effort: np.ndarray
    state: np.ndarray


@dataclass(frozen=True)
class StepRecord:
    """One env step: the command applied (model order) and why it was that one."""

    tick: int
    command: np.ndarray
    reason: str  # "command", "held" or one of SAFE_STEP_REASONS
    episode_ended: bool


class BridgeLogic:
    """An env behind a joint-space command/state interface (see the module docstring).

    Args:
        env: a Gymnasium env whose ``info["state"]`` starts with ``[q (n,), dq (n,)]`` in profile
            joint order and whose action is ``(n,)`` efforts; ``env.unwrapped.dt`` [s] is one tick.
            The logic owns it and closes it in :meth:`close`.
        joint_map: the profile's joint order, signs and offsets.
        state_source: ``"observation"`` or ``"state"`` (module docstring).
        command_timeout_ns: free-running watchdog [ns of simulated time]: a command older than
            this is replaced by the safe command.
        safe_command: ``(n,)`` model-order effort [N m or N]; default the model's ``u_eq``
            (``env.unwrapped.dynamics``) or zeros.
        seed: seed of the first episode's reset; episode ``i`` uses ``seed + i``.
        initial_state: start state of every episode (absolute, model units); ``None`` samples one.
        max_steps: stop after this many steps in total (0: never); :attr:`done` then says so.
        keep_episodes: records (states, commands) kept for this many most recent episodes.
        plausible_factor: reject commands beyond this factor of the joint map's effort limits as
            ``out_of_range`` (see :class:`~robocritic.nodes.io.joint.PlausibleRange`); ``None``
            turns the check off.
        logger: where warnings go (rate-limited).
    """

    def __init__(
        self,
        env: gym.Env,
        joint_map: JointMap,
        *,
        state_source: str = "observation",
        command_timeout_ns: int,
        safe_command: Sequence[float] | np.ndarray | None = None,
        seed: int = 0,
        initial_state: Sequence[float] | np.ndarray | None = None,
        max_steps: int = 0,
        keep_episodes: int = 100,
        plausible_factor: float | None = PLAUSIBLE_FACTOR,
        logger: NodeLogger | None = None,
    ) -> None:
        if state_source not in STATE_SOURCES:
            raise ValueError(f"state_source must be one of {STATE_SOURCES}; got {state_source!r}")
        if command_timeout_ns <= 0:
            raise ValueError(f"command_timeout_ns must be > 0; got {command_timeout_ns}")
        if max_steps < 0:
            raise ValueError(f"max_steps must be >= 0; got {max_steps}")
        self.env = env
        self.joint_map = joint_map
        self.plausible = None if plausible_factor is None else PlausibleRange.of(joint_map, plausible_factor)
        self.n = len(joint_map.names)
        self.state_source = state_source
        self.command_timeout_ns = int(command_timeout_ns)
        base = env.unwrapped
        self.dt_ns = round(float(base.dt) * 1e9)
        if self.dt_ns <= 0:
            raise ValueError(f"env dt must be > 0 s; got {base.dt!r}")
        action_shape = getattr(env.action_space, "shape", None)
        if action_shape != (self.n,):
            raise ValueError(
                f"the env's action has shape {action_shape}; the profile's {self.n} joint(s) {list(joint_map.names)} "
                f"need ({self.n},) efforts"
            )
        dynamics = getattr(base, "dynamics", None)
        default_safe = (
            np.asarray(dynamics.u_eq, dtype=np.float64) if dynamics is not None else np.zeros(self.n)
        )
        self.safe_command = np.asarray(
            default_safe if safe_command is None else safe_command, dtype=np.float64
        ).reshape(-1)
        if self.safe_command.shape != (self.n,):
            raise ValueError(
                f"safe_command needs {self.n} values (one per joint); got {self.safe_command.shape}"
            )
        self.seed = int(seed)
        self.initial_state = None if initial_state is None else np.asarray(initial_state, dtype=np.float64)
        self.max_steps = int(max_steps)
        self.logger = logger or NodeLogger("sim_bridge")
        self._rejections = RejectionCounter(self.logger, "command")
        self.rejected = self._rejections.counts
        self.safe_steps: Counter[str] = Counter()
        self.commands_received = 0
        self.held_steps = 0  # free-running steps that reused a command from an earlier tick
        self.tick = 0
        self.steps = 0
        # Records of the most recent episodes only: a free-running bridge may run for days.
        self.episodes: deque[dict[str, Any]] = deque(maxlen=keep_episodes)
        self.episode_count = 0
        self._command: np.ndarray | None = None
        self._command_ns: int | None = None
        self._fresh = False
        self._estop_signal = False
        self._estop_latched = False
        self._applied = np.zeros(self.n)
        self._reset_episode()

    # --- episodes and sensing -------------------------------------------------------------------

    def _reset_episode(self) -> None:
        index = self.episode_count
        self.episode_count += 1
        options = None if self.initial_state is None else {"state": self.initial_state}
        obs, info = self.env.reset(seed=self.seed + index, options=options)
        state = np.asarray(info.get("state", obs), dtype=np.float64).reshape(-1)
        source = np.asarray(obs if self.state_source == "observation" else state, dtype=np.float64).reshape(
            -1
        )
        if source.size < 2 * self.n:
            what = "observation" if self.state_source == "observation" else 'info["state"]'
            raise ValueError(
                f"state_source={self.state_source!r}: the env's {what} has {source.size} values; a joint-space "
                f"bridge needs [q, dq] for the profile's {self.n} joint(s)"
            )
        self._source = source
        self._state = state
        self._applied = np.zeros(self.n)
        self.episodes.append({"seed": self.seed + index, "start_tick": self.tick, "states": [state.tolist()],
                              "actions": []})  # fmt: skip

    def sensor(self) -> SensorSample:
        """The sample for the current tick (robot order and units)."""
        q, dq = self._source[: self.n], self._source[self.n : 2 * self.n]
        return SensorSample(
            tick=self.tick,
            stamp_ns=self.tick * self.dt_ns,
            names=self.joint_map.names,
            position=self.joint_map.position_to_robot(q),
            velocity=self.joint_map.velocity_to_robot(dq),
            effort=self.joint_map.effort_to_robot(self._applied),
            state=self._state.copy(),
        )

    @property
    def stamp_ns(self) -> int:
        """Simulated time of the current tick [ns]."""
        return self.tick * self.dt_ns

    @property
    def done(self) -> bool:
        """Whether ``max_steps`` steps have been taken."""
        return self.max_steps > 0 and self.steps >= self.max_steps

    # --- inputs ---------------------------------------------------------------------------------

    def on_command(self, values: Sequence[float], now_ns: int) -> bool:
        """Check and store an effort command in robot joint order; ``False`` (counted) if dropped.

        ``now_ns`` is its arrival on the bridge's watchdog clock [ns].
        """
        try:
            u = decode_effort(values, self.joint_map, self.plausible)
        except InputRejected as exc:
            self._rejections.reject(exc)
            return False
        except (TypeError, ValueError) as exc:
            self._rejections.reject(InputRejected("malformed", str(exc)))
            return False
        self._command, self._command_ns, self._fresh = u, int(now_ns), True
        self.commands_received += 1
        return True

    @property
    def has_fresh_command(self) -> bool:
        """Whether a command arrived since the last step (or :meth:`discard_fresh`)."""
        return self._fresh

    def discard_fresh(self) -> None:
        """Forget that a command is fresh: in lockstep, one that arrived before the tick was published
        was computed from an older state and must not drive this tick."""
        self._fresh = False

    def on_estop(self, engaged: bool) -> None:
        """E-stop signal: engaging latches the safe command until :meth:`reset_estop`."""
        self._estop_signal = bool(engaged)
        if engaged and not self._estop_latched:
            self._estop_latched = True
            self.logger.warning("E-STOP engaged: applying the safe command until reset")

    def reset_estop(self) -> bool:
        """Release a latched e-stop; refused (``False``) while the signal is still engaged."""
        if self._estop_signal:
            self.logger.warning("e-stop reset refused: the e-stop signal is still engaged")
            return False
        if self._estop_latched:
            self.logger.info("e-stop released")
        self._estop_latched = False
        return True

    @property
    def estopped(self) -> bool:
        """Whether an e-stop is latched."""
        return self._estop_latched

    # --- stepping -------------------------------------------------------------------------------

    def select(self, now_ns: int, lockstep: bool) -> tuple[np.ndarray, str] | None:
        """The command to apply this tick and why; ``None`` in lockstep when none arrived yet.

        Free-running: the last command while younger than ``command_timeout_ns``, else the safe
        command (``no_command`` before the first, ``watchdog`` after). Both modes: the safe command
        while an e-stop is latched (lockstep still waits for the tick's command first, so the
        simulation keeps the controller's pace).
        """
        if lockstep and not self._fresh:
            return None
        if self._estop_latched:
            return self.safe_command.copy(), "estop"
        if lockstep:
            return self._command.copy(), "command"
        if self._command is None:
            return self.safe_command.copy(), "no_command"
        if now_ns - self._command_ns > self.command_timeout_ns:
            self.logger.warning(
                f"watchdog: last command {(now_ns - self._command_ns) / 1e9:.3f} s old "
                f"(timeout {self.command_timeout_ns / 1e9:g} s); applying the safe command",
                throttle_s=1.0,
                key="watchdog",
            )
            return self.safe_command.copy(), "watchdog"
        return self._command.copy(), "command" if self._fresh else "held"

    def step(self, command: np.ndarray, reason: str) -> StepRecord:
        """Apply ``command`` (model order) for one tick and advance simulated time.

        Starts the next episode when the env terminates or truncates (unless :attr:`done`).
        """
        if self.done:
            raise RuntimeError(f"max_steps={self.max_steps} reached; the bridge does not step further")
        u = np.asarray(command, dtype=np.float64).reshape(-1)
        if reason in SAFE_STEP_REASONS:
            self.safe_steps[reason] += 1
        elif reason == "held":
            self.held_steps += 1
        self._fresh = False
        obs, _reward, terminated, truncated, info = self.env.step(u)
        state = np.asarray(info.get("state", obs), dtype=np.float64).reshape(-1)
        episode = self.episodes[-1]
        episode["states"].append(state.tolist())
        episode["actions"].append(u.tolist())
        self._state = state
        self._source = np.asarray(
            obs if self.state_source == "observation" else state, dtype=np.float64
        ).reshape(-1)
        self._applied = np.asarray(info.get("applied_action", u), dtype=np.float64).reshape(-1)[: self.n]
        record = StepRecord(self.tick, u, reason, bool(terminated or truncated))
        self.tick += 1
        self.steps += 1
        if record.episode_ended and not self.done:
            self.logger.info(f"episode {self.episode_count - 1} ended at tick {self.tick}; resetting")
            self._reset_episode()
        return record

    def counters(self) -> dict[str, Any]:
        """Counters for a report or health check."""
        return {
            "steps": self.steps,
            "episodes": self.episode_count,
            "commands_received": self.commands_received,
            "rejected": dict(self.rejected),
            "safe_steps": dict(self.safe_steps),
            "held_steps": self.held_steps,
            "estopped": self._estop_latched,
        }

    def close(self) -> None:
        """Close the env."""
        self.env.close()


__all__ = ["SAFE_STEP_REASONS", "STATE_SOURCES", "BridgeLogic", "SensorSample", "StepRecord"]
