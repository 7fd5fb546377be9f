"""Cartesian variable impedance for a torque-controlled arm, with an optional energy tank.

The law (``n`` joints, ``m`` task coordinates, everything in the base frame, SI units)::

    tau = J' [K (x_d - x) - D J qd] + bias - k_q qd

``K = diag(stiffness)`` [N/m]; ``bias`` cancels gravity and Coriolis terms; ``k_q`` [N m s/rad]
damps the joints, which is what damps the null space of a redundant arm (``n > m``). The task
damping ``D`` [N s/m] comes from damping ratios ``Z = diag(zeta)`` and the task-space inertia
``Lambda = (J M^-1 J')^-1`` [kg]::

    D = 2 R Z R',   R = K^(1/2) (K^(1/2) Lambda^-1 K^(1/2))^(-1/4)

so ``R R' = Lambda # K``, the matrix geometric mean
``Lambda^(1/2) (Lambda^(-1/2) K Lambda^(-1/2))^(1/2) Lambda^(1/2)``. Why this form:

* Scalar ``zeta``: ``D = 2 zeta (Lambda # K)``, which is the double diagonalisation without a
  generalised eigenproblem: with ``Lambda = Q'Q`` and ``K = Q' W^2 Q`` (``W`` diagonal),
  ``Lambda # K = Q' W Q``, so every mode of the linearised task-space loop
  ``Lambda e'' + D e' + K e = 0`` has damping ratio ``zeta`` exactly.
* Diagonal ``Lambda``: ``D_ii = 2 zeta_i sqrt(k_i Lambda_ii)``, so per-axis ratios are exact when
  the axes decouple (for a coupled ``Lambda`` and unequal ratios they are approximate).
* ``D`` is symmetric positive semidefinite for every diagonal ``K >= 0`` and ``zeta >= 0`` (a
  congruence of ``Z``): the damping term never injects energy. The often-used factorisation
  ``Lambda^(1/2) D_zeta K^(1/2) + K^(1/2) D_zeta Lambda^(1/2)`` is symmetric but can be indefinite
  when ``Lambda`` is far from diagonal.
* At a kinematic singularity ``Lambda`` and ``D`` are unbounded, but the joint-space damping
  ``J' D J = 2 (J'R) Z (J'R)'`` is not: the columns of ``J'R`` shrink like the fourth root of
  the vanishing eigenvalue of ``K^(1/2) Lambda^-1 K^(1/2)``, so the law is evaluated in that form
  and ``D`` is never formed in :meth:`CartesianImpedance.torques`. Putting ``Z`` between ``R`` and ``R'`` (not ``Z^(1/2) (Lambda # K)
  Z^(1/2)``, which agrees for a scalar ``zeta``) is what keeps this for unequal ratios.
* Cost: ``Lambda^-1 = J M^-1 J'`` is used as it is (never inverted) and one ``m x m`` symmetric
  eigendecomposition gives ``R``; no scipy. An axis with ``k_i = 0`` gets no task damping (use
  ``k_q``). For ``m <= 2`` and a few joints :meth:`CartesianImpedance.torques` evaluates the same
  formulas on Python floats (Cholesky and forward substitution in loops, the ``2 x 2``
  eigendecomposition by one Jacobi rotation), which at those sizes costs less than numpy's
  per-call overhead; larger arms use numpy.

**Energy tank** (optional, :class:`EnergyTank`): a stiffness change ``dK`` at displacement
``e = x_d - x`` changes the spring's stored energy by ``0.5 e' dK e``. Increases are paid from the
tank; decreases are free (and not credited back, which is conservative); a change the tank cannot
pay in full is scaled down to what it can pay, so the applied stiffness lags the requested one.
The task damping refills the tank by the power it dissipates, ``xd' D xd``, up to its maximum
(joint damping is not counted). The applied stiffness starts at ``stiffness_min`` after a reset,
so a first stiff command at a displacement is paid for like any other increase.

For the 10-20 Hz / 1 kHz hierarchy, :func:`interpolate` turns two consecutive decisions into
per-tick setpoints (linear) and stiffnesses (linear in log-stiffness).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import mul
from typing import NamedTuple

import numpy as np

from robocritic.interfaces import ArmState
from robocritic.utils.fields import check_int, check_real
from robocritic.utils.validation import as_vector, check_finite, check_matrix

__all__ = [
    "CartesianImpedance",
    "EnergyTank",
    "ImpedanceController",
    "ImpedanceGains",
    "ImpedanceRamp",
    "interpolate",
    "task_damping",
]

# Floor on the eigenvalues of K^(1/2) Lambda^-1 K^(1/2), relative to the largest: below ~1e-15
# they are rounding noise, and an exact zero (singular J, or k_i = 0) would divide by zero. What
# the floor scales is a column of R that multiplies a vanishing one, so it does not show in tau.
_EIG_FLOOR = 1e-15
_TINY = np.finfo(np.float64).tiny  # keeps the floor > 0 when K^(1/2) J = 0


def _nonneg_vector(name: str, value: object, size: int | None) -> np.ndarray:
    """A read-only float64 copy of ``value``, finite and ``>= 0``, shape ``(size,)`` (a scalar is
    broadcast) or any ``(m,)`` with ``m >= 1`` when ``size`` is ``None``."""
    try:
        arr = np.array(value, dtype=np.float64)  # a copy: the caller keeps its array
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric; got {value!r}") from exc
    if arr.ndim == 0 and size is not None:
        arr = np.full(size, arr)
    if arr.ndim != 1 or arr.size == 0 or (size is not None and arr.size != size):
        shape = "(m,)" if size is None else f"({size},) or a scalar"
        raise ValueError(f"{name} must have shape {shape}; got shape {arr.shape}")
    # One test on Python floats for the common case (a per-tick gains object is a handful of
    # values, where each numpy reduction costs more than the loop): a finite sum rules out NaN and
    # inf, and then min() is exact. The exact array checks run only when that test fails (an
    # overflowing sum of finite values passes them).
    values = arr.tolist()
    if not (math.isfinite(sum(values)) and min(values) >= 0.0):
        check_finite(name, arr)
        if not (arr >= 0).all():
            raise ValueError(f"{name} must be >= 0; got {values}")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class ImpedanceGains:
    """One impedance decision (validated on creation; arrays are read-only copies).

    Equality is identity: :class:`CartesianImpedance` checks the stiffness range once per object.
    """

    stiffness: np.ndarray
    """``(m,)`` task stiffness ``K`` [N/m], finite, ``>= 0``; the range is the controller's."""
    damping_ratio: np.ndarray | float = 1.0
    """Damping ratio ``zeta``: a scalar or ``(m,)``, finite, ``>= 0``; stored as ``(m,)``.
    ``1`` is critical damping."""
    _twice_ratio: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen dataclass
        k = _nonneg_vector("ImpedanceGains.stiffness", self.stiffness, None)
        set_(self, "stiffness", k)
        ratio = _nonneg_vector("ImpedanceGains.damping_ratio", self.damping_ratio, k.size)
        set_(self, "damping_ratio", ratio)
        twice = 2.0 * ratio  # D = R (2 Z) R': once per gains object, not per tick
        twice.flags.writeable = False
        set_(self, "_twice_ratio", twice)

    @property
    def n_task(self) -> int:
        return int(self.stiffness.shape[0])


