"""Node reports: strict JSON (NaN/inf as null), written atomically."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from robocritic.nodes.report import json_ready, percentiles_ms, write_report


def test_reports_are_strict_json_with_non_finite_numbers_as_null(tmp_path):
    report = {
        "rate": math.nan,
        "limits": (np.float64(2.0), np.inf),
        "counts": {"estop": np.int64(3)},
        "states": np.array([[0.1, np.nan]]),
        "none": None,
        "flag": np.bool_(True),
    }
    path = write_report(tmp_path / "sub" / "r.json", report)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {
        "rate": None, "limits": [2.0, None], "counts": {"estop": 3}, "states": [[0.1, None]], "none": None,
        "flag": True,
    }  # fmt: skip
    assert [p.name for p in path.parent.iterdir()] == ["r.json"]  # no temporary file left


def test_what_json_cannot_store_is_refused_by_name():
    with pytest.raises(TypeError, match="a node report holds a set"):
        json_ready({"x": {1, 2}})


def test_percentiles():
    assert percentiles_ms([]) == {"p50_ms": None, "p99_ms": None, "max_ms": None}
    assert percentiles_ms([0.001, 0.003])["max_ms"] == 3.0
