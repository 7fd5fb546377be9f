"""Input checks that fail loudly and name the offending field.

Every public entry point that takes arrays from a user, a message or a config runs them through
these helpers, so a NaN or a wrong shape becomes a ``ValueError`` that says *which* field is bad,
never a silent zero or a crash deep inside a solver.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def check_finite(name: str, value: np.ndarray) -> np.ndarray:
    """Raise ``ValueError`` naming ``name`` if ``value`` holds NaN or inf; return it unchanged."""
    if not np.isfinite(value).all():
        bad = np.flatnonzero(~np.isfinite(np.ravel(value)))
        raise ValueError(
            f"{name} must be finite; got non-finite entries at flat index {bad.tolist()}: "
            f"{np.ravel(value)[bad].tolist()}"
        )
    return value


def as_vector(name: str, value: Any, size: int, *, finite: bool = True) -> np.ndarray:
    """Convert ``value`` to a float64 vector of shape ``(size,)``.

    Scalars are accepted when ``size == 1``; arrays of shape ``(size,)`` or ``(1, size)``
    are flattened. Anything else raises ``ValueError`` naming ``name`` and the shape received.
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric with shape ({size},); got {value!r}") from exc
    if arr.size != size or arr.ndim > 2 or (arr.ndim == 2 and arr.shape[0] != 1):
        raise ValueError(f"{name} must have shape ({size},); got shape {arr.shape}")
    arr = arr.reshape(size)
    if finite:
        check_finite(name, arr)
    return arr


def check_matrix(name: str, value: Any, shape: tuple[int, int]) -> np.ndarray:
    """Convert ``value`` to a finite float64 matrix of exactly ``shape``; else ``ValueError``."""
    arr = np.atleast_2d(np.asarray(value, dtype=np.float64))
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {arr.shape}")
    return check_finite(name, arr)


def as_array(name: str, value: Any, ndim: int) -> np.ndarray:
    """Convert ``value`` to a finite float64 array with ``ndim`` axes (any sizes); else ``ValueError``.

    For fields whose sizes are only known after reading other fields: check the shape afterwards.
    """
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array; got {value!r}") from exc
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D; got shape {arr.shape}")
    return check_finite(name, arr)


def readonly_array(value: Any, dtype: Any = np.float64) -> np.ndarray:
    """A C-contiguous, read-only copy of ``value`` as ``dtype``.

    For arrays a frozen object hands out: a caller can neither change them in place nor, through
    the object, the array it passed in.
    """
    arr = np.array(value, dtype=dtype, order="C", copy=True)
    arr.setflags(write=False)
    return arr
