"""Clipped pendulum: Gym's pendulum dynamics, stabilised near upright with a saturated torque.

Angle ``theta`` is measured from upright (0 = up, positive = counter-clockwise seen from +y),
so gravity destabilises: ``theta_dd = 3 g / (2 l) sin(theta) + 3 / (m l^2) u`` -- a uniform rod of
mass ``m`` and length ``l`` on a frictionless pivot (inertia ``m l^2 / 3``) driven by torque ``u``.
With g=10, l=m=1, dt=0.05 s and |u| <= 2 N m this is the system of Gym's ``Pendulum-v1`` and the
YANN papers (see docs/yann.md#clipped-pendulum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robocritic.dynamics.base import Box, DynamicsModel


@dataclass(frozen=True)
class PendulumModel(DynamicsModel):
    """Rod pendulum. State ``[theta (rad), theta_dot (rad/s)]``, input ``[torque (N m)]``."""

    g: float = 10.0  # m/s^2
    length: float = 1.0  # m
    mass: float = 1.0  # kg
    dt: float = 0.05  # s
    max_torque: float = 2.0  # N m
    max_angle: float = 2.0  # rad, state constraint of the MPC benchmark
    max_speed: float = 8.0  # rad/s, Gym's speed clip, kept here as a state constraint

    state_names = ("theta", "theta_dot")
    input_names = ("torque",)

    def __post_init__(self) -> None:
        for name in ("g", "length", "mass", "dt", "max_torque", "max_angle", "max_speed"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"PendulumModel.{name} must be a positive finite number; got {value}")

    @property
    def gravity_gain(self) -> float:
        """``3 g / (2 l)``, 1/s^2."""
        return 1.5 * self.g / self.length

    @property
    def input_gain(self) -> float:
        """``3 / (m l^2)``, 1/(kg m^2)."""
        return 3.0 / (self.mass * self.length**2)

    def f(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        return np.array([x[1], self.gravity_gain * np.sin(x[0]) + self.input_gain * u[0]])

    def jacobians(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        A = np.array([[0.0, 1.0], [self.gravity_gain * np.cos(x[0]), 0.0]])
        B = np.array([[0.0], [self.input_gain]])
        return A, B

    @property
    def state_box(self) -> Box:
        return Box.symmetric([self.max_angle, self.max_speed])

    @property
    def input_box(self) -> Box:
        return Box.symmetric([self.max_torque])

    @property
    def x_eq(self) -> np.ndarray:
        return np.zeros(2)

    @property
    def u_eq(self) -> np.ndarray:
        return np.zeros(1)
