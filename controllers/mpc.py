"""Linear MPC on a :class:`~robocritic.dynamics.LinearModel`: declared once, solved every step.

Problem (deviation variables ``x = state - x_eq``, ``u = input - u_eq``: the operating point is
the origin, so the QP depends on the measured state alone)::

    minimise    sum_{k=1}^{N-1} x_k'Q x_k + x_N'P x_N + sum_{k=0}^{N-1} u_k'R u_k
    subject to  x_{k+1} = A x_k + B u_k,   x_0 = measured state
                u_k in the input box                 k = 0..N-1
                x_k in the state box                 k = 1..N  (if constrain_states)
                y_low <= C_y x_k <= y_high           k = 1..N  (optional output constraint)
                T x_N <= t                                     (optional terminal polytope)

``P`` is the DARE solution (default) or a user matrix. With the state box on ``x_N`` the terminal
set is the state box, as in the reference formulation. Eliminating the states (condensing) with
``U = [u_0; ...; u_{N-1}]`` gives a QP in ``U`` parametrised by ``x_0``::

    minimise    1/2 U'HU + (F x_0)'U  [+ x_0'Y x_0, constant]
    subject to  lb + D x_0 <= C U <= ub + D x_0

built once as :class:`CondensedQP`; its first ``N n_u`` rows of ``C`` are the identity (input
bounds), which DAQP takes as simple bounds. Backends: DAQP (dense, exact active set), OSQP (sparse
ADMM, set up once, then ``update(q, l, u)`` per step with warm start), and cvxpy (a sparse x/u
formulation with ``x_0`` a DPP parameter, solved by OSQP or Clarabel). Every step checks the
result of every solver call -- the data of this step (finite, loadable), the data update's exit
flag, the solve's status, and that the plan belongs to this step's state -- so a solver that kept
the previous step's data is never mistaken for a solved QP. Anything but "optimal" (or
"inaccurate", if accepted) applies the saturated LQR law ``clip(-K x_0)`` (``K`` the gain of the
terminal cost) and records why in :attr:`LinearMPC.last_solution`; the controller never returns a
silent zero.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Literal

import cvxpy as cp
import daqp
import numpy as np
import osqp
import scipy.sparse as sp
from robocritic.controllers.lqr import check_weight, dlqr

from robocritic.dynamics.base import LinearModel
from robocritic.utils.fields import check_bool, check_choice, check_int, check_real
from robocritic.utils.validation import as_vector, check_matrix, readonly_array

__all__ = ["CondensedQP", "LinearMPC", "MPCConfig", "MPCSolution"]

logger = logging.getLogger(__name__)

SolverName = Literal["daqp", "osqp", "cvxpy"]
CvxpySolverName = Literal["OSQP", "CLARABEL"]
_SOLVERS = ("daqp", "osqp", "cvxpy")
_CVXPY_SOLVERS = ("OSQP", "CLARABEL")


@dataclass(frozen=True)
class MPCConfig:
    """Cost, constraint options and solver settings of a :class:`LinearMPC` (validated on creation).

    Matrix sizes follow the model the config is used with: ``n_x`` states, ``n_u`` inputs.
    """

    horizon: int
    """Prediction horizon ``N >= 1`` (number of inputs optimised)."""
    Q: np.ndarray
    """``(n_x, n_x)`` symmetric PSD stage weight on ``x_1..x_{N-1}``."""
    R: np.ndarray
    """``(n_u, n_u)`` symmetric positive definite input weight (a scalar when ``n_u == 1``)."""
    terminal_cost: Literal["riccati"] | np.ndarray = "riccati"
    """``"riccati"``: ``P`` from the DARE of ``(A, B, Q, R)`` (MPC = LQR where no constraint is
    active); or an explicit ``(n_x, n_x)`` symmetric PSD matrix."""
    terminal_set: tuple[np.ndarray, np.ndarray] | None = None
    """Optional polytope ``(T, t)``, ``T`` of shape ``(m, n_x)``, imposing ``T x_N <= t`` in
    deviation units, on top of the state box. ``None``: the terminal set is the state box."""
    output_constraint: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    """Optional ``(C_y, y_low, y_high)``, ``C_y`` of shape ``(n_y, n_x)``, imposing
    ``y_low <= C_y x_k <= y_high`` at ``k = 1..N`` (deviation units; +-inf for an open side)."""
    constrain_states: bool = True
    """Impose the model's state box at ``k = 1..N``. Inputs are always constrained."""
    solver: SolverName = "daqp"
    """``"daqp"`` (dense active set; exact, microseconds), ``"osqp"`` (sparse ADMM, warm
    started) or ``"cvxpy"`` (modelling layer, ~1 ms overhead per solve; see ``cvxpy_solver``)."""
    cvxpy_solver: CvxpySolverName = "OSQP"
    """Solver cvxpy calls when ``solver == "cvxpy"``: ``"OSQP"`` or ``"CLARABEL"``."""
    eps_abs: float = 1e-7
    """Absolute tolerance of the iterative solvers (OSQP ``eps_abs``; Clarabel ``tol_feas`` and
    ``tol_gap_abs``). DAQP is exact up to its own ``primal_tol`` (1e-6) and ignores it."""
    eps_rel: float = 1e-7
    """Relative tolerance of the iterative solvers (OSQP ``eps_rel``; Clarabel ``tol_gap_rel``)."""
    max_iter: int = 10_000
    """Iteration cap in each solver's own unit (active-set changes for DAQP, ADMM steps for OSQP,
    interior-point steps for Clarabel). Hitting it is a failed solve, handled by the fallback."""
    polish: bool = True
    """OSQP solution polishing (an active-set refinement that makes OSQP accurate to ~1e-9 when a
    constraint is active). OSQP 1.1 prints "Polishing not needed - no active set detected" to
    stdout on every polished solve with no active constraint, even with ``verbose`` off
    (osqp/osqp#785); ``False`` silences it at the cost of accuracy (ADMM tolerance only)."""
    warm_start: bool = True
    """Start OSQP (direct or via cvxpy) from the previous step's solution."""
    accept_inaccurate: bool = True
    """Apply a plan the iterative solver flags as inaccurate (OSQP "solved inaccurate", Clarabel
    "almost solved": converged to ~10x the tolerances). Its status stays ``"inaccurate"`` so callers
    can count them. ``False``: treat it as a failure and apply the LQR fallback."""

    def __post_init__(self) -> None:
        set_ = functools.partial(object.__setattr__, self)  # frozen dataclass
        check_int("MPCConfig", "horizon", self.horizon, low=1)
        set_("horizon", int(self.horizon))
        # Q and R define n_x and n_u; every other matrix is checked against them.
        set_("Q", readonly_array(check_weight("MPCConfig.Q", self.Q, None, definite=False)))
        set_("R", readonly_array(check_weight("MPCConfig.R", self.R, None, definite=True)))
        n_x = self.Q.shape[0]

        tc = self.terminal_cost
        if isinstance(tc, str):
            if tc != "riccati":
                raise ValueError(
                    f"MPCConfig.terminal_cost must be 'riccati' or a ({n_x}, {n_x}) PSD matrix; got {tc!r}"
                )
        else:
            P = check_weight("MPCConfig.terminal_cost", tc, n_x, definite=False)
            set_("terminal_cost", readonly_array(P))

        if self.terminal_set is not None:
            ts = self.terminal_set
            if not isinstance(ts, (tuple, list)) or len(ts) != 2:
                raise ValueError(f"MPCConfig.terminal_set must be a pair (T, t) or None; got {ts!r}")
            T = np.atleast_2d(np.asarray(ts[0], dtype=np.float64))
            T = check_matrix("MPCConfig.terminal_set T", T, (T.shape[0], n_x))
            t = as_vector("MPCConfig.terminal_set t", ts[1], T.shape[0])
            set_("terminal_set", (readonly_array(T), readonly_array(t)))

        if self.output_constraint is not None:
            oc = self.output_constraint
            if not isinstance(oc, (tuple, list)) or len(oc) != 3:
                raise ValueError(
                    f"MPCConfig.output_constraint must be (C_y, y_low, y_high) or None; got {oc!r}"
                )
            Cy = np.atleast_2d(np.asarray(oc[0], dtype=np.float64))
            Cy = check_matrix("MPCConfig.output_constraint C_y", Cy, (Cy.shape[0], n_x))
            lo = as_vector("MPCConfig.output_constraint y_low", oc[1], Cy.shape[0], finite=False)
            hi = as_vector("MPCConfig.output_constraint y_high", oc[2], Cy.shape[0], finite=False)
            if np.any(np.isnan(lo)) or np.any(np.isnan(hi)) or np.any(lo > hi):
                raise ValueError(
                    f"MPCConfig.output_constraint needs y_low <= y_high without NaN; got {lo}, {hi}"
                )
            set_("output_constraint", (readonly_array(Cy), readonly_array(lo), readonly_array(hi)))

        check_choice("MPCConfig", "solver", self.solver, _SOLVERS)
        check_choice("MPCConfig", "cvxpy_solver", self.cvxpy_solver, _CVXPY_SOLVERS)
        for name in ("eps_abs", "eps_rel"):
            check_real("MPCConfig", name, getattr(self, name), low=0.0, low_open=True)
        check_int("MPCConfig", "max_iter", self.max_iter, low=1)
        for name in ("constrain_states", "polish", "warm_start", "accept_inaccurate"):
            flag = getattr(self, name)
            check_bool("MPCConfig", name, bool(flag) if isinstance(flag, np.bool_) else flag)  # np.True_ too


