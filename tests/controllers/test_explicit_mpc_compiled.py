"""ExplicitMPC.act's compiled (numba) batch-1 path against its numpy path and ``evaluate``.

Hand-built laws only (no PPOPT): a random polyhedral partition of a 3-D box (regions with
different row counts, so the padded layout is exercised) with random affine laws and a 2-input
box, evaluated inside, on facets and far outside (fallback ties).
"""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
from robocritic.controllers import explicit_mpc
from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC

pytest.importorskip("numba")


def grid_law(seed: int = 0) -> ExplicitLaw:
    """3-D box [-2, 2]^3 cut into 4 x 3 x 2 cells; some cells carry one redundant extra row."""
    rng = np.random.default_rng(seed)
    edges = [np.linspace(-2, 2, 5), np.linspace(-2, 2, 4), np.linspace(-2, 2, 3)]
    regions = []
    for i in range(4):
        for j in range(3):
            for k in range(2):
                lo = np.array([edges[0][i], edges[1][j], edges[2][k]])
                hi = np.array([edges[0][i + 1], edges[1][j + 1], edges[2][k + 1]])
                scale = rng.uniform(0.5, 3.0, size=6)  # any row scaling describes the same cell
                E = np.vstack([np.eye(3), -np.eye(3)]) * scale[:, None]
                f = np.concatenate([hi, -lo]) * scale
                if (i + j + k) % 3 == 0:  # a redundant row: more rows in some regions than others
                    E = np.vstack([E, [[1.0, 1.0, 1.0]]])
                    f = np.append(f, 100.0)
                regions.append((E, f))
    p = len(regions)
    return ExplicitLaw.from_regions(
        regions, K=rng.normal(size=(p, 2, 3)), r=rng.normal(size=(p, 2)),
        domain_A=np.vstack([np.eye(3), -np.eye(3)]), domain_b=np.full(6, 4.0),
        domain_low=np.full(3, -4.0), domain_high=np.full(3, 4.0), x_eq=[0.5, -1.0, 2.0], u_eq=[1.0, -1.0],
        u_low=[-3.0, -2.0], u_high=[3.0, 2.0], dt=0.1,
    )


def states(law: ExplicitLaw, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    inside = rng.uniform(-2, 2, size=(n, 3))
    on_facets = np.round(rng.uniform(-2, 2, size=(n, 3)))  # cell corners and facets: exact ties
    outside = rng.uniform(-12, 12, size=(n, 3))  # fallback, often tied between regions
    return law.x_eq + np.vstack([inside, on_facets, outside])


def test_compiled_path_is_in_use():
    assert ExplicitMPC(grid_law())._kernel is not None


def test_compiled_act_equals_numpy_act_and_evaluate(caplog: pytest.LogCaptureFixture):
    law = grid_law()
    fast, slow = ExplicitMPC(law), ExplicitMPC(law)
    slow._kernel = None
    X = states(law, 300, seed=1)
    ev = fast.evaluate(X)
    with caplog.at_level(logging.ERROR, logger="robocritic.controllers.explicit_mpc"):
        for k, x in enumerate(X):
            u_fast, u_slow = fast.act(x), slow.act(x)
            np.testing.assert_allclose(u_fast, u_slow, rtol=0, atol=1e-12)
            np.testing.assert_allclose(u_fast, ev.u[k], rtol=0, atol=1e-12)
            assert fast.last_region == slow.last_region == ev.region[k]
            assert fast.last_margin == pytest.approx(slow.last_margin, abs=1e-12)
            assert fast.last_infeasible == slow.last_infeasible == (not ev.feasible[k])
            assert fast.feasible(x) == bool(ev.feasible[k])
    assert fast.n_calls == slow.n_calls == len(X)
    assert fast.n_infeasible == slow.n_infeasible == int((~ev.feasible).sum()) > 0


def test_compiled_act_input_handling():
    law = grid_law()
    ctrl = ExplicitMPC(law)
    x = law.x_eq + np.array([0.3, -0.2, 0.1])
    ref = ctrl.act(x)
    frozen = x.copy()
    frozen.setflags(write=False)
    strided = np.repeat(x, 2)[::2]
    for variant in (x.tolist(), frozen, strided, x[None, :]):
        np.testing.assert_array_equal(ctrl.act(variant), ref)
    u1, u2 = ctrl.act(x), ctrl.act(x)
    assert u1 is not u2  # a fresh array per call: the caller may keep it
    ints = ExplicitMPC(law).act(np.array([0, -1, 2]))  # integer states are converted
    np.testing.assert_allclose(ints, ExplicitMPC(law).act(np.array([0.0, -1.0, 2.0])))
    for bad, match in (
        (np.array([np.nan, 0.0, 0.0]), "obs"), (np.array([0.0, np.inf, 0.0]), "obs"),
        (np.zeros(2), "obs"), (np.zeros((2, 3)), "obs"), ("abc", "obs"),
    ):
        with pytest.raises(ValueError, match=match):
            ctrl.act(bad)
    assert ctrl.n_calls == 7  # 1 + 4 variants + 2; failed calls are not counted


def test_one_dimensional_law_and_scalar_state():
    law = ExplicitLaw.from_regions(
        [(np.array([[1.0], [-1.0]]), np.array([1.0, 1.0]))], K=np.array([[[-0.5]]]), r=np.zeros((1, 1)),
        domain_A=[[1.0], [-1.0]], domain_b=[10.0, 10.0], domain_low=[-10.0], domain_high=[10.0],
        x_eq=[0.0], u_eq=[0.0], u_low=[-1.0], u_high=[1.0], dt=1.0,
    )
    ctrl = ExplicitMPC(law)
    assert ctrl.act(0.5)[0] == -0.25 and ctrl.act(np.array([8.0]))[0] == -1.0 and ctrl.last_infeasible


def test_pickle_keeps_the_compiled_path():
    ctrl = ExplicitMPC(grid_law())
    back = pickle.loads(pickle.dumps(ctrl))
    assert back._kernel is not None
    x = ctrl.law.x_eq + 0.1
    np.testing.assert_array_equal(back.act(x), ctrl.act(x))
    ctrl._kernel = None
    assert pickle.loads(pickle.dumps(ctrl))._kernel is None


def test_environment_variable_turns_it_off(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(explicit_mpc, "_KERNEL_STATE", {})
    monkeypatch.setenv("ROBOCRITIC_NUMBA", "0")
    ctrl = ExplicitMPC(grid_law())
    assert ctrl._kernel is None
    assert ctrl.act(ctrl.law.x_eq).shape == (2,)
