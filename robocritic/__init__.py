"""robocritic: sim-to-real framework for critic-guided control.

Core public API; environments live in :mod:`robocritic.envs` (registered with Gymnasium as
``robocritic/<Name>-v0`` on import) and classical controllers in :mod:`robocritic.controllers`.
The names below load on first use, so that importing a subpackage (``robocritic.ros``, the
standalone ROS 2 runtime) does not import the rest of robocritic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from robocritic.dynamics import Box, DynamicsModel, LinearModel, PendulumModel
    from robocritic.interfaces import Controller, SafetyFilter

__version__ = "0.1.0"

_HOMES = {
    "Box": "robocritic.dynamics",
    "DynamicsModel": "robocritic.dynamics",
    "LinearModel": "robocritic.dynamics",
    "PendulumModel": "robocritic.dynamics",
    "Controller": "robocritic.interfaces",
    "SafetyFilter": "robocritic.interfaces",
}

__all__ = [
    "Box",
    "Controller",
    "DynamicsModel",
    "LinearModel",
    "PendulumModel",
    "SafetyFilter",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'robocritic' has no attribute {name!r}")
