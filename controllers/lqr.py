"""Discrete-time LQR: the Riccati gain and a saturated state-feedback controller.

``dlqr`` solves the (optionally discounted) infinite-horizon problem

    minimise  sum_{k>=0} g^k (x_k' Q x_k + u_k' R u_k)   subject to  x_{k+1} = A x_k + B u_k

whose optimal law is ``u = -K x`` with ``P`` the stabilising solution of the discounted DARE

    P = Q + g A'PA - g^2 A'PB (R + g B'PB)^{-1} B'PA,   K = g (R + g B'PB)^{-1} B'PA.

Discounting is the undiscounted problem on ``(sqrt(g) A, sqrt(g) B)``, which is how it is solved.
:class:`LQRController` wraps the gain around a :class:`~robocritic.dynamics.LinearModel`'s operating
point and clips to the actuator limits. The MPC in :mod:`robocritic.controllers.mpc` uses the same
``P`` as its terminal cost and the same saturated law as its fallback.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from robocritic.dynamics.base import LinearModel
from robocritic.utils.validation import as_vector, check_matrix

__all__ = ["LQRController", "dlqr"]

# Relative tolerance for symmetry / semidefiniteness checks on weight matrices: loose enough to
# accept matrices assembled in floating point, tight enough to reject a genuinely indefinite one.
_WEIGHT_RTOL = 1e-10


def check_weight(name: str, value: object, n: int | None, *, definite: bool) -> np.ndarray:
    """Return ``value`` as a symmetric ``(n, n)`` float64 matrix that is PSD (or PD if ``definite``).

    Scalars are accepted for ``n == 1``; ``n=None`` accepts any square size (the weight defines
    it). Raises ``ValueError`` naming ``name`` otherwise.
    """
    try:
        arr = np.atleast_2d(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        size = "square" if n is None else f"({n}, {n})"
        raise ValueError(f"{name} must be a numeric {size} matrix; got {value!r}") from exc
    if n is None:
        if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
            raise ValueError(f"{name} must be a square matrix; got shape {arr.shape}")
        n = arr.shape[0]
    M = check_matrix(name, arr, (n, n))
    scale = max(1.0, float(np.max(np.abs(M))))
    if np.max(np.abs(M - M.T)) > _WEIGHT_RTOL * scale:
        raise ValueError(f"{name} must be symmetric; got {M.tolist()}")
    M = 0.5 * (M + M.T)
    min_eig = float(np.linalg.eigvalsh(M).min())
    if definite and min_eig <= _WEIGHT_RTOL * scale:
        raise ValueError(f"{name} must be positive definite; smallest eigenvalue {min_eig:.3g}")
    if not definite and min_eig < -_WEIGHT_RTOL * scale:
        raise ValueError(f"{name} must be positive semidefinite; smallest eigenvalue {min_eig:.3g}")
    return M


def _as_input_matrix(B: object, n_x: int) -> np.ndarray:
    """Accept a 1-D ``B`` of length ``n_x`` as a single-input column."""
    arr = np.asarray(B, dtype=np.float64)
    if arr.ndim == 1 and arr.size == n_x:
        arr = arr.reshape(n_x, 1)
    arr = np.atleast_2d(arr)
    if arr.ndim != 2 or arr.shape[0] != n_x:
        raise ValueError(f"B must have shape ({n_x}, n_u); got {arr.shape}")
    return check_matrix("B", arr, arr.shape)


def dlqr(
    A: np.ndarray, B: np.ndarray, Q: np.ndarray, R: np.ndarray, discount: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Infinite-horizon discrete LQR gain and cost-to-go.

    Args:
        A: ``(n_x, n_x)`` state matrix.
        B: ``(n_x, n_u)`` input matrix (a 1-D ``(n_x,)`` array is read as one input).
        Q: ``(n_x, n_x)`` symmetric positive semidefinite state weight.
        R: ``(n_u, n_u)`` symmetric positive definite input weight (scalar if ``n_u == 1``).
        discount: ``g`` in ``(0, 1]``; the cost is ``sum_k g^k (x'Qx + u'Ru)``.

    Returns:
        ``(K, P)``: gain ``(n_u, n_x)`` of the law ``u = -K x`` and the stabilising DARE solution
        ``(n_x, n_x)``, so the optimal cost from ``x`` is ``x' P x``.

    Raises:
        ValueError: bad shapes/weights/discount, ``(sqrt(g) A, sqrt(g) B)`` not stabilisable, or no
            stabilising Riccati solution (e.g. an unobservable mode of ``(Q, A)`` on the unit
            circle); the message gives the reason.
    """
    A = np.atleast_2d(np.asarray(A, dtype=np.float64))
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square (n_x, n_x); got shape {A.shape}")
    n_x = A.shape[0]
    A = check_matrix("A", A, (n_x, n_x))
    B = _as_input_matrix(B, n_x)
    n_u = B.shape[1]
    Q = check_weight("Q", Q, n_x, definite=False)
    R = check_weight("R", R, n_u, definite=True)
    g = float(discount)
    if not (np.isfinite(g) and 0.0 < g <= 1.0):
        raise ValueError(f"discount must be in (0, 1]; got {discount}")

    As, Bs = np.sqrt(g) * A, np.sqrt(g) * B
    _check_stabilisable(As, Bs)
    try:
        P = scipy.linalg.solve_discrete_are(As, Bs, Q, R)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise ValueError(
            f"no stabilising solution of the discrete Riccati equation (discount={g}): {exc}. "
            "Typical cause: a mode of (Q, A) on the unit circle that Q does not observe."
        ) from exc
    P = 0.5 * (P + P.T)
    K = np.linalg.solve(R + Bs.T @ P @ Bs, Bs.T @ P @ As)
    rho = float(np.max(np.abs(np.linalg.eigvals(As - Bs @ K))))
    if not rho < 1.0:
        raise ValueError(
            f"Riccati solution is not stabilising: spectral radius of sqrt(g)(A - B K) is {rho:.6g}"
        )
    return K, P


