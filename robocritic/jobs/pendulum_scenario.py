"""The pendulum scenario ``robocritic demo`` runs in process and as a ROS 2 node graph.

Both runs draw their start states, summarise their timing and write their run record here, so
the graph run starts from exactly the states the in-process demo uses for the same seed.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from robocritic.envs.pendulum.task import START_HALF_WIDTH
from robocritic.utils.atomic import atomic_write_json

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

ENV_ID = "robocritic/ClippedPendulum-v0"
"""Gymnasium id of the clipped pendulum (MuJoCo) both runs step."""


def start_states(episodes: int, seed: int) -> np.ndarray:
    """``(episodes, 2)`` start states [rad, rad/s], uniform in the task's start box, drawn from ``seed``."""
    return np.random.default_rng(seed).uniform(-START_HALF_WIDTH, START_HALF_WIDTH, size=(episodes, 2))


def percentiles_ms(samples_s: ArrayLike) -> tuple[float, float, float]:
    """``(p50, p99, max)`` of durations given in s, in ms; NaN each when there are no samples."""
    samples = np.asarray(samples_s, dtype=np.float64).ravel()
    if samples.size == 0:
        return math.nan, math.nan, math.nan
    return (
        float(np.percentile(samples, 50) * 1e3),
        float(np.percentile(samples, 99) * 1e3),
        float(samples.max() * 1e3),
    )


def new_record(job: str, config: DataclassInstance, starts: np.ndarray) -> dict[str, Any]:
    """The fields every pendulum run record starts with.

    Args:
        job: what wrote it (``"robocritic demo"``).
        config: the run's settings (a dataclass).
        starts: ``(episodes, 2)`` start states [rad, rad/s].
    """
    return {
        "job": job,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "env": ENV_ID,
        "config": asdict(config),
        "start_states": np.asarray(starts).tolist(),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.machine(),
        },
    }


def write_record(path: str | PathLike[str], record: Mapping[str, Any]) -> Path:
    """Write ``record`` as strict JSON, atomically (a reader never sees half a record).

    JSON has no NaN or infinity: a value that is not finite (a statistic of no samples, a
    comparison of runs of different lengths) is written as ``null``.
    """
    return atomic_write_json(path, _strict_json(record))


def _strict_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return _strict_json(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


__all__ = ["ENV_ID", "new_record", "percentiles_ms", "start_states", "write_record"]
