"""What the Bresa critic sees: per-tick state features and the features of an impedance command.

An *impedance command* (the 1 kHz intermediate action, what a :class:`~robocritic.interfaces.SafetyFilter`
certifies) is a flat vector ``[setpoint (m,), log_stiffness (m,)]``: the Cartesian setpoint [m]
in the base frame and the natural log of the per-axis stiffness [ln(N/m)], for an arm whose task
space has ``m`` coordinates (2 for the planar arm: x, z; 3 for a spatial one). The damping ratio
is not part of it (critically damped throughout).

State features, ``n_s = 4 m + 4`` values (names in :meth:`FeatureLayout.state_names`):

| block | size | meaning | unit |
|---|---|---|---|
| ``x`` | m | TCP position | m |
| ``v`` | m | TCP velocity ``J qd`` | m/s |
| ``force`` | 1 | filtered normal contact force (what the limit is on) | N |
| ``force_rate`` | 1 | its change over the last tick divided by dt | N/s |
| ``force_raw`` | 1 | unfiltered normal force | N |
| ``log_k`` | m | stiffness applied at the previous tick | ln(N/m) |
| ``error`` | m | previous setpoint minus TCP position | m |
| ``contact_time`` | 1 | time since the filtered force last rose above the contact threshold, capped | s |

Action features, ``n_a = 2 m``: the command's setpoint minus the TCP position [m] (the spring's
displacement, which sets the force) and its log stiffness. The critic's input is
``[state features, action features]`` (:func:`robocritic.bresa.critic.critic_input`).
Position and approach speed are in the state on purpose: an impact spike builds up within 1-2 ms
of first contact, faster than any force-only signal can warn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robocritic.interfaces import ArmState

__all__ = ["CONTACT_THRESHOLD", "CONTACT_TIME_CAP", "FeatureLayout", "FeatureTracker", "command"]

CONTACT_THRESHOLD = 1.0
"""Filtered normal force above which the tool counts as in contact [N]."""
CONTACT_TIME_CAP = 0.5
"""Largest reported time in contact [s] (beyond it, how long does not matter)."""


def command(setpoint: np.ndarray, log_stiffness: np.ndarray) -> np.ndarray:
    """The flat impedance command ``[setpoint (m,), log_stiffness (m,)]`` (float64)."""
    return np.concatenate([np.asarray(setpoint, dtype=np.float64), np.asarray(log_stiffness, dtype=np.float64)])


@dataclass(frozen=True)
class FeatureLayout:
    """Sizes and slices of the features for a task space of ``m`` coordinates."""

    m: int
    axes: tuple[str, ...] = ("x", "z")

    def __post_init__(self) -> None:
        if self.m < 1 or len(self.axes) != self.m:
            raise ValueError(f"FeatureLayout: m must be >= 1 with one axis name each; got m={self.m}, axes={self.axes}")

    @property
    def n_state(self) -> int:
        return 4 * self.m + 4

    @property
    def n_action(self) -> int:
        return 2 * self.m

    @property
    def n_in(self) -> int:
        """Critic input size ``n_state + n_action``."""
        return self.n_state + self.n_action

    @property
    def position(self) -> slice:
        return slice(0, self.m)

    @property
    def velocity(self) -> slice:
        return slice(self.m, 2 * self.m)

    @property
    def force(self) -> int:
        return 2 * self.m

    @property
    def log_stiffness(self) -> slice:
        return slice(2 * self.m + 3, 3 * self.m + 3)

    @property
    def error(self) -> slice:
        return slice(3 * self.m + 3, 4 * self.m + 3)

    def state_names(self) -> tuple[str, ...]:
        per_axis = lambda prefix: tuple(f"{prefix}_{a}" for a in self.axes)  # noqa: E731
        return (per_axis("pos") + per_axis("vel") + ("force", "force_rate", "force_raw")
                + per_axis("log_k") + per_axis("error") + ("contact_time",))

    def action_names(self) -> tuple[str, ...]:
        return tuple(f"cmd_disp_{a}" for a in self.axes) + tuple(f"cmd_log_k_{a}" for a in self.axes)

    def split(self, commands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(..., 2 m)`` commands -> setpoints ``(..., m)``, log stiffnesses ``(..., m)``."""
        commands = np.asarray(commands, dtype=np.float64)
        if commands.shape[-1] != 2 * self.m:
            raise ValueError(f"impedance command: expected {2 * self.m} values [setpoint, log_stiffness], "
                             f"got shape {commands.shape}")
        return commands[..., : self.m], commands[..., self.m :]

    def action_features(self, state: np.ndarray, commands: np.ndarray) -> np.ndarray:
        """Features of ``commands (..., 2 m)`` at state features ``state (n_s,)`` (or a batch
        ``(..., n_s)`` matching the commands' leading axes): ``(..., 2 m)``."""
        setpoint, log_k = self.split(commands)
        # [..., position]: a batch of states indexes its last axis, not its rows.
        return np.concatenate([setpoint - np.asarray(state)[..., self.position], log_k], axis=-1)

    def critic_input(self, state: np.ndarray, commands: np.ndarray) -> np.ndarray:
        """``[state, action features]`` for one command ``(2 m,)`` -> ``(n_in,)`` or a batch
        ``(B, 2 m)`` -> ``(B, n_in)`` (the state repeated)."""
        actions = self.action_features(state, commands)
        states = np.broadcast_to(state, actions.shape[:-1] + state.shape[-1:])
        return np.concatenate([states, actions], axis=-1)


