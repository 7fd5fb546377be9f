"""Critic datasets: collection, labels per episode, and the .npz round trip with its refusals."""

from __future__ import annotations

import numpy as np
import pytest

from robocritic.bresa.collect import DATASET_FORMAT, CriticDataset, collect, load_dataset, save_dataset
from robocritic.bresa.features import FeatureLayout

ENV = {"max_episode_steps": 120, "contact_stiffness_range": (0.5, 2.0),
       "randomization": {"push_probability": 0.001, "push_force": (20.0, 50.0)}}


@pytest.fixture(scope="module")
def ds():
    return collect(3, seed=11, env_kwargs=ENV, progress=False)


def test_collect_shapes(ds):
    lay = FeatureLayout(m=2)
    assert ds.state.shape == (360, lay.n_state) and ds.action.shape == (360, lay.n_action)
    assert ds.features.shape == (360, lay.n_in)
    np.testing.assert_array_equal(ds.episode, np.repeat([0, 1, 2], 120))
    np.testing.assert_array_equal(ds.seeds, [11, 12, 13])
    assert ds.truncated.tolist() == [True] * 3
    assert ds.feature_names == lay.state_names() + lay.action_names()
    np.testing.assert_array_equal(ds.cost, (ds.force_filtered > 30.0).astype(float))
    # action features: setpoint minus TCP position, and the log stiffness
    # the applied command of tick t is what the state features of tick t + 1 report as previous
    for sl in ds.episode_slices():
        a, st = ds.action[sl], ds.state[sl]
        np.testing.assert_allclose(a[:-1, 2:], st[1:, lay.log_stiffness], atol=1e-12)
        setpoint = a[:-1, :2] + st[:-1, lay.position]
        np.testing.assert_allclose(setpoint, st[1:, lay.error] + st[1:, lay.position], atol=1e-12)
    assert np.all(np.isfinite(ds.state)) and np.all(np.isfinite(ds.action))


def test_collect_is_deterministic(ds):
    again = collect(2, seed=12, env_kwargs=ENV, progress=False)
    np.testing.assert_array_equal(again.state, ds.state[120:])
    np.testing.assert_array_equal(again.action, ds.action[120:])


def test_labels_stay_within_their_episode():
    cost = np.zeros(8)
    cost[3] = 1.0  # last tick of episode 0
    d = CriticDataset(state=np.zeros((8, 12)), action=np.zeros((8, 4)), cost=cost,
                      episode=np.array([0, 0, 0, 0, 1, 1, 1, 1]), truncated=np.array([False, True]),
                      seeds=np.array([0, 1]), force_filtered=cost * 40,
                      feature_names=tuple("abcdefghijklmnop"))
    labels, mask = d.labels(2)
    np.testing.assert_array_equal(labels, [0, 1, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(mask, [True] * 4 + [True, True, False, False])


def test_round_trip_and_no_temp_file(ds, tmp_path):
    path = tmp_path / "data.npz"
    save_dataset(ds, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.npz"]
    back = load_dataset(path)
    for name in ("state", "action", "cost", "episode", "truncated", "seeds", "force_filtered"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ds, name))
    assert back.feature_names == ds.feature_names and back.format_version == DATASET_FORMAT


def test_failed_write_leaves_the_old_file_and_no_temp(ds, tmp_path, monkeypatch):
    path = tmp_path / "data.npz"
    save_dataset(ds, path)
    before = path.read_bytes()

    def torn(fh, **arrays):
        fh.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", torn)
    with pytest.raises(OSError, match="disk full"):
        save_dataset(ds, path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["data.npz"]


def _arrays(ds):
    names = ("state", "action", "cost", "episode", "truncated", "seeds", "force_filtered")
    out = {k: getattr(ds, k) for k in names}
    out["feature_names"] = np.array(ds.feature_names)
    out["format_version"] = np.array(DATASET_FORMAT)
    return out


def test_pickled_npz_is_refused(ds, tmp_path):
    arrays = _arrays(ds)
    arrays["feature_names"] = np.array(list(ds.feature_names), dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=r"pickled\.npz.*feature_names"):
        load_dataset(path)


@pytest.mark.parametrize(("change", "field"), [
    (lambda a: a.pop("cost"), "cost"),
    (lambda a: a.update(format_version=np.array(99)), "format_version"),
    (lambda a: a.update(action=a["action"][:-1]), "action"),
    (lambda a: a.update(truncated=a["truncated"][:1]), "truncated"),
    (lambda a: a.update(episode=a["episode"][::-1].copy()), "episode"),
])
def test_malformed_npz_is_refused(ds, tmp_path, change, field):
    arrays = _arrays(ds)
    change(arrays)
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=rf"bad\.npz.*{field}"):
        load_dataset(path)


def test_not_an_npz_is_refused(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="junk.npz"):
        load_dataset(path)


def test_workers_do_not_change_the_result():
    env = {"max_episode_steps": 60}
    one = collect(2, seed=4, env_kwargs=env, progress=False)
    two = collect(2, seed=4, env_kwargs=env, progress=False, workers=2)
    np.testing.assert_array_equal(one.state, two.state)
    np.testing.assert_array_equal(one.action, two.action)
    np.testing.assert_array_equal(one.seeds, two.seeds)


def test_command_jitter_perturbs_in_bounded_seeded_windows():
    from robocritic.bresa.collect import CommandJitter

    def run(seed: int, p: float) -> np.ndarray:
        jitter = CommandJitter(np.random.default_rng(seed), p)
        nominal = np.array([0.4, -0.25, 7.0, 7.0])
        return np.array([jitter.certify(None, nominal)[0] - nominal for _ in range(3000)])

    assert not run(0, 0.0).any()  # probability 0: the commands as they are
    offsets = run(0, 0.02)
    np.testing.assert_array_equal(offsets, run(0, 0.02))  # seeded
    active = np.any(offsets != 0, axis=1)
    assert 0.2 < active.mean() < 0.6
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, active.astype(int), 0])))[::2]  # lengths of active runs
    assert runs.min() >= 5 and runs.max() <= 80  # 5-40 ticks each (two can touch)
    assert -0.005 <= offsets[:, 0].min() and offsets[:, 0].max() <= 0.005
    assert -0.01 <= offsets[:, 1].min() and offsets[:, 1].max() <= 0.02
    assert -2.0 <= offsets[:, 2:].min() and offsets[:, 2:].max() <= 0.7
