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

from robocritic.utils.fields import is_finite_real
from robocritic.utils.validation import as_real_array, short_repr

#: Upper bounds of the fields: far beyond any useful randomisation, and what keeps every engine's
#: numbers finite and an episode's memory bounded (the delay line holds one command per step).
MAX_SCALE = 1e3  # mass_scale, friction_scale (factors)
MAX_JOINT_DAMPING = 1e3  # N m s/rad (N s/m for slides)
MAX_ACTUATOR_DELAY = 10_000  # control steps: longer than any registered episode
MAX_OBS_NOISE_STD = 1e3  # observation units
MAX_NOISE_ENTRIES = 4096  # obs_noise_std values (each env takes 1 or one per observation entry)
MAX_PUSH_FORCE = 1e4  # N


def _pair(name: str, value: Any) -> tuple[Any, Any]:
    """``value`` unpacked as ``(low, high)``; strings and mappings are no pairs."""
    message = f"DomainRandomization.{name} must be a (low, high) pair; got {short_repr(value)}"
    if isinstance(value, (str, bytes, dict)):
        raise ValueError(message)  # noqa: TRY004 - bad input is a ValueError, whatever its type
    try:
        lo, hi = value
    except (TypeError, ValueError) as exc:
        raise ValueError(message) from exc
    return lo, hi


def _check_range(name: str, value: tuple[float, float], *, lower: float, upper: float,
                 integer: bool = False) -> tuple:
    lo, hi = _pair(name, value)
    if not (is_finite_real(lo) and is_finite_real(hi) and lower <= lo <= hi <= upper):
        raise ValueError(
            f"DomainRandomization.{name} must satisfy {lower} <= low <= high <= {upper:g} (finite real "
            f"numbers); got {short_repr(value)}"
        )
    if integer and (int(lo) != lo or int(hi) != hi):
        raise ValueError(
            f"DomainRandomization.{name} must hold whole numbers of steps; got {short_repr(value)}")
    return (int(lo), int(hi)) if integer else (float(lo), float(hi))


def _check_noise(value: Any) -> float | tuple[float, ...]:
    """``obs_noise_std``: a scalar or a 1-D list of real numbers in ``[0, MAX_OBS_NOISE_STD]``."""
    name = "DomainRandomization.obs_noise_std"
    noise = np.atleast_1d(as_real_array(name, value, max_size=MAX_NOISE_ENTRIES, finite=False))
    if noise.ndim != 1 or noise.size == 0 or not np.all(np.isfinite(noise)) or np.any(noise < 0) \
            or np.any(noise > MAX_OBS_NOISE_STD):
        raise ValueError(f"{name} must be finite and >= 0 and <= {MAX_OBS_NOISE_STD:g} (a scalar or a list); "
                         f"got {short_repr(value)}")
    return tuple(noise.tolist()) if noise.size > 1 else float(noise[0])


@dataclass(frozen=True)
class DomainRandomization:
    """Ranges sampled uniformly; the defaults randomise nothing (the nominal system).

    Attributes:
        mass_scale: (low, high) factor on every body's mass and inertia, per episode;
            ``1e-6 <= low <= high <= MAX_SCALE``.
        friction_scale: (low, high) factor on every contact's sliding friction, per episode;
            ``0 <= low <= high <= MAX_SCALE``.
        joint_damping: (low, high) extra viscous damping added to every joint, N m s/rad
            (N s/m for slides), per episode; at most ``MAX_JOINT_DAMPING``.
        actuator_delay: (low, high) whole control steps between a command and its effect,
            per episode; at most ``MAX_ACTUATOR_DELAY``. The delay line starts filled with the
            model's neutral input.
        obs_noise_std: standard deviation of additive Gaussian sensor noise, in observation
            units (a scalar or one value per observation entry), per step; at most
            ``MAX_OBS_NOISE_STD``.
        push_probability: chance per control step of an external push, in [0, 1].
        push_force: (low, high) magnitude of a push in N, applied horizontally at the pushed
            body's centre of mass for one control step in a random direction; at most
            ``MAX_PUSH_FORCE``.

    Every field takes real numbers only (strings, bools, complex numbers are refused); a bad
    field raises ``ValueError`` naming ``DomainRandomization.<field>``.
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
        set_("mass_scale", _check_range("mass_scale", self.mass_scale, lower=1e-6, upper=MAX_SCALE))
        set_("friction_scale", _check_range("friction_scale", self.friction_scale, lower=0.0,
                                            upper=MAX_SCALE))
        set_("joint_damping", _check_range("joint_damping", self.joint_damping, lower=0.0,
                                           upper=MAX_JOINT_DAMPING))
        set_("actuator_delay", _check_range("actuator_delay", self.actuator_delay, lower=0,
                                            upper=MAX_ACTUATOR_DELAY, integer=True))
        set_("push_force", _check_range("push_force", self.push_force, lower=0.0, upper=MAX_PUSH_FORCE))
        set_("obs_noise_std", _check_noise(self.obs_noise_std))
        if not (is_finite_real(self.push_probability) and 0.0 <= self.push_probability <= 1.0):
            raise ValueError("DomainRandomization.push_probability must be a finite number >= 0.0 and "
                             f"<= 1.0; got {short_repr(self.push_probability)}")
        set_("push_probability", float(self.push_probability))

    @classmethod
    def from_any(cls, value: DomainRandomization | dict[str, Any] | None) -> DomainRandomization:
        """Accept a config, a dict of its fields (unknown keys are an error), or ``None``."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            known = {f.name for f in fields(cls)}
            unknown = sorted((k for k in value if k not in known), key=repr)
            if unknown:
                raise ValueError(f"randomization: unknown field(s) {short_repr(unknown[:10])}; "
                                 f"known: {sorted(known)}")
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