class FeatureTracker:
    """Builds the state features tick by tick (it keeps the previous force and the contact clock).

    Args:
        layout: the feature layout. dt: control period [s].
    """

    def __init__(self, layout: FeatureLayout, dt: float) -> None:
        if not dt > 0:
            raise ValueError(f"dt must be > 0 s; got {dt!r}")
        self.layout = layout
        self.dt = float(dt)
        self.reset()

    def reset(self) -> None:
        self._previous_force: float | None = None
        self._contact_time = 0.0

    def update(
        self, state: ArmState, force_filtered: float, force_raw: float, applied: np.ndarray
    ) -> np.ndarray:
        """State features ``(n_s,)`` for this tick (a fresh array).

        Args:
            state: the arm state after the last physics step.
            force_filtered, force_raw: normal contact force, filtered and raw [N].
            applied: the impedance command applied at the previous tick ``(2 m,)``.
        """
        m = self.layout.m
        command = np.asarray(applied, dtype=np.float64)
        if command.shape != (2 * m,):
            raise ValueError(f"applied: expected {2 * m} values [setpoint, log_stiffness], got shape {command.shape}")
        return self._update(state, force_filtered, force_raw, command.tolist())

    def _update(self, state: ArmState, force_filtered: float, force_raw: float, values: list[float]) -> np.ndarray:
        """:meth:`update` with the applied command already a list of ``2 m`` floats (the caller
        checked it: :meth:`update`, or :class:`~robocritic.bresa.hierarchy.TwoRateLoop`, which
        builds that list itself every tick)."""
        m = self.layout.m
        f = float(force_filtered)
        rate = 0.0 if self._previous_force is None else (f - self._previous_force) / self.dt
        self._previous_force = f
        self._contact_time = min(self._contact_time + self.dt, CONTACT_TIME_CAP) if f > CONTACT_THRESHOLD else 0.0
        # One list and one copy: at this size numpy's per-slice overhead would dominate the tick.
        x = np.asarray(state.x, dtype=np.float64).tolist()
        error = [s - xi for s, xi in zip(values[:m], x, strict=True)]
        return np.array(x + (state.jacobian @ state.qd).tolist() + [f, rate, float(force_raw)]
                        + values[m:] + error + [self._contact_time])