def _check_stabilisable(A: np.ndarray, B: np.ndarray) -> None:
    """PBH test: every eigenvalue with ``|lambda| >= 1`` must be controllable."""
    n_x = A.shape[0]
    for lam in np.linalg.eigvals(A):
        if abs(lam) < 1.0 - 1e-12:
            continue
        pbh = np.hstack([A - lam * np.eye(n_x), B.astype(complex)])
        # Rank tolerance relative to the data: an uncontrollable mode drops the rank exactly in
        # exact arithmetic and to ~eps * norm in floating point.
        s = np.linalg.svd(pbh, compute_uv=False)
        if s[-1] <= 1e-10 * max(1.0, s[0]):
            raise ValueError(
                f"(A, B) is not stabilisable: mode lambda={lam:.6g} (|lambda|={abs(lam):.6g} >= 1) "
                "cannot be influenced by the input"
            )


class LQRController:
    """Saturated LQR about a linear model's operating point (implements ``Controller``).

    ``act(x) = clip(u_eq - K (x - x_eq), input limits)`` with ``K`` from :func:`dlqr`.

    Attributes:
        model: the :class:`LinearModel` (deviation variables, limits in deviation units).
        K: ``(n_u, n_x)`` gain; ``P``: ``(n_x, n_x)`` cost-to-go of the unconstrained problem.
    """

    def __init__(
        self, model: LinearModel, Q: np.ndarray, R: np.ndarray, discount: float = 1.0
    ) -> None:
        if not isinstance(model, LinearModel):
            raise ValueError(f"model must be a LinearModel; got {type(model).__name__}")
        self.model = model
        self.discount = float(discount)
        self.K, self.P = dlqr(model.A, model.B, Q, R, discount)
        # Absolute actuator limits: the model keeps them in deviation units around u_eq.
        self._u_low = model.u_eq + model.input_box.low
        self._u_high = model.u_eq + model.input_box.high

    def reset(self) -> None:
        """Stateless law: nothing to clear."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Input ``(n_u,)`` in the model's input units for the absolute state ``obs`` ``(n_x,)``."""
        x = as_vector("obs", obs, self.model.n_x)
        u = self.model.u_eq - self.K @ (x - self.model.x_eq)
        return np.clip(u, self._u_low, self._u_high)
