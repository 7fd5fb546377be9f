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

from robocritic.utils.npz_archive import read_npz

__all__ = ["Batch", "ReplayBuffer"]

_FIELDS = ("obs", "action", "reward", "cost", "next_obs", "terminated")
_OPTIONAL = ("reward",)  # absent from buffers saved before rewards were stored: read as NaN
MAX_BUFFER_BYTES = 2**30
"""Largest replay-buffer file :meth:`ReplayBuffer.load` reads (and its members' total) [bytes]."""
MAX_BUFFER_ROWS = 10**8
"""Largest capacity a loaded buffer may declare (it is allocated in full)."""


def _count(path: Path, value: np.ndarray, name: str) -> int:
    """A stored counter (``capacity``, ``size``, ``ptr``) as an int >= 0, or a ValueError naming it."""
    if value.shape != () or value.dtype.kind not in "iu" or int(value) < 0:
        raise ValueError(f"{path}: replay buffer field '{name}' must be an integer >= 0; got {value!r}")
    return int(value)


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
        data = read_npz(path, (*_FIELDS, "ptr", "size", "capacity"), max_bytes=MAX_BUFFER_BYTES,
                        what="a replay buffer")  # bounded, no pickles, damage named
        required = [k for k in _FIELDS if k not in _OPTIONAL]
        missing = [k for k in (*required, "ptr", "size", "capacity") if k not in data]
        if missing:
            raise ValueError(f"{path}: replay buffer field(s) {missing} missing")
        capacity, n, ptr = (_count(path, data[k], k) for k in ("capacity", "size", "ptr"))
        obs, action = data["obs"], data["action"]
        if obs.ndim != 2 or action.ndim != 2 or not n <= capacity <= MAX_BUFFER_ROWS or ptr >= max(capacity, 1):
            raise ValueError(f"{path}: replay buffer of capacity {capacity}, size {n}, ptr {ptr} with obs "
                             f"{obs.shape} and action {action.shape} is inconsistent")
        buf = cls(capacity, obs.shape[1], action.shape[1])
        for name in _FIELDS:
            if name not in data:
                getattr(buf, name)[:n] = np.nan
                continue
            arr = data[name]
            if arr.shape[0] != n or arr.shape[1:] != getattr(buf, name).shape[1:]:
                raise ValueError(f"{path}: replay buffer field '{name}' has shape {arr.shape}; expected "
                                 f"({n}, {', '.join(map(str, getattr(buf, name).shape[1:]))})")
            getattr(buf, name)[:n] = arr
        buf.size, buf.ptr = n, ptr
        return buf