def _modal_root(scaled_inv_inertia: np.ndarray, sqrt_k: np.ndarray) -> np.ndarray:
    """``R = K^(1/2) B^(-1/4)`` ``(m, m)`` from ``B = K^(1/2) Lambda^-1 K^(1/2)``: ``D = 2 R Z R'``."""
    lam, V = np.linalg.eigh(scaled_inv_inertia)  # ascending
    lam = np.maximum(lam, _EIG_FLOOR * lam[-1] + _TINY)
    return (sqrt_k[:, None] * V * lam**-0.25) @ V.T


def task_damping(inv_inertia: np.ndarray, stiffness: np.ndarray, damping_ratio: np.ndarray) -> np.ndarray:
    """Task damping ``D = 2 R Z R'`` ``(m, m)`` [N s/m] (module docstring).

    Args:
        inv_inertia: ``Lambda^-1 = J M^-1 J'`` ``(m, m)`` [1/kg], symmetric PSD.
        stiffness: diagonal of ``K`` ``(m,)`` [N/m], ``>= 0``.
        damping_ratio: ``zeta`` ``(m,)``, ``>= 0``.
    """
    sqrt_k = np.sqrt(np.asarray(stiffness, np.float64))
    root = _modal_root(np.asarray(inv_inertia, np.float64) * np.multiply.outer(sqrt_k, sqrt_k), sqrt_k)
    return (root * (2.0 * np.asarray(damping_ratio, np.float64))) @ root.T


