"""Run records (robocritic.learning.runs, .spec): RunMetrics round-trips through the JSON of
metrics.json (and reads the files robocritic wrote before it was typed), the policy sidecar
round-trips and reads format 1, plant specs keep open bounds, the curve logger appends one entry
per episode and evaluation, and the learning package imports no method, env or node code."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from robocritic.learning.rollout import EpisodeResult, EvalResult
from robocritic.learning.runs import (
    CurveLogger,
    PolicySidecar,
    RunFolder,
    RunMetrics,
    Selection,
)
from robocritic.learning.spec import ObsNormalization, PlantSpec, half_widths

# metrics.json of a finished 2-episode run as robocritic wrote it before RunMetrics existed.
OLD_METRICS = {
    "algorithm": "yann_ddpg",
    "curve": {
        "actor_loss": [None, 0.25],
        "critic_loss": [None, 1.5e-06],
        "episode": [1, 2],
        "train_cost": [3.5, 2.75],
        "train_steps": [30, 30],
        "train_violation_steps": [0, 2],
        "wall_s": [0.5, 1.0],
    },
    "env_id": "robocritic/ClippedPendulum-v0",
    "episodes_done": 2,
    "eval_curve": {"episode": [0, 1, 2], "test_cost": [0.5, 0.625, 0.75], "test_violating": [0, 0, 1],
                   "validation_cost": [0.25, 0.125, 0.5]},
    "seed": 3,
    "selection": {"episode": 1, "validation_cost": 0.125},
    "test_after": {"costs": [0.5, 0.75], "mean_cost": 0.625, "n_violating": 0, "steps": [30, 30],
                   "violation_steps": [0, 0]},
    "test_after_last": {"costs": [1.0, 0.5], "mean_cost": 0.75, "n_violating": 1, "steps": [30, 12],
                        "violation_steps": [0, 3]},
    "test_before": {"costs": [0.25, 0.75], "mean_cost": 0.5, "n_violating": 0, "steps": [30, 30],
                    "violation_steps": [0, 0]},
    "training_violation_steps": 2,
    "training_violations": 1,
    "versions": {"python": "3.11.9", "torch": "2.4.0"},
}  # fmt: skip


def test_run_metrics_json_round_trip_reads_the_old_file_layout():
    m = RunMetrics.from_json(json.loads(json.dumps(OLD_METRICS)))
    assert m.episodes_done == 2 and m.selection == Selection(1, 0.125)
    assert m.test_after is not None and m.test_after.mean_cost == 0.625 and m.test_after_last.n_violating == 1
    assert m.curve.critic_loss == [None, 1.5e-06] and m.eval_curve.validation_cost == [0.25, 0.125, 0.5]
    assert m.to_json() == OLD_METRICS  # the file's keys and values, unchanged
    assert RunMetrics.from_json(json.loads(json.dumps(m.to_json()))) == m


def test_a_new_record_has_the_keys_of_the_file_and_no_versions_until_set():
    m = RunMetrics("robocritic/SafetyCSTR-v0", "td3", 1)
    data = m.to_json()
    assert set(data) == set(OLD_METRICS) - {"versions"}
    assert data["test_before"] is None and data["selection"] is None and data["curve"]["episode"] == []
    assert RunMetrics.from_json(data) == m


def test_run_metrics_errors_name_the_key():
    with pytest.raises(ValueError, match="unknown key.*'bogus'"):
        RunMetrics.from_json({**OLD_METRICS, "bogus": 1})
    missing = {k: v for k, v in OLD_METRICS.items() if k != "episodes_done"}
    with pytest.raises(ValueError, match="missing key 'episodes_done'"):
        RunMetrics.from_json(missing)
    with pytest.raises(ValueError, match="eval_curve"):
        RunMetrics.from_json({**OLD_METRICS, "eval_curve": {"episode": []}})


def test_validation_selection_keeps_the_earlier_of_equal_costs():
    m = RunMetrics("e", "a", 0)
    assert m.record_validation(0, 2.0) and m.record_validation(1, 1.0)
    assert not m.record_validation(2, 1.0) and not m.record_validation(3, 1.5)
    assert m.selection == Selection(1, 1.0) and m.eval_curve.validation_cost == [2.0, 1.0, 1.0, 1.5]


def test_curve_logger_appends_one_entry_per_episode_and_evaluation():
    m = RunMetrics("e", "a", 0)
    log = CurveLogger(m, tb_dir=None, total=2, desc="t", progress=False)
    log.evaluation(0, EvalResult(np.array([2.0]), np.array([5]), np.array([0])))
    assert log.episode(EpisodeResult(3.0, 5, 2, True), critic_loss=float("nan"), actor_loss=0.5) == 1
    assert log.episode(EpisodeResult(1.0, 5, 0, False)) == 2
    log.evaluation(2, EvalResult(np.array([1.0]), np.array([5]), np.array([1])))
    assert log.validation(2, 0.5)
    log.advance(1.0)
    log.close()
    assert m.episodes_done == 2 and m.curve.episode == [1, 2] and m.curve.train_cost == [3.0, 1.0]
    assert m.curve.critic_loss == [None, None] and m.curve.actor_loss == [0.5, None]  # NaN -> null
    assert m.training_violations == 1 and m.training_violation_steps == 2
    assert m.eval_curve.episode == [0, 2] and m.eval_curve.test_violating == [0, 1]
    assert len(m.curve.wall_s) == 2 and m.selection == Selection(2, 0.5)
    json.dumps(m.to_json(), allow_nan=False)


def test_plant_spec_and_normalisation_round_trip_with_open_bounds():
    plant = PlantSpec(dt=0.05, x_eq=[0.0, 0.0], u_eq=[0.0], state_low=[-2.0, -np.inf],
                      state_high=[2.0, np.inf], input_low=[-2.0], input_high=[2.0],
                      state_names=("theta", "theta_dot"), input_names=("tau",))  # fmt: skip
    data = json.loads(json.dumps(plant.to_json(), allow_nan=False))
    assert data["state_low"] == [-2.0, None] and data["n_x"] == 2 and data["n_u"] == 1
    back = PlantSpec.from_json(data)
    np.testing.assert_array_equal(back.state_high, [2.0, np.inf])
    assert (back.n_x, back.n_u, back.dt, back.state_names) == (2, 1, 0.05, ("theta", "theta_dot"))
    assert back.action_space() == plant.action_space()
    with pytest.raises(ValueError, match="disagree"):
        PlantSpec.from_json({**data, "n_x": 3})
    np.testing.assert_array_equal(half_widths(plant.state_low, plant.state_high), [2.0, 1.0])
    norm = ObsNormalization(np.array([1.0, 0.0]), half_widths([0.0, -np.inf], [4.0, np.inf]))
    z = norm(np.array([[3.0, 5.0]]))
    assert z.dtype == np.float32 and z.tolist() == [[1.0, 5.0]]
    assert ObsNormalization.from_json(json.loads(json.dumps(norm.to_json())))(np.array([3.0, 5.0])).tolist() == [1.0, 5.0]
    with pytest.raises(ValueError, match="scale"):
        ObsNormalization(np.zeros(1), np.zeros(1))


def test_policy_sidecar_round_trip_and_format_1(tmp_path):
    plant = PlantSpec(0.1, [1.0], [2.0], [0.0], [3.0], [1.0], [4.0])
    side = PolicySidecar(kind="k", algorithm="ddpg", seed=1, env_id="e", config={"a": [1, 2]}, weights="actor.pt",
                         plant=plant, extra={"law": None}, versions={"torch": "x"})  # fmt: skip
    folder = RunFolder(tmp_path / "run")
    written = folder.write_policy({"actor": {}}, side)
    back = folder.read_sidecar()
    assert back.format == 2 and back.extra == {"law": None} and back.plant.to_json() == plant.to_json()
    # the sidecar as written adds the weights' digest, nothing else
    assert back.to_json() == written.to_json() == {**side.to_json(), "weights_sha256": back.weights_sha256}
    assert folder.read_weights(back) == {"actor": {}}
    old = {"kind": "robocritic.yann actor", "algorithm": "td3", "seed": 0, "env_id": "e", "config": {},
           "weights": "actor.pt", "law": None, "versions": {}}  # fmt: skip
    old_side = PolicySidecar.from_json(old)
    assert old_side.format == 1 and old_side.plant is None and old_side.observation is None
    assert old_side.extra == {"law": None}
    with pytest.raises(ValueError, match="reads up to"):
        PolicySidecar.from_json({**old, "format": 99})
    with pytest.raises(ValueError, match="must not reuse"):
        PolicySidecar(kind="k", algorithm="a", seed=0, env_id="e", config={}, weights="w",
                      extra={"plant": 1}).to_json()  # fmt: skip


def test_run_folder_metrics_mark_a_finished_run(tmp_path):
    folder = RunFolder(tmp_path / "run")
    assert not folder.finished()
    folder.write_metrics(RunMetrics.from_json(OLD_METRICS))
    assert folder.finished() and folder.read_metrics().to_json() == OLD_METRICS
    assert json.loads(folder.metrics_path.read_text()) == OLD_METRICS


LEARNING = Path(__file__).parents[2] / "robocritic" / "learning"
ALLOWED = ("robocritic.interfaces", "robocritic.dynamics", "robocritic.utils", "robocritic.learning")


def test_the_learning_core_imports_no_method_env_or_node_code():
    """Method-agnostic: from robocritic only the base layer, itself and the root package (its
    version) are imported."""
    bad = []
    for path in sorted(LEARNING.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])  # fmt: skip
            bad += [f"{path.name}: {n}" for n in names if n.startswith("robocritic.") and not n.startswith(ALLOWED)]
    assert not bad, bad
