"""YANNFast's evaluation layout and chunking (robocritic.yann.network) and chunked ONNX runs.

Large batches are located in cache-sized chunks and through slot-major copies of the facets; the
results must equal one-piece evaluation and ExplicitMPC, gradients must flow, ``torch.export`` /
ONNX must record one graph, and the derived buffers must stay out of the ``state_dict``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC

from robocritic.yann.network import YANNFast

pytest.importorskip("ppopt")

_CACHE: dict[str, ExplicitLaw] = {}


def law_of(name: str) -> ExplicitLaw:
    from robocritic.yann.mpqp import compute_explicit_mpc, reference_problem

    if name not in _CACHE:
        prob = reference_problem(name)
        _CACHE[name] = compute_explicit_mpc(prob.model, prob.config).law
    return _CACHE[name]


def mixed_states(law: ExplicitLaw, n: int, seed: int) -> np.ndarray:
    """Domain-box states plus far-away ones (fallback)."""
    from robocritic.yann.mpqp import sample_domain

    rng = np.random.default_rng(seed)
    far = law.x_eq + rng.uniform(-30, 30, size=(n // 4, law.n_x))
    return np.vstack([sample_domain(law, n - n // 4, rng), far])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_chunked_equals_one_piece_and_the_explicit_law(dtype: torch.dtype):
    law = law_of("pendulum_n5")
    X = mixed_states(law, 3001, seed=3)
    net = YANNFast(law, dtype=dtype)
    T = torch.from_numpy(X).to(dtype)
    assert net._chunk_rows(T) > 0  # the default chunking is active at this batch size
    chunked = net(T)
    net.CHUNK_ELEMS = 10**12  # one piece
    assert net._chunk_rows(T) == 0
    whole = net(T)
    tiny = YANNFast(law, dtype=dtype)
    tiny.CHUNK_ELEMS = 1  # one row per chunk
    single = tiny(T[:200])
    tol = 1e-12 if dtype == torch.float64 else 1e-4
    for out in (whole, chunked):
        np.testing.assert_allclose(out.u.double().numpy(), chunked.u.double().numpy(), rtol=0, atol=tol)
        np.testing.assert_array_equal(out.feasible.numpy(), chunked.feasible.numpy())
    np.testing.assert_allclose(single.u.double().numpy(), chunked.u[:200].double().numpy(), rtol=0, atol=tol)
    np.testing.assert_array_equal(single.feasible.numpy(), chunked.feasible[:200].numpy())
    ev = ExplicitMPC(law).evaluate(X)
    inside = ev.margin < -1e-9
    np.testing.assert_array_equal(chunked.feasible.numpy()[inside], True)
    region, margin = net.locate(T)
    np.testing.assert_array_equal(region.numpy()[inside], ev.region[inside])
    if dtype == torch.float64:
        np.testing.assert_allclose(chunked.u.numpy()[ev.feasible], ev.u[ev.feasible], rtol=0, atol=1e-12)
        np.testing.assert_allclose(margin.numpy(), ev.margin, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(chunked.feasible.numpy(), ev.feasible)


def test_single_state_and_gradients():
    law = law_of("pendulum_n2")
    net = YANNFast(law)
    x = torch.from_numpy(law.x_eq + np.array([0.05, -0.1]))
    out = net(x)
    assert out.u.shape == (1, law.n_u) and out.feasible.shape == (1,) and out.margin.shape == (1,)
    region, margin = net.locate(x)
    assert region.shape == (1,) and margin.shape == (1,)
    # Gradients flow through the chunked path: du/dx is the active region's gain (unsaturated).
    net.CHUNK_ELEMS = 1
    X = torch.from_numpy(law.x_eq + np.random.default_rng(0).uniform(-0.02, 0.02, size=(50, 2)))
    X.requires_grad_(True)
    out = net(X)
    out.u.sum().backward()
    reg, _ = net.locate(X.detach())
    np.testing.assert_allclose(X.grad.numpy(), law.K[reg.numpy()].sum(axis=1), rtol=0, atol=1e-12)


def test_derived_buffers_follow_dtype_but_stay_out_of_the_state_dict():
    law = law_of("pendulum_n2")
    net = YANNFast(law)
    assert set(net.state_dict()) == {"E", "f", "K", "r", "x_eq", "u_eq", "u_low", "u_high"}
    net32 = net.float()
    assert net32._Et_slot.dtype == torch.float32 and net32._nf_slot.dtype == torch.float32
    fresh = YANNFast(law)
    fresh.load_state_dict(YANNFast(law).state_dict())  # strict: same keys as before


def test_export_records_one_graph_and_chunked_onnx_runs_agree(tmp_path: Path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from robocritic.yann.export import export_onnx, onnx_session, run_onnx

    law = law_of("pendulum_n5")
    net = YANNFast(law)
    net.CHUNK_ELEMS = 1  # would chunk any batch > 1 outside export
    X = mixed_states(law, 2500, seed=4)
    path = export_onnx(net, tmp_path / "fast.onnx", check_states=X)
    sess = onnx_session(path)
    whole = run_onnx(sess, X, chunk_rows=None)
    chunked = run_onnx(sess, X)  # default: chunks of 1024 rows
    odd = run_onnx(sess, X, chunk_rows=7)
    for got in (chunked, odd):
        assert set(got) == {"u", "feasible", "margin"}
        np.testing.assert_allclose(got["u"], whole["u"], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(got["feasible"], whole["feasible"])
    with pytest.raises(ValueError, match="chunk_rows"):
        run_onnx(sess, X, chunk_rows=0)


def test_derived_buffers_follow_a_loaded_state_dict():
    law = law_of("pendulum_n2")
    net = YANNFast(law)
    other = YANNFast(law)
    with torch.no_grad():  # a different law of the same shape: shift every facet by 0.1
        other.f += 0.1
    other._sync_slot_buffers()
    net.load_state_dict(other.state_dict())
    X = torch.from_numpy(mixed_states(law, 400, seed=5))
    np.testing.assert_array_equal(net(X).margin.numpy(), other(X).margin.numpy())
    assert torch.equal(net._nf_slot, other._nf_slot)
    buf = io.BytesIO()
    torch.save(net, buf)  # whole-module pickling (the hook is a module-level function)
    buf.seek(0)
    back = torch.load(buf, weights_only=False)
    np.testing.assert_array_equal(back(X).u.numpy(), net(X).u.numpy())
