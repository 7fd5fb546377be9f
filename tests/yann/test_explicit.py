"""Explicit MPC by mpQP (robocritic.yann.mpqp): region counts, exactness against online DAQP,
PPOPT details (solvers, overlap flag, H shape), the artefact, and domain handling.

Reference problems and counts: docs/mpc.md#reference-problems. Needs the ``explicit`` extra (PPOPT).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ppopt")

from robocritic.controllers import LinearMPC, MPCConfig
from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC

from robocritic.dynamics import Box, LinearModel, PendulumModel
from robocritic.yann.mpqp import (
    REFERENCE_PROBLEMS,
    ExplicitSolveResult,
    compare_with_online,
    compute_explicit_mpc,
    reference_problem,
    sample_domain,
)

MIN_FEASIBLE = 1000  # feasible states compared per problem
EXACT = 1e-9  # |u_explicit - u_daqp| allowed (agreement is ~1e-12: docs/mpc.md#verification)

_CACHE: dict[str, ExplicitSolveResult] = {}


def solved(name: str) -> ExplicitSolveResult:
    """Each reference problem solved once per test session."""
    if name not in _CACHE:
        prob = reference_problem(name)
        _CACHE[name] = compute_explicit_mpc(prob.model, prob.config)
    return _CACHE[name]


def draw_states(law: ExplicitLaw, seed: int, n_feasible: int = MIN_FEASIBLE) -> np.ndarray:
    """Uniform states from the law's domain until ``n_feasible`` of them are feasible."""
    rng = np.random.default_rng(seed)
    ctrl = ExplicitMPC(law)
    X = sample_domain(law, 1000, rng)
    while ctrl.evaluate(X).feasible.sum() < n_feasible:
        X = np.vstack([X, sample_domain(law, 1000, rng)])
    return X


COUNTED = [name for name in REFERENCE_PROBLEMS if reference_problem(name).expected_regions is not None]


@pytest.mark.parametrize("name", COUNTED)
def test_region_counts(name: str):
    expected = reference_problem(name).expected_regions
    assert solved(name).law.n_regions == expected


@pytest.mark.parametrize("name", list(REFERENCE_PROBLEMS))
def test_explicit_law_equals_online_daqp(name: str):
    res = solved(name)
    X = draw_states(res.law, seed=1)
    agreement = compare_with_online(res.law, res.mpc, X)
    assert agreement.n_feasible >= MIN_FEASIBLE
    assert agreement.feasibility_mismatch.size == 0, X[agreement.feasibility_mismatch][:5]
    assert agreement.max_abs_du <= EXACT


def test_cstr_model_differs_from_the_paper_but_is_exact():
    # robocritic's CSTRModel linearisation is not the paper's (A, B) (robocritic.dynamics.cstr
    # explains why), so the paper's 7 regions do not apply; the paper's matrices give 7.
    assert solved("cstr_paper_n2").law.n_regions == 7
    assert solved("cstr_model_n2").law.n_regions >= 7


def test_ppopt_program_and_solution_details():
    res = solved("pendulum_n5")
    prog, sol = res.program, res.solution
    n_U = res.mpc.qp.n_U
    assert prog.H.shape == (n_U, 2)  # (n_decision, n_theta): PPOPT's README has it transposed
    assert prog.Q.shape == (n_U, n_U)
    assert prog.solver.solvers["lp"] == "glpk" and prog.solver.solvers["qp"] == "daqp"
    assert "gurobi" not in prog.solver.solvers.values()
    assert sol.is_overlapping is False  # strictly convex: regions only touch
    # PPOPT's own evaluation agrees with the converted law (first input rows of each region).
    X = draw_states(res.law, seed=2, n_feasible=20)
    ev = ExplicitMPC(res.law).evaluate(X)
    for x, u, ok in zip(X[:200], ev.u[:200], ev.feasible[:200], strict=True):
        if ok:
            U = sol.evaluate(x.reshape(-1, 1))
            assert U is not None
            assert abs(U[0, 0] - u[0]) <= EXACT


def test_law_metadata_and_round_trip(tmp_path: Path):
    res = solved("double_integrator")
    law = res.law
    assert law.metadata["horizon"] == 10 and law.metadata["n_regions"] == 115
    assert "geometric" in law.metadata["source"] and "glpk" in law.metadata["source"]
    assert law.metadata["output_constraint"][1] == [-25.0]
    np.testing.assert_allclose(law.metadata["R"], [[0.01]])
    np.testing.assert_allclose(np.linalg.norm(law.E, axis=1), 1.0)
    np.testing.assert_array_equal(law.domain_low, [-10.0, -10.0])
    back = ExplicitLaw.load(law.save(tmp_path / "di.npz"))
    X = draw_states(law, seed=3, n_feasible=50)
    a, b = ExplicitMPC(law).evaluate(X), ExplicitMPC(back).evaluate(X)
    np.testing.assert_array_equal(a.u, b.u)
    np.testing.assert_array_equal(a.feasible, b.feasible)
    assert back.metadata == law.metadata