@dataclass(frozen=True)
class MPCSolution:
    """What one :meth:`LinearMPC.act` call did. Inputs and states are absolute (not deviations).

    Attributes:
        status: "optimal"; "inaccurate" (solver's own flag; the plan is applied when
            ``MPCConfig.accept_inaccurate``); or why the QP was not used: "infeasible",
            "iteration_limit" or "failed".
        reason: solver message; on fallback it says what happened and that LQR was applied.
        u: ``(n_u,)`` input returned by ``act`` (within the input limits).
        u_sequence: ``(N, n_u)`` optimal inputs ``u_0..u_{N-1}``, ``None`` on fallback.
        x_predicted: ``(N+1, n_x)`` predicted states ``x_0..x_N``, ``None`` on fallback.
        cost: MPC objective of the plan (deviation variables), ``nan`` on fallback.
        solve_time_s: wall time of the data update plus solve, seconds.
        fallback_used: ``True`` when ``u`` is the saturated LQR fallback.
    """

    status: str
    reason: str
    u: np.ndarray
    u_sequence: np.ndarray | None
    x_predicted: np.ndarray | None
    cost: float
    solve_time_s: float
    fallback_used: bool


@dataclass(frozen=True)
class CondensedQP:
    """The condensed MPC QP in ``U = [u_0; ...; u_{N-1}]`` (size ``n_U = N n_u``), deviation units.

    ``min 1/2 U'HU + (F x0)'U + x0'Y x0  s.t.  lb + D x0 <= C U <= ub + D x0``; predicted states
    ``[x_1; ...; x_N] = Sx x0 + Su U``. Rows ``C[:n_U]`` are the identity (input bounds).
    Bounds may be +-inf (an open side).
    """

    H: np.ndarray  # (n_U, n_U), positive definite
    F: np.ndarray  # (n_U, n_x)
    Y: np.ndarray  # (n_x, n_x)
    C: np.ndarray  # (m, n_U)
    lb: np.ndarray  # (m,)
    ub: np.ndarray  # (m,)
    D: np.ndarray  # (m, n_x)
    Sx: np.ndarray  # (N n_x, n_x)
    Su: np.ndarray  # (N n_x, n_U)

    @property
    def n_U(self) -> int:
        return self.H.shape[0]

    def bounds(self, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Constraint bounds ``(lower, upper)``, each ``(m,)``, at deviation state ``x0``."""
        shift = self.D @ x0
        return self.lb + shift, self.ub + shift

    def data(self, x0: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
        """Linear cost ``q = F x0`` and bounds ``(lower, upper)`` at ``x0``, and why they are unusable.

        The last item is ``None`` when the data is a well-posed QP; otherwise it names the problem
        (for ``|x0|`` near the float range, ``F x0`` and ``D x0`` overflow to inf or NaN, and a solver
        given NaN bounds may silently drop the row).
        """
        with np.errstate(over="ignore", invalid="ignore"):
            q = self.F @ x0
            lo, hi = self.bounds(x0)
        if not np.all(np.isfinite(q)) or np.isnan(lo).any() or np.isnan(hi).any():
            return q, lo, hi, "the QP data overflows float64 at this state (non-finite cost or bounds)"
        crossed = (lo > hi) | (lo == np.inf) | (hi == -np.inf)
        if crossed.any():
            return q, lo, hi, f"{int(crossed.sum())} constraint rows have no solution at this state"
        return q, lo, hi, None

    def objective(self, U: np.ndarray, x0: np.ndarray) -> float:
        """MPC cost of plan ``U`` ``(n_U,)`` from ``x0`` (the full sum, constant term included)."""
        return float(0.5 * U @ self.H @ U + (self.F @ x0) @ U + x0 @ self.Y @ x0)

    def predict(self, U: np.ndarray, x0: np.ndarray) -> np.ndarray:
        """Predicted deviation states ``x_0..x_N`` as ``(N+1, n_x)``."""
        n_x = x0.size
        return np.vstack([x0, (self.Sx @ x0 + self.Su @ U).reshape(-1, n_x)])

    def inequalities(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One-sided form ``A_c U <= b0 + B0 x0`` (finite rows only), e.g. for an mpQP solver."""
        up = np.isfinite(self.ub)
        lo = np.isfinite(self.lb)
        A_c = np.vstack([self.C[up], -self.C[lo]])
        b0 = np.concatenate([self.ub[up], -self.lb[lo]])
        B0 = np.vstack([self.D[up], -self.D[lo]])
        return A_c, b0, B0


def _condense(model: LinearModel, config: MPCConfig, P: np.ndarray) -> CondensedQP:
    """Eliminate the states: build H, F, Y, C, lb, ub, D of :class:`CondensedQP` once."""
    A, B, N = model.A, model.B, config.horizon
    n_x, n_u = model.n_x, model.n_u
    n_U = N * n_u

    # Sx stacks A^k, Su the convolution blocks A^{k-1-j} B (k = 1..N, j < k).
    powers = [np.eye(n_x)]
    for _ in range(N):
        powers.append(A @ powers[-1])
    Sx = np.vstack(powers[1:])
    Su = np.zeros((N * n_x, n_U))
    for k in range(1, N + 1):
        for j in range(k):
            Su[(k - 1) * n_x : k * n_x, j * n_u : (j + 1) * n_u] = powers[k - 1 - j] @ B

    Qbar = np.zeros((N * n_x, N * n_x))
    for k in range(N - 1):
        Qbar[k * n_x : (k + 1) * n_x, k * n_x : (k + 1) * n_x] = config.Q
    Qbar[(N - 1) * n_x :, (N - 1) * n_x :] = P
    Rbar = np.kron(np.eye(N), config.R)
    H = 2.0 * (Su.T @ Qbar @ Su + Rbar)
    H = 0.5 * (H + H.T)  # exact symmetry: DAQP factorises H, OSQP reads one triangle
    F = 2.0 * Su.T @ Qbar @ Sx
    Y = Sx.T @ Qbar @ Sx

    rows_C = [np.eye(n_U)]
    rows_lb = [np.tile(model.input_box.low, N)]
    rows_ub = [np.tile(model.input_box.high, N)]
    rows_D = [np.zeros((n_U, n_x))]

    def add_state_rows(G: np.ndarray, low: np.ndarray, high: np.ndarray, steps: range) -> None:
        # Rows of G x_k in [low, high]; with x_k = Sx_k x0 + Su_k U this is
        # low - G Sx_k x0 <= G Su_k U <= high - G Sx_k x0. Rows open on both sides are dropped.
        keep = np.isfinite(low) | np.isfinite(high)
        if not np.any(keep):
            return
        G, low, high = G[keep], low[keep], high[keep]
        for k in steps:
            blk = slice((k - 1) * n_x, k * n_x)
            rows_C.append(G @ Su[blk])
            rows_D.append(-G @ Sx[blk])
            rows_lb.append(low)
            rows_ub.append(high)

    steps = range(1, N + 1)
    if config.constrain_states:
        add_state_rows(np.eye(n_x), model.state_box.low, model.state_box.high, steps)
    if config.output_constraint is not None:
        Cy, y_lo, y_hi = config.output_constraint
        add_state_rows(Cy, y_lo, y_hi, steps)
    if config.terminal_set is not None:
        T, t = config.terminal_set
        add_state_rows(T, np.full(t.shape, -np.inf), t, range(N, N + 1))

    return CondensedQP(
        H=readonly_array(H), F=readonly_array(F), Y=readonly_array(Y),
        C=readonly_array(np.vstack(rows_C)), lb=readonly_array(np.concatenate(rows_lb)),
        ub=readonly_array(np.concatenate(rows_ub)), D=readonly_array(np.vstack(rows_D)),
        Sx=readonly_array(Sx), Su=readonly_array(Su),
    )


@dataclass(frozen=True)
class _Raw:
    status: str  # canonical status, see MPCSolution.status
    detail: str  # solver's own words
    U: np.ndarray | None  # (n_U,) deviation plan


class _DaqpBackend:
    """Dense active-set solve of the condensed QP; the workspace (and H's factorisation) persists."""

    name = "daqp"
    # DAQP exit flags (https://darnstrom.github.io/daqp/parameters).
    _FLAGS = {
        1: ("optimal", "optimal"),
        2: ("failed", "soft-optimal (a constraint was relaxed)"),
        -1: ("infeasible", "primal infeasible"),
        -2: ("failed", "cycling detected"),
        -3: ("failed", "unbounded"),
        -4: ("iteration_limit", "iteration limit reached"),
        -5: ("failed", "nonconvex problem"),
        -6: ("failed", "initial working set overdetermined"),
    }

    def __init__(self, qp: CondensedQP, config: MPCConfig) -> None:
        self._qp = qp
        # DAQP wants writable C-contiguous buffers (the QP's arrays are read-only). The first n_U
        # rows of C are the identity, passed as simple bounds; the rest are general rows.
        self._H = np.array(qp.H, order="C")
        self._A = np.array(qp.C[qp.n_U :], order="C")
        self._iter_limit = int(config.max_iter)
        self._model = daqp.Model()
        flag, _ = self._model.setup(self._H, np.zeros(qp.n_U), self._A, qp.ub.copy(), qp.lb.copy())
        if flag < 0:
            raise RuntimeError(f"DAQP setup failed with exit flag {flag}")
        settings = dict(self._model.settings)
        settings["iter_limit"] = self._iter_limit
        self._model.settings = settings

    def solve(self, x0: np.ndarray) -> _Raw:
        q, lo, hi, problem = self._qp.data(x0)
        if problem is not None:
            return _Raw("failed", f"daqp not called: {problem}", None)
        # A rejected update leaves the previous step's data in the workspace; solving it would
        # return the previous state's plan as optimal.
        flag = int(self._model.update(f=q, bupper=hi, blower=lo))
        if flag < 0:
            detail = f"daqp update rejected this state's data (exit flag {flag}); not solved"
            return _Raw("failed", detail, None)
        U, _fval, flag, _info = self._model.solve()
        return self._result(U, flag)

    def solve_stateless(self, x0: np.ndarray) -> _Raw:
        """Same QP through ``daqp.solve`` so the persistent workspace is left untouched."""
        q, lo, hi, problem = self._qp.data(x0)
        if problem is not None:
            return _Raw("failed", f"daqp not called: {problem}", None)
        U, _fval, flag, _info = daqp.solve(self._H, q, self._A, hi, lo, iter_limit=self._iter_limit)
        return self._result(U, flag)

    def _result(self, U: np.ndarray, flag: int) -> _Raw:
        status, text = self._FLAGS.get(int(flag), ("failed", "unknown exit flag"))
        U = None if U is None else np.array(U, dtype=np.float64, copy=True)
        return _Raw(status, f"daqp exit flag {int(flag)} ({text})", U)

    def reset(self) -> None:
        """Nothing to clear: an exact active-set solve does not depend on where it starts."""


class _OsqpBackend:
    """OSQP on the condensed QP in sparse form: set up once, then update ``q, l, u`` per step."""

    name = "osqp"
    _STATUS = {
        osqp.SolverStatus.OSQP_SOLVED: "optimal",
        osqp.SolverStatus.OSQP_SOLVED_INACCURATE: "inaccurate",
        osqp.SolverStatus.OSQP_PRIMAL_INFEASIBLE: "infeasible",
        osqp.SolverStatus.OSQP_PRIMAL_INFEASIBLE_INACCURATE: "infeasible",
        osqp.SolverStatus.OSQP_MAX_ITER_REACHED: "iteration_limit",
    }

    def __init__(self, qp: CondensedQP, config: MPCConfig) -> None:
        self._qp = qp
        self._inf = float(osqp.constant("OSQP_INFTY"))  # 1e30: bounds beyond it are "infinite"
        self._solver = osqp.OSQP()
        lo, hi = qp.bounds(np.zeros(qp.D.shape[1]))
        self._solver.setup(
            sp.triu(sp.csc_matrix(qp.H), format="csc"),
            np.zeros(qp.n_U),
            sp.csc_matrix(qp.C),
            np.maximum(lo, -self._inf),
            np.minimum(hi, self._inf),
            verbose=False,
            eps_abs=config.eps_abs,
            eps_rel=config.eps_rel,
            max_iter=config.max_iter,
            polishing=config.polish,
            warm_starting=config.warm_start,
        )
        # osqp.OSQP.update (osqp-python 1.0, 1.1) drops the exit flag of osqp_update_data_vec:
        # rejected data (e.g. a bound past OSQP_INFTY after clipping, l > u) was silent, and the
        # next solve re-solved the previous step's QP and reported it optimal (issue 12). Call
        # the binding, whose return value is that flag; refuse to run without it.
        binding = getattr(self._solver, "_solver", None)
        self._update_data_vec = getattr(binding, "update_data_vec", None)
        if self._update_data_vec is None:
            raise RuntimeError(
                f"osqp {getattr(osqp, '__version__', '?')}: no OSQP.update_data_vec binding; "
                "LinearMPC cannot check OSQP's data updates with this version (use osqp 1.0 to 1.1, "
                "or solver='daqp')"
            )

    def solve(self, x0: np.ndarray) -> _Raw:
        q, lo, hi, problem = self._qp.data(x0)
        if problem is not None:
            self.reset()
            return _Raw("failed", f"osqp not called: {problem}", None)
        l, u = np.maximum(lo, -self._inf), np.minimum(hi, self._inf)
        # Rows whose bounds both lie beyond OSQP_INFTY clip to l > u: OSQP rejects them.
        beyond = l > u
        if beyond.any():
            self.reset()
            return _Raw(
                "failed",
                f"osqp not called: {int(beyond.sum())} constraint bounds at this state lie beyond "
                f"OSQP_INFTY = {self._inf:g}",
                None,
            )
        flag = int(self._update_data_vec(q=q, l=l, u=u))
        if flag != 0:
            self.reset()
            detail = f"osqp update rejected this state's data (exit flag {flag}); not solved"
            return _Raw("failed", detail, None)
        res = self._solver.solve(raise_error=False)
        status = self._STATUS.get(res.info.status_val, "failed")
        if status != "optimal":
            # Iterates after an infeasible or stalled solve are a poor start for the next state.
            self.reset()
        detail = f"osqp status '{res.info.status}' after {res.info.iter} iterations"
        U = None if res.x is None else np.array(res.x, dtype=np.float64, copy=True)
        return _Raw(status, detail, U)

    def reset(self) -> None:
        flag = self._solver.warm_start(x=np.zeros(self._qp.n_U), y=np.zeros(self._qp.C.shape[0]))
        if flag:
            # Only the starting point is affected: the next solve's status still says how it went.
            logger.warning("osqp warm_start reset returned exit flag %s; the next solve starts from "
                           "the previous iterate", flag)


class _CvxpyBackend:
    """Sparse x/u formulation declared once with ``x0`` a DPP parameter; each step sets ``x0``.

    Independent of :class:`CondensedQP` on purpose: agreement with the condensed backends checks
    the condensing as well as the solvers.
    """

    _STATUS = {
        cp.OPTIMAL: "optimal",
        cp.OPTIMAL_INACCURATE: "inaccurate",
        cp.INFEASIBLE: "infeasible",
        cp.INFEASIBLE_INACCURATE: "infeasible",
        cp.USER_LIMIT: "iteration_limit",
    }

    def __init__(self, model: LinearModel, config: MPCConfig, P: np.ndarray) -> None:
        N, n_x, n_u = config.horizon, model.n_x, model.n_u
        self._x0 = cp.Parameter(n_x, name="x0")
        self._X = cp.Variable((N + 1, n_x), name="x")
        self._U = cp.Variable((N, n_u), name="u")
        X, U = self._X, self._U
        cons = [X[0] == self._x0, X[1:] == X[:-1] @ model.A.T + U @ model.B.T]

        def bound(expr: cp.Expression, low: np.ndarray, high: np.ndarray) -> None:
            # Column-wise bounds on a (rows, n) expression; infinite sides are left out because
            # solvers treat +-inf constants inconsistently.
            for j in np.flatnonzero(np.isfinite(high)):
                cons.append(expr[:, j] <= high[j])
            for j in np.flatnonzero(np.isfinite(low)):
                cons.append(expr[:, j] >= low[j])

        bound(U, model.input_box.low, model.input_box.high)
        if config.constrain_states:
            bound(X[1:], model.state_box.low, model.state_box.high)
        if config.output_constraint is not None:
            Cy, y_lo, y_hi = config.output_constraint
            bound(X[1:] @ Cy.T, y_lo, y_hi)
        if config.terminal_set is not None:
            T, t = config.terminal_set
            cons.append(T @ X[N] <= t)

        # Quadratic forms as sums of squares of factor products: valid for singular PSD weights
        # and avoids cvxpy's numerical PSD check on quad_form.
        cost = cp.sum_squares(X[N] @ _psd_factor(P)) + cp.sum_squares(U @ _psd_factor(config.R))
        if N > 1:
            cost = cost + cp.sum_squares(X[1:N] @ _psd_factor(config.Q))
        self._problem = cp.Problem(cp.Minimize(cost), cons)
        if not self._problem.is_dpp():
            raise RuntimeError("internal error: MPC problem is not DPP; it would re-canonicalise")
        self._solver = config.cvxpy_solver
        self._osqp_inf = float(osqp.constant("OSQP_INFTY"))
        # How far the returned x_0 may sit from the measured one (the equality's own tolerance,
        # with room for "inaccurate" plans); a stale plan is off by the change of state.
        self._x0_atol = 1e3 * config.eps_abs + 1e-9
        self._x0_rtol = 1e3 * config.eps_rel
        self._warm = config.warm_start
        self._cold_next = True
        if self._solver == "OSQP":
            self._opts = dict(
                eps_abs=config.eps_abs, eps_rel=config.eps_rel, max_iter=config.max_iter,
                polishing=config.polish,
            )
        else:
            self._opts = dict(
                tol_feas=config.eps_abs, tol_gap_abs=config.eps_abs, tol_gap_rel=config.eps_rel,
                max_iter=config.max_iter,
            )

    @property
    def name(self) -> str:
        return f"cvxpy/{self._solver}"

    def solve(self, x0: np.ndarray) -> _Raw:
        if self._solver == "OSQP" and np.any(np.abs(x0) >= self._osqp_inf):
            # x0 enters OSQP as the bounds l = u = x0 of the initial-state rows; past OSQP_INFTY
            # they clip to l > u and a warm-started cvxpy ignores OSQP's rejection of the update.
            self._cold_next = True
            return _Raw(
                "failed", f"{self.name} not called: state entries reach OSQP_INFTY = {self._osqp_inf:g}",
                None,
            )
        self._x0.value = x0
        try:
            self._problem.solve(
                solver=self._solver, warm_start=self._warm and not self._cold_next, **self._opts
            )
        except (cp.error.SolverError, ValueError, ArithmeticError) as exc:
            self._cold_next = True
            return _Raw("failed", f"{self.name} raised {type(exc).__name__}: {exc}", None)
        raw_status = self._problem.status
        status = self._STATUS.get(raw_status, "failed")
        detail = f"{self.name} status '{raw_status}'"
        U = None if self._U.value is None else np.array(self._U.value, dtype=np.float64).reshape(-1)
        if status in ("optimal", "inaccurate"):
            X0 = self._X.value[0] if self._X.value is not None else None
            if X0 is None or not np.allclose(X0, x0, rtol=self._x0_rtol, atol=self._x0_atol):
                # A solver that kept an earlier step's data (a rejected warm update) returns that
                # step's plan with an "optimal" status; its x_0 gives it away.
                status, U = "failed", None
                detail += ", but the plan's x_0 is not the measured state (stale solver data)"
        self._cold_next = status != "optimal"
        return _Raw(status, detail, U)

    def reset(self) -> None:
        self._cold_next = True


def _psd_factor(M: np.ndarray) -> np.ndarray:
    """``L`` with ``M = L L'`` for symmetric PSD ``M`` (eigen-factor; tolerates singular M)."""
    w, V = np.linalg.eigh(0.5 * (M + M.T))
    return V * np.sqrt(np.clip(w, 0.0, None))


class LinearMPC:
    """Linear MPC regulating a :class:`LinearModel` to its operating point (``Controller``).

    The QP is declared once in ``__init__``; :meth:`act` only updates the ``x_0``-dependent data,
    solves, checks the status and falls back to the saturated LQR law with a recorded reason.

    Attributes:
        model: the plant model (deviation variables; limits in deviation units).
        config: the validated :class:`MPCConfig`.
        P: ``(n_x, n_x)`` terminal cost; K: ``(n_u, n_x)`` its gain ``(R + B'PB)^{-1} B'PA``,
            used by the fallback ``u = u_eq + clip(-K (x - x_eq))``.
        qp: the :class:`CondensedQP` (also the mpQP for explicit MPC).
        last_solution: :class:`MPCSolution` of the latest ``act`` (``None`` before the first).
        n_solves, n_fallbacks: ``act`` calls and fallbacks since construction (``reset`` keeps
            them; they are statistics, not episode state).
    """

    def __init__(self, model: LinearModel, config: MPCConfig) -> None:
        if not isinstance(model, LinearModel):
            raise ValueError(f"model must be a LinearModel; got {type(model).__name__}")
        if not isinstance(config, MPCConfig):
            raise ValueError(f"config must be an MPCConfig; got {type(config).__name__}")
        n_x, n_u = model.n_x, model.n_u
        if config.Q.shape != (n_x, n_x):
            raise ValueError(f"MPCConfig.Q must be ({n_x}, {n_x}) for this model; got {config.Q.shape}")
        if config.R.shape != (n_u, n_u):
            raise ValueError(f"MPCConfig.R must be ({n_u}, {n_u}) for this model; got {config.R.shape}")
        self.model = model
        self.config = config

        if isinstance(config.terminal_cost, str):
            try:
                K, P = dlqr(model.A, model.B, config.Q, config.R)
            except ValueError as exc:
                raise ValueError(f"MPCConfig.terminal_cost='riccati' is not available: {exc}") from exc
        else:
            P = config.terminal_cost
            K = np.linalg.solve(config.R + model.B.T @ P @ model.B, model.B.T @ P @ model.A)
        self.P, self.K = readonly_array(P), readonly_array(K)

        self.qp = _condense(model, config, self.P)
        self._daqp = _DaqpBackend(self.qp, config)  # also serves feasible()
        if config.solver == "daqp":
            self._backend: _DaqpBackend | _OsqpBackend | _CvxpyBackend = self._daqp
        elif config.solver == "osqp":
            self._backend = _OsqpBackend(self.qp, config)
        else:
            self._backend = _CvxpyBackend(model, config, self.P)

        self._u_low = model.u_eq + model.input_box.low
        self._u_high = model.u_eq + model.input_box.high
        self.last_solution: MPCSolution | None = None
        self.n_solves = 0
        self.n_fallbacks = 0

    @property
    def horizon(self) -> int:
        return self.config.horizon

    def reset(self) -> None:
        """Forget warm starts and the last solution before a new episode (counters are kept)."""
        self._backend.reset()
        self.last_solution = None

    def act(self, obs: np.ndarray) -> np.ndarray:
        """First optimal input ``(n_u,)`` (absolute units) for the absolute state ``obs`` ``(n_x,)``.

        Raises:
            ValueError: ``obs`` has the wrong shape or holds NaN/inf.
        """
        x = as_vector("obs", obs, self.model.n_x)
        x0 = x - self.model.x_eq
        t0 = time.perf_counter()
        raw = self._backend.solve(x0)
        solve_time = time.perf_counter() - t0
        self.n_solves += 1

        U = raw.U
        usable = raw.status == "optimal" or (
            raw.status == "inaccurate" and self.config.accept_inaccurate
        )
        if usable and (U is None or not np.all(np.isfinite(U))):
            raw = _Raw("failed", f"{raw.detail}, but the returned plan is missing or non-finite", None)
            usable = False
        if usable:
            N, n_u = self.horizon, self.model.n_u
            seq = U.reshape(N, n_u)
            # Solvers meet bounds to their tolerance only; the actuator must see the hard limit.
            u = np.clip(self.model.u_eq + seq[0], self._u_low, self._u_high)
            sol = MPCSolution(
                status=raw.status, reason=raw.detail, u=u,
                u_sequence=self.model.u_eq + seq,
                x_predicted=self.model.x_eq + self.qp.predict(U, x0),
                cost=self.qp.objective(U, x0), solve_time_s=solve_time, fallback_used=False,
            )
        else:
            self.n_fallbacks += 1
            u = self._fallback(x0)
            reason = f"{self._backend.name}: {raw.detail}; applied saturated LQR fallback"
            # Warn once per run of consecutive fallbacks: a loop stuck infeasible at 1 kHz must not
            # flood the log, but the onset must be visible.
            previous = self.last_solution
            level = logging.DEBUG if previous is not None and previous.fallback_used else logging.WARNING
            logger.log(level, "LinearMPC fallback at x=%s: %s", x.tolist(), reason)
            sol = MPCSolution(
                status=raw.status, reason=reason, u=u, u_sequence=None, x_predicted=None,
                cost=float("nan"), solve_time_s=solve_time, fallback_used=True,
            )
        self.last_solution = sol
        return sol.u.copy()

    def feasible(self, x: np.ndarray) -> bool:
        """Whether the MPC QP has a solution from absolute state ``x`` ``(n_x,)`` (exact, DAQP).

        Leaves counters, warm starts and ``last_solution`` untouched.
        """
        x = as_vector("x", x, self.model.n_x)
        return self._daqp.solve_stateless(x - self.model.x_eq).status == "optimal"

    def _fallback(self, x0: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            v = self.K @ x0
            if not np.all(np.isfinite(v)):
                # K x0 overflows (inf - inf = NaN) for |x0| near the float range; the clip keeps
                # only its direction, which the scaled product gives without overflow.
                s = np.max(np.abs(x0))
                v = (self.K @ (x0 / s)) * s
        return np.clip(self.model.u_eq - v, self._u_low, self._u_high)
