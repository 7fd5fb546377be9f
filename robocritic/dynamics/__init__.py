"""Dynamics models shared by simulators and controllers (imports nothing else from robocritic
except utils)."""

from robocritic.dynamics.base import Box, DynamicsModel, LinearModel, zoh_discretize
from robocritic.dynamics.cstr import CSTRModel
from robocritic.dynamics.pendulum import PendulumModel

__all__ = ["Box", "CSTRModel", "DynamicsModel", "LinearModel", "PendulumModel", "zoh_discretize"]
