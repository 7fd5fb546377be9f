"""The torch-free critic export: same risks as the torch module, refusal of edited or pickled files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robocritic.bresa.critic import SafetyCritic
from robocritic.bresa.export import export_critic, load_exported

NAMES = tuple(f"f{i}" for i in range(6))


@pytest.fixture
def critic() -> SafetyCritic:
    c = SafetyCritic(6, (8, 8), seed=3)
    c.set_normalisation(np.random.default_rng(0).normal(2.0, 3.0, size=(50, 6)))
    return c.eval()


def test_export_round_trip_gives_the_same_risks(critic, tmp_path):
    path = export_critic(critic, NAMES, tmp_path / "critic.npz")
    loaded, names = load_exported(path, max_batch=16)
    assert names == NAMES
    x = np.random.default_rng(1).normal(size=(16, 6))
    with torch.no_grad():
        expected = critic.risk(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(loaded.risk(x), expected, rtol=1e-12)
    assert not list(tmp_path.glob("*.tmp*"))


def test_an_edited_value_is_refused(critic, tmp_path):
    path = export_critic(critic, NAMES, tmp_path / "critic.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["b0"] = arrays["b0"] + 1e-3  # a plausible hand edit
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="sha256"):
        load_exported(path)


def test_a_pickled_or_truncated_file_is_refused(critic, tmp_path):
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, W0=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz"):
        load_exported(pickled)
    good = export_critic(critic, NAMES, tmp_path / "critic.npz")
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="cut.npz"):
        load_exported(cut)


def test_feature_names_must_match_the_inputs(critic, tmp_path):
    with pytest.raises(ValueError, match="feature_names"):
        export_critic(critic, NAMES[:5], tmp_path / "critic.npz")


def test_loading_an_export_needs_no_torch(critic, tmp_path):
    """What a robot without torch relies on: the loader and the fused critic import no torch."""
    import subprocess
    import sys

    path = export_critic(critic, NAMES, tmp_path / "critic.npz")
    code = ("import sys; from robocritic.bresa.export import load_exported; import numpy as np; "
            f"c, _ = load_exported({str(path)!r}); c.risk(np.zeros(6)); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