def test_closed_loop_matches_online_mpc():
    # The explicit controller reproduces the online MPC's trajectory on the linear model.
    res = solved("pendulum_n10")
    model = res.mpc.model
    online = LinearMPC(model, res.mpc.config)
    explicit = ExplicitMPC(res.law)
    x0 = np.array([0.6, -1.5])
    x_on = x_ex = x0
    for _ in range(60):
        u_on, u_ex = online.act(x_on), explicit.act(x_ex)
        assert not explicit.last_infeasible
        assert np.max(np.abs(u_on - u_ex)) <= EXACT
        x_on, x_ex = model.step(x_on, u_on), model.step(x_ex, u_ex)
    assert np.linalg.norm(x_on) < 0.05 * np.linalg.norm(x0)  # it regulates


def test_polytope_domain():
    model = PendulumModel().linearize()
    config = MPCConfig(horizon=2, Q=np.eye(2), R=0.001)
    A_t = np.vstack([np.eye(2), -np.eye(2), [[1.0, 0.2], [-1.0, -0.2]]])
    b_t = np.array([2.0, 8.0, 2.0, 8.0, 1.0, 1.0])
    res = compute_explicit_mpc(model, config, domain=(A_t, b_t))
    law = res.law
    np.testing.assert_allclose(law.domain_A, A_t)
    # Bounding box of the domain by LP: theta is capped by |theta + 0.2 theta_dot| <= 1.
    np.testing.assert_allclose(law.domain_low, [-2.0, -8.0], atol=1e-9)
    np.testing.assert_allclose(law.domain_high, [2.0, 8.0], atol=1e-9)
    X = draw_states(law, seed=4)
    assert np.all(X @ A_t.T <= b_t + 1e-12)
    agreement = compare_with_online(law, res.mpc, X)
    assert agreement.feasibility_mismatch.size == 0 and agreement.max_abs_du <= EXACT
    # Regions lie inside the domain: a state outside it is infeasible for the law.
    assert not ExplicitMPC(law).feasible(np.array([1.5, 0.0]))


def test_multi_input_law():
    model = LinearModel(
        A=[[1.0, 0.1], [0.0, 1.0]], B=[[0.1, 0.0], [0.0, 0.1]], dt=0.1, x_eq=[0.0, 0.0], u_eq=[0.0, 0.0],
        state_box=Box.symmetric([5.0, 5.0]), input_box=Box.symmetric([1.0, 2.0]),
    )
    res = compute_explicit_mpc(model, MPCConfig(horizon=3, Q=np.eye(2), R=0.1 * np.eye(2)))
    assert res.law.n_u == 2 and res.law.K.shape[1:] == (2, 2)
    agreement = compare_with_online(res.law, res.mpc, draw_states(res.law, seed=5))
    assert agreement.feasibility_mismatch.size == 0 and agreement.max_abs_du <= EXACT


def test_reference_solver_is_daqp_whatever_the_config_says():
    prob = reference_problem("pendulum_n2")
    res = compute_explicit_mpc(prob.model, dataclasses.replace(prob.config, solver="osqp"))
    assert res.mpc.config.solver == "daqp"
    assert res.law.n_regions == 9


def test_bad_domains_are_named():
    model = PendulumModel().linearize()
    config = MPCConfig(horizon=2, Q=np.eye(2), R=0.001)
    with pytest.raises(ValueError, match="empty"):
        empty = (np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([-1.0, -1.0]))  # x0 >= 1 and x0 <= -1
        compute_explicit_mpc(model, config, domain=empty)
    with pytest.raises(ValueError, match="unbounded"):
        compute_explicit_mpc(model, config, domain=(np.array([[1.0, 0.0]]), np.array([1.0])))
    with pytest.raises(ValueError, match="domain"):
        compute_explicit_mpc(model, config, domain=(np.eye(3), np.ones(3)))
    open_model = dataclasses.replace(model, state_box=Box(np.array([-2.0, -np.inf]), np.array([2.0, np.inf])))
    with pytest.raises(ValueError, match="infinite"):
        compute_explicit_mpc(open_model, config)
    with pytest.raises(ValueError, match="algorithm"):
        compute_explicit_mpc(model, config, algorithm="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="qp_solver"):
        compute_explicit_mpc(model, config, qp_solver="gurobi")
    with pytest.raises(ValueError, match="unknown reference problem"):
        reference_problem("nope")
