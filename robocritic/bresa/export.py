"""The critic for the 1 kHz loop without torch: one ``.npz`` of plain arrays, read with
``allow_pickle=False``, loaded straight into a :class:`~robocritic.bresa.critic.NumpyCritic`.

Contents: ``format`` (:data:`EXPORT_FORMAT`), ``activation``, ``feature_names`` (the critic's
input columns, so a controller can check its feature layout matches), ``in_mean``, ``in_std`` and
the fused twin-head layers ``W0, b0, W1, b1, ...`` (``W`` stored ``(in, out)``), plus ``sha256``
of all of these, so a bit flip or a hand edit is refused. Written atomically.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.bresa.numpy_critic import NumpyCritic
from robocritic.utils.atomic import atomic_write

__all__ = ["EXPORT_FORMAT", "export_critic", "load_exported"]

EXPORT_FORMAT = 1
"""Version of the exported file; bump on any change."""


def _digest(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def export_critic(critic: Any, feature_names: Sequence[str], path: str | os.PathLike[str]) -> Path:
    """Write ``critic`` (a :class:`~robocritic.bresa.critic.SafetyCritic`) as fused numpy layers to
    ``path`` (``.npz``). Returns ``path``."""
    if len(feature_names) != critic.n_in:
        raise ValueError(f"feature_names: {len(feature_names)} names for a critic of {critic.n_in} inputs")
    fused = NumpyCritic.from_module(critic, max_batch=1)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(EXPORT_FORMAT, dtype=np.int64),
        "activation": np.array(fused.activation),
        "feature_names": np.array(list(feature_names), dtype=np.str_),
        "in_mean": fused.in_mean, "in_std": fused.in_std,
    }
    for i, (w, b) in enumerate(zip(fused.W, fused.b, strict=True)):
        arrays[f"W{i}"], arrays[f"b{i}"] = w, b
    arrays["sha256"] = np.array(_digest(arrays))
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def load_exported(path: str | os.PathLike[str], *, max_batch: int = 64) -> tuple[NumpyCritic, tuple[str, ...]]:
    """``(critic, feature_names)`` from a file of :func:`export_critic`.

    Raises:
        ValueError: naming the file, when it is not a readable export of this format, holds
            pickled objects, misses a field, or its digest does not match its contents.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    # A damaged zip header can also claim encryption (RuntimeError), an unknown compression
    # (NotImplementedError, a RuntimeError) or deflate over stored bytes (zlib.error).
    except (OSError, ValueError, EOFError, RuntimeError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"{path}: not a readable exported critic ({type(exc).__name__}: {str(exc)[:200]})") from exc
    digest = arrays.pop("sha256", None)
    if digest is None or str(digest) != _digest(arrays):
        raise ValueError(f"{path}: sha256 missing or different from the contents (corrupt or edited file)")
    fmt = arrays.get("format")
    if fmt is None or fmt.shape != () or fmt.dtype.kind not in "iu" or int(fmt) != EXPORT_FORMAT:
        raise ValueError(f"{path}: format {fmt!r:.60}, expected {EXPORT_FORMAT}")
    n_layers = sum(1 for name in arrays if name.startswith("W"))
    try:
        weights = [arrays[f"W{i}"] for i in range(n_layers)]
        biases = [arrays[f"b{i}"] for i in range(n_layers)]
        names = tuple(str(n) for n in arrays["feature_names"])
        critic = NumpyCritic(weights, biases, arrays["in_mean"], arrays["in_std"], str(arrays["activation"]),
                             max_batch=max_batch)
        if critic.evaluate(np.zeros(critic.n_in)).shape != (1, 2):  # layer sizes must chain to twin outputs
            raise ValueError("the layers do not end in two outputs")
    # KeyError: a missing field; TypeError / IndexError: a field of the wrong kind or rank (in a
    # file whose digest was recomputed after an edit).
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ValueError(f"{path}: invalid exported critic: {type(exc).__name__}: {str(exc)[:300]}") from exc
    if len(names) != critic.n_in:
        raise ValueError(f"{path}: {len(names)} feature names for {critic.n_in} inputs")
    return critic, names

