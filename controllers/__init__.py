"""Classical control laws (numpy/scipy/cvxpy only; never imports envs or torch)."""

from robocritic.controllers.lqr import LQRController, dlqr
from robocritic.controllers.mpc import LinearMPC, MPCConfig, MPCSolution

__all__ = ["LQRController", "LinearMPC", "MPCConfig", "MPCSolution", "dlqr"]
