"""``robocritic navdp``: generate two worlds, train five steps, export, load the model file, check
it; bad options exit 2 with one line naming them."""

from __future__ import annotations

import json

import pytest
import torch

from robocritic.cli import main
from robocritic.navdp.checkpoint import load_model
from robocritic.navdp.planner import NavDPPlanner

TINY = ["--per-world", "1", "--config", "recovery_per_path=1", "n_waypoints=8", "n_critic=2",
        "depth.height=8", "depth.width=16"]
MODEL = ["d_model=16", "n_layers=1", "n_heads=2", "ff_mult=2", "patch_size=8", "n_candidates=4"]


@pytest.fixture(autouse=True)
def _threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_generate_train_export_load_check(tmp_path, capsys):
    data, run, model_file = tmp_path / "data", tmp_path / "run", tmp_path / "navdp.pt"
    assert main(["navdp", "generate", "--worlds", "0-1", "--out", str(data), "--no-progress",
                 *TINY]) == 0
    report = last_json(capsys)
    assert report["written"] == 2 and report["samples"] > 0 and report["paths"] >= 2
    assert main(["navdp", "generate", "--worlds", "0-1", "--out", str(data), "--no-progress", *TINY]) == 0
    assert last_json(capsys)["skipped"] == 2  # nothing left to do
    assert main(["navdp", "train", str(data), "--out", str(run), "--steps", "5", "--batch", "4",
                 "--lr", "1e-3", "--no-progress", "--config", *MODEL, "val_fraction=0.5", "val_every=5"]) == 0
    trained = last_json(capsys)
    assert trained["step"] == 5 and "val/total" in trained and torch.get_num_threads() == 1
    assert main(["navdp", "export", str(run), "--out", str(model_file)]) == 0
    assert last_json(capsys)["exported"] == str(model_file)
    model = load_model(model_file)
    assert model.config.n_waypoints == 8 and model.config.d_model == 16
    plan = NavDPPlanner(model).plan(torch.zeros(8, 16), (2.0, 0.0), seed=0)
    assert plan.candidates.shape == (4, 8, 3)
    assert main(["navdp", "check", str(model_file), str(data), "--samples", "4"]) == 0
    assert last_json(capsys)["samples"] == 4


@pytest.mark.parametrize("argv, message", [
    (["generate", "--worlds", "0", "--out", "X", "--config", "n_critics=2"], "unknown key 'n_critics'"),
    (["generate", "--worlds", "0", "--out", "X", "--config", "n_critic=two"], "SampleConfig.n_critic"),
    (["generate", "--worlds", "0", "--out", "X", "--config", "n_critic=0"], "SampleConfig.n_critic"),
    (["generate", "--worlds", "3-1", "--out", "X"], "worlds"),
    (["train", "NOWHERE", "--out", "X"], "NOWHERE"),
    (["export", "NOWHERE", "--out", "X.pt"], "NOWHERE"),
])
def test_bad_options_exit_2_naming_them(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(["navdp", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_eval_runs_the_shipped_model_beside_a_baseline(tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["navdp", "eval", "--worlds", "5000", "--methods", "straight,navdp", "--out", str(out),
                 "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["methods"]) == {"straight", "navdp"}
    assert summary["checkpoint"].endswith("navdp_small.pt")  # the shipped model by default
    assert "navdp" in capsys.readouterr().out
    assert main(["navdp", "eval", "--worlds", "5000", "--methods", "nope", "--out", str(out)]) == 2
    assert "methods" in capsys.readouterr().err
