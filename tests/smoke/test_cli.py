"""Smoke tests: the command line and the main job with a tiny budget."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from robocritic.cli import main


def test_help_explains_every_command():
    out = subprocess.run([sys.executable, "-m", "robocritic.cli", "--help"], capture_output=True, text=True,
                         check=True).stdout
    for command in ("demo", "envs", "sim2sim"):
        assert command in out
    demo_help = subprocess.run([sys.executable, "-m", "robocritic.cli", "demo", "--help"], capture_output=True,
                               text=True, check=True).stdout
    assert "summary.json" in demo_help and "--episodes" in demo_help


def test_demo_writes_plot_and_record(tmp_path, capsys):
    out_dir = tmp_path / "run"
    assert main(["demo", "--episodes", "2", "--steps", "40", "--out", str(out_dir), "--no-progress",
                 "--real-time-factor", "0", "--navdp-episodes", "1"]) == 0
    printed = capsys.readouterr().out
    assert "MPC N=10 (daqp)" in printed and "violations" in printed
    assert "node graph over DDS" in printed and "-> MATCH" in printed
    graph = json.loads((out_dir / "graph" / "graph_demo.json").read_text())
    assert graph["summary"]["within_tolerance"]
    assert any((out_dir / "graph").rglob("*.mcap")), "the node-graph run records an MCAP bag"
    record = json.loads((out_dir / "summary.json").read_text())
    assert set(record["summary"]) == {"MPC N=10 (daqp)", "MPC N=10 (osqp)", "MPC N=10 (cvxpy)", "LQR (saturated)",
                                      "explicit MPC (193 regions)", "YANN fast form (torch)"}
    assert record["explicit_mpc"]["regions"] == 193
    for name in ("explicit MPC (193 regions)", "YANN fast form (torch)", "MPC N=10 (daqp)"):
        assert record["summary"][name]["max_abs_du_vs_daqp"] < 1e-9, name
    for name, summary in record["summary"].items():
        assert summary["violating_states"] == 0, name
        assert summary["fallbacks"] == 0, name
        assert summary["compute_ms_p50"] > 0, name
        assert len(record["episodes"][name]) == 2
    png = (out_dir / "pendulum_mpc.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    # then Bresa with the shipped critic: the 1 kHz reflex keeps the force down where nothing does not
    assert "Bresa, robocritic/ArmPressWipe-v1" in printed and "reflex_1khz" in printed
    bresa = json.loads((out_dir / "bresa" / "summary.json").read_text())["methods"]
    assert set(bresa) == {"none", "reflex_20hz", "reflex_1khz", "minmod_1khz", "minmod_reflex_1khz"}
    assert bresa["reflex_1khz"]["time_over_limit_ms_mean"] < bresa["none"]["time_over_limit_ms_mean"]
    assert (out_dir / "bresa" / "force.png").read_bytes()[:4] == b"\x89PNG"
    # then NavDP against DWA in a held-out world (tests/jobs/test_navdp_demo.py checks the record)
    assert "NavDP, robocritic/NavPointGoal-v0" in printed and "dwa" in printed
    navdp = json.loads((out_dir / "navdp" / "summary.json").read_text())["methods"]
    assert set(navdp) == {"navdp", "dwa"}
    assert (out_dir / "navdp" / "topdown.png").read_bytes()[:4] == b"\x89PNG"


def test_demo_rejects_bad_options(capsys):
    assert main(["demo", "--episodes", "0", "--no-progress", "--graph-episodes", "0"]) == 2
    assert "episodes" in capsys.readouterr().err


def test_envs_lists_registered_ids(capsys):
    assert main(["envs"]) == 0
    out = capsys.readouterr().out
    assert "robocritic/ClippedPendulum-v0" in out and "robocritic/SafetyCSTR-v0" in out


def test_sim2sim_reports_each_engine(capsys):
    assert main(["sim2sim", "--steps", "20"]) == 0
    out = capsys.readouterr().out
    assert "mujoco" in out and "pybullet" in out


@pytest.mark.parametrize("script", ["env_steps.py", "mpc_solve.py"])
def test_benchmarks_run_with_a_tiny_budget(script, tmp_path):
    results = tmp_path / "BENCH.md"
    args = ["--steps", "50"] if script == "env_steps.py" else ["--states", "10"]
    subprocess.run([sys.executable, f"benchmarks/{script}", *args, "--repeats", "1", "--results", str(results)],
                   check=True, capture_output=True, cwd=Path(__file__).parents[2])
    text = results.read_text()
    assert "Machine:" in text and "Command:" in text and "|---|" in text
