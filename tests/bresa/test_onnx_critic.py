"""ONNX Runtime and fast numpy forms of the Bresa critic: same risks as NumpyCritic and torch,
batch limits, digest-checked files, and use inside the safety filters."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from robocritic.bresa.critic import NumpyCritic, SafetyCritic
from robocritic.bresa.fast_critic import FastCritic
from robocritic.bresa.features import FeatureLayout, command
from robocritic.bresa.filters import MinimalModificationFilter, ReflexFilter, RiskModel

LAY = FeatureLayout(2)
BATCHES = (1, 7, 25, 64)
TOL = {"float32": 1e-6, "float64": 1e-12}


def _ort():
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from robocritic.bresa import onnx_critic

    return onnx_critic


def _critic(activation: str = "tanh", n_in: int = LAY.n_in) -> SafetyCritic:
    c = SafetyCritic(n_in, (16, 12), activation, seed=5)
    c.set_normalisation(np.random.default_rng(0).normal(1.0, 3.0, size=(200, n_in)))
    return c.eval()


def _x(batch: int, n_in: int = LAY.n_in, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(1.0, 4.0, size=(batch, n_in))


def _torch_risk(critic: SafetyCritic, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return critic.risk(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("layout", ["fused", "split"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_onnx_risk_equals_numpy_and_torch(dtype, layout, activation):
    oc = _ort()
    critic = _critic(activation)
    model = oc.OnnxCritic.from_module(critic, dtype=dtype, layout=layout, max_batch=64)
    reference = NumpyCritic.from_module(critic, dtype=np.dtype(dtype).type, max_batch=64)
    assert model.dtype == np.dtype(dtype) and model.n_in == LAY.n_in
    for batch in BATCHES:
        x = _x(batch, seed=batch)
        got = model.risk(x).copy()
        assert got.shape == (batch,) and got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, reference.risk(x), rtol=0, atol=TOL[dtype])
        np.testing.assert_allclose(got, _torch_risk(critic, x), rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("layout", ["stacked", "fused"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fast_numpy_risk_equals_numpy_and_torch(dtype, layout, activation):
    critic = _critic(activation)
    np_dtype = np.dtype(dtype).type
    model = FastCritic.from_module(critic, dtype=np_dtype, layout=layout, max_batch=64)
    reference = NumpyCritic.from_module(critic, dtype=np_dtype, max_batch=64)
    for batch in BATCHES:
        x = _x(batch, seed=batch)
        got = model.risk(x).copy()
        assert got.shape == (batch,) and got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, reference.risk(x), rtol=0, atol=TOL[dtype])
        np.testing.assert_allclose(got, _torch_risk(critic, x), rtol=0, atol=TOL[dtype])


def test_a_one_dimensional_input_is_batch_one():
    oc = _ort()
    critic = _critic()
    x = _x(1)
    for model in (oc.OnnxCritic.from_module(critic, dtype="float64"), FastCritic.from_module(critic)):
        np.testing.assert_allclose(model.risk(x[0]), _torch_risk(critic, x), atol=1e-12)


def test_calls_reuse_their_buffers_and_earlier_results_are_overwritten():
    oc = _ort()
    model = oc.OnnxCritic.from_module(_critic(), max_batch=8)
    first = model.risk(_x(8, seed=1))
    kept = first.copy()
    second = model.risk(_x(8, seed=2))
    assert np.shares_memory(first, second)  # views of one output buffer: nothing allocated per call
    assert not np.array_equal(first, kept)


def test_a_batch_over_max_batch_or_a_wrong_width_is_refused():
    oc = _ort()
    critic = _critic()
    models = (oc.OnnxCritic.from_module(critic, max_batch=16), FastCritic.from_module(critic, max_batch=16))
    for model in models:
        with pytest.raises(ValueError, match="max_batch=16"):
            model.risk(_x(17))
        with pytest.raises(ValueError, match=r"x: expected shape \(B, 16\)"):
            model.risk(_x(4, n_in=15))
        assert model.risk(_x(16)).shape == (16,)
    with pytest.raises(ValueError, match="max_batch"):
        oc.OnnxCritic.from_module(critic, max_batch=0)


def test_bad_arguments_name_the_field():
    oc = _ort()
    critic = _critic()
    with pytest.raises(ValueError, match="dtype"):
        oc.critic_onnx_bytes(critic, dtype="float16")
    with pytest.raises(ValueError, match="layout"):
        oc.critic_onnx_bytes(critic, layout="stacked")
    with pytest.raises(ValueError, match="layout"):
        FastCritic.from_module(critic, layout="split")


def test_export_round_trip_keeps_risks_and_feature_names(tmp_path):
    oc = _ort()
    critic = _critic()
    names = [f"f{i}" for i in range(LAY.n_in)]
    path = oc.export_onnx_critic(critic, tmp_path / "critic.onnx", dtype="float64", layout="split",
                                 feature_names=names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["critic.onnx", "critic.onnx.json"]
    model = oc.load_onnx_critic(path, max_batch=25)
    assert model.feature_names == tuple(names) and model.max_batch == 25
    x = _x(25)
    np.testing.assert_allclose(model.risk(x), _torch_risk(critic, x), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="feature_names"):
        oc.export_onnx_critic(critic, tmp_path / "other.onnx", feature_names=names[:-1])


def test_an_edited_or_replaced_model_is_refused(tmp_path):
    oc = _ort()
    path = oc.export_onnx_critic(_critic(), tmp_path / "critic.onnx")
    good = path.read_bytes()
    # a float32 weight nudged in its last bits: still a valid model, but not the exported one
    i = len(good) // 2
    path.write_bytes(good[:i] + bytes([good[i] ^ 1]) + good[i + 1:])
    with pytest.raises(ValueError, match="sha256"):
        oc.load_onnx_critic(path)
    # another valid critic under this sidecar
    oc.export_onnx_critic(_critic("relu"), tmp_path / "other.onnx")
    path.write_bytes((tmp_path / "other.onnx").read_bytes())
    with pytest.raises(ValueError, match="sha256"):
        oc.load_onnx_critic(path)
    path.write_bytes(good)
    assert oc.load_onnx_critic(path).n_in == LAY.n_in


def test_a_missing_or_foreign_sidecar_is_refused(tmp_path):
    oc = _ort()
    path = oc.export_onnx_critic(_critic(), tmp_path / "critic.onnx")
    side = oc.onnx_sidecar(path)
    meta = json.loads(side.read_text())
    side.write_text(json.dumps({**meta, "kind": "bresa.SafetyCritic"}))
    with pytest.raises(ValueError, match="format/kind"):
        oc.load_onnx_critic(path)
    side.write_text(json.dumps({**meta, "n_in": 15}))
    with pytest.raises(ValueError, match="n_in/dtype"):
        oc.load_onnx_critic(path)
    side.unlink()
    with pytest.raises(ValueError, match="critic.onnx.json"):
        oc.load_onnx_critic(path)
    with pytest.raises(ValueError, match=r"\.json"):
        oc.export_onnx_critic(_critic(), tmp_path / "critic.json")


def _state(rng: np.random.Generator) -> np.ndarray:
    s = np.zeros(LAY.n_state)
    s[LAY.position] = (rng.uniform(0.40, 0.55), rng.uniform(-0.27, -0.24))
    s[LAY.velocity] = rng.normal(0.0, 0.05, 2)
    s[LAY.force] = rng.uniform(0.0, 35.0)
    s[LAY.log_stiffness] = np.log(rng.uniform(300.0, 3000.0, 2))
    return s


def test_the_filters_take_the_onnx_critic_and_decide_as_with_numpy():
    oc = _ort()
    critic = _critic()
    onnx_model = oc.OnnxCritic.from_module(critic, dtype="float64", layout="split", max_batch=64)
    numpy_model = NumpyCritic.from_module(critic, max_batch=64)
    assert isinstance(onnx_model, RiskModel)
    rng = np.random.default_rng(3)
    ticks = [(_state(rng), command([0.45, -0.26 - 0.02 * rng.uniform()],
                                   np.log(rng.uniform(300.0, 3000.0, 2))))
             for _ in range(30)]
    risks = [float(numpy_model.risk(LAY.critic_input(s, a)[None])[0]) for s, a in ticks]
    threshold = float(np.clip(np.median(risks), 0.01, 0.99))  # about half of the ticks are risky
    grid = {"retreats": np.linspace(0.0, 0.02, 8), "stiffness_scales": np.geomspace(1.0, 0.15, 8)}
    pairs = [
        (ReflexFilter(onnx_model, LAY, threshold=threshold),
         ReflexFilter(numpy_model, LAY, threshold=threshold)),
        (MinimalModificationFilter(onnx_model, LAY, threshold=threshold),
         MinimalModificationFilter(numpy_model, LAY, threshold=threshold)),
        (MinimalModificationFilter(onnx_model, LAY, threshold=threshold, **grid),
         MinimalModificationFilter(numpy_model, LAY, threshold=threshold, **grid)),
    ]
    assert pairs[2][0].n_candidates == 64
    for with_onnx, with_numpy in pairs:
        for s, a in ticks:
            cmd, info = with_onnx.certify(s, a)
            cmd_ref, info_ref = with_numpy.certify(s, a)
            np.testing.assert_array_equal(cmd, cmd_ref)
            assert info["intervened"] == info_ref["intervened"]
            assert info["risk"] == pytest.approx(info_ref["risk"], abs=1e-12)
        assert with_onnx.interventions == with_numpy.interventions > 0


def test_the_min_mod_grid_must_fit_the_onnx_critic_max_batch():
    oc = _ort()
    small = oc.OnnxCritic.from_module(_critic(), max_batch=16)
    with pytest.raises(ValueError, match="max_batch 16"):
        MinimalModificationFilter(small, LAY)  # the default 5 x 5 grid: 25 candidates
