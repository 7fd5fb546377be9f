"""`robocritic explicit build|eval`: the YAML spec, its errors, and the commands end to end."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from robocritic.cli import main
from robocritic.yann.spec import SpecError, load_spec, parse_spec

EXAMPLES = Path(__file__).parents[2] / "examples"


def _pendulum() -> dict:
    return yaml.safe_load((EXAMPLES / "pendulum.explicit.yaml").read_text())


def test_examples_parse():
    spec = load_spec(EXAMPLES / "double_integrator.explicit.yaml")
    assert spec.config.horizon == 10 and spec.config.output_constraint is not None
    assert load_spec(EXAMPLES / "pendulum.explicit.yaml").model.n_x == 2


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(A=[[1, 2, 3]]), r"A must be square"),
        (lambda d: d.update(B=[[1.0]]), r"B must have shape \(2, n\)"),
        (lambda d: d.update(Q=[[1, 0], [0, -1]]), r"Q must be positive semidefinite"),
        (lambda d: d.update(Q=[[1, 1], [0, 1]]), r"Q must be symmetric"),
        (lambda d: d.update(R=[[0.0]]), r"R must be positive definite"),
        (lambda d: d.update(R=[["x"]]), r"R must be a numeric matrix"),
        (lambda d: d.update(horizon=0), r"horizon must be an integer >= 1"),
        (lambda d: d.update(dt=-1), r"dt must be a positive number"),
        (lambda d: d.update(state_bounds={"low": [2, 8], "high": [-2, -8]}), r"state_bounds is empty"),
        (lambda d: d.update(x0_domain={"low": [0, 0], "high": [0, 1]}), r"x0_domain is empty"),
        (lambda d: d.update(input_bounds={"low": [-2]}), r"input_bounds must be a mapping with exactly"),
        (lambda d: d.update(input_bounds={"low": [-2, -1], "high": [2, 1]}), r"input_bounds.low must have 1"),
        (lambda d: d.update(input_bounds={"low": [-np.inf], "high": [2]}), r"input_bounds must be finite"),
        (lambda d: d.pop("A"), r"A is required"),
        (lambda d: d.update(horizn=3), r"unknown field\(s\) \['horizn'\]"),
        (lambda d: d.update(terminal_cost=[[1, 0]]), r"terminal_cost must have shape \(2, 2\)"),
        (lambda d: d.update(terminal_set={"T": [[1, 0]]}), r"terminal_set must be a mapping"),
    ],
)
def test_malformed_specs_name_the_field(edit, message):
    data = copy.deepcopy(_pendulum())
    edit(data)
    with pytest.raises(SpecError, match=message):
        parse_spec(data)


def test_build_and_eval_commands(tmp_path, capsys):
    pytest.importorskip("ppopt")
    law = tmp_path / "pendulum.npz"
    assert main(["explicit", "build", str(EXAMPLES / "pendulum.explicit.yaml"), "--out", str(law),
                 "--verify", "300"]) == 0
    built = json.loads(capsys.readouterr().out)
    assert built["regions"] == 9
    assert built["verification"]["feasibility_mismatches"] == 0
    assert built["verification"]["max_abs_du_vs_daqp"] < 1e-9
    states = np.random.default_rng(1).uniform([-2.5, -9.0], [2.5, 9.0], size=(400, 2))
    np.save(tmp_path / "states.npy", states)
    out = tmp_path / "eval.npz"
    assert main(["explicit", "eval", str(law), "--states", str(tmp_path / "states.npy"), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    result = np.load(out, allow_pickle=False)
    feasible = result["feasible"]
    assert 0 < feasible.sum() < len(states), "the sample should straddle the feasible set's boundary"
    assert summary["feasibility_mismatches_yann"] == 0
    np.testing.assert_array_equal(result["feasible_yann"], feasible)
    assert np.max(np.abs(result["u_yann"][feasible] - result["u"][feasible])) <= 1e-9
    assert np.all(np.abs(result["u"]) <= 2.0 + 1e-12), "outside the feasible set the fallback saturates"


def test_commands_report_bad_inputs(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("A: [[1, 0], [0, 1]]\nB: [[0], [1]]\n")
    assert main(["explicit", "build", str(bad)]) == 2
    assert "bad.yaml: Q is required" in capsys.readouterr().err
    bad.write_text("A: [unclosed")
    assert main(["explicit", "build", str(bad)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
