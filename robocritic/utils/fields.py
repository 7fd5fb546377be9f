"""Field checks for config dataclasses: each error names the owner, the field and the value.

Written for ``__post_init__`` of frozen config dataclasses whose sequences are tuples (the YAML
round trip in :mod:`robocritic.utils.dataconfig` turns lists into tuples), e.g.::

    check_int("DDPGConfig", "batch_size", self.batch_size, low=1)
    -> ValueError: DDPGConfig.batch_size must be an integer >= 1; got 0
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "check_bool",
    "check_choice",
    "check_int",
    "check_psd_matrix",
    "check_real",
    "check_sizes",
    "check_vector",
    "is_finite_real",
    "is_int",
    "is_real",
]


def is_int(v: object) -> bool:
    """An integer (Python or numpy), not a bool."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def is_real(v: object) -> bool:
    """A real number (Python or numpy int/float), not a bool."""
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def is_finite_real(v: object) -> bool:
    """A finite real number (:func:`is_real`); an integer too large for a float is not finite,
    and a ``numpy.timedelta64`` (a numpy integer subclass) is no number."""
    if not is_real(v) or isinstance(v, np.timedelta64):
        return False
    try:
        return math.isfinite(v)  # type: ignore[arg-type]  # is_real: int or float
    except OverflowError:  # a Python int beyond the float range
        return False


def check_int(owner: str, name: str, v: object, low: int) -> None:
    """``v`` is an integer ``>= low``."""
    if not is_int(v) or v < low:
        raise ValueError(f"{owner}.{name} must be an integer >= {low}; got {v!r}")


def check_real(
    owner: str, name: str, v: object, *, low: float, high: float = math.inf, low_open: bool = False
) -> None:
    """``v`` is a finite number ``>= low`` (``> low`` if ``low_open``) and ``<= high``."""
    ok = is_real(v) and math.isfinite(v) and (v > low if low_open else v >= low) and v <= high
    if not ok:
        bound = f"{'>' if low_open else '>='} {low}" + ("" if high == math.inf else f" and <= {high}")
        raise ValueError(f"{owner}.{name} must be a finite number {bound}; got {v!r}")


def check_choice(owner: str, name: str, v: object, choices: tuple[str, ...]) -> None:
    """``v`` is one of ``choices``."""
    if v not in choices:
        raise ValueError(f"{owner}.{name} must be one of {list(choices)}; got {v!r}")


def check_bool(owner: str, name: str, v: object) -> None:
    """``v`` is ``True`` or ``False`` (not 0/1)."""
    if not isinstance(v, bool):
        raise ValueError(f"{owner}.{name} must be true or false; got {v!r}")


def check_sizes(owner: str, name: str, v: object, *, allow_empty: bool) -> None:
    """``v`` is a tuple of layer widths (integers >= 1)."""
    if not isinstance(v, tuple) or not all(is_int(h) and h >= 1 for h in v) or (not v and not allow_empty):
        raise ValueError(f"{owner}.{name} must be a list of layer widths (integers >= 1); got {v!r}")


def check_vector(owner: str, name: str, v: object, *, positive: bool = False) -> None:
    """``v`` is a non-empty tuple of finite numbers (all ``> 0`` if ``positive``)."""
    if not isinstance(v, tuple) or not v or not all(is_real(a) and math.isfinite(a) for a in v):
        raise ValueError(f"{owner}.{name} must be a non-empty list of finite numbers; got {v!r}")
    if positive and not all(a > 0 for a in v):
        raise ValueError(f"{owner}.{name} must hold numbers > 0; got {v!r}")


def check_psd_matrix(owner: str, name: str, v: object) -> None:
    """``v`` is a square, symmetric, positive semidefinite tuple-of-rows matrix of finite numbers."""
    ok = isinstance(v, tuple) and v and all(isinstance(row, tuple) and len(row) == len(v) for row in v)
    if not ok or not all(is_real(a) and math.isfinite(a) for row in v for a in row):
        raise ValueError(
            f"{owner}.{name} must be a square matrix (list of equal-length rows) of finite numbers; got {v!r}"
        )
    M = np.array(v, dtype=np.float64)
    if not np.allclose(M, M.T, rtol=0, atol=1e-12 * max(1.0, float(np.abs(M).max()))):
        raise ValueError(f"{owner}.{name} must be symmetric; got {v!r}")
    if float(np.linalg.eigvalsh(M).min()) < 0:
        raise ValueError(f"{owner}.{name} must be positive semidefinite; got {v!r}")
