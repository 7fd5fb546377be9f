"""CSTRModel: steady state, linearisation against the YANN-RL paper, Jacobians, integration."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import robocritic.dynamics.cstr as cstr_module
from robocritic.dynamics import CSTRModel, DynamicsModel

# The paper's ZOH linearisation (deviation variables, sample time 1/60 h = 60 s).
PAPER_A = np.array([
    [0.9506, 0.0, 0.0, 0.0],
    [-0.0484, 0.9943, 0.0, 0.0],
    [0.0, 0.0, 0.9909, 0.0],
    [0.6970, 0.0678, 0.0, 1.0030],
])
PAPER_B = np.array([0.0, 0.0, 0.0, -0.0007])

# Golden values of this model's linearisation (regenerate: CSTRModel().linearize()).
GOLDEN_A = np.array([
    [9.2033297233e-01, -2.3248066402e-02, -4.1982102885e-08, -2.2805615329e-03],
    [-7.6339243722e-02, 9.7342414965e-01, -4.1982102885e-08, -2.2805615329e-03],
    [-1.1094537607e-06, -3.3786887900e-07, 9.9667046566e-01, -9.7297183938e-06],
    [2.2435737613e-01, 6.8324952198e-02, 3.6220447388e-05, 1.0029986702e+00],
])
GOLDEN_B = np.array([6.0649542991e-07, 6.0649542991e-07, 2.5431555089e-09, -5.2354489979e-04])


@pytest.fixture(scope="module")
def model() -> CSTRModel:
    return CSTRModel()


def _f_scale(model: CSTRModel) -> np.ndarray:
    """Size of the terms that cancel at steady state: feed flux (mol/(L s)) and D*T (K/s)."""
    d = model.dilution_rate
    return d * np.array([model.feed_conc_a, model.feed_conc_b, model.feed_conc_s, model.operating_temp])


def test_steady_state_is_a_root_at_475_k(model):
    x_eq, u_eq = model.x_eq, model.u_eq
    assert x_eq[3] == 475.0
    np.testing.assert_allclose(x_eq, [0.43789, 1.43789, 12.99315, 475.0], atol=1e-5)
    np.testing.assert_allclose(u_eq, [112.7966], atol=1e-4)
    assert np.all(np.abs(model.f(x_eq, u_eq)) <= 1e-12 * _f_scale(model))
    # Integrating from the steady state stays there (rtol 1e-8 integrator).
    np.testing.assert_allclose(model.step(x_eq, u_eq), x_eq, rtol=1e-9, atol=1e-9)


def test_limits_are_the_mpc_benchmark_boxes(model):
    lin = model.linearize()
    np.testing.assert_allclose(lin.state_box.low, [-2, -2, -2, -70], atol=1e-12)
    np.testing.assert_allclose(lin.state_box.high, [2, 2, 2, 5], atol=1e-12)
    np.testing.assert_allclose(lin.input_box.low, [-55], atol=1e-12)
    np.testing.assert_allclose(lin.input_box.high, [55], atol=1e-12)
    assert model.state_box.high[3] == 480.0  # the safety limit
    assert model.input_box.low[0] >= 0.0  # a heat-transfer coefficient is never negative


def test_linearisation_has_the_papers_structure(model):
    """Zero pattern, signs and the unstable mode of the paper's A, B (see cstr.py for why the
    values themselves cannot all be reproduced with the published parameters)."""
    lin = model.linearize()
    assert lin.dt == 60.0
    A, B = lin.A, lin.B[:, 0]
    zeros = PAPER_A == 0
    # Structural zeros (no direct coupling): only second-order paths through T remain.
    for i, j in [(0, 2), (1, 2), (2, 0), (2, 1)]:
        assert abs(A[i, j]) < 2e-6, (i, j, A[i, j])
    # The paper's other zeros: small, except A[0,1] = -k1 C_A h (needed for the instability).
    small = zeros.copy()
    small[0, 1] = False
    assert np.max(np.abs(A[small])) < 2.5e-3
    assert abs(A[0, 1]) < 0.025
    assert np.max(np.abs(B[:3])) < 1e-6
    # Signs of every non-zero entry.
    assert np.array_equal(np.sign(A[~zeros]), np.sign(PAPER_A[~zeros]))
    assert np.sign(B[3]) == np.sign(PAPER_B[3])
    # Open-loop unstable temperature at the paper's rate; the concentration modes are stable.
    assert A[3, 3] == pytest.approx(1.0030, abs=1e-5)
    assert np.all(np.diag(A)[:3] < 1.0)
    # Values: B within 1.8e-4, every entry but A[3,0] within 0.031. A[3,0] cannot exceed about
    # h * 2.94 K L/mol * |A_c[0,0]| (reaction-1 heat per mol of A consumed), far below 0.697.
    assert abs(B[3] - PAPER_B[3]) < 1.8e-4
    err = np.abs(A - PAPER_A)
    err_without_30 = err.copy()
    err_without_30[3, 0] = 0.0
    assert err_without_30.max() < 0.031
    a_c00 = -np.log(A[0, 0]) / 60.0  # 1/s
    assert 0.0 < A[3, 0] < 1.1 * 60.0 * 2.94 * a_c00 < PAPER_A[3, 0] / 2


def test_linearisation_matches_golden_values(model):
    lin = model.linearize()
    np.testing.assert_allclose(lin.A, GOLDEN_A, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(lin.B[:, 0], GOLDEN_B, rtol=1e-7, atol=1e-15)


@pytest.mark.parametrize(
    "dx, du",
    [
        ([0, 0, 0, 0], [0]),
        ([0.3, -0.2, 1.0, 3.0], [20.0]),
        ([-0.4, 1.0, -2.0, -30.0], [-55.0]),
        ([1.5, 1.5, 1.5, 40.0], [50.0]),  # 515 K, deep in the runaway region
    ],
)
def test_analytic_jacobians_match_central_differences(model, dx, du):
    x = model.x_eq + np.array(dx, dtype=float)
    u = model.u_eq + np.array(du, dtype=float)
    A, B = model.jacobians(x, u)
    A_num, B_num = DynamicsModel.jacobians(model, x, u)
    scale = np.max(np.abs(A), axis=1, keepdims=True)
    np.testing.assert_allclose(A, A_num, rtol=0, atol=1e-6 * scale.max())
    assert np.all(np.abs(A - A_num) <= 1e-6 * scale)
    np.testing.assert_allclose(B, B_num, rtol=1e-6)


def _reference_step(model: CSTRModel, x: np.ndarray, u: np.ndarray) -> np.ndarray:
    sol = solve_ivp(
        lambda _t, s: model.f(s, u), (0.0, model.dt), x, method="Radau",
        jac=lambda _t, s: model.jacobians(s, u)[0], rtol=1e-11, atol=1e-13,
    )
    assert sol.success
    return sol.y[:, -1]


@pytest.mark.parametrize("dx", [[0.1, -0.1, 0.2, 2.0], [0.0, 0.0, 0.0, 4.5], [-0.2, 0.3, -1.0, -20.0]])
def test_step_agrees_with_a_tight_radau_reference(model, dx):
    x = model.x_eq + np.array(dx, dtype=float)
    for u in (model.input_box.low, model.u_eq, model.input_box.high):
        np.testing.assert_allclose(model.step(x, u), _reference_step(model, x, u), rtol=1e-7, atol=1e-8)


def test_minimum_cooling_runs_away_and_stays_integrable(model):
    """From 478 K with the least cooling the reactor crosses 480 K after ~100 steps, and after
    ~500 steps (past ~488 K) the decomposition runs away to ~750 K."""
    x = model.x_eq.copy()
    x[3] = 478.0
    temps = []
    for _ in range(600):
        x = model.step(x, model.input_box.low)
        temps.append(x[3])
    temps = np.array(temps)
    first_unsafe = int(np.argmax(temps >= 480.0))
    assert 60 < first_unsafe < 120, first_unsafe  # ~100 steps
    assert temps.max() > 700.0  # the solvent decomposed
    assert x[2] < 1e-6 and np.all(np.isfinite(x))


def test_maximum_cooling_recovers_from_near_the_limit(model):
    x = model.x_eq.copy()
    x[3] = 479.5
    for _ in range(120):
        x = model.step(x, model.input_box.high)
    assert x[3] < 476.0


def test_states_outside_the_physical_domain_are_handled(model):
    # Corners of the MPC box have negative concentrations: rates use max(C, 0), so they relax.
    x = model.state_box.low.copy()
    x[3] = model.operating_temp
    y = model.step(x, model.u_eq)
    assert np.all(np.isfinite(y)) and np.all(y[:3] > x[:3])
    with pytest.raises(ValueError, match=r"x\[3\] \(T\) must be > 0 K"):
        model.step([0.4, 1.4, 13.0, 0.0], model.u_eq)
    with pytest.raises(ValueError, match="x must be finite"):
        model.step([np.nan, 1.4, 13.0, 475.0], model.u_eq)


def test_radau_takes_over_when_lsoda_fails(model, monkeypatch):
    x = model.x_eq + np.array([0.1, 0.1, 0.1, 2.0])
    expected = model.step(x, model.u_eq)

    def failing_odeint(func, y0, t, **kwargs):
        return np.vstack([y0, np.full_like(y0, np.nan)]), {"message": "Repeated convergence failures"}

    monkeypatch.setattr(cstr_module, "odeint", failing_odeint)
    np.testing.assert_allclose(model.step(x, model.u_eq), expected, rtol=1e-7)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"volume": -1.0}, "CSTRModel.volume"),
        ({"dt": 0.0}, "CSTRModel.dt"),
        ({"feed_flow": float("nan")}, "CSTRModel.feed_flow"),
        ({"feed_conc_a": -1.0}, "CSTRModel.feed_conc_a"),
        ({"heat_of_reaction_1": float("inf")}, "CSTRModel.heat_of_reaction_1"),
        ({"safety_temp": 470.0}, "CSTRModel.safety_temp"),
        ({"rate_temp_cap": 479.0}, "CSTRModel.rate_temp_cap"),
        ({"coolant_temp": 480.0, "safety_temp": 490.0}, "coolant_temp"),
        ({"feed_temp": 300.0}, "U_eq"),  # a cold feed needs U_eq < 55: negative U in the box
        ({"volume": True}, "CSTRModel.volume"),
    ],
)
def test_bad_parameters_raise_naming_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CSTRModel(**kwargs)


def test_model_is_a_hashable_value():
    assert CSTRModel() == CSTRModel()
    assert hash(CSTRModel()) == hash(CSTRModel())
    assert CSTRModel(feed_temp=462.0) != CSTRModel()
    m = CSTRModel()
    x = m.x_eq
    x[0] = 99.0  # callers get copies
    assert m.x_eq[0] != 99.0
