"""Unit tests for robocritic.controllers.mpc: formulation, solver agreement, fallback, validation.

No simulator: the plant is the pendulum's linearisation (input limits that bind near upright) or
the double integrator tutorial case (a terminal polytope and an output constraint).
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
from robocritic.controllers import LinearMPC, MPCConfig, MPCSolution, dlqr

from robocritic.dynamics import Box, LinearModel, PendulumModel
from robocritic.interfaces import Controller

# Solver set-ups compared with DAQP (exact active set) and the agreement demanded of each.
OTHER_SOLVERS = [
    pytest.param({"solver": "osqp"}, 1e-5, id="osqp"),
    pytest.param({"solver": "cvxpy", "cvxpy_solver": "OSQP"}, 1e-5, id="cvxpy-osqp"),
    # Reference solve: an interior-point method at tight tolerance.
    pytest.param(
        {"solver": "cvxpy", "cvxpy_solver": "CLARABEL", "eps_abs": 1e-10, "eps_rel": 1e-10},
        1e-6,
        id="cvxpy-clarabel",
    ),
]
ALL_SOLVERS = [
    pytest.param({"solver": "daqp"}, id="daqp"),
    pytest.param({"solver": "osqp"}, id="osqp"),
    pytest.param({"solver": "cvxpy", "cvxpy_solver": "OSQP"}, id="cvxpy-osqp"),
    pytest.param({"solver": "cvxpy", "cvxpy_solver": "CLARABEL"}, id="cvxpy-clarabel"),
]

DI_T = np.array([[0.6136, 1.6099], [-0.3742, -0.3682], [-0.6136, -1.6099], [0.3742, 0.3682]])


@pytest.fixture(scope="module")
def pendulum() -> LinearModel:
    return PendulumModel().linearize()


@pytest.fixture(scope="module")
def double_integrator() -> LinearModel:
    return LinearModel(
        A=[[1.0, 1.0], [0.0, 1.0]], B=[[0.0], [1.0]], dt=1.0, x_eq=[0.0, 0.0], u_eq=[0.0],
        state_box=Box.symmetric([10.0, 10.0]), input_box=Box.symmetric([1.0]),
    )


def pendulum_mpc(model: LinearModel, horizon: int, **kwargs: object) -> LinearMPC:
    return LinearMPC(model, MPCConfig(horizon=horizon, Q=np.eye(2), R=0.001, **kwargs))


def di_mpc(model: LinearModel, **kwargs: object) -> LinearMPC:
    config = MPCConfig(
        horizon=10, Q=np.eye(2), R=0.01, terminal_set=(DI_T, np.ones(4)),
        output_constraint=(np.array([[1.0, 2.0]]), np.array([-25.0]), np.array([25.0])), **kwargs,
    )
    return LinearMPC(model, config)


def feasible_states(mpc: LinearMPC, n: int, seed: int = 0) -> np.ndarray:
    """``n`` states drawn uniformly from the state box from which the MPC QP is feasible."""
    rng = np.random.default_rng(seed)
    box = mpc.model.state_box
    xs = rng.uniform(box.low, box.high, size=(4 * n, mpc.model.n_x))
    xs = np.array([x for x in xs if mpc.feasible(x)])
    assert len(xs) >= n, f"only {len(xs)} feasible states in {4 * n} draws"
    return xs[:n]


@pytest.fixture(scope="module", params=[2, 10], ids=["N2", "N10"])
def pendulum_case(request: pytest.FixtureRequest, pendulum: LinearModel):
    """(N, 200 feasible states, DAQP inputs, DAQP costs) for the pendulum MPC."""
    N = request.param
    mpc = pendulum_mpc(pendulum, N)
    xs = feasible_states(mpc, 200)
    us, costs = [], []
    for x in xs:
        us.append(mpc.act(x))
        assert mpc.last_solution.status == "optimal", mpc.last_solution.reason
        costs.append(mpc.last_solution.cost)
    assert mpc.n_fallbacks == 0 and mpc.n_solves == len(xs)
    return N, xs, np.array(us), np.array(costs)


def test_pendulum_model_numbers(pendulum: LinearModel) -> None:
    np.testing.assert_allclose(pendulum.A, [[1.0188, 0.0503], [0.7547, 1.0188]], atol=5e-5)
    np.testing.assert_allclose(pendulum.B.ravel(), [0.0038, 0.1509], atol=5e-5)


def test_daqp_reference_exercises_constraints(pendulum_case) -> None:
    _, _, us, _ = pendulum_case
    # Agreement is only meaningful if many of the sampled states hit the torque limit.
    assert np.mean(np.isclose(np.abs(us[:, 0]), 2.0)) > 0.2
    assert np.all(np.abs(us) <= 2.0)


@pytest.mark.parametrize(("kwargs", "tol"), OTHER_SOLVERS)
def test_solvers_agree_with_daqp(pendulum: LinearModel, pendulum_case, kwargs: dict, tol: float) -> None:
    N, xs, u_ref, cost_ref = pendulum_case
    mpc = pendulum_mpc(pendulum, N, **kwargs)
    us = []
    for x in xs:
        us.append(mpc.act(x))
        assert mpc.last_solution.status == "optimal", mpc.last_solution.reason
    assert mpc.n_fallbacks == 0
    np.testing.assert_allclose(np.array(us), u_ref, atol=tol, rtol=0)
    # Plans agree as a whole: the last cost (the formulation differs for cvxpy: sparse x/u).
    assert mpc.last_solution.cost == pytest.approx(cost_ref[-1], rel=1e-5, abs=1e-8)


def test_plan_is_consistent(pendulum: LinearModel) -> None:
    mpc = pendulum_mpc(pendulum, 10)
    Q, R = np.eye(2), 0.001
    for x in feasible_states(mpc, 20, seed=3):
        u = mpc.act(x)
        sol = mpc.last_solution
        assert isinstance(sol, MPCSolution) and not sol.fallback_used
        assert sol.u.shape == (1,) and sol.u_sequence.shape == (10, 1)
        assert sol.x_predicted.shape == (11, 2)
        np.testing.assert_array_equal(u, sol.u)
        np.testing.assert_allclose(sol.u_sequence[0], u, atol=1e-12)
        np.testing.assert_allclose(sol.x_predicted[0], x)
        X, U = sol.x_predicted, sol.u_sequence
        np.testing.assert_allclose(X[1:], X[:-1] @ pendulum.A.T + U @ pendulum.B.T, atol=1e-10)
        assert pendulum.state_box.contains(X[1:], tol=1e-6)
        assert pendulum.input_box.contains(U, tol=1e-6)
        cost = sum(X[k] @ Q @ X[k] for k in range(1, 10)) + X[10] @ mpc.P @ X[10] + R * np.sum(U**2)
        assert sol.cost == pytest.approx(cost, rel=1e-10)
        assert sol.solve_time_s > 0
        # One-sided form of the same constraints, as handed to an mpQP solver.
        A_c, b0, B0 = mpc.qp.inequalities()
        assert np.all(A_c @ U.ravel() <= b0 + B0 @ x + 1e-9)


@pytest.mark.parametrize("N", [1, 2, 10])
def test_unconstrained_regime_equals_lqr(pendulum: LinearModel, N: int) -> None:
    mpc = pendulum_mpc(pendulum, N)
    K, P = dlqr(pendulum.A, pendulum.B, np.eye(2), 0.001)
    np.testing.assert_allclose(mpc.K, K, atol=1e-12)
    np.testing.assert_allclose(mpc.P, P, atol=1e-12)
    # The condensed QP's unconstrained minimiser starts with the LQR gain.
    np.testing.assert_allclose(np.linalg.solve(mpc.qp.H, mpc.qp.F)[:1], K, atol=1e-8)
    rng = np.random.default_rng(N)
    for x in 1e-3 * rng.standard_normal((20, 2)):
        u = mpc.act(x)
        sol = mpc.last_solution
        assert sol.status == "optimal"
        np.testing.assert_allclose(u, -K @ x, atol=1e-8)
        # The whole plan is the LQR rollout, and the cost is V(x) - x'Qx = x'(P - Q)x.
        xk = x.copy()
        for k in range(N):
            np.testing.assert_allclose(sol.u_sequence[k], -K @ xk, atol=1e-8)
            xk = (pendulum.A - pendulum.B @ K) @ xk
        assert sol.cost == pytest.approx(x @ (P - np.eye(2)) @ x, rel=1e-8, abs=1e-14)


@pytest.mark.parametrize("kwargs", ALL_SOLVERS)
def test_infeasible_start_falls_back_to_saturated_lqr(
    pendulum: LinearModel, kwargs: dict, caplog: pytest.LogCaptureFixture
) -> None:
    mpc = pendulum_mpc(pendulum, 10, **kwargs)
    x_far = np.array([3.0, 40.0])  # x_1 leaves |theta_dot| <= 8 whatever the torque
    assert not mpc.feasible(x_far)
    with caplog.at_level(logging.WARNING, logger="robocritic.controllers.mpc"):
        u = mpc.act(x_far)
        mpc.act(x_far)
    sol = mpc.last_solution
    assert sol.fallback_used and sol.status == "infeasible", sol
    assert "fallback" in sol.reason and len(sol.reason) > 20
    assert sol.u_sequence is None and sol.x_predicted is None and np.isnan(sol.cost)
    assert np.all(np.isfinite(u)) and np.all(np.abs(u) <= 2.0)
    np.testing.assert_allclose(u, np.clip(-mpc.K @ x_far, -2.0, 2.0))
    assert (mpc.n_solves, mpc.n_fallbacks) == (2, 2)
    # One warning at the onset of a run of fallbacks, not one per step.
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1

    # Recovers on the next feasible state (warm starts from the failed solve are dropped).
    mpc.act([0.5, 1.0])
    assert mpc.last_solution.status == "optimal" and not mpc.last_solution.fallback_used
    assert (mpc.n_solves, mpc.n_fallbacks) == (3, 2)


@pytest.mark.parametrize("kwargs", ALL_SOLVERS)
def test_unreachable_terminal_set_falls_back(pendulum: LinearModel, kwargs: dict) -> None:
    # theta_N <= -1.9 cannot be reached from near upright in two 0.05 s steps with |u| <= 2.
    mpc = pendulum_mpc(pendulum, 2, terminal_set=(np.array([[1.0, 0.0]]), np.array([-1.9])), **kwargs)
    x = np.array([0.1, 0.2])
    u = mpc.act(x)
    sol = mpc.last_solution
    assert sol.fallback_used and sol.status != "optimal" and sol.reason
    assert np.all(np.isfinite(u)) and np.all(np.abs(u) <= 2.0)
    np.testing.assert_allclose(u, np.clip(-mpc.K @ x, -2.0, 2.0))
    assert mpc.n_fallbacks == 1


def test_iteration_limit_falls_back(pendulum: LinearModel) -> None:
    mpc = pendulum_mpc(pendulum, 10, solver="osqp", max_iter=1, polish=False)
    mpc.act([1.5, 6.0])
    sol = mpc.last_solution
    assert sol.status == "iteration_limit" and sol.fallback_used and "osqp" in sol.reason


def test_feasible_matches_act(pendulum: LinearModel) -> None:
    mpc = pendulum_mpc(pendulum, 10)
    rng = np.random.default_rng(7)
    for x in rng.uniform([-3.0, -12.0], [3.0, 12.0], size=(100, 2)):
        feasible = mpc.feasible(x)
        mpc.act(x)
        assert feasible == (not mpc.last_solution.fallback_used)


def test_double_integrator_solves_and_regulates(double_integrator: LinearModel) -> None:
    ref = di_mpc(double_integrator)
    xs = feasible_states(ref, 30, seed=1)
    u_ref = np.array([ref.act(x) for x in xs])
    assert ref.n_fallbacks == 0
    assert np.mean(np.isclose(np.abs(u_ref[:, 0]), 1.0)) > 0.2  # constraints active
    for kwargs, tol in [({"solver": "osqp"}, 1e-5), ({"solver": "cvxpy"}, 1e-5)]:
        mpc = di_mpc(double_integrator, **kwargs)
        np.testing.assert_allclose([mpc.act(x) for x in xs], u_ref, atol=tol)
        assert mpc.n_fallbacks == 0
    # Closed loop on the model from a few feasible states: stays feasible and converges.
    A, B = double_integrator.A, double_integrator.B
    for x in xs[:5]:
        for _ in range(40):
            u = ref.act(x)
            assert not ref.last_solution.fallback_used
            x = A @ x + B @ u
            assert np.all(np.abs(x) <= 10 + 1e-6) and abs(x[0] + 2 * x[1]) <= 25 + 1e-6
        assert np.linalg.norm(x) < 1e-6


def test_operating_point_and_controller_protocol() -> None:
    model = LinearModel(
        A=[[1.0, 0.1], [0.0, 1.0]], B=[[0.005], [0.1]], dt=0.1, x_eq=[1.0, 0.0], u_eq=[0.5],
        state_box=Box.symmetric([2.0, 2.0]), input_box=Box([-1.5], [0.5]),
    )
    mpc = LinearMPC(model, MPCConfig(horizon=5, Q=np.eye(2), R=0.1))
    assert isinstance(mpc, Controller)
    np.testing.assert_allclose(mpc.act([1.0, 0.0]), [0.5], atol=1e-12)
    u = mpc.act([1.5, 0.5])
    assert u.shape == (1,) and -1.0 <= u[0] <= 1.0
    np.testing.assert_allclose(mpc.last_solution.x_predicted[0], [1.5, 0.5])
    np.testing.assert_allclose(mpc.last_solution.u_sequence[0], u)
    mpc.reset()
    assert mpc.last_solution is None and mpc.n_solves == 2


@pytest.mark.parametrize("obs", [[np.nan, 0.0], [0.0, -np.inf], [0.0], [0.0, 0.0, 0.0], "up"])
def test_bad_obs_raises(pendulum: LinearModel, obs: object) -> None:
    mpc = pendulum_mpc(pendulum, 2)
    with pytest.raises(ValueError, match="obs"):
        mpc.act(obs)
    assert mpc.n_solves == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"Q": -np.eye(2)}, "MPCConfig.Q"),
        ({"Q": np.array([[1.0, 0.0], [0.0, -1e-3]])}, "MPCConfig.Q"),
        ({"Q": np.array([[1.0, 1.0], [0.0, 1.0]])}, "MPCConfig.Q"),
        ({"Q": np.ones((2, 3))}, "MPCConfig.Q"),
        ({"Q": "eye"}, "MPCConfig.Q"),
        ({"R": 0.0}, "MPCConfig.R"),
        ({"R": -0.1}, "MPCConfig.R"),
        ({"R": np.array([[1.0, 2.0], [2.0, 1.0]])}, "MPCConfig.R"),
        ({"R": np.nan}, "MPCConfig.R"),
        ({"horizon": 0}, "MPCConfig.horizon"),
        ({"horizon": -3}, "MPCConfig.horizon"),
        ({"horizon": 2.5}, "MPCConfig.horizon"),
        ({"horizon": True}, "MPCConfig.horizon"),
        ({"terminal_cost": "lqr"}, "MPCConfig.terminal_cost"),
        ({"terminal_cost": np.eye(3)}, "MPCConfig.terminal_cost"),
        ({"terminal_cost": -np.eye(2)}, "MPCConfig.terminal_cost"),
        ({"terminal_set": (np.ones((2, 3)), np.ones(2))}, "MPCConfig.terminal_set"),
        ({"terminal_set": (np.ones((2, 2)), np.ones(3))}, "MPCConfig.terminal_set"),
        ({"terminal_set": np.ones((2, 2))}, "MPCConfig.terminal_set"),
        ({"output_constraint": (np.ones((1, 2)), [1.0], [-1.0])}, "MPCConfig.output_constraint"),
        ({"solver": "gurobi"}, "MPCConfig.solver"),
        ({"cvxpy_solver": "SCS"}, "MPCConfig.cvxpy_solver"),
        ({"eps_abs": 0.0}, "MPCConfig.eps_abs"),
        ({"eps_rel": -1e-6}, "MPCConfig.eps_rel"),
        ({"max_iter": 0}, "MPCConfig.max_iter"),
        ({"warm_start": "yes"}, "MPCConfig.warm_start"),
        ({"constrain_states": 1}, "MPCConfig.constrain_states"),
    ],
)
def test_config_errors_name_the_field(kwargs: dict, field: str) -> None:
    args = {"horizon": 2, "Q": np.eye(2), "R": 0.001}
    args.update(kwargs)
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        MPCConfig(**args)


def test_config_sizes_come_from_Q_and_R_and_arrays_are_frozen_copies() -> None:
    Q = np.diag([1.0, 2.0, 3.0])
    config = MPCConfig(horizon=np.int64(3), Q=Q, R=[[0.1, 0.0], [0.0, 0.2]], terminal_cost=Q,
                       polish=np.False_, warm_start=np.True_)  # numpy scalars count as ints / bools
    assert config.horizon == 3 and type(config.horizon) is int
    assert config.Q.shape == (3, 3) and config.R.shape == (2, 2)
    for a in (config.Q, config.R, config.terminal_cost):
        assert not a.flags.writeable
    Q[0, 0] = 5.0
    assert config.Q[0, 0] == 1.0  # a copy: the caller's matrix is not shared
    assert MPCConfig(horizon=1, Q=2.0, R=0.5).Q.shape == (1, 1)  # scalars for one state / input


def test_config_must_match_the_model(pendulum: LinearModel) -> None:
    with pytest.raises(ValueError, match=r"MPCConfig\.Q"):
        LinearMPC(pendulum, MPCConfig(horizon=2, Q=np.eye(3), R=0.001))
    with pytest.raises(ValueError, match=r"MPCConfig\.R"):
        LinearMPC(pendulum, MPCConfig(horizon=2, Q=np.eye(2), R=np.eye(2)))
    with pytest.raises(ValueError, match="model"):
        LinearMPC(PendulumModel(), MPCConfig(horizon=2, Q=np.eye(2), R=0.001))
    unstabilisable = LinearModel(
        A=np.diag([1.2, 0.5]), B=[[0.0], [1.0]], dt=1.0, x_eq=[0, 0], u_eq=[0],
        state_box=Box.symmetric([1.0, 1.0]), input_box=Box.symmetric([1.0]),
    )
    with pytest.raises(ValueError, match=r"MPCConfig\.terminal_cost.*stabilisable"):
        LinearMPC(unstabilisable, MPCConfig(horizon=2, Q=np.eye(2), R=1.0))


def test_config_is_frozen() -> None:
    config = MPCConfig(horizon=2, Q=np.eye(2), R=0.001)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.horizon = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        config.Q[0, 0] = 5.0  # read-only array: a built MPC cannot drift from its config
    assert config.R.shape == (1, 1)


def test_explicit_terminal_cost_and_no_state_constraints(pendulum: LinearModel) -> None:
    # With P = Q and no state box the DAQP and cvxpy formulations must still agree.
    kw = {"terminal_cost": np.eye(2), "constrain_states": False}
    a = pendulum_mpc(pendulum, 5, **kw)
    b = pendulum_mpc(pendulum, 5, solver="cvxpy", cvxpy_solver="CLARABEL", eps_abs=1e-10, eps_rel=1e-10, **kw)
    for x in np.random.default_rng(5).uniform([-3.0, -12.0], [3.0, 12.0], size=(20, 2)):
        np.testing.assert_allclose(a.act(x), b.act(x), atol=1e-6)
        assert a.last_solution.status == "optimal"  # inputs only: always feasible
    P = np.eye(2)
    K = np.linalg.solve(0.001 + pendulum.B.T @ P @ pendulum.B, pendulum.B.T @ P @ pendulum.A)
    np.testing.assert_allclose(a.K, K)
