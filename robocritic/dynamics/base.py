"""One dynamics model per system, shared by the simulator (reference) and by MPC (prior).

A :class:`DynamicsModel` is the continuous-time ODE ``dx/dt = f(x, u)`` together with the
system's limits (state box, input box) and a sample time. Controllers receive a model and call
:meth:`DynamicsModel.linearize` to get the discrete :class:`LinearModel` they plan with; ODE
environments call :meth:`DynamicsModel.step` to advance the true state. Both therefore read one
set of parameters and limits.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.linalg
from scipy.integrate import solve_ivp

from robocritic.utils.validation import as_vector, check_matrix


@dataclass(frozen=True)
class Box:
    """Elementwise bounds ``low <= v <= high`` (``+-inf`` allowed for an open side)."""

    low: np.ndarray
    high: np.ndarray

    def __post_init__(self) -> None:
        low = np.asarray(self.low, dtype=np.float64).reshape(-1)
        high = np.asarray(self.high, dtype=np.float64).reshape(-1)
        if low.shape != high.shape:
            raise ValueError(f"Box.low and Box.high differ in shape: {low.shape} vs {high.shape}")
        if np.any(np.isnan(low)) or np.any(np.isnan(high)) or np.any(low > high):
            raise ValueError(f"Box needs low <= high without NaN; got low={low}, high={high}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @classmethod
    def symmetric(cls, bound: np.ndarray | list[float] | float) -> Box:
        b = np.atleast_1d(np.asarray(bound, dtype=np.float64))
        return cls(-b, b)

    @property
    def size(self) -> int:
        return int(self.low.size)

    def violation(self, v: np.ndarray) -> np.ndarray:
        """Per-element amount by which ``v`` leaves the box (0 inside), same shape as ``v``."""
        return np.maximum(v - self.high, 0.0) + np.maximum(self.low - v, 0.0)

    def contains(self, v: np.ndarray, tol: float = 0.0) -> bool:
        return bool(np.all(self.violation(np.asarray(v)) <= tol))

    def clip(self, v: np.ndarray) -> np.ndarray:
        return np.clip(v, self.low, self.high)


@dataclass(frozen=True)
class LinearModel:
    """Discrete-time linear model in deviation variables around an operating point.

    ``dx[k+1] = A dx[k] + B du[k]`` with ``dx = x - x_eq`` and ``du = u - u_eq``; sample time
    ``dt`` seconds. ``state_box``/``input_box`` are the system limits expressed in *deviation*
    variables, so an MPC built on this model can use them directly.
    """

    A: np.ndarray  # (n_x, n_x)
    B: np.ndarray  # (n_x, n_u)
    dt: float
    x_eq: np.ndarray  # (n_x,)
    u_eq: np.ndarray  # (n_u,)
    state_box: Box
    input_box: Box
    state_names: tuple[str, ...] = ()
    input_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        A = np.atleast_2d(np.asarray(self.A, dtype=np.float64))
        n_x = A.shape[0]
        B = np.asarray(self.B, dtype=np.float64).reshape(n_x, -1)
        object.__setattr__(self, "A", check_matrix("A", A, (n_x, n_x)))
        object.__setattr__(self, "B", check_matrix("B", B, B.shape))
        object.__setattr__(self, "x_eq", as_vector("x_eq", self.x_eq, n_x))
        object.__setattr__(self, "u_eq", as_vector("u_eq", self.u_eq, B.shape[1]))
        if not self.dt > 0:
            raise ValueError(f"dt must be > 0 seconds; got {self.dt}")
        if self.state_box.size != n_x:
            raise ValueError(f"state_box must have {n_x} entries; got {self.state_box.size}")
        if self.input_box.size != B.shape[1]:
            raise ValueError(f"input_box must have {B.shape[1]} entries; got {self.input_box.size}")

    @property
    def n_x(self) -> int:
        return self.A.shape[0]

    @property
    def n_u(self) -> int:
        return self.B.shape[1]

    def step(self, dx: np.ndarray, du: np.ndarray) -> np.ndarray:
        """Next deviation state ``A dx + B du``; works on single vectors or batches ``(N, n)``."""
        return dx @ self.A.T + du @ self.B.T


def zoh_discretize(A_c: np.ndarray, B_c: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact zero-order-hold discretisation: ``expm([[A, B], [0, 0]] dt)``."""
    n_x, n_u = B_c.shape
    M = np.zeros((n_x + n_u, n_x + n_u))
    M[:n_x, :n_x] = A_c
    M[:n_x, n_x:] = B_c
    E = scipy.linalg.expm(M * dt)
    return E[:n_x, :n_x], E[:n_x, n_x:]


