"""Bresa safety filters: what happens to an impedance command the critic finds risky.

Every filter here is a :class:`~robocritic.interfaces.SafetyFilter` for the 1 kHz loop::

    command, info = filter.certify(state_features (n_s,), nominal_command (2 m,))

with the feature and command conventions of :mod:`robocritic.bresa.features` (command =
``[setpoint (m,) m, log_stiffness (m,) ln(N/m)]``). ``info`` always holds ``intervened`` (bool:
the returned command differs from the nominal one) and ``risk`` (float: the model's risk of the
NOMINAL command at this tick, NaN when no model was evaluated). Every filter has ``reset()``
(call at episode start) and counts the ticks it intervened on in ``interventions`` (not cleared
by ``reset``). The returned command is a fresh array, or the caller's ``action`` itself when
nothing changed.

By default the limited force is the normal one along the LAST task-space axis (z, up; the table
lies below the tool), so "retreat" means moving the setpoint along +z, and the stiffness softened
is the last log-stiffness entry (press-and-wipe). A task whose limited force lies along another
axis configures the axes: :class:`RecoveryPolicy` (``retreat_axis``, ``soften_axes``),
:class:`MinimalModificationFilter` (``shift_axis``, ``soften_axis``), :class:`ForceClampFilter`
(``axis``, ``two_sided``). For peg-in-hole (limited force along x, a wall on either side) the safe
reaction to a lateral force is to COMPLY laterally -- soften x and put the x setpoint at the
current x, so the spring stops pressing the peg into the wall -- and to back off slightly upward
(less engagement, less wedging): ``RecoveryPolicy(retreat=0.003, soften_axes=(0,))``,
``MinimalModificationFilter(shift_axis=-1, soften_axis=0)``, ``ForceClampFilter(axis=0,
two_sided=True)``. Axes are indices into the task axes; negative ones count from the end.

Filters:

* :class:`ReflexFilter` -- the Bresa reflex: score the nominal command; above ``threshold``
  switch to a :class:`RecoveryPolicy` command (retreat and soften) and hold it (hysteresis).
* :class:`MinimalModificationFilter` -- score a fixed grid of retreat x softening candidates
  around the nominal command in one batch; apply the closest safe one.
* :class:`ReflexBackstop` -- minimal modification for moderate risk, the reflex for extreme risk
  or when no candidate is safe.
* :class:`DecisionRateCheck` -- the "check only at the task-policy rate" baseline (Recovery RL
  at 20 Hz): any filter, called every ``period_ticks``-th tick, its correction held in between.
* :class:`ForceClampFilter` -- the analytic, critic-free baseline: cap the commanded spring force.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from robocritic.bresa.features import FeatureLayout
from robocritic.interfaces import SafetyFilter

__all__ = [
    "DecisionRateCheck",
    "ForceClampFilter",
    "MinimalModificationFilter",
    "RecoveryPolicy",
    "ReflexBackstop",
    "ReflexFilter",
    "RiskModel",
]

_NAN = float("nan")
_F64 = np.dtype(np.float64)


@runtime_checkable
class RiskModel(Protocol):
    """Anything that scores a batch of critic inputs: ``risk(x (B, n_in)) -> (B,)`` in [0, 1].

    :class:`~robocritic.bresa.critic.NumpyCritic` is one (its result is a buffer view, valid until
    the next call: the filters read it at once).
    """

    def risk(self, x: np.ndarray) -> np.ndarray: ...


def _check_threshold(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name}: expected a risk in (0, 1), got {value!r}")
    return value


# The per-tick checks below pass a float64 ndarray of the right shape (what the loop builds) after
# three attribute tests, with no conversion, since they run every 1 kHz tick; anything else is
# converted and checked as before.


def _check_command(layout: FeatureLayout, action: np.ndarray) -> np.ndarray:
    if type(action) is np.ndarray and action.dtype == _F64 and action.shape == (2 * layout.m,):
        return action
    a = np.asarray(action, dtype=np.float64)
    if a.shape != (layout.n_action,):
        raise ValueError(f"action: expected an impedance command of shape ({layout.n_action},) "
                         f"[setpoint, log_stiffness], got {a.shape}")
    return a


def _axis(name: str, axis: int, m: int) -> int:
    """Task-axis index ``axis`` (negative: from the end) as ``0 .. m-1``."""
    if isinstance(axis, bool) or int(axis) != axis or not -m <= axis < m:
        raise ValueError(f"{name}: expected a task-axis index in [{-m}, {m}), got {axis!r}")
    return int(axis) % m


def _check_state(layout: FeatureLayout, obs: np.ndarray) -> np.ndarray:
    if type(obs) is np.ndarray and obs.dtype == _F64 and obs.shape == (4 * layout.m + 4,):  # n_state
        return obs
    s = np.asarray(obs, dtype=np.float64)
    if s.shape != (layout.n_state,):
        raise ValueError(f"obs: expected state features of shape ({layout.n_state},), got {s.shape}")
    return s


@dataclass(frozen=True)
class RecoveryPolicy:
    """Retreat and soften, as a pure function of the state features.

    The recovery command at state ``s`` (defaults: press-and-wipe, retreat along +z, soften z):

    * setpoint = TCP position ``s[position]`` + ``retreat`` along + ``retreat_axis``; the other
      setpoints are the TCP position itself (stop the stroke, or stop pressing sideways, where
      the tool is);
    * log stiffness of the ``soften_axes`` = ``log(stiffness_min)``: along the retreat axis the
      spring then pulls the tool back with at most ``stiffness_min * retreat`` N once the tool is
      ``retreat`` behind the setpoint; along another axis the soft spring, centred on the TCP,
      stops pressing;
    * the other axes: with ``soften_tangential=False`` (default) the stiffness applied at the
      previous tick (``s[log_stiffness]``, keeps e.g. the stroke axis as stiff as it was, so a
      sideways push is still resisted); with ``True`` every axis gets ``log(stiffness_min)``.

    Attributes:
        retreat: distance of the setpoint from the TCP along ``retreat_axis`` [m], >= 0.
        stiffness_min: stiffness of the softened axes [N/m], > 0.
        soften_tangential: soften every axis (above).
        retreat_axis: task-axis index of the retreat (default -1: the last, z).
        soften_axes: task-axis indices softened (default ``(-1,)``: the last, z); peg-in-hole:
            ``(0,)`` (x, the lateral axis).
    """

    retreat: float = 0.01
    stiffness_min: float = 150.0
    soften_tangential: bool = False
    retreat_axis: int = -1
    soften_axes: tuple[int, ...] = (-1,)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.retreat) and self.retreat >= 0.0):
            raise ValueError(f"retreat: expected a distance >= 0 m, got {self.retreat!r}")
        if not (math.isfinite(self.stiffness_min) and self.stiffness_min > 0.0):
            raise ValueError(f"stiffness_min: expected a stiffness > 0 N/m, got {self.stiffness_min!r}")
        for name, axis in (("retreat_axis", self.retreat_axis),) + tuple(("soften_axes", a) for a in self.soften_axes):
            if isinstance(axis, bool) or int(axis) != axis:
                raise ValueError(f"{name}: expected integer task-axis indices, got {axis!r}")

    def command(self, layout: FeatureLayout, state: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The recovery command ``(2 m,)`` at state features ``state (n_s,)`` (written into ``out``
        if given)."""
        m = layout.m
        if out is None:
            out = np.empty(2 * m)
        out[:m] = state[layout.position]
        out[_axis("retreat_axis", self.retreat_axis, m)] += self.retreat
        log_min = math.log(self.stiffness_min)
        if self.soften_tangential:
            out[m:] = log_min
        else:
            out[m:] = state[layout.log_stiffness]
            for axis in self.soften_axes:
                out[m + _axis("soften_axes", axis, m)] = log_min
        return out


