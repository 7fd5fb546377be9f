"""Torch-free inference of the Bresa safety critic, for the 1 kHz loop (and robots without torch).

:class:`NumpyCritic` holds the twin heads of a :class:`~robocritic.bresa.critic.SafetyCritic`
fused into one network of plain numpy arrays (:mod:`robocritic.bresa.export` writes and reads
them as one ``.npz``); this module imports no torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ACTIVATIONS", "NumpyCritic"]

ACTIVATIONS = ("tanh", "relu")
"""Hidden-layer activations a critic may use."""
_ACTIVATIONS = ACTIVATIONS


class NumpyCritic:
    """Torch-free inference of a safety critic (fixed weights, copied at construction).

    The two heads are fused: layer 1 stacks both heads' weights (``n_in -> 2 h1``), later layers
    are block-diagonal (``2 h_{l-1} -> 2 h_l``; the off-diagonal blocks are exact zeros), the
    output layer maps to the 2 twins. All intermediate arrays are preallocated for batches up to
    ``max_batch``; a call allocates nothing. The sigmoid is ``0.5 tanh(0.5 z) + 0.5`` (no overflow).

    The returned arrays are views of internal buffers, valid until the next call; copy to keep.
    """

    def __init__(
        self,
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        in_mean: np.ndarray,
        in_std: np.ndarray,
        activation: str,
        *,
        dtype: type = np.float64,
        max_batch: int = 64,
    ) -> None:
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float64, np.float32):
            raise ValueError(f"dtype: float64 or float32, got {self.dtype}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation: expected one of {_ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        # weights stored (in, out) so that a row batch multiplies from the left
        self.W = [np.ascontiguousarray(w, dtype=self.dtype) for w in weights]
        self.b = [np.ascontiguousarray(b, dtype=self.dtype) for b in biases]
        self.in_mean = np.ascontiguousarray(in_mean, dtype=self.dtype)
        self.in_std = np.ascontiguousarray(in_std, dtype=self.dtype)
        self.n_in = self.W[0].shape[0]
        self.max_batch = int(max_batch)
        self._z = np.empty((self.max_batch, self.n_in), dtype=self.dtype)
        self._h = [np.empty((self.max_batch, w.shape[1]), dtype=self.dtype) for w in self.W]
        self._risk = np.empty(self.max_batch, dtype=self.dtype)

    @classmethod
    def from_module(cls, critic: Any, *, dtype: type = np.float64, max_batch: int = 64) -> NumpyCritic:
        """Copy a :class:`~robocritic.bresa.critic.SafetyCritic`'s weights, fusing the twin heads
        (class docstring)."""
        from torch import nn  # only here: inference with the fused weights needs no torch

        lin1 = [m for m in critic.q1 if isinstance(m, nn.Linear)]
        lin2 = [m for m in critic.q2 if isinstance(m, nn.Linear)]
        weights, biases = [], []
        for i, (a, b) in enumerate(zip(lin1, lin2, strict=True)):
            wa = a.weight.detach().cpu().double().numpy().T
            wb = b.weight.detach().cpu().double().numpy().T
            if i == 0:
                w = np.concatenate([wa, wb], axis=1)
            else:
                w = np.zeros((wa.shape[0] + wb.shape[0], wa.shape[1] + wb.shape[1]))
                w[: wa.shape[0], : wa.shape[1]] = wa
                w[wa.shape[0]:, wa.shape[1]:] = wb
            weights.append(w)
            biases.append(np.concatenate([a.bias.detach().cpu().double().numpy(),
                                          b.bias.detach().cpu().double().numpy()]))
        return cls(weights, biases, critic.in_mean.detach().cpu().double().numpy(),
                   critic.in_std.detach().cpu().double().numpy(), critic.spec.activation,
                   dtype=dtype, max_batch=max_batch)

    def evaluate(self, x: np.ndarray) -> np.ndarray:
        """``x (B, n_in)`` (or ``(n_in,)``, as B = 1) -> ``(B, 2)`` twin risks (a buffer view)."""
        if x.ndim == 1:
            x = x.reshape(1, -1)
        B = x.shape[0]
        if x.shape[1] != self.n_in or not 1 <= B <= self.max_batch:
            raise ValueError(f"x: expected shape (1..{self.max_batch}, {self.n_in}), got {x.shape}")
        z = self._z[:B]
        np.subtract(x, self.in_mean, out=z)
        np.divide(z, self.in_std, out=z)
        last = len(self.W) - 1
        for i, (w, b, h) in enumerate(zip(self.W, self.b, self._h, strict=True)):
            out = h[:B]
            np.matmul(z, w, out=out)
            np.add(out, b, out=out)
            if i < last:
                if self.activation == "tanh":
                    np.tanh(out, out=out)
                else:
                    np.maximum(out, 0.0, out=out)
            z = out
        np.multiply(z, 0.5, out=z)
        np.tanh(z, out=z)
        np.multiply(z, 0.5, out=z)
        np.add(z, 0.5, out=z)
        return z

    def risk(self, x: np.ndarray) -> np.ndarray:
        """``x (B, n_in)`` or ``(n_in,)`` -> ``(B,)`` max of the twins (a buffer view)."""
        q = self.evaluate(x)
        out = self._risk[: q.shape[0]]
        np.max(q, axis=1, out=out)
        return out
