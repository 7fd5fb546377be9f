"""Bresa SafetyCritic: shapes, normalisation buffers, NumpyCritic equality, weights-only files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from robocritic.bresa.critic import (
    NumpyCritic,
    SafetyCritic,
    critic_input,
    load_critic,
    save_critic,
)
from robocritic.learning.checkpoint import CheckpointError

N_IN = 12


def _critic(dtype: str = "float64", activation: str = "tanh") -> SafetyCritic:
    c = SafetyCritic(N_IN, (64, 64), activation, dtype=dtype, seed=7)
    rng = np.random.default_rng(0)
    c.set_normalisation(rng.normal(2.0, 3.0, size=(200, N_IN)))
    return c.eval()


def _x(batch: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(2.0, 4.0, size=(batch, N_IN))


def test_forward_shape_range_and_risk_is_max():
    c = _critic()
    x = torch.from_numpy(_x(64))
    with torch.no_grad():
        q = c(x)
        r = c.risk(x)
    assert q.shape == (64, 2) and r.shape == (64,)
    assert bool(((q > 0) & (q < 1)).all())
    assert torch.equal(r, q.max(dim=1).values)
    assert not torch.equal(q[:, 0], q[:, 1])  # twins differ by initialisation


def test_seed_fixes_weights_and_leaves_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = SafetyCritic(N_IN, seed=5)
    after = torch.rand(1)
    b = SafetyCritic(N_IN, seed=5)
    assert torch.equal(before, after)
    for (_, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(pa, pb)


def test_normalisation_lives_in_buffers():
    c = _critic()
    keys = set(c.state_dict())
    assert {"in_mean", "in_std"} <= keys
    assert "in_mean" not in dict(c.named_parameters())
    assert abs(float(c.in_mean.mean()) - 2.0) < 0.3
    np.testing.assert_array_equal(critic_input(np.ones((3, 4)), np.zeros((3, 2))).shape, (3, 6))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("batch", [1, 64])
def test_numpy_critic_equals_torch_float64(batch, activation):
    c = _critic(activation=activation)
    nc = NumpyCritic.from_module(c)
    x = _x(batch)
    with torch.no_grad():
        ref = c(torch.from_numpy(x)).numpy()
        ref_risk = c.risk(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(nc.evaluate(x), ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(nc.risk(x), ref_risk, rtol=0, atol=1e-12)
    if batch == 1:
        np.testing.assert_allclose(nc.risk(x[0]), ref_risk, rtol=0, atol=1e-12)


@pytest.mark.parametrize("batch", [1, 64])
def test_numpy_critic_float32(batch):
    c = _critic(dtype="float32")
    nc = NumpyCritic.from_module(c, dtype=np.float32)
    x = _x(batch).astype(np.float32)
    with torch.no_grad():
        ref = c(torch.from_numpy(x)).numpy()
    out = nc.evaluate(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-6)


def test_numpy_critic_allocates_no_new_output_and_checks_shape():
    nc = NumpyCritic.from_module(_critic(), max_batch=8)
    a = nc.evaluate(_x(4))
    b = nc.evaluate(_x(4, seed=2))
    assert np.shares_memory(a, b)  # the same preallocated buffer
    with pytest.raises(ValueError, match="expected shape"):
        nc.evaluate(_x(9))
    with pytest.raises(ValueError, match="expected shape"):
        nc.evaluate(np.zeros((1, N_IN + 1)))


def test_save_load_round_trip(tmp_path):
    c = _critic(activation="relu")
    path = save_critic(c, tmp_path / "critic.pt")
    side = json.loads((tmp_path / "critic.json").read_text())
    assert side["spec"] == {**side["spec"], "n_in": N_IN, "hidden": [64, 64], "activation": "relu",
                            "dtype": "float64"}
    assert side["format"] == 1 and len(side["sha256"]) == 64
    # weights-only: plain torch.load with weights_only=True reads it (no pickled objects)
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"state_dict"}
    loaded = load_critic(path)
    assert not loaded.training
    for k, v in c.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    x = torch.from_numpy(_x(16))
    with torch.no_grad():
        assert torch.equal(loaded(x), c(x))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["critic.json", "critic.pt"]  # no temp files


def test_tampered_weights_are_rejected(tmp_path):
    path = save_critic(_critic(), tmp_path / "critic.pt")
    data = bytearray(path.read_bytes())
    data[-100] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_critic(path)


class _Evil:
    def __reduce__(self):
        return (print, ("executed",))


def test_pickled_object_is_refused_even_with_a_matching_digest(tmp_path, capsys):
    import hashlib

    path = save_critic(_critic(), tmp_path / "critic.pt")
    torch.save({"state_dict": _Evil()}, path)
    side = json.loads((tmp_path / "critic.json").read_text())
    side["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "critic.json").write_text(json.dumps(side))
    with pytest.raises(CheckpointError, match="refused"):
        load_critic(path)
    assert "executed" not in capsys.readouterr().out


def test_sidecar_mismatch_and_missing_files(tmp_path):
    path = save_critic(_critic(), tmp_path / "critic.pt")
    side = json.loads((tmp_path / "critic.json").read_text())
    (tmp_path / "critic.json").write_text(json.dumps({**side, "spec": {**side["spec"], "hidden": [32, 32]}}))
    with pytest.raises(CheckpointError, match="do not fit"):
        load_critic(path)
    (tmp_path / "critic.json").write_text(json.dumps({**side, "format": 99}))
    with pytest.raises(CheckpointError, match="format"):
        load_critic(path)
    with pytest.raises(CheckpointError, match="missing"):
        load_critic(tmp_path / "other.pt")
