"""YANN networks (robocritic.yann.network) and their ONNX export (robocritic.yann.export).

Both forms == ExplicitMPC == online DAQP at >= 1000 random feasible states per reference problem:
|du| <= 1e-9 in float64; in float32 within the bound documented in robocritic.yann.network
(``4 eps32 (|K_i| (|x| + |x_eq|) + |r_i| + 1)``, plus ``4 eps32 M_i`` for the 5-layer form; tested
with a factor 2 margin). Feasibility flags are identical in float64. A too-small big-M is an error
at build time. The laws come from PPOPT (the ``explicit`` extra); hand-built laws cover the rest.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC

from robocritic.yann.network import YANN, YANNFast, required_big_m

EXACT = 1e-9
EPS32 = float(np.finfo(np.float32).eps)
FLOAT32_FACTOR = 8.0  # 2x the documented 4 eps32 bound
MIN_FEASIBLE = 1000

_CACHE: dict[str, object] = {}


def reference(name: str):
    """``(law, online LinearMPC)`` of a reference problem, solved once per session."""
    pytest.importorskip("ppopt")
    from robocritic.yann.mpqp import compute_explicit_mpc, reference_problem

    if name not in _CACHE:
        prob = reference_problem(name)
        _CACHE[name] = compute_explicit_mpc(prob.model, prob.config)
    res = _CACHE[name]
    return res.law, res.mpc


def draw_states(law: ExplicitLaw, seed: int, n_feasible: int = MIN_FEASIBLE) -> np.ndarray:
    from robocritic.yann.mpqp import sample_domain

    rng = np.random.default_rng(seed)
    ctrl = ExplicitMPC(law)
    X = sample_domain(law, 1000, rng)
    while ctrl.evaluate(X).feasible.sum() < n_feasible:
        X = np.vstack([X, sample_domain(law, 1000, rng)])
    return X


def two_output_law() -> ExplicitLaw:
    """Hand-built 2-input law on [-1, 1] x [-1, 1] (three vertical strips; continuous)."""
    strips = [(-1.0, -0.3), (-0.3, 0.4), (0.4, 1.0)]
    regions = [
        (np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]), np.array([-lo, hi, 1.0, 1.0]))
        for lo, hi in strips
    ]
    # u = K_i x + r_i, continuous at x0 = -0.3 and x0 = 0.4 (only the x0 slope changes).
    K = np.array([[[2.0, 1.0], [0.0, -1.0]], [[1.0, 1.0], [-1.0, -1.0]], [[3.0, 1.0], [0.5, -1.0]]])
    r = np.array([[-0.3 * (2.0 - 1.0) * -1, 0.0], [0.0, 0.0], [0.0, 0.0]])
    r[0] = (K[1, :, 0] - K[0, :, 0]) * -0.3
    r[2] = (K[1, :, 0] - K[2, :, 0]) * 0.4
    return ExplicitLaw.from_regions(
        regions, K=K, r=r, domain_A=np.vstack([np.eye(2), -np.eye(2)]), domain_b=np.full(4, 2.0),
        domain_low=[-2.0, -2.0], domain_high=[2.0, 2.0], x_eq=[0.5, -1.0], u_eq=[1.0, 2.0],
        u_low=[-10.0, -10.0], u_high=[10.0, 10.0], dt=0.1,
    )


def float32_bound(
    law: ExplicitLaw, X: np.ndarray, region: np.ndarray, big_m: np.ndarray | None
) -> np.ndarray:
    """``(B, n_u)`` documented float32 error bound (times FLOAT32_FACTOR)."""
    scale = np.einsum("bun,bn->bu", np.abs(law.K[region]), np.abs(X) + np.abs(law.x_eq))
    scale += np.abs(law.r[region]) + 1.0
    if big_m is not None:
        scale += big_m[region]
    return FLOAT32_FACTOR * EPS32 * scale


NAMES = ["double_integrator", "pendulum_n2", "pendulum_n5", "pendulum_n10", "cstr_paper_n2", "cstr_model_n2"]


@pytest.mark.parametrize("name", NAMES)
def test_float64_yanns_equal_explicit_and_daqp(name: str):
    law, mpc = reference(name)
    X = draw_states(law, seed=10)
    ev = ExplicitMPC(law).evaluate(X)
    online_feasible = np.array([mpc.feasible(x) for x in X])
    np.testing.assert_array_equal(ev.feasible, online_feasible)
    F = np.flatnonzero(ev.feasible)
    assert F.size >= MIN_FEASIBLE
    u_daqp = np.array([mpc.act(X[k]) for k in F])
    assert np.max(np.abs(ev.u[F] - u_daqp)) <= EXACT
    Xt = torch.from_numpy(X)
    for net in (YANN(law), YANNFast(law)):
        with torch.no_grad():
            out = net(Xt)
        assert out.u.dtype == torch.float64 and out.u.shape == (len(X), law.n_u)
        np.testing.assert_array_equal(out.feasible.numpy(), ev.feasible, err_msg=type(net).__name__)
        assert np.max(np.abs(out.u.numpy()[F] - u_daqp)) <= EXACT, type(net).__name__
        assert np.max(np.abs(out.u.numpy()[F] - ev.u[F])) <= EXACT, type(net).__name__


@pytest.mark.parametrize("name", NAMES)
def test_float32_yanns_within_documented_bound(name: str):
    law, _ = reference(name)
    X = draw_states(law, seed=11)
    ev = ExplicitMPC(law).evaluate(X)
    F = ev.feasible
    X32 = torch.from_numpy(X).float()
    for net in (YANN(law, dtype=torch.float32), YANNFast(law, dtype=torch.float32)):
        with torch.no_grad():
            out = net(X32)
        assert out.u.dtype == torch.float32
        big_m = net.big_m if isinstance(net, YANN) else None
        du = np.abs(out.u.double().numpy() - ev.u)
        bound = float32_bound(law, X, ev.region, big_m)
        assert np.all(du[F] <= bound[F]), (type(net).__name__, float(np.max(du[F] / bound[F])))
        # float32 may only disagree on feasibility within rounding distance of the boundary.
        differ = out.feasible.numpy() != F
        near = np.abs(ev.margin) <= 1e-5 * (1.0 + np.max(np.abs(X), axis=1))
        assert np.all(near[differ]), type(net).__name__


def test_multi_output_hand_built_law():
    law = two_output_law()
    ctrl = ExplicitMPC(law)
    X = law.x_eq + np.random.default_rng(0).uniform(-2, 2, size=(3000, 2))
    ev = ctrl.evaluate(X)
    assert 0 < ev.feasible.sum() < len(X)
    F = ev.feasible
    # Continuity of the hand-built law (both outputs) across its two interior facets.
    for x0 in (-0.3, 0.4):
        x = law.x_eq + np.array([x0, 0.2])
        us = [law.K[i] @ (x - law.x_eq) + law.r[i] for i in range(3)]
        assert np.allclose(us[1], us[0 if x0 < 0 else 2])
    for net in (YANN(law), YANNFast(law)):
        out = net(torch.from_numpy(X))
        assert out.u.shape == (3000, 2)
        np.testing.assert_array_equal(out.feasible.numpy(), F)
        assert np.max(np.abs(out.u.numpy()[F] - ev.u[F])) <= 1e-12


def test_multi_input_mpc_law():
    pytest.importorskip("ppopt")
    from robocritic.controllers import MPCConfig

    from robocritic.dynamics import Box, LinearModel
    from robocritic.yann.mpqp import compute_explicit_mpc

    model = LinearModel(
        A=[[1.0, 0.1], [0.0, 1.0]], B=[[0.1, 0.0], [0.0, 0.1]], dt=0.1, x_eq=[1.0, 0.0], u_eq=[0.5, 0.0],
        state_box=Box.symmetric([5.0, 5.0]), input_box=Box.symmetric([1.0, 2.0]),
    )
    res = compute_explicit_mpc(model, MPCConfig(horizon=3, Q=np.eye(2), R=0.1 * np.eye(2)))
    X = draw_states(res.law, seed=12)
    F = np.flatnonzero(ExplicitMPC(res.law).evaluate(X).feasible)
    u_daqp = np.array([res.mpc.act(X[k]) for k in F])
    for net in (YANN(res.law), YANNFast(res.law)):
        out = net(torch.from_numpy(X))
        assert np.max(np.abs(out.u.numpy()[F] - u_daqp)) <= EXACT


def test_faithful_layers_one_hot_and_silent_zero_outside():
    law = two_output_law()
    net = YANN(law)
    X = torch.from_numpy(law.x_eq + np.array([[0.0, 0.0], [-0.3, 0.5], [0.4, -1.0], [1.5, 0.0], [0.0, 1.7]]))
    a = net.activations(X)
    np.testing.assert_array_equal(a["z3"].sum(dim=1).numpy(), [1, 1, 1, 0, 0])
    assert set(np.unique(a["z3"].numpy())) <= {0.0, 1.0}
    assert set(np.unique(a["h1"].numpy())) <= {0.0, 1.0}
    # On a shared facet (x0 = -0.3) both regions are active and the highest index wins.
    np.testing.assert_array_equal(a["z2"][1].numpy(), [1, 1, 0])
    np.testing.assert_array_equal(a["z3"][1].numpy(), [0, 1, 0])
    out = net(X)
    # Outside every region the paper network outputs u_eq (zero deviation): flagged, not hidden.
    np.testing.assert_array_equal(out.feasible.numpy(), [True, True, True, False, False])
    np.testing.assert_allclose(out.u[3:].numpy(), np.tile(law.u_eq, (2, 1)))
    assert out.margin is None
    # Layer widths: q, p, p, 2 p m, m.
    assert (net.l1.out_features, net.l2.out_features, net.l3.out_features, net.l4.out_features,
            net.l5.out_features) == (12, 3, 3, 12, 2)
    assert not any(p.requires_grad for p in net.parameters())


def test_fast_form_fallback_equals_explicit_controller():
    law = two_output_law()
    X = law.x_eq + np.array([[1.5, 0.0], [0.0, 1.7], [-1.9, -1.9], [9.0, 9.0]])
    ev = ExplicitMPC(law).evaluate(X)
    out = YANNFast(law)(torch.from_numpy(X))
    assert not out.feasible.any()
    np.testing.assert_allclose(out.u.numpy(), ev.u, atol=1e-12)
    np.testing.assert_allclose(out.margin.numpy(), ev.margin, atol=1e-12)
    region, _ = YANNFast(law).locate(torch.from_numpy(X))
    np.testing.assert_array_equal(region.numpy(), ev.region)
    assert np.all(np.abs(out.u.numpy() - law.u_eq) <= 10.0)  # clipped to the input box


def test_big_m_is_the_domain_supremum():
    law = two_output_law()
    need = required_big_m(law)
    rng = np.random.default_rng(1)
    dx = rng.uniform(law.domain_low, law.domain_high, size=(20000, 2))
    laws = np.abs(np.einsum("pun,bn->bpu", law.K, dx) + law.r)  # every law at every state
    assert np.all(laws <= need[None] + 1e-12)
    assert np.all(laws.max(axis=0) >= 0.9 * need)  # and reasonably tight
    net = YANN(law)
    assert np.all(net.big_m >= need)
    YANN(law, big_m=float(need.max()))  # a scalar M that is large enough is accepted
    YANN(law, big_m=need)  # so is the exact per-region bound


def test_too_small_big_m_is_detected_at_build_time():
    law = two_output_law()
    need = required_big_m(law)
    with pytest.raises(ValueError, match="big_m too small: region"):
        YANN(law, big_m=0.5 * float(need.max()))
    with pytest.raises(ValueError, match="big_m must be"):
        YANN(law, big_m=np.ones((2, 2)))
    with pytest.raises(ValueError, match="big_m must be finite"):
        YANN(law, big_m=np.full(need.shape, np.inf))


def test_authors_fixed_m_fails_on_the_cstr(monkeypatch: pytest.MonkeyPatch):
    # The authors' M = 500 is too small for the CSTR (laws reach ~3,350): the build refuses it...
    law, _ = reference("cstr_paper_n2")
    assert required_big_m(law).max() > 3000
    with pytest.raises(ValueError, match="big_m too small"):
        YANN(law, big_m=500.0)
    # ...and it would indeed be wrong: with the check bypassed the output is off by thousands.
    from robocritic.yann import network

    monkeypatch.setattr(network, "required_big_m", lambda law: np.zeros((law.n_regions, law.n_u)))
    bad = YANN(law, big_m=500.0)
    X = draw_states(law, seed=13)
    ev = ExplicitMPC(law).evaluate(X)
    du = np.abs(bad(torch.from_numpy(X)).u.numpy() - ev.u)[ev.feasible]
    assert du.max() > 100.0


def test_dtype_and_device_moves():
    law = two_output_law()
    net = YANNFast(law).float()
    assert net.E.dtype == torch.float32
    net64 = YANN(law, dtype=torch.float32).double()
    assert net64.l4.weight.dtype == torch.float64
    with pytest.raises(ValueError, match="facet_tol"):
        YANN(law, facet_tol=-1.0)
    with pytest.raises(ValueError, match="feasibility_tol"):
        YANNFast(law, feasibility_tol=float("nan"))


# -- ONNX -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("form", [YANNFast, YANN], ids=["fast", "5layer"])
def test_onnx_export_equals_torch(tmp_path: Path, form: type, dtype: torch.dtype):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from robocritic.yann.export import check_onnx, export_onnx, onnx_session, run_onnx

    law, _ = reference("pendulum_n5")
    net = form(law, dtype=dtype)
    rng = np.random.default_rng(14)
    X = np.vstack([draw_states(law, seed=15, n_feasible=200), law.x_eq + rng.uniform(-30, 30, size=(50, 2))])
    path = export_onnx(net, tmp_path / "yann.onnx", check_states=X)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["yann.onnx"]  # atomic, no external data
    du = check_onnx(net, path, X)
    with torch.no_grad():
        scale = max(1.0, float(net(torch.from_numpy(X).to(dtype)).u.abs().max()))
    # Relative: outside the domain box the 5-layer form's (flagged) output is large garbage,
    # summed in a different order by ONNX Runtime's Gemm.
    assert du <= (1e-12 if dtype == torch.float64 else 1e-5) * scale
    sess = onnx_session(path)
    names = [o.name for o in sess.get_outputs()]
    assert names == (["u", "feasible"] if form is YANN else ["u", "feasible", "margin"])
    for B in (1, 7):  # dynamic batch
        got = run_onnx(sess, X[:B])
        with torch.no_grad():
            ref = net(torch.from_numpy(X[:B]).to(dtype))
        atol = 1e-12 if dtype == torch.float64 else 1e-4
        np.testing.assert_allclose(got["u"], ref.u.numpy(), rtol=0, atol=atol)
        np.testing.assert_array_equal(got["feasible"], ref.feasible.numpy())
