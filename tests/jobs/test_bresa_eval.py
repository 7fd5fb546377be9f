"""``robocritic bresa eval``'s job: seed lists, rate intervals, and a small real evaluation."""

from __future__ import annotations

import json

import pytest

from robocritic.bresa.features import FeatureLayout
from robocritic.bresa.hierarchy import HierarchyConfig
from robocritic.bresa.methods import METHODS, build_method, needs_critic
from robocritic.jobs.bresa_eval import evaluate, parse_seeds, wilson_interval


def test_seed_lists_and_ranges():
    assert parse_seeds("1000-1003") == [1000, 1001, 1002, 1003]
    assert parse_seeds("3,5, 8") == [3, 5, 8]
    assert parse_seeds("1-2,10") == [1, 2, 10]
    for bad in ("", "a-b", "5-3", "1,1", "-4", "1.5"):
        with pytest.raises(ValueError, match="seeds"):
            parse_seeds(bad)


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(0, 100)
    assert lo == 0.0 and hi == pytest.approx(0.0370, abs=1e-4)
    lo, hi = wilson_interval(50, 100)
    assert (lo, hi) == pytest.approx((0.4038, 0.5962), abs=1e-4)


def test_critic_methods_refuse_to_run_without_a_critic():
    layout, config = FeatureLayout(m=2), HierarchyConfig()
    for name in METHODS:
        if needs_critic(name):
            with pytest.raises(ValueError, match="critic"):
                build_method(name, None, layout, config)
        else:
            policy, _ = build_method(name, None, layout, config)
            assert hasattr(policy, "decide")
    with pytest.raises(ValueError, match="unknown"):
        build_method("magic", None, layout, config)


def test_evaluate_runs_the_same_seeds_for_every_method(tmp_path):
    seeds = [7, 8]
    summary = evaluate(["none", "force_clamp"], seeds, tmp_path, progress=False)
    rows = json.loads((tmp_path / "episodes.json").read_text())
    assert sorted((r["method"], r["seed"]) for r in rows) == [
        ("force_clamp", 7), ("force_clamp", 8), ("none", 7), ("none", 8)]
    by = {(r["method"], r["seed"]): r for r in rows}
    for s in seeds:  # the same perturbation for both methods
        assert by["none", s]["surface_offset"] == by["force_clamp", s]["surface_offset"]
    assert all(by["none", s]["interventions_per_second"] == 0 for s in seeds)
    for name, r in summary["methods"].items():
        assert r["episodes"] == 2
        assert r["violations"] == sum(by[name, s]["violated"] for s in seeds)
        lo, hi = r["violation_ci95"]
        assert 0 <= lo <= r["violation_rate"] <= hi <= 1
    assert json.loads((tmp_path / "summary.json").read_text())["seeds"] == seeds
    for png in ("violations.png", "force.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


def test_the_plotted_episode_is_the_first_the_worst_or_a_chosen_seed(tmp_path):
    from robocritic.jobs.bresa_eval import _plotted_seed

    rows = [{"method": "none", "seed": s, "longest_violation_ms": v} for s, v in ((5, 0.0), (6, 12.0), (7, 30.0))]
    rows += [{"method": "minmod_1khz", "seed": s, "longest_violation_ms": 99.0 if s == 5 else 0.0} for s in (5, 6, 7)]
    assert _plotted_seed(rows, "none", [5, 6, 7], "first") == 5
    assert _plotted_seed(rows, "none", [5, 6, 7], "worst") == 7  # judged by the first method only
    assert _plotted_seed(rows, "none", [5, 6, 7], 6) == 6
    calm = [dict(r, longest_violation_ms=0.0) for r in rows]
    assert _plotted_seed(calm, "none", [5, 6, 7], "worst") == 5  # no violation: the first seed
    for bad in ("best", 9, True):
        with pytest.raises(ValueError, match="plot"):
            evaluate(["none"], [5, 6], tmp_path, progress=False, plot=bad)
    evaluate(["none"], [5, 6], tmp_path, progress=False, plot="worst")
    assert all("trace" not in r for r in json.loads((tmp_path / "episodes.json").read_text()))