class _InputRow:
    """A preallocated critic input ``(1, n_in)`` filled in place for one command."""

    def __init__(self, layout: FeatureLayout) -> None:
        self.layout = layout
        self.x = np.zeros((1, layout.n_in))
        n_s, m = layout.n_state, layout.m
        self._state = self.x[0, :n_s]
        self._command = self.x[0, n_s:]
        self._disp = self.x[0, n_s : n_s + m]
        self._position = layout.position

    def fill(self, state: np.ndarray, command: np.ndarray) -> np.ndarray:
        # the command whole, then its setpoint minus the TCP position in place (same arithmetic)
        np.copyto(self._state, state)
        np.copyto(self._command, command)
        np.subtract(self._disp, state[self._position], out=self._disp)
        return self.x


class ReflexFilter:
    """The Bresa reflex: interrupt a risky command with a recovery command and hold it.

    Each tick scores the nominal command (one ``model.risk`` call on a ``(1, n_in)`` row). States:

    * passing (initial): if ``risk > threshold`` the filter TRIGGERS (``triggers += 1``): the
      recovery command is computed from this tick's state by ``recovery`` and LATCHED (held fixed,
      so the retreat is a fixed point ``retreat`` above where the trigger happened, not a setpoint
      that keeps drifting up with the TCP);
    * recovering: the latched recovery command is applied. It is released (the nominal command
      passes again) at the first tick at which both the recovery has been applied for
      ``min_hold_ticks`` ticks (the trigger tick counts as the first) and the nominal command's
      risk is below ``release`` (hysteresis: ``release <= threshold``). A release tick applies
      the nominal command; it re-triggers only on a later tick.

    So a trigger at tick ``t`` applies the recovery on ticks ``t .. t + min_hold_ticks - 1`` at
    least. ``info``: ``intervened``, ``risk`` (nominal), ``triggered`` (this tick),
    ``recovering``, ``hold_ticks`` (ticks the current recovery has been applied, this one
    included; 0 when passing).

    Args:
        model: the risk model. layout: the feature layout.
        threshold: trigger when the nominal risk exceeds it, in (0, 1).
        release: release below it, in (0, threshold]; default ``threshold / 2``.
        min_hold_ticks: shortest recovery, >= 1 tick.
        recovery: the recovery command.
    """

    def __init__(
        self,
        model: RiskModel,
        layout: FeatureLayout,
        *,
        threshold: float = 0.5,
        release: float | None = None,
        min_hold_ticks: int = 20,
        recovery: RecoveryPolicy | None = None,
    ) -> None:
        self.model = model
        self.layout = layout
        self.threshold = _check_threshold("threshold", threshold)
        self.release = self.threshold / 2.0 if release is None else _check_threshold("release", release)
        if self.release > self.threshold:
            raise ValueError(f"release: expected <= threshold ({self.threshold}), got {self.release}")
        if int(min_hold_ticks) != min_hold_ticks or min_hold_ticks < 1:
            raise ValueError(f"min_hold_ticks: expected an integer >= 1, got {min_hold_ticks!r}")
        self.min_hold_ticks = int(min_hold_ticks)
        self.recovery = RecoveryPolicy() if recovery is None else recovery
        self._row = _InputRow(layout)
        self._latched = np.zeros(layout.n_action)
        self.interventions = 0
        self.triggers = 0
        self.reset()

    def reset(self) -> None:
        self._hold = 0  # ticks the current recovery has been applied; 0 = passing

    @property
    def recovering(self) -> bool:
        return self._hold > 0

    def certify(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        state = _check_state(self.layout, obs)
        nominal = _check_command(self.layout, action)
        risk = float(self.model.risk(self._row.fill(state, nominal))[0])
        if self._hold >= self.min_hold_ticks and risk < self.release:
            self._hold = 0
        triggered = self._hold == 0 and risk > self.threshold
        if triggered:
            self.triggers += 1
            self.recovery.command(self.layout, state, out=self._latched)
        if self._hold == 0 and not triggered:
            return action, {"intervened": False, "risk": risk, "triggered": False, "recovering": False,
                            "hold_ticks": 0}
        self._hold += 1
        self.interventions += 1
        return self._latched.copy(), {"intervened": True, "risk": risk, "triggered": triggered,
                                      "recovering": True, "hold_ticks": self._hold}


class MinimalModificationFilter:
    """Apply the closest safe command from a fixed grid of retreat x softening candidates.

    Candidates (fixed order; ``B = len(retreats) * len(stiffness_scales)``, plus one if the grid
    lacks the pair (0, 1)): candidate 0 is the nominal command; then, retreat-major, for each
    retreat ``r`` [m] and scale ``s`` (except ``(0, 1)``): the nominal setpoint moved by ``r``
    along + ``shift_axis`` (default the last, +z: raised), and the stiffness of ``soften_axis``
    (default the last, z: "k_z" below) multiplied by ``s`` but not below ``stiffness_min``
    (``log k_z' = max(log k_z + log s, min(log k_z, log stiffness_min))``: the clip never
    stiffens a command already softer than the minimum). Other components are unchanged.
    Peg-in-hole: ``shift_axis=-1`` (back off upward), ``soften_axis=0`` (comply laterally).

    Each tick first scores the nominal command alone (a batch of one: on most ticks it is safe
    and nothing else is needed); when it is not, ALL candidates are scored in ONE ``model.risk``
    call on a preallocated ``(B, n_in)`` batch (``B <= max_batch``, 64, or the model's
    ``max_batch`` if smaller). A candidate is safe iff its risk is ``<= threshold`` (the reflex's
    trigger is ``> threshold``). Choice:

    * nominal safe -> the nominal command, no intervention;
    * else the safe candidate of least distance ``d^2 = (retreat_weight * r)^2 +
      (stiffness_weight * (log k_z - log k_z'))^2`` (``r`` in m, log-stiffness change in ln(N/m);
      with the defaults 1 cm of retreat weighs as much as a factor ``e`` of softening); ties go to
      the lower index;
    * no safe candidate -> the least risky one (ties to the lower index; if that is the nominal,
      no intervention).

    ``info``: ``intervened``, ``risk`` (nominal), ``risk_applied``, ``candidate`` (index),
    ``safe`` (the applied one is safe), ``retreat`` [m], ``stiffness_scale`` (applied ``k_z' /
    k_z``).

    Args:
        model: the risk model. layout: the feature layout.
        threshold: safe iff risk <= threshold, in (0, 1).
        retreats: setpoint raises [m], each >= 0. stiffness_scales: factors in (0, 1].
        stiffness_min: floor of the scaled normal stiffness [N/m], > 0.
        retreat_weight: [1/m], >= 0. stiffness_weight: [1/ln(N/m)], >= 0.
        max_batch: largest candidate batch allowed.
        shift_axis: task-axis index the retreat moves the setpoint along (+), default -1 (z).
        soften_axis: task-axis index whose stiffness is scaled, default -1 (z).
    """

    def __init__(
        self,
        model: RiskModel,
        layout: FeatureLayout,
        *,
        shift_axis: int = -1,
        soften_axis: int = -1,
        threshold: float = 0.5,
        retreats: Sequence[float] = (0.0, 0.002, 0.005, 0.01, 0.02),
        stiffness_scales: Sequence[float] = (1.0, 0.7, 0.5, 0.3, 0.15),
        stiffness_min: float = 150.0,
        retreat_weight: float = 100.0,
        stiffness_weight: float = 1.0,
        max_batch: int = 64,
    ) -> None:
        self.model = model
        self.layout = layout
        self.shift_axis = _axis("shift_axis", shift_axis, layout.m)
        self.soften_axis = _axis("soften_axis", soften_axis, layout.m)
        self.threshold = _check_threshold("threshold", threshold)
        r = np.asarray(retreats, dtype=np.float64).ravel()
        s = np.asarray(stiffness_scales, dtype=np.float64).ravel()
        if r.size < 1 or not (np.isfinite(r).all() and (r >= 0).all()):
            raise ValueError(f"retreats: expected one or more finite distances >= 0 m, got {retreats!r}")
        if s.size < 1 or not (np.isfinite(s).all() and (s > 0).all() and (s <= 1).all()):
            raise ValueError(f"stiffness_scales: expected one or more factors in (0, 1], "
                             f"got {stiffness_scales!r}")
        if not (math.isfinite(stiffness_min) and stiffness_min > 0):
            raise ValueError(f"stiffness_min: expected a stiffness > 0 N/m, got {stiffness_min!r}")
        for name, w in (("retreat_weight", retreat_weight), ("stiffness_weight", stiffness_weight)):
            if not (math.isfinite(w) and w >= 0):
                raise ValueError(f"{name}: expected a finite weight >= 0, got {w!r}")
        limit = min(int(max_batch), int(getattr(model, "max_batch", max_batch)))
        pairs = [(0.0, 1.0)] + [(float(a), float(b)) for a in r for b in s if not (a == 0.0 and b == 1.0)]
        if len(pairs) > limit:
            raise ValueError(f"retreats x stiffness_scales: {len(pairs)} candidates exceed max_batch {limit}")
        self.n_candidates = B = len(pairs)
        self.stiffness_min = float(stiffness_min)
        self.candidate_retreats = np.array([p[0] for p in pairs])
        self.candidate_scales = np.array([p[1] for p in pairs])
        self._log_scales = np.log(self.candidate_scales)
        self._log_min = math.log(self.stiffness_min)
        self._w_k2 = float(stiffness_weight) ** 2
        self._dist_retreat = (float(retreat_weight) * self.candidate_retreats) ** 2
        self._dist_retreat_list = self._dist_retreat.tolist()
        self._retreat_list = self.candidate_retreats.tolist()
        m, n_s = layout.m, layout.n_state
        # setpoint offsets (B, m): only the shift axis moves
        self._offsets = np.zeros((B, m))
        self._offsets[:, self.shift_axis] = self.candidate_retreats
        self._x = np.zeros((B, layout.n_in))
        self._states = self._x[:, :n_s]
        self._disp = self._x[:, n_s : n_s + m]
        self._log_k = self._x[:, n_s + m :]
        self._log_kz = self._x[:, n_s + m + self.soften_axis]  # a view: the candidates' softened log stiffness
        self._nominal_disp = np.empty(m)
        self.interventions = 0

    def reset(self) -> None:
        """Nothing to clear (the filter has no memory across ticks)."""

    def certify(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        lay = self.layout
        m = lay.m
        state = _check_state(lay, obs)
        nominal = _check_command(lay, action)
        self._states[:] = state
        np.subtract(nominal[:m], state[lay.position], out=self._nominal_disp)
        np.add(self._nominal_disp, self._offsets, out=self._disp)
        self._log_k[:] = nominal[m:]
        log_kz = float(nominal[m + self.soften_axis])
        np.add(self._log_scales, log_kz, out=self._log_kz)
        np.maximum(self._log_kz, min(log_kz, self._log_min), out=self._log_kz)
        r0 = float(self.model.risk(self._x[:1])[0])
        threshold = self.threshold
        if r0 <= threshold:
            return action, {"intervened": False, "risk": r0, "risk_applied": r0, "candidate": 0, "safe": True,
                            "retreat": 0.0, "stiffness_scale": 1.0}
        risk = self.model.risk(self._x)
        # The choice in Python floats: for a few dozen candidates that is cheaper than numpy's
        # per-call overhead, and the arithmetic is the same IEEE operations in the same order.
        # Candidate 0 is the nominal, known unsafe from the call above (a batched matmul may round
        # its risk differently: the decision uses the first value throughout).
        risks = risk.tolist()
        risks[0] = r0
        log_kzs = self._log_kz.tolist()
        w_k2 = self._w_k2
        i, best = -1, math.inf
        for j, (r, lk, dr) in enumerate(zip(risks, log_kzs, self._dist_retreat_list)):
            if r <= threshold:  # safe; least distance, ties to the lower index
                d = lk - log_kz
                d = d * d * w_k2 + dr
                if d < best or i < 0:
                    i, best = j, d
        safe = i >= 0
        if not safe:
            i = int(np.argmin(risks))  # the least risky (NaN-aware as before)
        r_applied = risks[i]
        if i == 0:
            return action, {"intervened": False, "risk": r0, "risk_applied": r0, "candidate": 0,
                            "safe": False, "retreat": 0.0, "stiffness_scale": 1.0}
        out = nominal.copy()
        out[self.shift_axis] += self.candidate_retreats[i]
        out[m + self.soften_axis] = log_kzs[i]
        self.interventions += 1
        return out, {"intervened": True, "risk": r0, "risk_applied": r_applied, "candidate": i, "safe": safe,
                     "retreat": self._retreat_list[i],
                     "stiffness_scale": math.exp(log_kzs[i] - log_kz)}


class ReflexBackstop:
    """Minimal modification for moderate risk; the reflex for extreme risk or when nothing is safe.

    The minimal-modification filter changes a command only as much as the critic asks, so it keeps
    the task going; but a sudden load while pressing near the limit can take the force
    over the limit for longer than a one-tick correction undoes, and when every candidate of its
    small grid is unsafe it can only apply the least risky one. The reflex retreats further and
    holds the retreat. Each tick:

    * the reflex is recovering -> it acts (latched recovery, hold, hysteresis release); on the tick
      it releases, the minimal-modification filter decides instead;
    * else the minimal-modification filter decides; if the nominal command's risk exceeds the
      reflex's threshold, or no candidate was safe, the reflex scores the nominal command and
      triggers if that risk exceeds its threshold; otherwise the filter's choice stands.

    So the reflex's threshold sets where the reflex takes over (e.g. 0.99 over a minimal
    modification at 0.3). ``info``: the acting filter's, plus ``backstop`` (the reflex acted).
    ``interventions``: ticks on which the returned command differs from the nominal one.

    Args:
        primary: the minimal-modification filter. backstop: the reflex (same model and layout).
    """

    def __init__(self, primary: MinimalModificationFilter, backstop: ReflexFilter) -> None:
        if primary.layout != backstop.layout:
            raise ValueError("backstop: the reflex must use the minimal-modification filter's feature layout")
        self.primary, self.backstop = primary, backstop
        self.interventions = 0

    def reset(self) -> None:
        self.primary.reset()
        self.backstop.reset()

    def certify(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        command, info = self._decide(obs, action)
        self.interventions += info["intervened"]
        return command, info

    def _decide(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        if self.backstop.recovering:
            command, info = self.backstop.certify(obs, action)
            if info["intervened"]:
                return command, {**info, "backstop": True}
        command, info = self.primary.certify(obs, action)
        if info["safe"] and not info["risk"] > self.backstop.threshold:
            return command, {**info, "backstop": False}
        reflex_command, reflex_info = self.backstop.certify(obs, action)
        if reflex_info["intervened"]:
            return reflex_command, {**reflex_info, "backstop": True}
        return command, {**info, "backstop": False}


class DecisionRateCheck:
    """Baseline: run ``inner`` only at the task-policy rate and hold its correction in between.

    Ticks are counted from :meth:`reset` (the first ``certify`` after it is tick 0). At each
    CHECK tick (``tick % period_ticks == 0``, tick 0 included) ``inner.certify(obs, action)`` runs
    and its correction ``delta = certified - nominal`` (in command space: setpoint offset [m] and
    log-stiffness change) is stored; the certified command is applied. At every other tick the
    held correction is added to that tick's nominal command: ``applied = nominal + delta``; the
    inner filter is not called and the nominal command is not scored, so ``risk`` is NaN. Hence a
    contact transient that starts just after a check is seen up to ``period_ticks - 1`` ticks
    late, and a correction outlives the danger by up to as long. The inner filter's own state
    advances only at checks (e.g. a :class:`ReflexFilter`'s ``min_hold_ticks`` counts checks).

    ``info``: the inner filter's info at checks, with ``checked=True``; otherwise
    ``intervened`` (the held correction is non-zero), ``risk`` = NaN, ``checked=False``.
    ``interventions`` counts ticks whose applied command differs from the nominal one.

    Args:
        inner: the filter to run at checks. period_ticks: ticks between checks, >= 1 (50 at 1 kHz
            = 20 Hz).
    """

    def __init__(self, inner: SafetyFilter, period_ticks: int = 50) -> None:
        if int(period_ticks) != period_ticks or period_ticks < 1:
            raise ValueError(f"period_ticks: expected an integer >= 1, got {period_ticks!r}")
        self.inner = inner
        self.period_ticks = int(period_ticks)
        self.interventions = 0
        self._delta: np.ndarray | None = None
        self.reset()

    def reset(self) -> None:
        self._tick = 0
        self._delta = None
        self._holding = False
        reset = getattr(self.inner, "reset", None)
        if callable(reset):
            reset()

    def certify(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        tick = self._tick
        self._tick += 1
        nominal = np.asarray(action, dtype=np.float64)
        if tick % self.period_ticks == 0:
            certified, info = self.inner.certify(obs, action)
            certified = np.asarray(certified, dtype=np.float64)
            if certified.shape != nominal.shape:
                raise ValueError(f"inner filter returned shape {certified.shape} "
                                 f"for an action of {nominal.shape}")
            self._delta = certified - nominal
            self._holding = bool(np.any(self._delta != 0.0))
            info = {**info, "checked": True}
            if self._holding:
                self.interventions += 1
            return certified, info
        if self._delta is None or not self._holding:
            return action, {"intervened": False, "risk": _NAN, "checked": False}
        self.interventions += 1
        return nominal + self._delta, {"intervened": True, "risk": _NAN, "checked": False}


class ForceClampFilter:
    """Analytic baseline with no critic: cap the commanded spring force along one axis.

    Default (``axis=-1``, one-sided, press-and-wipe): the normal axis z, as below. With
    ``two_sided=True`` (peg-in-hole, ``axis=0``: a wall on either side) the cap is on the spring
    force's magnitude ``|K (x_sp - x)|`` along ``axis``, and the setpoint is moved towards the TCP
    until it holds (to the TCP itself when the cap is <= 0).

    With the command's own normal stiffness ``K_z = exp(log_stiffness[z])`` [N/m] and the
    current TCP height ``z`` [m] from the state, the spring pushes the tool down with
    ``K_z (z - z_sp)`` [N] (positive when the setpoint is below the TCP). The filter raises the
    setpoint (never lowers it) so that::

        K_z (z - z_sp') <= cap,  cap = base - excess_gain * max(0, f - base),  base = force_limit - margin

    where ``f`` is the measured filtered normal force (``state[layout.force]``): in normal
    operation ``cap = force_limit - margin``; once the measured force already exceeds that, the
    allowed spring force drops by ``excess_gain`` N per N of excess (it may turn negative: a
    retreat that pulls the tool up). Stiffness and the tangential components are unchanged.

    What it cannot see: only the static spring force is capped. The force an IMPACT produces
    comes from the arm's momentum and the contact stiffness, not from the spring (a tool arriving
    at speed overshoots whatever the spring commands), and the surface height is unknown, so the
    displacement is measured from the TCP, not from the surface. It ignores the DYNAMICS: the
    impedance's damping force, inertia, the controller's tracking error, pushes, and the lag of the
    5 ms force filter (the excess term reacts only after the filtered force has risen). ``risk``
    in ``info`` is always NaN; ``info["spring_force"]`` is the nominal command's spring force [N]
    and ``info["cap"]`` the cap [N].

    Args:
        layout: the feature layout. force_limit: the safety limit on the filtered force [N], > 0.
        margin: [N], in [0, force_limit). excess_gain: [N/N], >= 0.
    """

    def __init__(self, layout: FeatureLayout, *, force_limit: float = 30.0, margin: float = 5.0,
                 excess_gain: float = 1.0, axis: int = -1, two_sided: bool = False) -> None:
        if not (math.isfinite(force_limit) and force_limit > 0):
            raise ValueError(f"force_limit: expected a force > 0 N, got {force_limit!r}")
        if not (math.isfinite(margin) and 0 <= margin < force_limit):
            raise ValueError(f"margin: expected a force in [0, force_limit={force_limit}) N, got {margin!r}")
        if not (math.isfinite(excess_gain) and excess_gain >= 0):
            raise ValueError(f"excess_gain: expected a gain >= 0, got {excess_gain!r}")
        if not isinstance(two_sided, bool):
            raise ValueError(f"two_sided: expected a bool, got {two_sided!r}")
        self.axis = _axis("axis", axis, layout.m)
        self.two_sided = two_sided
        self.layout = layout
        self.force_limit = float(force_limit)
        self.margin = float(margin)
        self.excess_gain = float(excess_gain)
        self.interventions = 0

    def reset(self) -> None:
        """Nothing to clear (the filter has no memory across ticks)."""

    def certify(self, obs: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        lay = self.layout
        m = lay.m
        state = _check_state(lay, obs)
        nominal = _check_command(lay, action)
        a = self.axis
        z = float(state[lay.position.start + a])  # the limited axis (default the normal, last one)
        force = float(state[lay.force])
        k_z = math.exp(float(nominal[m + a]))
        z_sp = float(nominal[a])
        base = self.force_limit - self.margin
        cap = base - self.excess_gain * max(0.0, force - base)
        if self.two_sided:
            spring = k_z * (z_sp - z)  # signed; its magnitude is capped
            if abs(spring) <= max(cap, 0.0):
                return action, {"intervened": False, "risk": _NAN, "spring_force": spring, "cap": cap}
            out = nominal.copy()
            out[a] = z + math.copysign(max(cap, 0.0), spring) / k_z
            self.interventions += 1
            return out, {"intervened": True, "risk": _NAN, "spring_force": spring, "cap": cap}
        spring = k_z * (z - z_sp)
        if spring <= cap:
            return action, {"intervened": False, "risk": _NAN, "spring_force": spring, "cap": cap}
        out = nominal.copy()
        out[a] = z - cap / k_z
        self.interventions += 1
        return out, {"intervened": True, "risk": _NAN, "spring_force": spring, "cap": cap}
