"""NavDP model files and training state: weights-only, atomic, digest-checked round trips, and the
errors (naming the file) for truncated, edited, incomplete, mis-shaped and pickled files."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from robocritic.navdp import checkpoint as ckpt
from robocritic.navdp.checkpoint import (
    CheckpointError,
    load_model,
    load_training_state,
    save_model,
    save_training_state,
)
from robocritic.navdp.config import NavDPConfig
from robocritic.navdp.model import NavDPBatch, NavDPNet, train_step
from robocritic.navdp.planner import NavDPPlanner

SMALL = NavDPConfig(depth_height=16, depth_width=16, patch_size=8, d_model=32, n_layers=2, n_heads=2,
                    n_waypoints=8, n_candidates=4, history=2)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def trained_model() -> NavDPNet:
    model = NavDPNet(SMALL, seed=0)
    model.set_label_normalisation(torch.tensor([-5.0, -2.0, 0.5, 1.0]))
    return model.eval()


def batch(seed: int = 0, b: int = 4) -> NavDPBatch:
    g = torch.Generator().manual_seed(seed)
    actions = 0.2 * torch.rand((b, 8, 3), generator=g) - 0.1
    return NavDPBatch(depth=5 * torch.rand((b, 2, 16, 16), generator=g),
                      goal=torch.tensor([[1.0, 0.5, 1.0]]).repeat(b, 1), actions=actions,
                      critic_actions=actions, critic_labels=torch.rand((b,), generator=g))


def raw(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def test_round_trip_gives_identical_outputs(tmp_path):
    model = trained_model()
    path = save_model(model, tmp_path / "navdp.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["navdp.pt"]  # no temporary file left behind
    loaded = load_model(path)
    assert loaded.config == model.config and not loaded.training
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    b = batch()
    with torch.no_grad():
        obs, obs2 = model.encode(b.depth), loaded.encode(b.depth)
        assert torch.equal(obs, obs2)
        assert torch.equal(model.score(b.actions, obs), loaded.score(b.actions, obs2))
        assert torch.equal(model.predict_noise(b.actions, 3, b.goal, obs),
                           loaded.predict_noise(b.actions, 3, b.goal, obs2))
    depth = b.depth[0].numpy()
    p1 = NavDPPlanner(model).plan(depth, (1.0, 0.0), seed=2)
    p2 = NavDPPlanner(loaded).plan(depth, (1.0, 0.0), seed=2)
    assert np.array_equal(p1.candidates, p2.candidates) and np.array_equal(p1.scores, p2.scores)
    # Saving again over the same path replaces the file atomically.
    save_model(NavDPNet(SMALL, seed=1), path)
    assert not torch.equal(load_model(path).action_pos, model.action_pos)
    assert [p.name for p in tmp_path.iterdir()] == ["navdp.pt"]


def test_missing_and_truncated_files_are_refused_naming_them(tmp_path):
    path = tmp_path / "navdp.pt"
    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        load_model(path)
    save_model(trained_model(), path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        load_model(path)


def test_flipped_tensor_bytes_are_refused_naming_the_file(tmp_path):
    model = trained_model()
    path = save_model(model, tmp_path / "navdp.pt")
    data = bytearray(path.read_bytes())
    weights = model.eps_head.weight.detach().numpy().tobytes()
    at = data.find(weights)
    assert at > 0
    data[at + len(weights) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        load_model(path)


def test_edited_tensor_fails_the_digest(tmp_path):
    path = save_model(trained_model(), tmp_path / "navdp.pt")
    data = raw(path)
    data["state_dict"]["label_mean"] = data["state_dict"]["label_mean"] + 1.0
    torch.save(data, path)
    with pytest.raises(CheckpointError, match=re.escape(f"{path}: sha256 differs")):
        load_model(path)


def test_missing_key_is_named(tmp_path):
    path = save_model(trained_model(), tmp_path / "navdp.pt")
    data = raw(path)
    del data["sha256"]
    torch.save(data, path)
    message = f"{path}: not a NavDP model file: missing keys ['sha256']"
    with pytest.raises(CheckpointError, match=re.escape(message)):
        load_model(path)


@pytest.mark.parametrize("damage", ["shape", "missing_tensor", "config"])
def test_weights_that_do_not_fit_the_config_are_refused(tmp_path, damage):
    """Consistent files (digest recomputed) whose contents do not make a model."""
    path = save_model(trained_model(), tmp_path / "navdp.pt")
    data = raw(path)
    if damage == "shape":
        data["state_dict"]["action_pos"] = torch.zeros(9, 32)
    elif damage == "missing_tensor":
        del data["state_dict"]["critic_head.bias"]
    else:
        data["config"] = {**data["config"], "n_heads": 5}
    data["sha256"] = ckpt._digest(data["format"], data["kind"], data["config"], data["state_dict"])
    torch.save(data, path)
    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        load_model(path)


class Payload:
    """Would leave a trace if unpickled by a loader that runs arbitrary code."""

    marker: Path | None = None

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickled_object_is_refused_and_never_run(tmp_path):
    path = save_model(trained_model(), tmp_path / "navdp.pt")
    data = raw(path)
    payload = Payload()
    payload.marker = tmp_path / "ran"
    data["config"] = {**data["config"], "extra": payload}
    torch.save(data, path)
    with pytest.raises(CheckpointError, match=re.escape(f"{path}: refused")):
        load_model(path)
    assert not (tmp_path / "ran").exists()


def test_training_state_resumes_the_same_run(tmp_path):
    def make_optimizer(params):
        return torch.optim.Adam(params, lr=1e-3)

    model = NavDPNet(SMALL, seed=0)
    optimizer = make_optimizer(model.parameters())
    for s in range(3):
        train_step(model, optimizer, batch(s), torch.Generator().manual_seed(s))
    folder = save_training_state(tmp_path / "run", 3, model, optimizer, extra={"lr_scale": 0.5},
                                 meta={"note": "test"})
    state = load_training_state(tmp_path / "run", make_optimizer)
    assert state.step == 3 and state.path == folder and state.extra == {"lr_scale": 0.5}
    assert state.meta["note"] == "test" and state.model.config == SMALL and state.model.training
    # One more step from the original and from the resumed copy: identical.
    a = train_step(model, optimizer, batch(9), torch.Generator().manual_seed(9))
    b = train_step(state.model, state.optimizer, batch(9), torch.Generator().manual_seed(9))
    assert a == b
    for k, v in model.state_dict().items():
        assert torch.equal(state.model.state_dict()[k], v), k
    # A corrupt state file is refused, naming it.
    state_pt = folder / "state.pt"
    state_pt.write_bytes(state_pt.read_bytes()[:-100])
    with pytest.raises(CheckpointError, match=re.escape(str(state_pt))):
        load_training_state(tmp_path / "run", make_optimizer)


def test_a_training_state_file_is_not_a_model_file(tmp_path):
    model = NavDPNet(dataclasses.replace(SMALL, history=1), seed=0)
    folder = save_training_state(tmp_path / "run", 0, model, torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(CheckpointError, match="not a NavDP model file"):
        load_model(folder / "state.pt")
