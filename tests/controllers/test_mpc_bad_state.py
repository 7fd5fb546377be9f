"""Regression tests for MPC on absurd measured states (issue 12, finding 1).

A state far outside anything the QP can represent (1e29 puts OSQP's bounds past its infinity,
1e300 overflows the condensed data) must never come back as "optimal": every backend checks
every call's result and applies the documented saturated-LQR fallback with a named reason.
NaN/inf states are refused with a ValueError naming ``obs``. The explicit law has no solver; it
must flag such states infeasible and return a finite input inside the box.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from robocritic.controllers import LinearMPC, MPCConfig
from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC

from robocritic.dynamics import LinearModel, PendulumModel

BACKENDS = [
    pytest.param({"solver": "daqp"}, id="daqp"),
    pytest.param({"solver": "osqp"}, id="osqp"),
    pytest.param({"solver": "cvxpy", "cvxpy_solver": "OSQP"}, id="cvxpy-osqp"),
    pytest.param({"solver": "cvxpy", "cvxpy_solver": "CLARABEL"}, id="cvxpy-clarabel"),
]
HUGE_STATES = [
    pytest.param([1e29, 0.0], id="theta=1e29"),  # the reported case: OSQP's update was rejected
    pytest.param([-1e29, 0.0], id="theta=-1e29"),
    pytest.param([0.0, 1e29], id="omega=1e29"),
    pytest.param([1e30, 0.0], id="theta=osqp_infty"),
    pytest.param([1e300, 0.0], id="theta=1e300"),
    pytest.param([1e300, -1e300], id="both=1e300"),
    pytest.param([1.7e308, -1.7e308], id="near_float_max"),  # K x0 itself overflows
]
GOOD = np.array([0.05, 0.0])  # near upright: every backend solves it, the plan is interior


@pytest.fixture(scope="module")
def pendulum() -> LinearModel:
    return PendulumModel().linearize()


def make_mpc(model: LinearModel, kwargs: dict) -> LinearMPC:
    return LinearMPC(model, MPCConfig(horizon=10, Q=np.eye(2), R=0.001, **kwargs))


@pytest.mark.parametrize("state", HUGE_STATES)
@pytest.mark.parametrize("kwargs", BACKENDS)
def test_huge_state_falls_back_never_stale_optimal(
    pendulum: LinearModel, kwargs: dict, state: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    mpc = make_mpc(pendulum, kwargs)
    u_good = mpc.act(GOOD)  # leaves a solved QP (and warm start) behind to go stale
    assert mpc.last_solution.status == "optimal", mpc.last_solution.reason

    x = np.array(state)
    with caplog.at_level(logging.WARNING, logger="robocritic.controllers.mpc"):
        u = mpc.act(x)
    sol = mpc.last_solution
    assert sol.status != "optimal" and sol.status != "inaccurate", sol
    assert sol.fallback_used, sol
    assert sol.u_sequence is None and sol.x_predicted is None and np.isnan(sol.cost)
    assert "fallback" in sol.reason and mpc._backend.name in sol.reason, sol.reason
    # The documented fallback, finite and saturated; never the previous state's input.
    assert np.all(np.isfinite(u)) and np.all(np.abs(u) <= 2.0)
    # |K x0| is astronomically large here, so clip(-K x0) is the input limit in the direction of
    # -K x0 (computed scaled, as K x0 itself may overflow).
    np.testing.assert_array_equal(u, 2.0 * np.sign(-mpc.K @ (x / np.abs(x).max())))
    assert not np.allclose(u, u_good)
    assert any("fallback" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert (mpc.n_solves, mpc.n_fallbacks) == (2, 1)

    # Nothing stale is left behind: the next ordinary state is solved afresh, as DAQP solves it.
    u_next = mpc.act(GOOD)
    assert mpc.last_solution.status == "optimal" and not mpc.last_solution.fallback_used
    np.testing.assert_allclose(u_next, make_mpc(pendulum, {"solver": "daqp"}).act(GOOD), atol=1e-5)


@pytest.mark.parametrize("kwargs", BACKENDS)
def test_fallback_matches_lqr_law_for_large_finite_state(pendulum: LinearModel, kwargs: dict) -> None:
    # Large but representable: the QP is infeasible, the fallback is the plain clip(-K x0).
    mpc = make_mpc(pendulum, kwargs)
    mpc.act(GOOD)
    x = np.array([1e15, -3e14])
    u = mpc.act(x)
    assert mpc.last_solution.fallback_used and mpc.last_solution.status != "optimal"
    np.testing.assert_array_equal(u, np.clip(-mpc.K @ x, -2.0, 2.0))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("kwargs", BACKENDS)
def test_non_finite_state_is_refused(pendulum: LinearModel, kwargs: dict, bad: float) -> None:
    mpc = make_mpc(pendulum, kwargs)
    mpc.act(GOOD)
    with pytest.raises(ValueError, match="obs must be finite"):
        mpc.act([bad, 0.0])
    assert mpc.n_solves == 1  # nothing was solved, nothing counted
    mpc.act(GOOD)
    assert mpc.last_solution.status == "optimal"


def test_osqp_rejected_update_is_a_failed_solve(pendulum: LinearModel) -> None:
    """A non-zero exit flag of OSQP's data update is reported even where the pre-checks pass."""
    mpc = make_mpc(pendulum, {"solver": "osqp"})
    mpc.act(GOOD)
    backend = mpc._backend
    backend._update_data_vec = lambda **_: 1  # OSQP_DATA_VALIDATION_ERROR
    u = mpc.act(GOOD)
    sol = mpc.last_solution
    assert sol.status == "failed" and sol.fallback_used
    assert "update" in sol.reason and "exit flag 1" in sol.reason, sol.reason
    np.testing.assert_array_equal(u, np.clip(-mpc.K @ GOOD, -2.0, 2.0))


