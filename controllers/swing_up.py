"""Energy-pumping swing-up of a torque-driven rod pendulum with a catch controller at the top.

State ``x = [theta, theta_dot]`` with ``theta`` measured from upright (rad, rad/s), dynamics of
:class:`~robocritic.dynamics.PendulumModel`: ``theta_ddot = a sin(theta) + b u`` with
``a = 3 g / (2 l)`` and ``b = 3 / (m l^2)``. The energy per unit inertia, zero at upright rest,

    E(x) = theta_dot^2 / 2 + a (cos(theta) - 1)          (rad^2/s^2; -2a hanging at rest)

obeys ``dE/dt = b u theta_dot``. The textbook pumping law (Astrom & Furuta, Automatica 2000)

    u = sat(k (E_top - E) theta_dot),       E_top = 0,   |u| <= max_torque

therefore never moves ``E`` away from ``E_top``: below the top's energy it adds energy, above it
brakes. Near the top the catch controller (an MPC, an LQR) takes over inside the catch region

    C = {x : dx' P dx <= catch_level},      dx = [wrap(theta), theta_dot]

a level set of a quadratic Lyapunov function (``P``: the DARE solution of the catch controller's
cost, the LQR cost-to-go), and keeps control until ``dx' P dx > release_level`` (hysteresis: the
catch controller's first steps may leave ``C`` a little without the pump fighting it). The level
must lie in the catch controller's basin; that basin is measured, not derived (see where the
controller is built). Every command is clipped to ``|u| <= max_torque``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robocritic.dynamics import PendulumModel
from robocritic.interfaces import Controller
from robocritic.utils.fields import check_real
from robocritic.utils.validation import as_vector, check_matrix

__all__ = ["EnergySwingUp", "SwingUpConfig", "pendulum_energy", "wrap_angle"]


def wrap_angle(theta: float) -> float:
    """``theta`` wrapped to ``[-pi, pi)`` (rad)."""
    return (theta + math.pi) % (2.0 * math.pi) - math.pi


def pendulum_energy(model: PendulumModel, x: np.ndarray) -> np.ndarray | float:
    """``E = theta_dot^2 / 2 + a (cos theta - 1)`` (rad^2/s^2) of states ``x`` ``(..., 2)``; 0 at
    upright rest, ``-2 a`` hanging at rest."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * x[..., 1] ** 2 + model.gravity_gain * (np.cos(x[..., 0]) - 1.0)


@dataclass(frozen=True)
class SwingUpConfig:
    """Gains and regions of :class:`EnergySwingUp`."""

    catch_level: float
    """Enter the catch controller where ``dx' P dx <= catch_level`` (> 0)."""
    release_level: float
    """Leave it (back to pumping) where ``dx' P dx > release_level`` (>= catch_level)."""
    gain: float = 1.0
    """``k`` of the pumping law, N m s^3/rad^3 (> 0). Far from the top the law saturates at any
    gain of this order; the gain sets how softly ``E`` settles at ``E_top``."""
    kick_speed: float = 1e-3
    """Below this ``|theta_dot|`` (rad/s, >= 0) outside the catch region the pump applies
    ``+max_torque``: at rest ``theta_dot = 0`` the law gives 0 and hanging at rest would never
    start to swing."""

    def __post_init__(self) -> None:
        o = type(self).__name__
        check_real(o, "catch_level", self.catch_level, low=0.0, low_open=True)
        check_real(o, "release_level", self.release_level, low=self.catch_level)
        check_real(o, "gain", self.gain, low=0.0, low_open=True)
        check_real(o, "kick_speed", self.kick_speed, low=0.0)


class EnergySwingUp:
    """Energy pumping far from the top, ``catch`` near it (``Controller``; see module docstring).

    Args:
        model: the pendulum (``a``, ``b`` and ``max_torque`` are read from it).
        catch: the controller used inside the catch region (absolute observations).
        lyapunov: ``P`` ``(2, 2)`` symmetric positive definite, the catch region's quadratic form.
        config: levels and gains.

    Attributes:
        catching: whether the latest :meth:`act` used ``catch``.
        n_switches: switches into the catch controller since the last :meth:`reset`.
    """

    def __init__(
        self, model: PendulumModel, catch: Controller, lyapunov: np.ndarray, config: SwingUpConfig
    ) -> None:
        if not isinstance(model, PendulumModel):
            raise ValueError(f"model must be a PendulumModel; got {type(model).__name__}")  # noqa: TRY004
        if not isinstance(catch, Controller):
            raise ValueError(f"catch must be a Controller (reset/act); got {type(catch).__name__}")  # noqa: TRY004
        if not isinstance(config, SwingUpConfig):
            raise ValueError(f"config must be a SwingUpConfig; got {type(config).__name__}")  # noqa: TRY004
        P = check_matrix("lyapunov", np.asarray(lyapunov, dtype=np.float64), (2, 2))
        if not np.allclose(P, P.T) or np.linalg.eigvalsh(0.5 * (P + P.T)).min() <= 0.0:
            raise ValueError(f"lyapunov must be symmetric positive definite; got {P.tolist()}")
        self.model = model
        self.catch = catch
        self.lyapunov = 0.5 * (P + P.T)
        self.config = config
        self._u_max = float(model.max_torque)
        self.catching = False
        self.n_switches = 0

    def reset(self) -> None:
        """Start the next episode pumping (the catch controller is reset too)."""
        self.catch.reset()
        self.catching = False
        self.n_switches = 0

    def level(self, obs: np.ndarray) -> float:
        """``dx' P dx`` at the absolute state ``obs`` ``(2,)``, ``theta`` wrapped."""
        dx = np.array([wrap_angle(float(obs[0])), float(obs[1])])
        return float(dx @ self.lyapunov @ dx)

    def in_catch_region(self, obs: np.ndarray) -> bool:
        """Whether ``obs`` ``(2,)`` lies in ``C`` (``level <= catch_level``)."""
        return self.level(obs) <= self.config.catch_level

    def pump(self, obs: np.ndarray) -> np.ndarray:
        """The pumping command ``(1,)`` (N m) at ``obs`` ``(2,)``, ignoring the catch region."""
        theta_dot = float(obs[1])
        if abs(theta_dot) < self.config.kick_speed:
            return np.array([self._u_max])
        dE = -float(pendulum_energy(self.model, obs))  # E_top - E, E_top = 0
        u = self.config.gain * dE * theta_dot
        return np.array([min(max(u, -self._u_max), self._u_max)])

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Torque ``(1,)`` (N m, ``|u| <= max_torque``) at the absolute state ``obs`` ``(2,)``.

        Raises:
            ValueError: ``obs`` has the wrong shape or holds NaN/inf.
        """
        x = as_vector("obs", obs, 2)
        level = self.level(x)
        if self.catching:
            self.catching = level <= self.config.release_level
        elif level <= self.config.catch_level:
            self.catching = True
            self.n_switches += 1
        if self.catching:
            u = np.asarray(self.catch.act(x), dtype=np.float64).reshape(1)
            return np.clip(u, -self._u_max, self._u_max)
        return self.pump(x)
