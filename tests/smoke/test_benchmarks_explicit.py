"""Smoke test: the explicit-MPC / YANN evaluation benchmark runs end to end on a tiny budget and
writes its section (to a temporary results file, never to BENCHMARKS.md). ONNX export (~5 s of
torch.export tracing) is left out to keep it under 20 s; tests/yann/test_network.py covers it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("ppopt")


def test_explicit_eval_benchmark_quick(tmp_path: Path):
    results = tmp_path / "BENCHMARKS.md"
    results.write_text("# Benchmarks\n\nkept text\n")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "explicit_eval.py"), "--quick", "--no-onnx",
         "--results", str(results)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = results.read_text()
    assert "kept text" in text  # only its own section is replaced
    assert text.count("<!-- explicit_eval:start -->") == 1 and "<!-- explicit_eval:end -->" in text
    for row in (
        "PPOPT Solution.evaluate (Python), as shipped",
        "PPOPT PointLocation.evaluate (numba), overlap flag fixed",
        "ExplicitMPC.act (", "ExplicitMPC.evaluate (numpy)",
        "YANN fast, torch f64", "YANN 5-layer, torch f32",
        "LinearMPC.act, online QP (cvxpy)", "LinearMPC.act, online QP (daqp)",
        "no slower than PPOPT's compiled point location", ">= 100x faster than cvxpy",
    ):
        assert row in text, row
    assert "pendulum_n2 (9 regions)" in text
    # Every method agrees with the float64 explicit law on the timed (strictly feasible) states.
    detail = text.split("max abs du")[2]
    dus = [float(line.rsplit("/", 1)[1].strip(" |")) for line in detail.splitlines()
           if line.startswith("| ") and "x /" in line]
    assert dus and max(dus) < 1e-4