# The scalar path of CartesianImpedance.torques: for m <= 2 task axes (one Jacobi rotation
# diagonalises a 2 x 2 symmetric matrix in closed form) and a few joints the law is a few dozen
# float operations, which the interpreter runs in less time than the fixed per-call overhead of
# the numpy calls it replaces (cholesky, solve, eigh and a dozen small ufuncs). For more joints
# the O(n^3) Python loops lose to LAPACK, so larger arms take the array path.
_SCALAR_MAX_TASK = 2
_SCALAR_MAX_JOINTS = 6


def _mobility_rows(mass: list[list[float]], jac: list[list[float]]) -> list[list[float]] | None:
    """Rows of ``W' = (L^-1 J')'`` ``(m, n)`` with ``M = L L'`` (Cholesky; nested lists, the lower
    triangle of ``mass`` is read), so ``Lambda^-1 = W'W``; ``None`` if ``mass`` is not positive
    definite (a pivot ``<= 0`` or NaN)."""
    chol: list[list[float]] = []  # row i of L has i + 1 entries
    for i, mi in enumerate(mass):
        li: list[float] = []
        for j, lj in enumerate(chol):
            li.append((mi[j] - sum(map(mul, li, lj))) / lj[j])  # map stops at len(li) = j
        pivot = mi[i] - sum(map(mul, li, li))
        if not pivot > 0.0:
            return None
        li.append(math.sqrt(pivot))
        chol.append(li)
    rows = []
    for b in jac:  # forward substitution, L w = b
        w: list[float] = []
        for j, lj in enumerate(chol):
            w.append((b[j] - sum(map(mul, w, lj))) / lj[j])  # map stops at len(w) = j
        rows.append(w)
    return rows


def _root_2x2(b00: float, b01: float, b11: float) -> tuple[float, float, float]:
    """``B^(-1/4)`` as ``(f00, f01, f11)`` for the symmetric PSD ``B = [[b00, b01], [b01, b11]]``,
    with the eigenvalue floor of :func:`_modal_root`; ``R = K^(1/2) B^(-1/4)`` row by row.

    One Jacobi rotation ``V = [[c, s], [-s, c]]`` diagonalises ``B`` exactly (Golub and Van Loan,
    ``sym.schur2``): the eigenvalues ``b00 - t b01`` and ``b11 + t b01`` come out to a few eps of
    ``max |eig|``, as from ``eigh``, and equal or decoupled axes (``b01 = 0``) need no special case.
    """
    if b01 == 0.0:
        c, s, lam0, lam1 = 1.0, 0.0, b00, b11
    else:
        tau = (b11 - b00) / (b01 + b01)
        # t = tan(angle), the smaller root of t^2 + 2 tau t - 1 = 0 (|angle| <= pi/4); an
        # overflowing tau*tau gives t = 0, the right limit.
        if tau >= 0.0:
            t = 1.0 / (tau + math.sqrt(1.0 + tau * tau))
        else:
            t = -1.0 / (math.sqrt(1.0 + tau * tau) - tau)
        c = 1.0 / math.sqrt(1.0 + t * t)
        s = t * c
        lam0, lam1 = b00 - t * b01, b11 + t * b01
    floor = _EIG_FLOOR * (lam0 if lam0 > lam1 else lam1) + _TINY
    f0 = (lam0 if lam0 > floor else floor) ** -0.25
    f1 = (lam1 if lam1 > floor else floor) ** -0.25
    return c * c * f0 + s * s * f1, c * s * (f1 - f0), s * s * f0 + c * c * f1


