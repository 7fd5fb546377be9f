"""Seeded domain randomisation, configured as an env option (never a code edit).

Pass a :class:`DomainRandomization` (or a plain dict with its field names) as
``gym.make(id, randomization=...)``. Physical parameters are drawn once per episode at
``reset`` from the env's seeded generator; pushes and sensor noise are drawn per step from the
same generator, so ``reset(seed=s)`` reproduces an episode exactly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from robocritic.utils.fields import check_real


def _check_range(name: str, value: tuple[float, float], *, lower: float, integer: bool = False) -> tuple:
    try:
        lo, hi = value
    except (TypeError, ValueError) as exc:
        raise ValueError(f"DomainRandomization.{name} must be a (low, high) pair; got {value!r}") from exc
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi or lo < lower:
        raise ValueError(
            f"DomainRandomization.{name} must satisfy {lower} <= low <= high < inf; got {value!r}"
        )
    if integer and (int(lo) != lo or int(hi) != hi):
        raise ValueError(f"DomainRandomization.{name} must hold whole numbers of steps; got {value!r}")
    return (int(lo), int(hi)) if integer else (float(lo), float(hi))


@dataclass(frozen=True)
class DomainRandomization:
    """Ranges sampled uniformly; the defaults randomise nothing (the nominal system).

    Attributes:
        mass_scale: (low, high) factor on every body's mass and inertia, per episode.
        friction_scale: (low, high) factor on every contact's sliding friction, per episode.
        joint_damping: (low, high) extra viscous damping added to every joint, N m s/rad
            (N s/m for slides), per episode.
        actuator_delay: (low, high) whole control steps between a command and its effect,
            per episode. The delay line starts filled with the model's neutral input.
        obs_noise_std: standard deviation of additive Gaussian sensor noise, in observation
            units (a scalar or one value per observation entry), per step.
        push_probability: chance per control step of an external push.
        push_force: (low, high) magnitude of a push in N, applied horizontally at the pushed
            body's centre of mass for one control step in a random direction.
    """

    mass_scale: tuple[float, float] = (1.0, 1.0)
    friction_scale: tuple[float, float] = (1.0, 1.0)
    joint_damping: tuple[float, float] = (0.0, 0.0)
    actuator_delay: tuple[int, int] = (0, 0)
    obs_noise_std: float | tuple[float, ...] = 0.0
    push_probability: float = 0.0
    push_force: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)  # frozen dataclass
        set_("mass_scale", _check_range("mass_scale", self.mass_scale, lower=1e-6))
        set_("friction_scale", _check_range("friction_scale", self.friction_scale, lower=0.0))
        set_("joint_damping", _check_range("joint_damping", self.joint_damping, lower=0.0))
        set_("actuator_delay", _check_range("actuator_delay", self.actuator_delay, lower=0, integer=True))
        set_("push_force", _check_range("push_force", self.push_force, lower=0.0))
        noise = np.atleast_1d(np.asarray(self.obs_noise_std, dtype=np.float64))
        if noise.ndim != 1 or not np.all(np.isfinite(noise)) or np.any(noise < 0):
            raise ValueError(
                f"DomainRandomization.obs_noise_std must be finite and >= 0; got {self.obs_noise_std!r}"
            )
        set_("obs_noise_std", tuple(noise.tolist()) if noise.size > 1 else float(noise[0]))
        check_real("DomainRandomization", "push_probability", self.push_probability, low=0.0, high=1.0)

    @classmethod
    def from_any(cls, value: DomainRandomization | dict[str, Any] | None) -> DomainRandomization:
        """Accept a config, a dict of its fields (unknown keys are an error), or ``None``."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - known)
            if unknown:
                raise ValueError(f"randomization: unknown field(s) {unknown}; known: {sorted(known)}")
            return cls(**value)
        raise ValueError(f"randomization must be a DomainRandomization, dict or None; got {type(value)}")


@dataclass(frozen=True)
class EpisodePhysics:
    """The physical parameters drawn for one episode."""

    mass_scale: float = 1.0
    friction_scale: float = 1.0
    joint_damping: float = 0.0
    actuator_delay: int = 0

    @classmethod
    def sample(cls, cfg: DomainRandomization, rng: np.random.Generator) -> EpisodePhysics:
        return cls(
            mass_scale=float(rng.uniform(*cfg.mass_scale)),
            friction_scale=float(rng.uniform(*cfg.friction_scale)),
            joint_damping=float(rng.uniform(*cfg.joint_damping)),
            actuator_delay=int(rng.integers(cfg.actuator_delay[0], cfg.actuator_delay[1] + 1)),
        )
