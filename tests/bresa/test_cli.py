"""``robocritic bresa collect -> train -> eval -> export`` end to end, small."""

from __future__ import annotations

import json

import numpy as np

from robocritic.bresa.collect import load_dataset
from robocritic.bresa.export import load_exported
from robocritic.cli import main


def test_collect_train_eval_export(tmp_path, capsys):
    data = tmp_path / "data.npz"
    assert main(["bresa", "collect", "--episodes", "3", "--seed", "40", "--policy", "exploration",
                 "--out", str(data)]) == 0
    ds = load_dataset(data)
    assert ds.n_episodes == 3 and list(ds.seeds) == [40, 41, 42]

    critic = tmp_path / "critic.pt"
    assert main(["bresa", "train", str(data), "--out", str(critic), "--epochs", "1", "--hidden", "8", "8"]) == 0
    assert critic.with_suffix(".json").is_file() and critic.with_suffix(".npz").is_file()
    exported, names = load_exported(critic.with_suffix(".npz"))
    assert names == ds.feature_names and exported.n_in == ds.features.shape[1]

    out = tmp_path / "eval"
    assert main(["bresa", "eval", "--methods", "none,reflex_1khz", "--seeds", "5-6", "--critic", str(critic.with_suffix(".npz")),
                 "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["methods"]) == {"none", "reflex_1khz"} and summary["seeds"] == [5, 6]
    rows = json.loads((out / "episodes.json").read_text())
    reflex = [r for r in rows if r["method"] == "reflex_1khz"]
    assert all(np.isfinite(r["max_risk"]) for r in reflex)  # the critic scored every episode
    printed = capsys.readouterr().out
    assert "reflex_1khz" in printed and "/2" in printed

    again = tmp_path / "again.npz"
    assert main(["bresa", "export", str(critic), "--out", str(again)]) == 0
    assert load_exported(again)[1] == names