def test_daqp_rejected_update_is_a_failed_solve(
    pendulum: LinearModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    mpc = make_mpc(pendulum, {"solver": "daqp"})
    mpc.act(GOOD)
    monkeypatch.setattr(mpc._backend, "_model", _RejectingDaqp(mpc._backend._model))
    mpc.act(GOOD)
    sol = mpc.last_solution
    assert sol.status == "failed" and sol.fallback_used
    assert "update" in sol.reason and "exit flag -1" in sol.reason, sol.reason


def test_cvxpy_stale_plan_is_detected(pendulum: LinearModel) -> None:
    """Without the OSQP_INFTY pre-check, warm-started cvxpy/OSQP re-solves the previous state's
    QP (cvxpy ignores OSQP's rejected update); the plan's x_0 gives it away."""
    mpc = make_mpc(pendulum, {"solver": "cvxpy", "cvxpy_solver": "OSQP"})
    mpc.act(GOOD)
    mpc.act(GOOD)  # the second solve is warm: cvxpy updates its cached OSQP workspace
    mpc._backend._osqp_inf = np.inf
    mpc.act([1e300, 0.0])
    sol = mpc.last_solution
    assert sol.status == "failed" and sol.fallback_used
    assert "not the measured state" in sol.reason, sol.reason


class _RejectingDaqp:
    """A daqp.Model double whose data update fails; solving would return the previous plan."""

    def __init__(self, model: object) -> None:
        self._model = model

    def update(self, **_: object) -> int:
        return -1

    def solve(self) -> object:
        return self._model.solve()


# -- explicit MPC: no solver, but the same promise --------------------------------------------------


@pytest.fixture(params=["compiled", "numpy"])
def explicit(request: pytest.FixtureRequest, pendulum_lqr_law: ExplicitLaw) -> ExplicitMPC:
    ctrl = ExplicitMPC(pendulum_lqr_law)
    if request.param == "numpy":
        ctrl._kernel = None  # act's reference path (also the path without numba)
    elif ctrl._kernel is None:
        pytest.skip("numba not installed or disabled")
    return ctrl


@pytest.mark.parametrize("state", HUGE_STATES)
def test_explicit_law_flags_huge_state(explicit: ExplicitMPC, state: list[float]) -> None:
    law = explicit.law
    explicit.act(GOOD)
    assert not explicit.last_infeasible
    x = np.array(state)
    u = explicit.act(x)
    assert explicit.last_infeasible and explicit.last_margin > explicit.feasibility_tol
    # Finite and saturated in the direction of the law (K x overflows near the float range).
    assert np.all(np.isfinite(u)) and np.all(u >= law.u_low) and np.all(u <= law.u_high)
    ev = explicit.evaluate(x)
    assert not ev.feasible[0]
    np.testing.assert_array_equal(ev.u[0], u)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_explicit_law_refuses_non_finite_state(explicit: ExplicitMPC, bad: float) -> None:
    with pytest.raises(ValueError, match="obs must be finite"):
        explicit.act([bad, 0.0])
    with pytest.raises(ValueError, match="finite"):
        explicit.evaluate(np.array([[bad, 0.0]]))
