"""Fixtures shared across test folders: the pendulum's saturated-LQR explicit law (no PPOPT),
tiny YANN-RL configs built on it, random pendulum transitions, and one torch thread for tests of
small networks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from robocritic.controllers.explicit_mpc import ExplicitLaw
from robocritic.controllers.lqr import dlqr

from robocritic.dynamics import PendulumModel
from robocritic.learning.buffer import Batch

PENDULUM = "robocritic/ClippedPendulum-v0"
#: The pendulum benchmark's cost weights.
PENDULUM_Q, PENDULUM_R = np.eye(2), np.array([[1e-3]])


def _pendulum_lqr_law() -> ExplicitLaw:
    from robocritic.yann.laws import saturated_linear_law

    lin = PendulumModel().linearize()
    K, _ = dlqr(lin.A, lin.B, PENDULUM_Q, PENDULUM_R)
    return saturated_linear_law(lin, K)


@pytest.fixture(scope="session")
def pendulum_lqr_law() -> ExplicitLaw:
    """``u = clip(-K x)`` of the pendulum's LQR (Q = I, R = 1e-3) as a 3-region explicit law."""
    return _pendulum_lqr_law()


def _tiny_pendulum_config(
    folder: Path,
    *,
    episodes: int,
    max_episode_steps: int,
    n_test: int,
    yann_ddpg: dict[str, Any],
    ddpg: dict[str, Any] | None = None,
    sb3: dict[str, Any] | None = None,
    **changes: Any,
) -> Any:
    """A pendulum RLConfig for tests: short episodes, the first ``n_test`` test states, small
    replay settings, the saturated-LQR law saved once as ``folder/law.npz``; ``yann_ddpg``,
    ``ddpg`` and ``sb3`` (TD3 and SAC) give the learners' non-default fields."""
    from robocritic.yann.config import DDPGConfig, SB3Config, YANNDDPGConfig, default_config

    law_path = folder / "law.npz"
    if not law_path.exists():
        _pendulum_lqr_law().save(law_path)
    small = {"batch_size": 16, "learning_starts": 16, "buffer_size": 1000}
    base = default_config(PENDULUM)
    learners: dict[str, Any] = {"yann_ddpg": YANNDDPGConfig(**small, **yann_ddpg)}
    if ddpg is not None:
        learners["ddpg"] = DDPGConfig(**small, **ddpg)
    if sb3 is not None:
        learners["td3"] = learners["sac"] = SB3Config(**small, **sb3)
    return dataclasses.replace(
        base, episodes=episodes, max_episode_steps=max_episode_steps, test_states=base.test_states[:n_test],
        law_path=str(law_path), **learners, **changes,
    )  # fmt: skip


@pytest.fixture(scope="session")
def tiny_pendulum_config() -> Callable[..., Any]:
    """The factory ``(folder, *, episodes, max_episode_steps, n_test, yann_ddpg, ddpg=None,
    sb3=None, **changes) -> RLConfig`` (session-scoped, so module fixtures can use it)."""
    return _tiny_pendulum_config


def _pendulum_batch(seed: int, n: int = 64) -> Batch:
    model = PendulumModel()
    rng = np.random.default_rng(seed)
    obs = rng.uniform(-0.6, 0.6, size=(n, 2))
    act = rng.uniform(-2, 2, size=(n, 1))
    nxt = np.array([model.step(x, u) for x, u in zip(obs, act)])
    q, r = PENDULUM_Q, PENDULUM_R
    cost = np.einsum("bi,ij,bj->b", obs, q, obs) + np.einsum("bi,ij,bj->b", act, r, act)
    return Batch(obs, act, cost, nxt, np.zeros(n))


@pytest.fixture(scope="session")
def pendulum_batch() -> Callable[..., Batch]:
    """The factory ``(seed, n=64) -> Batch``: ``n`` transitions of the nonlinear pendulum (ODE) from
    uniform states (+-0.6) under uniform torques (+-2 N m), cost with Q = I, R = 1e-3: the LQR
    critic is not exact for them, so the TD loss is non-zero."""
    return _pendulum_batch


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One intra-op torch thread for the test, restored after: small tensors run faster on one
    thread and are immune to a busy second core. Use with ``pytest.mark.usefixtures``."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
