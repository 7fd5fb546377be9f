"""stable-baselines3 policies as robocritic controllers (extra ``rl``).

An SB3 off-policy learner trains on normalised observations
(:class:`~robocritic.learning.spec.ObsNormalization`) and the env's action box; its policy
network is rebuilt here from those two spaces alone (no env), so a trained policy loads from its
weights-only ``state_dict`` plus the recorded normalisation and bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from robocritic.learning.spec import ObsNormalization
from robocritic.utils.optional import require

__all__ = ["SB3_ALGORITHMS", "SB3Policy", "build_sb3_policy", "require_sb3"]

SB3_ALGORITHMS = {"td3": "TD3", "sac": "SAC"}
"""Our algorithm names -> the SB3 classes."""


def require_sb3() -> Any:
    """The ``stable_baselines3`` module, or an error naming the extra to install."""
    return require("stable_baselines3", "rl", "the TD3 / SAC baselines")


def build_sb3_policy(
    algorithm: str,
    normalization: ObsNormalization,
    action_space: gym.spaces.Box,
    net_arch: Sequence[int],
    learning_rate: float = 3e-4,
) -> Any:
    """The ``MlpPolicy`` of SB3's TD3 or SAC on the normalised observations and ``action_space``,
    as the algorithm's constructor builds it (fresh weights; load a ``state_dict`` into it).

    ``learning_rate`` only sets its optimisers (not part of the policy's ``state_dict``).
    """
    if algorithm not in SB3_ALGORITHMS:
        raise ValueError(f"algorithm must be one of {list(SB3_ALGORITHMS)}; got {algorithm!r}")
    sb3 = require_sb3()
    policy_class = getattr(sb3, SB3_ALGORITHMS[algorithm]).policy_aliases["MlpPolicy"]
    policy = policy_class(
        normalization.observation_space(),
        action_space,
        lambda _progress: learning_rate,
        net_arch=list(net_arch),
    )
    policy.set_training_mode(False)
    return policy


class SB3Policy:
    """An SB3 policy as a :class:`~robocritic.interfaces.BatchController` on absolute observations
    (deterministic: TD3's actor, SAC's mean action); ``normalization`` maps observations to what
    the policy was trained on."""

    def __init__(self, policy: Any, normalization: ObsNormalization) -> None:
        self.policy = policy
        self.normalization = normalization

    def reset(self) -> None:
        """Stateless."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        action, _ = self.policy.predict(self.normalization(obs), deterministic=True)
        return np.asarray(action, dtype=np.float64).reshape(-1)

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """``(B, n_x)`` -> ``(B, n_u)`` float64 (one batched call; stateless)."""
        z = self.normalization(obs)
        action, _ = self.policy.predict(z, deterministic=True)
        return np.asarray(action, dtype=np.float64).reshape(z.shape[0], -1)
