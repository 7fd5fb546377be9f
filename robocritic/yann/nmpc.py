"""A nonlinear MPC of the true pendulum dynamics (CasADi + IPOPT; extra ``nmpc``): the
near-optimal reference ``nmpc`` of :mod:`robocritic.yann.references`.

Every control step it solves, from the measured state ``x0 = [theta, theta_dot]``::

    min   sum_{k=0}^{N-1} l(x_k, u_k) + l_N(x_N)
    s.t.  x_{k+1} = RK4(f, x_k, u_k, dt)  (``substeps`` RK4 steps per control period)
          |u_k| <= max_torque,  x_0 = measured state

with ``f`` the model's continuous dynamics (:class:`~robocritic.dynamics.PendulumModel`: no speed
clip, no delay), multiple shooting, and applies ``u_0``; the next solve is warm-started from the
previous solution shifted by one step. The stage cost is the env's ``x'Qx + u'Ru`` with ``theta^2``
replaced by ``2 (1 - cos theta)`` (and ``theta`` elsewhere in ``x'Qx`` by ``sin theta``): equal to
second order at upright, smooth and periodic, so the solver can swing the pole through the bottom
without a jump in the wrapped angle; ``l_N`` is the same form of ``x'Px``, ``P`` the Riccati
solution of the linearised problem. The cost the references report is the env's own, not this one.

No state constraint: the reference shows what the torque bound alone allows (as the swing-up
does). When IPOPT does not return a solution the controller applies the saturated first input of
its last warm start and counts it in :attr:`PendulumNMPC.failures`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robocritic.dynamics import PendulumModel

__all__ = ["NMPCConfig", "PendulumNMPC"]


@dataclass(frozen=True)
class NMPCConfig:
    """Settings of :class:`PendulumNMPC`.

    Attributes:
        horizon: steps ``N`` of the model's ``dt`` (>= 1). substeps: RK4 steps per control period.
        max_iter: IPOPT iteration limit per solve.
    """

    horizon: int = 60
    substeps: int = 2
    max_iter: int = 200

    def __post_init__(self) -> None:
        for name in ("horizon", "substeps", "max_iter"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"NMPCConfig.{name} must be an integer >= 1; got {v!r}")


class PendulumNMPC:
    """Nonlinear MPC of the pendulum (module docstring); a :class:`~robocritic.interfaces.Controller`.

    Args:
        model: the pendulum (gains, ``dt``, ``max_torque``). Q: ``(2, 2)``, R: ``(1, 1)`` stage
            weights; P: ``(2, 2)`` terminal weight. config: horizon and solver settings.

    Raises:
        ImportError: CasADi is not installed (``pip install 'robocritic[nmpc]'``).
    """

    def __init__(self, model: PendulumModel, Q: np.ndarray, R: np.ndarray, P: np.ndarray,
                 config: NMPCConfig | None = None) -> None:
        try:
            import casadi as ca
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise ImportError("the nmpc reference needs CasADi: pip install 'robocritic[nmpc]'") from exc
        self.config = config or NMPCConfig()
        self.model = model
        N, h = self.config.horizon, model.dt / self.config.substeps
        a, b, umax = model.gravity_gain, model.input_gain, model.max_torque
        Q, R, P = (np.asarray(m, dtype=np.float64) for m in (Q, R, P))

        def f(x, u):
            return ca.vertcat(x[1], a * ca.sin(x[0]) + b * u)

        def step(x, u):
            for _ in range(self.config.substeps):
                k1 = f(x, u)
                k2 = f(x + h / 2 * k1, u)
                k3 = f(x + h / 2 * k2, u)
                k4 = f(x + h * k3, u)
                x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
            return x

        def quad(W, x):
            # x'Wx with theta^2 -> 2(1 - cos theta) and theta -> sin theta in the cross term
            return W[0, 0] * 2 * (1 - ca.cos(x[0])) + 2 * W[0, 1] * ca.sin(x[0]) * x[1] + W[1, 1] * x[1] ** 2

        opti = ca.Opti()
        X, U, x0 = opti.variable(2, N + 1), opti.variable(1, N), opti.parameter(2)
        cost = 0
        for k in range(N):
            cost += quad(Q, X[:, k]) + R[0, 0] * U[0, k] ** 2
            opti.subject_to(X[:, k + 1] == step(X[:, k], U[0, k]))
        cost += quad(P, X[:, N])
        opti.subject_to(X[:, 0] == x0)
        opti.subject_to(opti.bounded(-umax, U, umax))
        opti.minimize(cost)
        opti.solver("ipopt", {"print_time": False},
                    {"print_level": 0, "max_iter": self.config.max_iter, "sb": "yes"})
        self._ca, self._opti, self._X, self._U, self._x0 = ca, opti, X, U, x0
        self._umax = umax
        self.failures = 0
        self.reset()

    def reset(self) -> None:
        """Forget the warm start (the next solve starts from rest at the measured state)."""
        self._X_guess: np.ndarray | None = None
        self._U_guess = np.zeros((1, self.config.horizon))

    def act(self, obs: np.ndarray) -> np.ndarray:
        """``(1,)`` torque for ``obs = [theta, theta_dot]`` (rad, rad/s)."""
        x = np.asarray(obs, dtype=np.float64).reshape(2)
        opti = self._opti
        opti.set_value(self._x0, x)
        X_guess = self._X_guess if self._X_guess is not None else np.tile(x.reshape(2, 1), (1, self.config.horizon + 1))
        X_guess = X_guess.copy()
        X_guess[:, 0] = x
        opti.set_initial(self._X, X_guess)
        opti.set_initial(self._U, self._U_guess)
        try:
            sol = opti.solve()
            Xs, Us = np.asarray(sol.value(self._X)).reshape(2, -1), np.asarray(sol.value(self._U)).reshape(1, -1)
        except RuntimeError:
            self.failures += 1
            Xs = np.asarray(opti.debug.value(self._X)).reshape(2, -1)
            Us = np.asarray(opti.debug.value(self._U)).reshape(1, -1)
        # shift for the next warm start
        self._X_guess = np.concatenate([Xs[:, 1:], Xs[:, -1:]], axis=1)
        self._U_guess = np.concatenate([Us[:, 1:], Us[:, -1:]], axis=1)
        return np.clip(Us[:, 0], -self._umax, self._umax)
