"""Classical control laws (numpy/scipy/cvxpy only; never imports envs or torch)."""

from robocritic.controllers.impedance import (
    CartesianImpedance,
    EnergyTank,
    ImpedanceController,
    ImpedanceGains,
    ImpedanceRamp,
    interpolate,
    task_damping,
)
from robocritic.controllers.lqr import LQRController, dlqr
from robocritic.controllers.mpc import LinearMPC, MPCConfig, MPCSolution

__all__ = [
    "CartesianImpedance",
    "EnergyTank",
    "ImpedanceController",
    "ImpedanceGains",
    "ImpedanceRamp",
    "LQRController",
    "LinearMPC",
    "MPCConfig",
    "MPCSolution",
    "dlqr",
    "interpolate",
    "task_damping",
]