class EnergyTank:
    """Energy budget for stiffness increases (passivity of a variable-stiffness spring).

    A stiffness increase ``dK >= 0`` at displacement ``e`` costs ``0.5 e' dK e`` [J]; decreases are
    free. :meth:`quote` prices a request and scales the increases down uniformly to what the tank
    holds; :meth:`settle` pays and refills by the dissipated power times the period, up to
    ``maximum``. The tank only accounts; :class:`CartesianImpedance` applies what it allows.
    """

    def __init__(self, initial: float, maximum: float, period: float) -> None:
        """``initial``, ``maximum`` [J] with ``0 <= initial <= maximum``; ``period`` [s] between calls."""
        check_real("EnergyTank", "maximum", maximum, low=0.0, low_open=True)
        check_real("EnergyTank", "initial", initial, low=0.0, high=float(maximum))
        check_real("EnergyTank", "period", period, low=0.0, low_open=True)
        self.initial = float(initial)
        self.maximum = float(maximum)
        self.period = float(period)
        self.level = self.initial
        """Stored energy [J], in ``[0, maximum]``."""

    def reset(self) -> None:
        """Back to the initial level."""
        self.level = self.initial

    def quote(
        self, current: np.ndarray, requested: np.ndarray, displacement: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """Stiffness the tank allows ``(m,)`` [N/m] and its cost [J]; nothing is paid yet.

        Axes that decrease get ``requested``; axes that increase get ``current + a (requested -
        current)`` with one ``a`` in ``[0, 1]``, the largest the level pays for (``a = 0``: refused).
        """
        dk = requested - current
        rise = np.maximum(dk, 0.0)
        cost = 0.5 * float(displacement**2 @ rise)
        if cost <= self.level:
            return requested, cost
        scale = self.level / cost  # cost > level >= 0
        return current + np.minimum(dk, 0.0) + scale * rise, self.level

    def settle(self, cost: float, dissipated_power: float) -> None:
        """Pay ``cost`` [J] (from :meth:`quote`) and refill by ``dissipated_power`` [W] over a period."""
        self.level = min(max(self.level - cost, 0.0) + dissipated_power * self.period, self.maximum)


def _limits(name: str, value: object, size: int) -> np.ndarray:
    return _nonneg_vector(f"CartesianImpedance.{name}", value, size)


class CartesianImpedance:
    """Cartesian variable impedance law ``tau = J'[K e - D J qd] + bias - k_q qd`` (module docstring).

    Without a tank, :meth:`torques` is a function of ``(state, setpoint, gains)``; the only state
    kept is the saturation count. With a tank, the applied stiffness and the tank level carry over
    from call to call (:attr:`applied_stiffness`); :meth:`reset` restores both.
    """

    def __init__(
        self,
        n_joints: int,
        n_task: int,
        *,
        stiffness_max: float | np.ndarray,
        stiffness_min: float | np.ndarray = 0.0,
        joint_damping: float | np.ndarray = 0.0,
        torque_limit: float | np.ndarray | None = None,
        tank: EnergyTank | None = None,
    ) -> None:
        """
        Args:
            n_joints: ``n >= 1``.
            n_task: ``m``, ``1 <= m <= n``.
            stiffness_max, stiffness_min: per-axis bounds on ``K`` [N/m], scalars or ``(m,)``;
                gains outside them are refused, naming the axis.
            joint_damping: ``k_q >= 0`` [N m s/rad], a scalar or ``(n,)``.
            torque_limit: ``None``, or ``> 0`` [N m] per joint (scalar or ``(n,)``): torques are
                clipped to ``[-limit, limit]`` and each clipped joint counted (:attr:`saturations`).
            tank: an :class:`EnergyTank` to limit stiffness increases, or ``None``.
        """
        check_int("CartesianImpedance", "n_joints", n_joints, low=1)
        check_int("CartesianImpedance", "n_task", n_task, low=1)
        if n_task > n_joints:
            raise ValueError(f"CartesianImpedance.n_task must be <= n_joints ({n_joints}); got {n_task}")
        self.n_joints, self.n_task = int(n_joints), int(n_task)
        self.stiffness_min = _limits("stiffness_min", stiffness_min, self.n_task)
        self.stiffness_max = _limits("stiffness_max", stiffness_max, self.n_task)
        bad = np.flatnonzero(self.stiffness_min > self.stiffness_max)
        if bad.size:
            raise ValueError(
                f"CartesianImpedance.stiffness_min must be <= stiffness_max; axis {int(bad[0])}: "
                f"{self.stiffness_min[bad[0]]} > {self.stiffness_max[bad[0]]}"
            )
        self.joint_damping = _limits("joint_damping", joint_damping, self.n_joints)
        self.torque_limit = None
        if torque_limit is not None:
            self.torque_limit = _limits("torque_limit", torque_limit, self.n_joints)
            if np.any(self.torque_limit <= 0):
                raise ValueError(
                    f"CartesianImpedance.torque_limit must be > 0; got {self.torque_limit.tolist()}"
                )
        if tank is not None and not isinstance(tank, EnergyTank):
            raise TypeError(
                f"CartesianImpedance.tank must be an EnergyTank or None; got {type(tank).__name__}"
            )
        self.tank = tank
        self._checked_gains: ImpedanceGains | None = None  # held, so its id cannot be reused
        # (gains, k, sqrt(k), 2 zeta) as Python floats, for the scalar path: once per gains object.
        self._gain_lists: tuple[ImpedanceGains, list[float], list[float], list[float]] | None = None
        self._scalar = self.n_task <= _SCALAR_MAX_TASK and self.n_joints <= _SCALAR_MAX_JOINTS
        n, m = self.n_joints, self.n_task
        self._shapes = ((m,), (m,), (n,), (m, n), (n, n), (n,))  # setpoint, x, qd, J, M, bias
        self._applied = self.stiffness_min.copy()
        self._saturations = np.zeros(self.n_joints, dtype=np.int64)

    def reset(self) -> None:
        """Clear the saturation counts; with a tank, refill it and start again from ``stiffness_min``."""
        self._saturations[:] = 0
        self._applied[:] = self.stiffness_min
        if self.tank is not None:
            self.tank.reset()

    @property
    def saturations(self) -> np.ndarray:
        """``(n,)`` calls on which each joint's torque was clipped, since the last reset."""
        return self._saturations.copy()

    @property
    def applied_stiffness(self) -> np.ndarray:
        """``(m,)`` stiffness of the last call [N/m] (the tank's allowance; without a tank the request)."""
        return self._applied.copy()

    def check_gains(self, gains: ImpedanceGains) -> None:
        """Raise ``ValueError`` naming the axis if ``gains`` has the wrong size or leaves the range
        (``TypeError`` if it is not :class:`ImpedanceGains`)."""
        if not isinstance(gains, ImpedanceGains):
            raise TypeError(f"gains must be ImpedanceGains; got {type(gains).__name__}")
        if gains.n_task != self.n_task:
            raise ValueError(f"gains.stiffness must have shape ({self.n_task},); got ({gains.n_task},)")
        # On Python floats: a new gains object per tick (a ramp) is checked here every tick.
        for i, (k, low, high) in enumerate(
            zip(gains.stiffness.tolist(), self.stiffness_min.tolist(), self.stiffness_max.tolist())
        ):
            if not low <= k <= high:
                raise ValueError(
                    f"gains.stiffness[{i}] = {k:g} N/m is outside [{low:g}, {high:g}] "
                    f"(CartesianImpedance.stiffness_min/max, axis {i})"
                )

    def check_state(self, state: ArmState, setpoint: np.ndarray) -> None:
        """Raise ``ValueError`` naming the first bad field (shape, NaN or inf) of ``state``/``setpoint``
        (``TypeError`` if ``state`` is not an :class:`ArmState`)."""
        self._read(state, setpoint)

    def _read(self, state: ArmState, setpoint: np.ndarray) -> tuple[np.ndarray, ...]:
        """``(setpoint, x, qd, jacobian, mass_matrix, bias)`` as checked float64 arrays."""
        if not isinstance(state, ArmState):
            raise TypeError(f"state must be an ArmState; got {type(state).__name__}")
        n, m = self.n_joints, self.n_task
        as_vector("state.q", state.q, n)
        qd = as_vector("state.qd", state.qd, n)
        x = as_vector("state.x", state.x, m)
        jac = check_matrix("state.jacobian", state.jacobian, (m, n))
        mass = check_matrix("state.mass_matrix", state.mass_matrix, (n, n))
        bias = as_vector("state.bias", state.bias, n)
        if state.wrench is not None:
            as_vector("state.wrench", state.wrench, m)
        return as_vector("setpoint", setpoint, m), x, qd, jac, mass, bias

    def task_inertia_inverse(self, state: ArmState) -> np.ndarray:
        """``Lambda^-1 = J M^-1 J'`` ``(m, m)`` [1/kg], symmetric PSD by construction."""
        self.check_state(state, state.x)
        w = self._mobility_factor(
            state, np.asarray(state.mass_matrix, np.float64), np.asarray(state.jacobian, np.float64)
        )
        return w.T @ w

    def _mobility_factor(self, state: ArmState, mass: np.ndarray, jac: np.ndarray) -> np.ndarray:
        """``W = L^-1 J'`` ``(n, m)`` with ``M = L L'``, so ``Lambda^-1 = W'W`` (symmetric PSD to the bit)."""
        try:
            chol = np.linalg.cholesky(mass)  # reads the lower triangle
        except np.linalg.LinAlgError as exc:
            self.check_state(state, state.x)  # a NaN is named as such, not as "not definite"
            raise ValueError("state.mass_matrix must be symmetric positive definite") from exc
        return np.linalg.solve(chol, jac.T)

    def damping_matrix(self, state: ArmState, gains: ImpedanceGains) -> np.ndarray:
        """Task damping ``D`` ``(m, m)`` [N s/m] for ``gains`` at ``state`` (the requested stiffness)."""
        self.check_gains(gains)
        return task_damping(self.task_inertia_inverse(state), gains.stiffness, gains.damping_ratio)

    def torques(self, state: ArmState, setpoint: np.ndarray, gains: ImpedanceGains) -> np.ndarray:
        """Joint torques ``(n,)`` [N m] toward ``setpoint`` ``(m,)`` [m] with ``gains``.

        Raises ``ValueError`` naming the field for a wrong shape, a NaN or inf in ``setpoint`` or
        in a field of ``state`` the law reads (``x``, ``qd``, ``jacobian``, ``mass_matrix``,
        ``bias``), a mass matrix that is not positive definite, or gains out of range. Nothing
        (tank, applied stiffness, counts) changes on a call that raises.
        """
        if gains is not self._checked_gains:
            self.check_gains(gains)
            self._checked_gains = gains
        if self._scalar:
            tau = self._torques_scalar(state, setpoint, gains)
            if tau is not None:
                return tau
        return self._torques_array(state, setpoint, gains)

    def _torques_scalar(self, state: ArmState, setpoint: np.ndarray, gains: ImpedanceGains) -> np.ndarray | None:
        """:meth:`torques` on Python floats (small sizes, see ``_SCALAR_MAX_JOINTS``), for gains
        already checked; ``None``, with nothing changed, when the inputs need the array path (not
        arrays of the exact shapes, a NaN or inf, a mass matrix that is not positive definite, a
        result that is not finite): that path names the culprit, or computes what the checks
        accept (a ``(1, m)`` setpoint)."""
        try:
            x_d, x, qd = setpoint, state.x, state.qd
            jac, mass, bias = state.jacobian, state.mass_matrix, state.bias
            if (x_d.shape, x.shape, qd.shape, jac.shape, mass.shape, bias.shape) != self._shapes:
                return None
            x_d, x, qd = x_d.tolist(), x.tolist(), qd.tolist()
            jac, mass, bias = jac.tolist(), mass.tolist(), bias.tolist()
            # An infinite mass matrix entry can cancel out of J M^-1 J' instead of propagating, so
            # the mass matrix is checked (a finite sum: every entry finite; an overflowing sum of
            # finite entries takes the array path, which accepts it). A NaN or inf in any other
            # field reaches tau = J'(K e - D J qd) + bias - k_q qd through a product or a sum,
            # never through a division, so the check of the result catches it.
            if not math.isfinite(sum(map(sum, mass))):
                return None
            lists = self._gain_lists
            if lists is None or lists[0] is not gains:
                k = gains.stiffness.tolist()
                lists = self._gain_lists = (gains, k, [math.sqrt(v) for v in k], gains._twice_ratio.tolist())
            _, k, sqrt_k, twice = lists
            e = [a - b for a, b in zip(x_d, x)]
            tank = self.tank
            if tank is not None:
                k_arr, cost = tank.quote(self._applied, gains.stiffness, np.array(e))
                k = k_arr.tolist()
                sqrt_k = [math.sqrt(v) for v in k]
            w = _mobility_rows(mass, jac)
            if w is None:
                return None
            xd = [sum(map(mul, row, qd)) for row in jac]  # J qd
            if len(jac) == 1:
                (j0,), (w0,), (sk0,), (k0,), (e0,), (tw0,), (v0,) = jac, w, sqrt_k, k, e, twice, xd
                b = k0 * sum(map(mul, w0, w0))
                floor = _EIG_FLOOR * b + _TINY
                r = sk0 * (b if b > floor else floor) ** -0.25  # R (1 x 1)
                mv = r * v0  # R' xd
                mf = tw0 * mv
                f0 = k0 * e0 - r * mf
                power = mv * mf
                tau = [a * f0 + c - d * q for a, c, d, q in zip(j0, bias, self.joint_damping.tolist(), qd)]
            else:
                (j0, j1), (w0, w1), (sk0, sk1), (k0, k1) = jac, w, sqrt_k, k
                (e0, e1), (tw0, tw1), (v0, v1) = e, twice, xd
                f00, f01, f11 = _root_2x2(
                    k0 * sum(map(mul, w0, w0)), sk0 * sk1 * sum(map(mul, w0, w1)), k1 * sum(map(mul, w1, w1))
                )
                r00, r01, r10, r11 = sk0 * f00, sk0 * f01, sk1 * f01, sk1 * f11  # R = K^(1/2) B^(-1/4)
                mv0, mv1 = r00 * v0 + r10 * v1, r01 * v0 + r11 * v1  # R' xd
                mf0, mf1 = tw0 * mv0, tw1 * mv1
                f0 = k0 * e0 - (r00 * mf0 + r01 * mf1)  # K e - D xd
                f1 = k1 * e1 - (r10 * mf0 + r11 * mf1)
                power = mv0 * mf0 + mv1 * mf1
                tau = [a * f0 + b * f1 + c - d * q
                       for a, b, c, d, q in zip(j0, j1, bias, self.joint_damping.tolist(), qd)]
            if not math.isfinite(sum(tau)):
                return None
        except (AttributeError, TypeError, ValueError, ArithmeticError):
            return None

        if self.torque_limit is not None:
            for j, (t, limit) in enumerate(zip(tau, self.torque_limit.tolist())):
                if t > limit or t < -limit:
                    self._saturations[j] += 1
                    tau[j] = limit if t > 0.0 else -limit
        if tank is None:
            self._applied[:] = gains.stiffness
        else:
            self._applied[:] = k_arr
            tank.settle(cost, power)  # xd' D xd
        return np.array(tau)

    def _torques_array(self, state: ArmState, setpoint: np.ndarray, gains: ImpedanceGains) -> np.ndarray:
        """:meth:`torques` with numpy arrays, any size, for gains already checked."""
        # Shapes are compared per call (cheap); finiteness is read off the result, and only a bad
        # result pays for the field-by-field check that names the culprit.
        try:
            x_d = np.asarray(setpoint, dtype=np.float64)
            x = np.asarray(state.x, dtype=np.float64)
            qd = np.asarray(state.qd, dtype=np.float64)
            jac = np.asarray(state.jacobian, dtype=np.float64)
            mass = np.asarray(state.mass_matrix, dtype=np.float64)
            bias = np.asarray(state.bias, dtype=np.float64)
            shapes_ok = (
                x_d.shape == (self.n_task,)
                and x.shape == (self.n_task,)
                and qd.shape == (self.n_joints,)
                and jac.shape == (self.n_task, self.n_joints)
                and bias.shape == (self.n_joints,)
                and mass.shape == (self.n_joints, self.n_joints)
            )
        except (AttributeError, TypeError, ValueError):
            shapes_ok = False
        # An infinite mass matrix entry can cancel out of J M^-1 J' instead of propagating. The
        # slow path names a bad field, or accepts what the checks accept (a (1, m) setpoint).
        if not shapes_ok or not np.isfinite(mass).all():
            x_d, x, qd, jac, mass, bias = self._read(state, setpoint)
        w = self._mobility_factor(state, mass, jac)

        e = x_d - x
        k = gains.stiffness
        cost = 0.0
        if self.tank is not None:
            k, cost = self.tank.quote(self._applied, k, e)
        try:
            sqrt_k = np.sqrt(k)
            w_k = w * sqrt_k
            root = _modal_root(w_k.T @ w_k, sqrt_k)  # B = K^(1/2) W'W K^(1/2)
        except np.linalg.LinAlgError:
            root = np.full((self.n_task, self.n_task), np.nan)  # named below, with the bad field
        # D xd = R (2 Z R' xd): D itself is never formed (module docstring, singularities).
        modal_velocity = root.T @ (jac @ qd)
        modal_force = gains._twice_ratio * modal_velocity
        tau = jac.T @ (k * e - root @ modal_force) + bias - self.joint_damping * qd
        if not np.isfinite(tau).all():
            self.check_state(state, setpoint)
            raise ValueError(f"torques are not finite ({tau.tolist()}) for finite inputs")

        if self.torque_limit is not None:
            over = np.abs(tau) > self.torque_limit
            if over.any():
                self._saturations += over
                np.minimum(tau, self.torque_limit, out=tau)
                np.maximum(tau, -self.torque_limit, out=tau)
        self._applied[:] = k
        if self.tank is not None:
            self.tank.settle(cost, float(modal_velocity @ modal_force))  # xd' D xd
        return tau


class ImpedanceRamp(NamedTuple):
    """Per-tick commands between two decisions (:func:`interpolate`); row ``i`` is tick ``i + 1``."""

    setpoint: np.ndarray
    """``(steps, m)`` [m], linear from the previous setpoint to the new one."""
    stiffness: np.ndarray
    """``(steps, m)`` [N/m], linear in ``log(stiffness)``."""
    damping_ratio: np.ndarray
    """``(steps, m)``, linear."""

    def gains(self, i: int) -> ImpedanceGains:
        """Gains of tick ``i`` (validated)."""
        return ImpedanceGains(self.stiffness[i], self.damping_ratio[i])


def interpolate(
    prev: tuple[np.ndarray, ImpedanceGains], new: tuple[np.ndarray, ImpedanceGains], steps: int
) -> ImpedanceRamp:
    """Ramp from decision ``prev`` to decision ``new`` (each ``(setpoint (m,) [m], gains)``) in ``steps``.

    Row ``i`` (``i = 0..steps-1``) is the fraction ``(i + 1) / steps`` of the way: ``prev`` was
    applied on the tick before the first row and the last row equals ``new`` exactly, so a 20 Hz
    decision over a 1 kHz loop is ``steps = 50``. Setpoint and damping ratio are linear;
    stiffness is linear in its logarithm (equal ratios per tick, as a policy that acts in
    log-stiffness expects), which needs stiffness ``> 0`` at both ends.
    """
    check_int("interpolate", "steps", steps, low=1)
    (x0, g0), (x1, g1) = prev, new
    for name, g in (("prev", g0), ("new", g1)):
        if not isinstance(g, ImpedanceGains):
            raise TypeError(f"interpolate: {name} gains must be ImpedanceGains; got {type(g).__name__}")
    m = g1.n_task
    if g0.n_task != m:
        raise ValueError(f"interpolate: prev gains have {g0.n_task} axes, new gains {m}")
    x0 = as_vector("interpolate: prev setpoint", x0, m)
    x1 = as_vector("interpolate: new setpoint", x1, m)
    for name, g in (("prev", g0), ("new", g1)):
        bad = np.flatnonzero(g.stiffness <= 0)
        if bad.size:
            raise ValueError(
                f"interpolate: {name} gains.stiffness[{int(bad[0])}] must be > 0 for a log-stiffness ramp; "
                f"got {g.stiffness[bad[0]]}"
            )
    frac = (np.arange(1, steps + 1, dtype=np.float64) / steps)[:, None]
    setpoint = x0 + frac * (x1 - x0)
    log_k0 = np.log(g0.stiffness)
    stiffness = np.exp(log_k0 + frac * (np.log(g1.stiffness) - log_k0))
    ratio = g0.damping_ratio + frac * (g1.damping_ratio - g0.damping_ratio)
    # The endpoint is the decision itself, not exp(log(k)) with its rounding.
    setpoint[-1], stiffness[-1], ratio[-1] = x1, g1.stiffness, g1.damping_ratio
    return ImpedanceRamp(setpoint, stiffness, ratio)


class ImpedanceController:
    """:class:`~robocritic.interfaces.Controller` adapter: ``act(obs)`` = ``law.torques(state_fn(obs), ...)``.

    The setpoint and gains are the last :meth:`set_command`; until the first one (and after
    :meth:`reset`) the arm holds the pose of the first state it sees with ``hold_gains``.
    """

    def __init__(
        self, law: CartesianImpedance, state_fn: Callable[[np.ndarray], ArmState], hold_gains: ImpedanceGains
    ) -> None:
        if not isinstance(law, CartesianImpedance):
            raise TypeError(f"ImpedanceController.law must be a CartesianImpedance; got {type(law).__name__}")
        if not callable(state_fn):
            raise TypeError("ImpedanceController.state_fn must be callable (obs -> ArmState)")
        law.check_gains(hold_gains)
        self.law, self.state_fn, self.hold_gains = law, state_fn, hold_gains
        self._setpoint: np.ndarray | None = None
        self._gains = hold_gains

    def reset(self) -> None:
        """Reset the law (tank, counts) and go back to holding the next pose seen."""
        self.law.reset()
        self._setpoint, self._gains = None, self.hold_gains

    def set_command(self, setpoint: np.ndarray, gains: ImpedanceGains) -> None:
        """Hold ``setpoint`` ``(m,)`` [m] with ``gains`` from the next :meth:`act` on."""
        self.law.check_gains(gains)
        self._setpoint = as_vector("setpoint", setpoint, self.law.n_task)
        self._gains = gains

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Joint torques ``(n,)`` [N m] for the observation ``obs``."""
        state = self.state_fn(obs)
        if self._setpoint is None:
            self._setpoint = as_vector("state.x", state.x, self.law.n_task).copy()
        return self.law.torques(state, self._setpoint, self._gains)
