"""A uniform replay buffer of transitions with reward AND cost (numpy, float64), saved and loaded
as a plain ``.npz``.

Both signals are kept because learners differ in what they optimise: the DDPG learners minimise
the env's cost, a task policy maximises the reward while a safety critic learns the cost.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Batch", "ReplayBuffer"]

_FIELDS = ("obs", "action", "reward", "cost", "next_obs", "terminated")
_OPTIONAL = ("reward",)  # absent from buffers saved before rewards were stored: read as NaN


@dataclass(frozen=True)
class Batch:
    """``B`` transitions: ``obs (B, n_x)``, ``action (B, n_u)`` (absolute, as applied),
    ``cost (B,)`` (the env's ``info["cost"]``, unscaled, penalty included), ``next_obs (B, n_x)``,
    ``terminated (B,)`` float 0/1 (1: no bootstrap; a time-limit truncation stores 0), and
    ``reward (B,)`` (the env's reward; ``None`` where the producer of the batch recorded none,
    NaN entries where a transition was stored without one)."""

    obs: np.ndarray
    action: np.ndarray
    cost: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    reward: np.ndarray | None = None


class ReplayBuffer:
    """Ring buffer of ``capacity`` transitions; sampling draws indices from a caller's generator.

    Args:
        capacity: maximum transitions kept (oldest overwritten first).
        n_x, n_u: observation and action sizes.
    """

    def __init__(self, capacity: int, n_x: int, n_u: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1; got {capacity}")
        self.capacity, self.n_x, self.n_u = int(capacity), int(n_x), int(n_u)
        self.obs = np.zeros((capacity, n_x))
        self.action = np.zeros((capacity, n_u))
        self.reward = np.zeros(capacity)
        self.cost = np.zeros(capacity)
        self.next_obs = np.zeros((capacity, n_x))
        self.terminated = np.zeros(capacity)
        self.ptr = 0
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        cost: float,
        next_obs: np.ndarray,
        terminated: bool,
        *,
        reward: float = math.nan,
    ) -> None:
        """Store one transition (copied); ``reward`` NaN means not recorded."""
        i = self.ptr
        self.obs[i] = obs
        self.action[i] = action
        self.reward[i] = reward
        self.cost[i] = cost
        self.next_obs[i] = next_obs
        self.terminated[i] = float(terminated)
        self.ptr = (i + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, rng: np.random.Generator) -> Batch:
        """``batch_size`` transitions drawn uniformly with replacement using ``rng``."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        idx = rng.integers(0, self.size, size=batch_size)
        return Batch(
            self.obs[idx],
            self.action[idx],
            self.cost[idx],
            self.next_obs[idx],
            self.terminated[idx],
            reward=self.reward[idx],
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """The stored data as plain arrays (only the filled part) plus ``ptr``, ``size``, ``capacity``."""
        n = self.size
        out = {name: getattr(self, name)[:n] for name in _FIELDS}
        out.update(ptr=np.array(self.ptr), size=np.array(n), capacity=np.array(self.capacity))
        return out

    def save(self, fh: os.PathLike[str] | str | object) -> None:
        """Write :meth:`arrays` with ``np.savez`` (to a path or an open binary file)."""
        np.savez(fh, **self.arrays())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReplayBuffer:
        """Read a buffer written by :meth:`save` (``allow_pickle=False``); a buffer saved before
        rewards were stored loads with NaN rewards.

        Raises:
            ValueError: a missing or malformed field (named).
        """
        path = Path(path)
        with np.load(path, allow_pickle=False) as data:
            required = [k for k in _FIELDS if k not in _OPTIONAL]
            missing = [k for k in (*required, "ptr", "size", "capacity") if k not in data.files]
            if missing:
                raise ValueError(f"{path}: replay buffer field(s) {missing} missing")
            obs, action = data["obs"], data["action"]
            buf = cls(int(data["capacity"]), obs.shape[1], action.shape[1])
            n = int(data["size"])
            for name in _FIELDS:
                if name not in data.files:
                    getattr(buf, name)[:n] = np.nan
                    continue
                arr = data[name]
                if arr.shape[0] != n:
                    raise ValueError(
                        f"{path}: replay buffer field '{name}' has {arr.shape[0]} rows, size is {n}"
                    )
                getattr(buf, name)[:n] = arr
            buf.size, buf.ptr = n, int(data["ptr"])
        return buf
