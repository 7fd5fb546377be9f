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

    :meth:`risk` skips the block-diagonal zeros when the fused weights have the twin structure
    (every hidden layer after the first block-diagonal, the output layer block-diagonal, exact
    zeros off the blocks): the hidden layers after the first run as one stacked ``(2, B, h)``
    product, and the sigmoid runs on the ``B`` row maxima (it is monotone, so ``max`` commutes
    with it) with its ``1/2`` folded into the output layer (exact: a power of 2). Its values equal
    :meth:`evaluate`'s row maxima to rounding (a different summation order, not a different model).

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
        self._twin = self._twin_form()
        self._views: dict[int, tuple[Any, ...]] = {}

    def _twin_form(self) -> tuple[list[np.ndarray], np.ndarray, np.ndarray] | None:
        """The hidden layers after the first as ``(2, h, h')`` stacks of the diagonal blocks, and the
        output layer's weights and bias times 1/2; ``None`` if the weights are not twin-structured."""
        W, L = self.W, len(self.W)
        if L < 2 or W[-1].shape[1] != 2 or any(w.shape[0] % 2 or w.shape[1] % 2 for w in W[:-1]):
            return None
        stacks = []
        for w in W[1:-1]:
            hi, ho = w.shape[0] // 2, w.shape[1] // 2
            if w[:hi, ho:].any() or w[hi:, :ho].any():
                return None
            stacks.append(np.ascontiguousarray(np.stack([w[:hi, :ho], w[hi:, ho:]])))
        w = W[-1]
        hi = w.shape[0] // 2
        if w[:hi, 1].any() or w[hi:, 0].any():
            return None
        return stacks, np.ascontiguousarray(0.5 * w), np.ascontiguousarray(0.5 * self.b[-1])

    def _twin_views(self, B: int) -> tuple[Any, ...]:
        """Per batch size: the buffers of :meth:`risk` as views (made once, reused every call)."""
        views = self._views.get(B)
        if views is None:
            # each hidden buffer (B, 2 h) seen as the stack (2, B, h) of the twins' halves
            flat = [h[:B] for h in self._h[:-1]]
            stacked = [f.reshape(B, 2, -1).transpose(1, 0, 2) for f in flat]
            out = self._h[-1][:B]
            views = (self._z[:B], flat, stacked, out, out[:, 0], out[:, 1], self._risk[:B])
            self._views[B] = views
        return views

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
        if self._twin is None:
            q = self.evaluate(x)
            out = self._risk[: q.shape[0]]
            np.max(q, axis=1, out=out)
            return out
        if x.ndim == 1:
            x = x.reshape(1, -1)
        B = x.shape[0]
        if x.shape[1] != self.n_in or not 1 <= B <= self.max_batch:
            raise ValueError(f"x: expected shape (1..{self.max_batch}, {self.n_in}), got {x.shape}")
        z, flat, stacked, out, q1, q2, r = self._twin_views(B)
        stacks, w_out, b_out = self._twin
        relu = self.activation == "relu"
        np.subtract(x, self.in_mean, out=z)
        np.divide(z, self.in_std, out=z)
        h = flat[0]
        # np.dot: the same BLAS product as matmul on 2-D arrays, with less dispatch per call
        np.dot(z, self.W[0], out=h)  # layer 1: both twins read the whole input
        np.add(h, self.b[0], out=h)
        if relu:
            np.maximum(h, 0.0, out=h)
        else:
            np.tanh(h, out=h)
        for i, w in enumerate(stacks, start=1):  # (2, B, h) @ (2, h, h'): the diagonal blocks only
            h = flat[i]
            np.matmul(stacked[i - 1], w, out=stacked[i])
            np.add(h, self.b[i], out=h)
            if relu:
                np.maximum(h, 0.0, out=h)
            else:
                np.tanh(h, out=h)
        np.dot(h, w_out, out=out)
        np.add(out, b_out, out=out)
        np.maximum(q1, q2, out=r)  # sigmoid(z) = 0.5 tanh(z / 2) + 0.5, the 1/2 is in w_out, b_out
        np.tanh(r, out=r)
        np.multiply(r, 0.5, out=r)
        np.add(r, 0.5, out=r)
        return r
