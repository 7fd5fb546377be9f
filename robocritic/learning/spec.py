"""What a trained policy acts on, recorded so that it runs without its simulator.

* :func:`half_widths`: the scale every network divides a state or input by (one copy of "1 where
  a side is open").
* :class:`ObsNormalization`: ``obs -> (obs - center) / scale`` as float32, the observation
  transform of learners that see normalised observations (the stable-baselines3 baselines).
* :class:`PlantSpec`: sizes, control period, operating point and absolute bounds of the system,
  written into a run's sidecar so that a deployment (a controller node) needs neither the env
  nor the simulator to check and run the policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from robocritic.dynamics import DynamicsModel

__all__ = ["ObsNormalization", "PlantSpec", "half_widths"]


def half_widths(low: np.ndarray | Sequence[float], high: np.ndarray | Sequence[float]) -> np.ndarray:
    """``(high - low) / 2`` per entry, 1 where a side is open (infinite) or the width is zero:
    a positive scale to divide by, never inf or 0."""
    half = 0.5 * (np.asarray(high, dtype=np.float64) - np.asarray(low, dtype=np.float64))
    return np.where(np.isfinite(half) & (half > 0), half, 1.0)


def _floats(values: np.ndarray) -> list[float | None]:
    """JSON form of a vector that may hold +-inf (an open side): ``None`` there."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=np.float64)]


def _bound(values: Sequence[float | None], missing: float) -> np.ndarray:
    return np.array([missing if v is None else float(v) for v in values], dtype=np.float64)


@dataclass(frozen=True, eq=False)
class ObsNormalization:
    """``obs -> ((obs - center) / scale).astype(float32)``.

    Attributes:
        center: ``(n_obs,)`` subtracted first (the operating state).
        scale: ``(n_obs,)`` positive divisors (:func:`half_widths` of the state box).
    """

    center: np.ndarray
    scale: np.ndarray

    def __post_init__(self) -> None:
        center = np.asarray(self.center, dtype=np.float64).reshape(-1)
        scale = np.asarray(self.scale, dtype=np.float64).reshape(-1)
        if center.shape != scale.shape:
            raise ValueError(f"ObsNormalization: center has {center.size} entries, scale {scale.size}")
        if not (np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise ValueError(f"ObsNormalization.scale must be finite and > 0; got {scale.tolist()}")
        object.__setattr__(self, "center", center)
        object.__setattr__(self, "scale", scale)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """``(..., n_obs)`` absolute observations -> normalised float32 of the same shape."""
        return ((np.asarray(obs, dtype=np.float64) - self.center) / self.scale).astype(np.float32)

    def observation_space(self) -> gym.spaces.Box:
        """The (unbounded, float32) space of the normalised observations."""
        return gym.spaces.Box(-np.inf, np.inf, shape=self.center.shape, dtype=np.float32)

    def to_json(self) -> dict[str, Any]:
        return {"center": self.center.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ObsNormalization:
        return cls(np.array(data["center"], dtype=np.float64), np.array(data["scale"], dtype=np.float64))


@dataclass(frozen=True, eq=False)
class PlantSpec:
    """The system a policy was trained on, as far as running it needs (absolute units).

    Attributes:
        dt: control period, s.
        x_eq: ``(n_x,)`` operating state; u_eq: ``(n_u,)`` the input holding it (a safe command).
        state_low, state_high: ``(n_x,)`` state box (+-inf where a side is open).
        input_low, input_high: ``(n_u,)`` input box (the env's action bounds).
        state_names, input_names: labels (may be empty).
    """

    dt: float
    x_eq: np.ndarray
    u_eq: np.ndarray
    state_low: np.ndarray
    state_high: np.ndarray
    input_low: np.ndarray
    input_high: np.ndarray
    state_names: tuple[str, ...] = ()
    input_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("x_eq", "u_eq", "state_low", "state_high", "input_low", "input_high"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.float64).reshape(-1))
        n_x, n_u = self.x_eq.size, self.u_eq.size
        for name, n in (("state_low", n_x), ("state_high", n_x), ("input_low", n_u), ("input_high", n_u)):
            if getattr(self, name).size != n:
                raise ValueError(f"PlantSpec.{name} must have {n} entries; got {getattr(self, name).size}")
        if not (np.isfinite(self.dt) and self.dt > 0):
            raise ValueError(f"PlantSpec.dt must be > 0 seconds; got {self.dt!r}")
        object.__setattr__(self, "dt", float(self.dt))
        object.__setattr__(self, "state_names", tuple(self.state_names))
        object.__setattr__(self, "input_names", tuple(self.input_names))

    @property
    def n_x(self) -> int:
        return int(self.x_eq.size)

    @property
    def n_u(self) -> int:
        return int(self.u_eq.size)

    @classmethod
    def from_dynamics(cls, dynamics: DynamicsModel) -> PlantSpec:
        """The spec of an env's dynamics model (its nominal period, operating point and boxes)."""
        return cls(
            dt=float(dynamics.dt),
            x_eq=dynamics.x_eq,
            u_eq=dynamics.u_eq,
            state_low=dynamics.state_box.low,
            state_high=dynamics.state_box.high,
            input_low=dynamics.input_box.low,
            input_high=dynamics.input_box.high,
            state_names=tuple(dynamics.state_names),
            input_names=tuple(dynamics.input_names),
        )

    def action_space(self) -> gym.spaces.Box:
        """The input box as the env's float32 action space."""
        return gym.spaces.Box(self.input_low.astype(np.float32), self.input_high.astype(np.float32))

    def to_json(self) -> dict[str, Any]:
        return {
            "n_x": self.n_x,
            "n_u": self.n_u,
            "dt": self.dt,
            "x_eq": self.x_eq.tolist(),
            "u_eq": self.u_eq.tolist(),
            "state_low": _floats(self.state_low),
            "state_high": _floats(self.state_high),
            "input_low": _floats(self.input_low),
            "input_high": _floats(self.input_high),
            "state_names": list(self.state_names),
            "input_names": list(self.input_names),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlantSpec:
        """Inverse of :meth:`to_json` (``None`` bounds are open sides).

        Raises:
            ValueError: a missing key (named) or sizes that disagree with ``n_x`` / ``n_u``.
        """
        try:
            spec = cls(
                dt=float(data["dt"]),
                x_eq=np.array(data["x_eq"], dtype=np.float64),
                u_eq=np.array(data["u_eq"], dtype=np.float64),
                state_low=_bound(data["state_low"], -np.inf),
                state_high=_bound(data["state_high"], np.inf),
                input_low=_bound(data["input_low"], -np.inf),
                input_high=_bound(data["input_high"], np.inf),
                state_names=tuple(data.get("state_names", ())),
                input_names=tuple(data.get("input_names", ())),
            )
        except KeyError as exc:
            raise ValueError(f"plant spec: missing key {exc}") from None
        if (spec.n_x, spec.n_u) != (data.get("n_x", spec.n_x), data.get("n_u", spec.n_u)):
            raise ValueError(
                f"plant spec: n_x={data.get('n_x')}, n_u={data.get('n_u')} disagree with x_eq, u_eq "
                f"({spec.n_x}, {spec.n_u})"
            )
        return spec
