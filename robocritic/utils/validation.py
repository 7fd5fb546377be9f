"""Input checks that fail loudly and name the offending field.

Every public entry point that takes arrays from a user, a message or a config runs them through
these helpers, so a NaN or a wrong shape becomes a ``ValueError`` that says *which* field is bad,
never a silent zero or a crash deep inside a solver.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from robocritic.utils.fields import is_real


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


#: numpy dtype kinds of real numbers: signed and unsigned integers and floats (bool, complex,
#: strings, bytes, datetimes and objects are not numbers a simulator can take).
REAL_KINDS = frozenset("iuf")
#: Longest excerpt of a bad value quoted in an error message (a message must stay readable).
REPR_LIMIT = 120


def short_repr(value: Any, limit: int = REPR_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages about arbitrary input."""
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def _dtype_name(arr: np.ndarray) -> str:
    kinds = {"b": "bool", "c": "complex", "U": "str", "S": "bytes", "M": "datetime64", "m": "timedelta64",
             "O": "object", "V": "structured"}
    return kinds.get(arr.dtype.kind, str(arr.dtype))


def _not_real(name: str, kind: str, value: Any) -> ValueError:
    return ValueError(
        f"{name} must be numeric: real numbers (int or float), not {kind}; got {short_repr(value)}")


def _holds_bool(value: Any) -> bool:
    """Whether a (nested) list or tuple holds a bool, which numpy silently turns into 0/1."""
    if isinstance(value, (bool, np.bool_)):
        return True
    return isinstance(value, (list, tuple)) and any(_holds_bool(v) for v in value)


def _objects_to_float(name: str, arr: np.ndarray) -> np.ndarray:
    """An object array of Python numbers as floats; an integer beyond the float range becomes
    ``inf`` (then refused as non-finite). Anything else is not a real number."""
    out = np.empty(arr.shape, dtype=np.float64)
    for i, v in enumerate(arr.flat):
        if not is_real(v) or isinstance(v, np.timedelta64):  # a numpy integer subclass, but no number
            raise _not_real(name, type(v).__name__, v)
        try:
            out.flat[i] = float(v)
        except OverflowError:  # an integer too large for a float
            out.flat[i] = math.inf if v > 0 else -math.inf
    return out


def _check_finite_short(name: str, arr: np.ndarray) -> np.ndarray:
    """:func:`check_finite` quoting at most ten of the non-finite entries."""
    if not np.isfinite(arr).all():
        bad = np.flatnonzero(~np.isfinite(np.ravel(arr)))
        more = f" (and {bad.size - 10} more)" if bad.size > 10 else ""
        raise ValueError(f"{name} must be finite; got non-finite entries at flat index {bad[:10].tolist()}: "
                         f"{np.ravel(arr)[bad[:10]].tolist()}{more}")
    return arr


def as_real_array(name: str, value: Any, *, max_size: int, finite: bool = True) -> np.ndarray:
    """``value`` as a float64 array of any shape with at most ``max_size`` entries, converting
    only real numbers (the rules of :func:`as_real_vector`); ``ValueError`` naming ``name``."""
    if isinstance(value, (list, tuple)) and len(value) > max_size:
        raise ValueError(f"{name} must have at most {max_size} entries; got a {type(value).__name__} of "
                         f"{len(value)}")
    arr = _real_dtype_array(name, value, f"at most {max_size} entries")
    if arr.size > max_size:
        raise ValueError(f"{name} must have at most {max_size} entries; got shape {arr.shape}")
    arr = _to_float(name, arr, value)
    return _check_finite_short(name, arr) if finite else arr


def _real_dtype_array(name: str, value: Any, wanted: str) -> np.ndarray:
    """``np.asarray(value)``, refused unless its dtype holds real numbers (or Python objects,
    checked one by one later); ``wanted`` describes the expected shape for the message."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, OverflowError) as exc:  # ragged nesting, a failing __array__
        raise ValueError(f"{name} must be numeric with {wanted}; got {short_repr(value)}") from exc
    if arr.dtype.kind not in REAL_KINDS and arr.dtype.kind != "O":
        raise _not_real(name, _dtype_name(arr), value)
    return arr


def _to_float(name: str, arr: np.ndarray, value: Any) -> np.ndarray:
    """The array of :func:`_real_dtype_array` as float64 (its size already checked)."""
    if arr.dtype.kind == "O":  # Python ints beyond int64, or objects that are no numbers
        return _objects_to_float(name, arr)
    if _holds_bool(value):
        raise _not_real(name, "bool", value)
    return arr.astype(np.float64)


def as_real_vector(name: str, value: Any, size: int, *, finite: bool = True) -> np.ndarray:
    """:func:`as_vector` for input from outside: only real numbers are converted.

    Strings, bytes, bools, complex numbers, datetimes and other objects raise ``ValueError``
    naming ``name`` (numpy would turn ``"1.0"`` or ``True`` into a number), as does a wrong shape;
    an integer beyond the float range counts as non-finite. Messages quote at most
    :data:`REPR_LIMIT` characters of the value.
    """
    if isinstance(value, (list, tuple)) and len(value) not in (1, size):
        # Before any conversion: a huge list is refused without being copied.
        raise ValueError(
            f"{name} must have shape ({size},); got a {type(value).__name__} of {len(value)} entries")
    arr = _real_dtype_array(name, value, f"shape ({size},)")
    if arr.size != size or arr.ndim > 2 or (arr.ndim == 2 and arr.shape[0] != 1):
        raise ValueError(f"{name} must have shape ({size},); got shape {arr.shape}")
    arr = _to_float(name, arr, value).reshape(size)
    return _check_finite_short(name, arr) if finite else arr