class DynamicsModel(ABC):
    """Continuous-time model ``dx/dt = f(x, u)`` with limits and a nominal sample time.

    Subclasses are frozen dataclasses holding the physical parameters and a ``dt`` field
    (seconds). They define :meth:`f`, the names and limits, and the operating point; they may
    override :meth:`jacobians` with analytic derivatives (the default is central differences).
    """

    dt: float
    state_names: ClassVar[tuple[str, ...]] = ()
    input_names: ClassVar[tuple[str, ...]] = ()
    # scipy.integrate.solve_ivp method and tolerances used by step(); stiff systems use LSODA/Radau.
    ode_method: ClassVar[str] = "RK45"
    ode_rtol: ClassVar[float] = 1e-9
    ode_atol: ClassVar[float] = 1e-11

    @property
    def n_x(self) -> int:
        return len(self.state_names)

    @property
    def n_u(self) -> int:
        return len(self.input_names)

    @abstractmethod
    def f(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Time derivative ``dx/dt`` of shape ``(n_x,)`` at state ``x`` and input ``u``."""

    @property
    @abstractmethod
    def state_box(self) -> Box:
        """Absolute state limits (safety constraints)."""

    @property
    @abstractmethod
    def input_box(self) -> Box:
        """Absolute input limits (actuator saturation)."""

    @property
    @abstractmethod
    def x_eq(self) -> np.ndarray:
        """Operating point (steady state) the controllers regulate to, shape ``(n_x,)``."""

    @property
    @abstractmethod
    def u_eq(self) -> np.ndarray:
        """Input that holds :attr:`x_eq` at rest, shape ``(n_u,)``."""

    def jacobians(self, x: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Continuous-time Jacobians ``(df/dx, df/du)`` at ``(x, u)`` by central differences."""
        x = np.asarray(x, dtype=np.float64)
        u = np.asarray(u, dtype=np.float64)
        A = np.empty((self.n_x, self.n_x))
        B = np.empty((self.n_x, self.n_u))
        for j in range(self.n_x):
            h = 1e-6 * max(1.0, abs(x[j]))
            e = np.zeros(self.n_x)
            e[j] = h
            A[:, j] = (self.f(x + e, u) - self.f(x - e, u)) / (2 * h)
        for j in range(self.n_u):
            h = 1e-6 * max(1.0, abs(u[j]))
            e = np.zeros(self.n_u)
            e[j] = h
            B[:, j] = (self.f(x, u + e) - self.f(x, u - e)) / (2 * h)
        return A, B

    def step(self, x: np.ndarray, u: np.ndarray, dt: float | None = None) -> np.ndarray:
        """Integrate the ODE over ``dt`` seconds (default :attr:`dt`) with ``u`` held constant."""
        x = as_vector("x", x, self.n_x)
        u = as_vector("u", u, self.n_u)
        h = self.dt if dt is None else dt
        sol = solve_ivp(
            lambda _t, s: self.f(s, u), (0.0, h), x,
            method=self.ode_method, rtol=self.ode_rtol, atol=self.ode_atol,
        )
        if not sol.success:
            raise RuntimeError(f"{type(self).__name__}.step: ODE integration failed: {sol.message}")
        return sol.y[:, -1]

    def linearize(
        self, x: np.ndarray | None = None, u: np.ndarray | None = None, dt: float | None = None
    ) -> LinearModel:
        """ZOH-discretised linear model around ``(x, u)`` (default: the operating point)."""
        x0 = self.x_eq if x is None else as_vector("x", x, self.n_x)
        u0 = self.u_eq if u is None else as_vector("u", u, self.n_u)
        h = self.dt if dt is None else float(dt)
        A_c, B_c = self.jacobians(x0, u0)
        A, B = zoh_discretize(A_c, B_c, h)
        return LinearModel(
            A=A, B=B, dt=h, x_eq=x0, u_eq=u0,
            state_box=Box(self.state_box.low - x0, self.state_box.high - x0),
            input_box=Box(self.input_box.low - u0, self.input_box.high - u0),
            state_names=self.state_names, input_names=self.input_names,
        )
