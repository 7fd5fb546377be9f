"""robocritic: sim-to-real framework for critic-guided control.

Core public API; environments live in :mod:`robocritic.envs` (registered with Gymnasium as
``robocritic/<Name>-v0`` on import) and classical controllers in :mod:`robocritic.controllers`.
"""

from robocritic.dynamics import Box, DynamicsModel, LinearModel, PendulumModel
from robocritic.interfaces import Controller, SafetyFilter

__version__ = "0.1.0"

__all__ = [
    "Box",
    "Controller",
    "DynamicsModel",
    "LinearModel",
    "PendulumModel",
    "SafetyFilter",
    "__version__",
]
