"""Unit tests for robocritic.envs.base.randomization: field checks, normalisation, sampling."""

from __future__ import annotations

import numpy as np
import pytest
from robocritic.envs.base.randomization import DomainRandomization, EpisodePhysics


def test_defaults_randomise_nothing() -> None:
    cfg = DomainRandomization()
    phys = EpisodePhysics.sample(cfg, np.random.default_rng(0))
    assert phys == EpisodePhysics()


def test_fields_are_normalised() -> None:
    cfg = DomainRandomization(
        mass_scale=[1, 2], actuator_delay=(np.float64(1.0), 3), obs_noise_std=[0.1, 0.0],
        push_probability=np.float32(0.5),
    )
    assert cfg.mass_scale == (1.0, 2.0) and isinstance(cfg.mass_scale[0], float)
    assert cfg.actuator_delay == (1, 3) and isinstance(cfg.actuator_delay[0], int)
    assert cfg.obs_noise_std == (0.1, 0.0)
    assert DomainRandomization(obs_noise_std=np.array([0.2])).obs_noise_std == 0.2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mass_scale": 1.0}, r"mass_scale must be a \(low, high\) pair"),
        ({"mass_scale": (1.0, 2.0, 3.0)}, r"mass_scale must be a \(low, high\) pair"),
        ({"mass_scale": (0.0, 1.0)}, r"mass_scale must satisfy 1e-06 <= low <= high"),
        ({"friction_scale": (2.0, 1.0)}, r"friction_scale must satisfy"),
        ({"joint_damping": (-0.1, 0.0)}, r"joint_damping must satisfy 0.0 <= low"),
        ({"push_force": (0.0, np.inf)}, r"push_force must satisfy"),
        ({"actuator_delay": (0, 1.5)}, r"actuator_delay must hold whole numbers of steps"),
        ({"obs_noise_std": -0.1}, r"obs_noise_std must be finite and >= 0"),
        ({"obs_noise_std": [0.1, np.nan]}, r"obs_noise_std must be finite and >= 0"),
        ({"push_probability": 1.5}, r"push_probability must be a finite number >= 0.0 and <= 1.0"),
        ({"push_probability": -0.1}, r"push_probability"),
        ({"push_probability": np.nan}, r"push_probability"),
        ({"push_probability": "0.5"}, r"push_probability"),
    ],
)
def test_bad_fields_name_the_field(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=r"DomainRandomization\." + match):
        DomainRandomization(**kwargs)


def test_from_any() -> None:
    cfg = DomainRandomization(mass_scale=(0.9, 1.1))
    assert DomainRandomization.from_any(cfg) is cfg
    assert DomainRandomization.from_any(None) == DomainRandomization()
    assert DomainRandomization.from_any({"push_probability": 0.25}).push_probability == 0.25
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['mass'\]"):
        DomainRandomization.from_any({"mass": (1.0, 2.0)})
    with pytest.raises(ValueError, match="randomization must be"):
        DomainRandomization.from_any([("mass_scale", (1.0, 2.0))])  # type: ignore[arg-type]


def test_sampling_stays_in_range_and_is_seeded() -> None:
    cfg = DomainRandomization(mass_scale=(0.5, 1.5), joint_damping=(0.0, 0.2), actuator_delay=(1, 2))
    draws = [EpisodePhysics.sample(cfg, np.random.default_rng(s)) for s in range(50)]
    assert all(0.5 <= d.mass_scale <= 1.5 and 0.0 <= d.joint_damping <= 0.2 for d in draws)
    assert {d.actuator_delay for d in draws} == {1, 2}  # both ends of the inclusive range
    assert EpisodePhysics.sample(cfg, np.random.default_rng(3)) == draws[3]
