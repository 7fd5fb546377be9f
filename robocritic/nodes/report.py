"""Node reports: compute-time percentiles and the JSON file a node writes at shutdown.

Reports are written with :func:`robocritic.utils.atomic.atomic_write_json` (temporary file,
fsync, rename): a reader sees the previous report or the whole new one, even when the node is
killed while writing. That writer refuses NaN and inf (strict JSON, which every reader parses),
so :func:`json_ready` turns a non-finite number, a figure without samples (a rate over no time),
into ``null``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from robocritic.utils.atomic import atomic_write_json


def percentiles_ms(samples_s: Sequence[float]) -> dict[str, float | None]:
    """p50/p99/max of durations [s] in milliseconds (``None`` without samples)."""
    if not len(samples_s):
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    a = np.asarray(samples_s, dtype=np.float64) * 1e3
    return {
        "p50_ms": float(np.percentile(a, 50)),
        "p99_ms": float(np.percentile(a, 99)),
        "max_ms": float(a.max()),
    }


def json_ready(value: Any) -> Any:
    """``value`` as plain JSON data: numpy scalars and arrays as numbers and lists, tuples as lists,
    mapping keys as strings, and NaN/inf as ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return json_ready(value.tolist())
    if isinstance(value, np.generic):
        return json_ready(value.item())
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    raise TypeError(f"a node report holds a {type(value).__name__} ({value!r}), which JSON cannot store")


def write_report(path: str | os.PathLike[str], report: Mapping[str, Any]) -> Path:
    """Write ``report`` as JSON at ``path``, atomically and durably (see the module docstring)."""
    return atomic_write_json(path, json_ready(report))


__all__ = ["json_ready", "percentiles_ms", "write_report"]
