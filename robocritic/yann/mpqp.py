"""Explicit MPC by multi-parametric QP: LinearMPC's condensed QP -> PPOPT -> :class:`ExplicitLaw`.

The MPC is declared once as for online use (a :class:`~robocritic.dynamics.LinearModel` plus an
:class:`~robocritic.controllers.MPCConfig`); :class:`~robocritic.controllers.LinearMPC` condenses
it into ``min 1/2 U'HU + (F x0)'U  s.t.  A_c U <= b0 + B0 x0`` (its ``qp.inequalities()``), which
is PPOPT's mpQP (docs/mpc.md#mpqp-with-ppopt) with parameter ``theta = x0`` (deviation units)::

    min_U 1/2 U' Q U + theta' H' U + c' U   s.t.  A U <= b + F theta,  A_t theta <= b_t
    Q = H_condensed,  H = F_condensed (n_U, n_x),  c = 0,  A = A_c,  b = b0,  F = B0

(PPOPT's README gives ``H`` the transposed shape). ``A_t theta <= b_t`` is the domain of ``x0``:
by default the model's state box. The geometric algorithm solves it; because ``H`` is positive
definite the critical regions do not overlap, so the solution's ``is_overlapping`` flag, which
PPOPT sets for every mpQP, is cleared. PPOPT's default solver is Gurobi (a hard dependency with a
size-limited licence); here the LP and QP solvers are always named explicitly (GLPK through
cvxopt, DAQP), never Gurobi. These three pitfalls: docs/mpc.md#ppopt-pitfalls.

PPOPT is an optional extra (``robocritic[explicit]``): it is imported when a solve starts, so
this module (and loading a stored law) works without it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import io
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.optimize import linprog

from robocritic.controllers.explicit_mpc import ExplicitLaw
from robocritic.controllers.mpc import LinearMPC, MPCConfig
from robocritic.dynamics.base import Box, LinearModel
from robocritic.utils.optional import require

__all__ = [
    "REFERENCE_PROBLEMS",
    "Agreement",
    "ExplicitSolveResult",
    "ReferenceProblem",
    "build_mpqp",
    "compare_with_online",
    "compute_explicit_mpc",
    "law_from_solution",
    "reference_problem",
    "sample_domain",
    "solve_program",
]

logger = logging.getLogger(__name__)

Algorithm = Literal["geometric", "graph", "combinatorial"]
_ALGORITHMS = ("geometric", "graph", "combinatorial")
_LP_SOLVERS = ("glpk",)
_QP_SOLVERS = ("daqp", "quadprog")


def _require_ppopt() -> Any:
    # Loading a stored law needs no PPOPT; only computing one does.
    return require("ppopt", "explicit", "computing an explicit MPC law")


@dataclass(frozen=True)
class ExplicitSolveResult:
    """Everything one :func:`compute_explicit_mpc` produced.

    Attributes:
        law: the :class:`ExplicitLaw` artefact.
        mpc: the online :class:`LinearMPC` whose QP was solved (same model and config; its DAQP
            backend is the reference the law is checked against).
        program: the PPOPT ``MPQP_Program`` (after PPOPT's redundant-constraint removal).
        solution: the PPOPT ``Solution`` (overlap flag already cleared when ``H`` is PD), e.g.
            for PPOPT's own point location in benchmarks.
        solve_time_s: wall time of the mpQP solve, seconds.
    """

    law: ExplicitLaw
    mpc: LinearMPC
    program: Any
    solution: Any
    solve_time_s: float


def _box_domain(box: Box) -> tuple[np.ndarray, np.ndarray]:
    if not (np.all(np.isfinite(box.low)) and np.all(np.isfinite(box.high))):
        raise ValueError(
            "domain: the model's state box has an infinite side; pass a bounded domain (A_t, b_t) "
            f"explicitly (got low={box.low}, high={box.high})"
        )
    n = box.size
    return np.vstack([np.eye(n), -np.eye(n)]), np.concatenate([box.high, -box.low])


def _check_domain(domain: tuple[np.ndarray, np.ndarray] | Box | None, model: LinearModel) -> tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray
]:
    """Return ``(A_t, b_t, low, high)``: the domain polytope and its bounding box (by LP)."""
    n_x = model.n_x
    if domain is None:
        A_t, b_t = _box_domain(model.state_box)
    elif isinstance(domain, Box):
        if domain.size != n_x:
            raise ValueError(f"domain: a Box with {n_x} entries is needed; got {domain.size}")
        A_t, b_t = _box_domain(domain)
    else:
        if not isinstance(domain, (tuple, list)) or len(domain) != 2:
            raise ValueError(f"domain must be None, a Box or a pair (A_t, b_t); got {domain!r}")
        A_t = np.atleast_2d(np.asarray(domain[0], dtype=np.float64))
        b_t = np.asarray(domain[1], dtype=np.float64).reshape(-1)
        if A_t.ndim != 2 or A_t.shape[1] != n_x or b_t.shape != (A_t.shape[0],):
            raise ValueError(
                f"domain (A_t, b_t) must be (d, {n_x}) and (d,); got {A_t.shape} and {b_t.shape}"
            )
        if not (np.all(np.isfinite(A_t)) and np.all(np.isfinite(b_t))):
            raise ValueError("domain (A_t, b_t) must be finite")
    # Bounding box: 2 n_x LPs. A big-M of the YANN needs it finite; an empty domain is an error.
    low, high = np.empty(n_x), np.empty(n_x)
    for j in range(n_x):
        for sign, out in ((1.0, low), (-1.0, high)):
            c = np.zeros(n_x)
            c[j] = sign
            res = linprog(c, A_ub=A_t, b_ub=b_t, bounds=[(None, None)] * n_x, method="highs")
            if res.status == 2:
                raise ValueError("domain {x : A_t x <= b_t} is empty")
            if res.status == 3:
                raise ValueError(f"domain {{x : A_t x <= b_t}} is unbounded along state {j}")
            if res.status != 0:
                raise ValueError(f"domain bounding-box LP failed: {res.message}")
            out[j] = sign * res.fun
    return A_t, b_t, low, high


def build_mpqp(
    mpc: LinearMPC,
    domain: tuple[np.ndarray, np.ndarray] | Box | None = None,
    *,
    lp_solver: str = "glpk",
    qp_solver: str = "daqp",
) -> Any:
    """PPOPT ``MPQP_Program`` of ``mpc``'s condensed QP with ``theta = x0 - x_eq``.

    Args:
        mpc: the online MPC; its ``qp`` (condensing) is reused as is.
        domain: parameter domain in deviation units: ``None`` (the model's state box), a
            :class:`Box`, or ``(A_t (d, n_x), b_t (d,))``.
        lp_solver, qp_solver: PPOPT sub-solvers ("glpk"; "daqp" or "quadprog"). Gurobi is not
            offered on purpose.

    Returns:
        The program (PPOPT has already removed redundant constraints).
    """
    _require_ppopt()
    from ppopt.mpqp_program import MPQP_Program
    from ppopt.solver import Solver

    if lp_solver not in _LP_SOLVERS:
        raise ValueError(f"lp_solver must be one of {_LP_SOLVERS}; got {lp_solver!r}")
    if qp_solver not in _QP_SOLVERS:
        raise ValueError(f"qp_solver must be one of {_QP_SOLVERS}; got {qp_solver!r}")
    A_t, b_t, _, _ = _check_domain(domain, mpc.model)
    qp = mpc.qp
    A_c, b0, B0 = qp.inequalities()
    with _solver_errors("setting up the mpQP"):  # PPOPT removes redundant rows here (LPs)
        return MPQP_Program(
            np.array(A_c), b0.reshape(-1, 1).copy(), np.zeros((qp.n_U, 1)),
            np.array(qp.F),  # PPOPT's H: (n_U, n_theta), objective term theta' H' U
            np.array(qp.H),  # PPOPT's Q
            A_t.copy(), b_t.reshape(-1, 1).copy(), np.array(B0),
            solver=Solver({"lp": lp_solver, "qp": qp_solver}),
        )


@contextlib.contextmanager
def _solver_errors(stage: str, keep: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """Turn whatever PPOPT or DAQP raise (but ``keep``) into a ``ValueError`` saying so: on an
    infeasible, degenerate or badly scaled problem they fail deep inside (``TypeError: 'NoneType'
    object is not subscriptable``, ``IndexError``, ``RuntimeError``) rather than report it."""
    try:
        yield
    except keep:
        raise
    except MemoryError as exc:
        raise ValueError(f"{stage}: out of memory (the problem is too large for an explicit law)") from exc
    except Exception as exc:  # any failure inside the solvers, named below
        raise ValueError(
            f"{stage}: PPOPT/DAQP failed with {type(exc).__name__}: {str(exc)[:200]} -- the problem is probably "
            "infeasible, degenerate or badly scaled on the domain"
        ) from exc


def solve_program(program: Any, algorithm: Algorithm = "geometric") -> Any:
    """Solve a PPOPT mpQP and clear the overlap flag when the QP is strictly convex.

    ``geometric`` is the fastest here; ``graph`` is the fall-back; ``combinatorial`` did not
    finish in 15 min at N=10 (docs/mpc.md#mpqp-with-ppopt). PPOPT's progress prints go to the debug log.
    """
    _require_ppopt()
    from ppopt.mp_solvers.solve_mpqp import mpqp_algorithm, solve_mpqp

    if algorithm not in _ALGORITHMS:
        raise ValueError(f"algorithm must be one of {_ALGORITHMS}; got {algorithm!r}")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), _solver_errors("solving the mpQP"):
        solution = solve_mpqp(program, getattr(mpqp_algorithm, algorithm))
    if buf.getvalue().strip():
        logger.debug("PPOPT: %s", buf.getvalue().strip())
    # A strictly convex mpQP has a unique optimiser, so its critical regions only share facets;
    # PPOPT flags every mpQP as overlapping (it subclasses the mpLP), which slows its point
    # location ~7x for nothing.
    if float(np.linalg.eigvalsh(program.Q).min()) > 0.0:
        solution.is_overlapping = False
    return solution


def law_from_solution(
    solution: Any,
    mpc: LinearMPC,
    domain: tuple[np.ndarray, np.ndarray] | Box | None = None,
    *,
    source: str = "ppopt",
) -> ExplicitLaw:
    """Convert a PPOPT solution of ``build_mpqp(mpc, domain)`` into an :class:`ExplicitLaw`.

    Each critical region gives ``E x <= f`` and ``U(x) = A x + b``; rows ``[:n_u]`` of ``A, b``
    are the first input ``u0`` (the only one applied). Facet rows are normalised to unit norm.

    Raises:
        ValueError: the solution has no region (the MPC is infeasible on the whole domain).
    """
    model, config = mpc.model, mpc.config
    A_t, b_t, low, high = _check_domain(domain, model)
    n_u = model.n_u
    regions, Ks, rs = [], [], []
    for cr in solution.critical_regions:
        E = np.asarray(cr.E, dtype=np.float64)
        f = np.asarray(cr.f, dtype=np.float64).reshape(-1)
        norms = np.linalg.norm(E, axis=1)
        # A zero row reads 0 <= f: redundant when f >= 0 (drop it), an empty region otherwise.
        zero = norms <= 1e-14
        if np.any(f[zero] < 0):
            continue
        E, f, norms = E[~zero], f[~zero], norms[~zero]
        regions.append((E / norms[:, None], f / norms))
        Ks.append(np.asarray(cr.A, dtype=np.float64)[:n_u])
        rs.append(np.asarray(cr.b, dtype=np.float64).reshape(-1)[:n_u])
    if not regions:
        raise ValueError("the mpQP has no critical region: the MPC is infeasible on the whole domain")
    regions, Ks, rs = _canonical_order(regions, Ks, rs)

    try:
        ppopt_version = importlib.metadata.version("ppopt")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a vendored copy
        ppopt_version = "unknown"
    metadata = {
        "horizon": config.horizon,
        "Q": config.Q.tolist(),
        "R": config.R.tolist(),
        "P": mpc.P.tolist(),
        "terminal_cost": "riccati" if isinstance(config.terminal_cost, str) else "matrix",
        "terminal_set": None if config.terminal_set is None else [_jsonable(a) for a in config.terminal_set],
        "output_constraint": None if config.output_constraint is None else [
            _jsonable(a) for a in config.output_constraint
        ],
        "constrain_states": bool(config.constrain_states),
        "A": model.A.tolist(),
        "B": model.B.tolist(),
        "x_low": _jsonable(model.state_box.low),
        "x_high": _jsonable(model.state_box.high),
        "source": source,
        "ppopt_version": ppopt_version,
        "n_regions": len(regions),
    }
    return ExplicitLaw.from_regions(
        regions, K=np.stack(Ks), r=np.stack(rs),
        domain_A=A_t, domain_b=b_t, domain_low=low, domain_high=high,
        x_eq=model.x_eq, u_eq=model.u_eq, u_low=model.input_box.low, u_high=model.input_box.high,
        dt=model.dt, state_names=model.state_names, input_names=model.input_names, metadata=metadata,
    )


def _canonical_order(
    regions: list[tuple[np.ndarray, np.ndarray]], Ks: list[np.ndarray], rs: list[np.ndarray]
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray], list[np.ndarray]]:
    """Regions sorted by their values, facet rows within each region sorted too, ``-0.0`` made
    ``+0.0``: PPOPT discovers regions in an order that follows set iteration, i.e.
    ``PYTHONHASHSEED``, so without this two builds of one spec differ in their bytes.

    A region is a set of facets and the regions do not overlap, so neither order changes the law.
    """
    def clean(a: np.ndarray) -> np.ndarray:
        return np.asarray(a, dtype=np.float64) + 0.0  # -0.0 + 0.0 == +0.0

    keyed = []
    for (E, f), K, r in zip(regions, Ks, rs, strict=True):
        rows = np.column_stack([clean(E), clean(f)])
        rows = rows[np.lexsort(rows.T[::-1])]  # lexicographic by (e_1, ..., e_n, f)
        key = (tuple(clean(K).ravel()), tuple(clean(r).ravel()), tuple(rows.ravel()))
        keyed.append((key, (rows[:, :-1], rows[:, -1]), clean(K), clean(r)))
    keyed.sort(key=lambda item: item[0])
    return [k[1] for k in keyed], [k[2] for k in keyed], [k[3] for k in keyed]


def _jsonable(a: np.ndarray) -> list[Any]:
    """Nested list with +-inf (an open bound) as ``None``: JSON has no infinity."""
    return np.where(np.isfinite(a), a, None).tolist()


def compute_explicit_mpc(
    model: LinearModel,
    config: MPCConfig,
    *,
    domain: tuple[np.ndarray, np.ndarray] | Box | None = None,
    algorithm: Algorithm = "geometric",
    lp_solver: str = "glpk",
    qp_solver: str = "daqp",
) -> ExplicitSolveResult:
    """Explicit MPC of ``(model, config)`` over ``domain`` (default: the state box).

    The online MPC is built with ``solver="daqp"`` whatever ``config.solver`` says, so that
    ``result.mpc`` is the exact reference the law is checked against.

    Example:
        >>> from robocritic.dynamics import PendulumModel
        >>> res = compute_explicit_mpc(PendulumModel().linearize(),
        ...                            MPCConfig(horizon=2, Q=np.eye(2), R=0.001))
        >>> res.law.n_regions
        9
    """
    if config.solver != "daqp":
        config = dataclasses.replace(config, solver="daqp")
    with _solver_errors("setting up the online MPC", keep=(ValueError,)):  # its own errors are clear
        mpc = LinearMPC(model, config)
    program = build_mpqp(mpc, domain, lp_solver=lp_solver, qp_solver=qp_solver)
    t0 = time.perf_counter()
    solution = solve_program(program, algorithm)
    solve_time = time.perf_counter() - t0
    source = f"ppopt mpqp_algorithm.{algorithm} (lp={lp_solver}, qp={qp_solver})"
    law = law_from_solution(solution, mpc, domain, source=source)
    logger.info("explicit MPC: %d regions in %.3f s (%s)", law.n_regions, solve_time, source)
    return ExplicitSolveResult(law=law, mpc=mpc, program=program, solution=solution, solve_time_s=solve_time)


def sample_domain(law: ExplicitLaw, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, n_x)`` absolute states drawn uniformly from the law's domain polytope.

    Rejection sampling in the domain's bounding box (exact for a box domain).
    """
    n_x = law.n_x
    out = np.empty((0, n_x))
    while out.shape[0] < n:
        dx = rng.uniform(law.domain_low, law.domain_high, size=(max(2 * n, 64), n_x))
        inside = np.all(dx @ law.domain_A.T <= law.domain_b, axis=1)
        out = np.vstack([out, dx[inside]])
    return law.x_eq + out[:n]


@dataclass(frozen=True)
class Agreement:
    """Explicit law vs online DAQP on a set of states (see :func:`compare_with_online`).

    Attributes:
        n_states: states compared; n_feasible: of them feasible for DAQP.
        feasibility_mismatch: ``(k,)`` indices where the law and DAQP disagree on feasibility.
        max_abs_du: largest ``|u_explicit - u_daqp|`` over the feasible states (input units).
    """

    n_states: int
    n_feasible: int
    feasibility_mismatch: np.ndarray
    max_abs_du: float


def compare_with_online(
    law: ExplicitLaw, mpc: LinearMPC, states: np.ndarray, *, feasibility_tol: float = 1e-8
) -> Agreement:
    """Compare the explicit law with ``mpc`` (DAQP) at absolute ``states`` ``(B, n_x)``."""
    from robocritic.controllers.explicit_mpc import ExplicitMPC

    ctrl = ExplicitMPC(law, feasibility_tol=feasibility_tol)
    ev = ctrl.evaluate(states)
    online_feasible = np.array([mpc.feasible(x) for x in states], dtype=bool)
    du = 0.0
    for k in np.flatnonzero(online_feasible & ev.feasible):
        du = max(du, float(np.max(np.abs(mpc.act(states[k]) - ev.u[k]))))
    return Agreement(
        n_states=len(states), n_feasible=int(online_feasible.sum()),
        feasibility_mismatch=np.flatnonzero(online_feasible != ev.feasible), max_abs_du=du,
    )


# -- the reference problems (docs/mpc.md#reference-problems) -----------------------------------

# Terminal set {x : T x <= 1} of the double-integrator tutorial case.
_DI_TERMINAL = np.array([[0.6136, 1.6099], [-0.3742, -0.3682], [-0.6136, -1.6099], [0.3742, 0.3682]])


@dataclass(frozen=True)
class ReferenceProblem:
    """An MPC whose explicit solution has a published region count (docs/mpc.md#reference-problems).

    Attributes:
        name: key in :data:`REFERENCE_PROBLEMS`.
        model, config: the MPC definition (pass to :func:`compute_explicit_mpc`).
        expected_regions: the reference count (geometric algorithm), or ``None`` where there is
            none for this exact model.
        note: where the problem and the count come from.
    """

    name: str
    model: LinearModel
    config: MPCConfig
    expected_regions: int | None
    note: str


def _double_integrator() -> ReferenceProblem:
    model = LinearModel(
        A=[[1.0, 1.0], [0.0, 1.0]], B=[[0.0], [1.0]], dt=1.0, x_eq=[0.0, 0.0], u_eq=[0.0],
        state_box=Box.symmetric([10.0, 10.0]), input_box=Box.symmetric([1.0]),
    )
    config = MPCConfig(
        horizon=10, Q=np.eye(2), R=0.01, terminal_set=(_DI_TERMINAL, np.ones(4)),
        output_constraint=(np.array([[1.0, 2.0]]), np.array([-25.0]), np.array([25.0])),
    )
    return ReferenceProblem(
        "double_integrator", model, config, 115,
        "PPOPT/YANN tutorial: |x| <= 10, |[1 2] x| <= 25, |u| <= 1, terminal set T x <= 1, N=10",
    )


def _pendulum(horizon: int, expected: int) -> ReferenceProblem:
    from robocritic.dynamics.pendulum import PendulumModel

    config = MPCConfig(horizon=horizon, Q=np.eye(2), R=0.001)
    return ReferenceProblem(
        f"pendulum_n{horizon}", PendulumModel().linearize(), config, expected,
        f"clipped pendulum (docs/yann.md#clipped-pendulum), N={horizon}"
        + ("; the paper says 7, the authors' own helper also gives 9" if horizon == 2 else ""),
    )


def _cstr_paper() -> ReferenceProblem:
    # The paper's published linearisation (deviation variables, dt = 1 min), not our CSTRModel.
    model = LinearModel(
        A=[[0.9506, 0, 0, 0], [-0.0484, 0.9943, 0, 0], [0, 0, 0.9909, 0], [0.6970, 0.0678, 0, 1.0030]],
        B=[[0.0], [0.0], [0.0], [-0.0007]], dt=60.0, x_eq=np.zeros(4), u_eq=[0.0],
        state_box=Box(np.array([-2.0, -2.0, -2.0, -70.0]), np.array([2.0, 2.0, 2.0, 5.0])),
        input_box=Box.symmetric([55.0]),
    )
    return ReferenceProblem(
        "cstr_paper_n2", model, MPCConfig(horizon=2, Q=0.1 * np.eye(4), R=1e-4), 7,
        "safety-critical CSTR with the paper's published (A, B), N=2, Q=0.1 I, R=1e-4",
    )


def _cstr_model() -> ReferenceProblem:
    from robocritic.dynamics.cstr import CSTRModel

    return ReferenceProblem(
        "cstr_model_n2", CSTRModel().linearize(), MPCConfig(horizon=2, Q=0.1 * np.eye(4), R=1e-4), None,
        "robocritic's CSTRModel linearised at its operating point, N=2; its (A, B) differ from the "
        "paper's (see robocritic.dynamics.cstr), so the paper's 7 regions do not apply",
    )


REFERENCE_PROBLEMS = {
    "double_integrator": _double_integrator,
    "pendulum_n2": lambda: _pendulum(2, 9),
    "pendulum_n5": lambda: _pendulum(5, 51),
    "pendulum_n10": lambda: _pendulum(10, 193),
    "cstr_paper_n2": _cstr_paper,
    "cstr_model_n2": _cstr_model,
}
"""Builders of the reference problems, by name (see :func:`reference_problem`)."""


def reference_problem(name: str) -> ReferenceProblem:
    """The reference MPC problem ``name`` (a key of :data:`REFERENCE_PROBLEMS`)."""
    if name not in REFERENCE_PROBLEMS:
        raise ValueError(f"unknown reference problem {name!r}; choose from {sorted(REFERENCE_PROBLEMS)}")
    return REFERENCE_PROBLEMS[name]()
