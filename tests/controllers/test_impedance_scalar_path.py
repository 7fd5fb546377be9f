"""The scalar path of CartesianImpedance.torques (Python floats, m <= 2, few joints) against the
array path it stands in for (numpy cholesky, solve, eigh): equal to rounding on random states,
with joint damping, torque limits and an energy tank, and falling back where it must."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from robocritic.controllers import CartesianImpedance, EnergyTank, ImpedanceGains
from robocritic.controllers.impedance import (
    _SCALAR_MAX_JOINTS,
    _mobility_rows,
    _modal_root,
    _root_2x2,
)

from robocritic.interfaces import ArmState

RTOL = 1e-12


def random_state(rng: np.random.Generator, n: int, m: int) -> ArmState:
    a = rng.normal(size=(n, n))
    return ArmState(
        q=rng.normal(size=n), qd=rng.normal(size=n), x=0.05 * rng.normal(size=m),
        jacobian=rng.normal(size=(m, n)), mass_matrix=a @ a.T + n * np.eye(n), bias=rng.normal(size=n),
    )


def test_closed_form_2x2_root_matches_eigh() -> None:
    rng = np.random.default_rng(0)
    cases = [np.diag([2.0, 3.0]), 5.0 * np.eye(2), np.array([[1.0, 1.0], [1.0, 1.0]]), np.zeros((2, 2)),
             np.array([[4.0, 1e-300], [1e-300, 1.0]]), np.array([[1e-20, 0.0], [0.0, 1.0]])]
    for _ in range(2000):  # condition numbers up to ~1e4: eigh itself is good to ~eps * cond
        a = rng.normal(size=(2, 2))
        cases.append(rng.choice([1e-3, 1.0, 1e3]) * (a @ a.T + rng.uniform(1e-3, 1.0) * np.eye(2)))
    for b in cases:
        sqrt_k = rng.uniform(1.0, 50.0, size=2)
        f00, f01, f11 = _root_2x2(b[0, 0], b[0, 1], b[1, 1])
        got = sqrt_k[:, None] * np.array([[f00, f01], [f01, f11]])
        want = _modal_root(b, sqrt_k)
        np.testing.assert_allclose(got, want, rtol=0, atol=RTOL * np.abs(want).max())


def test_mobility_rows_match_cholesky_and_solve() -> None:
    rng = np.random.default_rng(1)
    for n in range(1, _SCALAR_MAX_JOINTS + 1):
        for m in range(1, 3):
            for _ in range(50):
                st = random_state(rng, n, m)
                want = np.linalg.solve(np.linalg.cholesky(st.mass_matrix), st.jacobian.T).T
                got = np.array(_mobility_rows(st.mass_matrix.tolist(), st.jacobian.tolist()))
                np.testing.assert_allclose(got, want, rtol=0, atol=RTOL * np.abs(want).max())
    assert _mobility_rows([[1.0, 0.0], [0.0, -1.0]], [[1.0, 0.0]]) is None
    assert _mobility_rows([[np.nan, 0.0], [0.0, 1.0]], [[1.0, 0.0]]) is None


def make_laws(n: int, m: int, guarded: bool) -> tuple[CartesianImpedance, CartesianImpedance]:
    kwargs = dict(stiffness_max=2000.0, joint_damping=np.linspace(0.1, 0.6, n))
    if guarded:
        kwargs.update(stiffness_min=100.0, torque_limit=np.full(n, 8.0))
    laws = [CartesianImpedance(n, m, **kwargs,
                               tank=EnergyTank(0.05, 2.0, 1e-3) if guarded else None) for _ in range(2)]
    return laws[0], laws[1]


@pytest.mark.parametrize("guarded", [False, True])
def test_scalar_path_matches_the_array_path_on_random_states(guarded: bool) -> None:
    rng = np.random.default_rng(2)
    for n in range(1, _SCALAR_MAX_JOINTS + 1):
        for m in range(1, min(n, 2) + 1):
            scalar, array = make_laws(n, m, guarded)
            assert scalar._scalar
            for i in range(100):
                st = random_state(rng, n, m)
                gains = ImpedanceGains(rng.uniform(100.0, 2000.0, size=m), rng.uniform(0.0, 2.0, size=m))
                setpoint = st.x + 0.02 * rng.normal(size=m)
                got = scalar._torques_scalar(st, setpoint, gains)
                want = array._torques_array(st, setpoint, gains)
                assert got is not None
                np.testing.assert_allclose(got, want, rtol=0, atol=RTOL * np.abs(want).max())
                np.testing.assert_array_equal(scalar.saturations, array.saturations)
                np.testing.assert_allclose(scalar.applied_stiffness, array.applied_stiffness, rtol=RTOL)
                if guarded:
                    assert scalar.tank.level == pytest.approx(array.tank.level, rel=RTOL, abs=1e-15)
            if guarded:
                assert scalar.saturations.any()  # the limits were exercised


def test_torques_takes_the_scalar_path_for_small_arms_only() -> None:
    rng = np.random.default_rng(3)
    st = random_state(rng, 3, 2)
    law = CartesianImpedance(3, 2, stiffness_max=2000.0)
    gains = ImpedanceGains([500.0, 800.0], 0.7)
    np.testing.assert_array_equal(law.torques(st, np.zeros(2), gains), law._torques_scalar(st, np.zeros(2), gains))
    assert not CartesianImpedance(3, 3, stiffness_max=1.0)._scalar
    assert not CartesianImpedance(_SCALAR_MAX_JOINTS + 1, 2, stiffness_max=1.0)._scalar


@pytest.mark.parametrize(
    ("field", "bad"),
    [("x", np.array([np.nan, 0.0])), ("qd", np.array([0.0, np.inf, 0.0])), ("bias", np.array([0.0, 0.0, np.nan])),
     ("jacobian", np.array([[np.inf, 0.0, 0.0], [0.0, 1.0, 0.0]])),
     ("mass_matrix", np.array([[1.0, 0.0, np.inf], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])),  # upper triangle
     ("mass_matrix", np.diag([1.0, -1.0, 1.0])), ("jacobian", np.zeros((3, 2)))],
)
def test_scalar_path_hands_bad_inputs_to_the_array_path_unchanged(field: str, bad) -> None:
    rng = np.random.default_rng(4)
    st = replace(random_state(rng, 3, 2), **{field: bad})
    law = CartesianImpedance(3, 2, stiffness_max=2000.0, stiffness_min=10.0, torque_limit=1e-3,
                             tank=EnergyTank(0.5, 1.0, 1e-3))
    gains = ImpedanceGains([500.0, 800.0])
    assert law._torques_scalar(st, np.zeros(2), gains) is None
    assert law.tank.level == 0.5 and not law.saturations.any()
    np.testing.assert_array_equal(law.applied_stiffness, [10.0, 10.0])
    with pytest.raises(ValueError, match="state"):
        law.torques(st, np.zeros(2), gains)


def test_inputs_the_checks_accept_in_other_forms_go_through_the_array_path() -> None:
    st = random_state(np.random.default_rng(5), 3, 2)
    law = CartesianImpedance(3, 2, stiffness_max=2000.0)
    gains = ImpedanceGains([500.0, 800.0])
    want = law.torques(st, np.zeros(2), gains)
    for state, setpoint in ((st, np.zeros((1, 2))), (replace(st, x=st.x.tolist()), np.zeros(2))):
        assert law._torques_scalar(state, setpoint, gains) is None
        np.testing.assert_allclose(law.torques(state, setpoint, gains), want, rtol=0,
                                   atol=RTOL * np.abs(want).max())
