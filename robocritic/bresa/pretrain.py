"""Supervised pretraining of the Bresa twin heads with binary cross-entropy.

Both heads are fitted to the same "violation within H steps" labels
(:func:`robocritic.bresa.labels.violation_labels`); censored steps (``mask = False``) are dropped.
They differ by their initialisation only, which is what the max over twins needs later.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from robocritic.bresa.critic import SafetyCritic

__all__ = ["pretrain_bce"]


def pretrain_bce(
    critic: SafetyCritic,
    features: np.ndarray,
    labels: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    epochs: int = 20,
    batch_size: int = 256,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    fit_normalisation: bool = True,
) -> list[float]:
    """Minimise the mean BCE of both heads against ``labels`` on the unmasked rows (Adam).

    Args:
        critic: trained in place (left in eval mode).
        features: ``(N, n_in)``; labels: ``(N,)`` in {0, 1} (soft labels in [0, 1] work too);
        mask: ``(N,)`` bool, ``False`` rows are dropped (``None``: keep all).
        epochs, batch_size, lr, weight_decay: optimisation settings; one epoch = one pass over
            a fresh permutation of the kept rows, in minibatches of ``batch_size`` (last one smaller).
        seed: seeds the permutations (a private ``torch.Generator``; global RNGs untouched).
        fit_normalisation: first set the critic's input normalisation from the kept rows.

    Returns:
        Per-epoch loss: the sample-weighted mean over the epoch of ``BCE(head1) + BCE(head2)``
        (``len == epochs``).
    """
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != critic.n_in or y.shape != (x.shape[0],):
        raise ValueError(f"features (N, {critic.n_in}) and labels (N,) expected; got {x.shape}, {y.shape}")
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != y.shape:
            raise ValueError(f"mask: expected shape {y.shape}, got {m.shape}")
        x, y = x[m], y[m]
    if x.shape[0] == 0:
        raise ValueError("no unmasked rows to train on")
    if not np.all(np.isfinite(x)) or np.any((y < 0) | (y > 1)):
        raise ValueError("features must be finite and labels in [0, 1]")
    if fit_normalisation:
        critic.set_normalisation(x)
    dtype = critic.in_mean.dtype
    xt = torch.from_numpy(x).to(dtype)
    yt = torch.from_numpy(y).to(dtype).unsqueeze(-1).expand(-1, 2)
    gen = torch.Generator().manual_seed(int(seed))
    opt = torch.optim.Adam(critic.parameters(), lr=lr, weight_decay=weight_decay)
    bce = nn.BCEWithLogitsLoss(reduction="mean")
    n = xt.shape[0]
    history = []
    critic.train()
    for _ in range(int(epochs)):
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = perm[start: start + batch_size]
            loss = 2.0 * bce(critic.logits(xt[idx]), yt[idx])  # mean over heads -> sum of the two
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.shape[0]
        history.append(total / n)
    critic.eval()
    return history
