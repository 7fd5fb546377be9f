"""Small helpers shared by every room of robocritic (imports nothing else from robocritic).

The names below load on first use: :mod:`robocritic.utils.safe_yaml` is imported by the ROS 2
runtime, which must not pull in numpy through this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robocritic.utils.validation import as_vector, check_finite, check_matrix

__all__ = ["as_vector", "check_finite", "check_matrix"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("robocritic.utils.validation"), name)
    raise AttributeError(f"module 'robocritic.utils' has no attribute {name!r}")
