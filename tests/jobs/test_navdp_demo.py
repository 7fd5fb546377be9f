"""The NavDP part of ``robocritic demo``: one short paired episode with the shipped model, the plot,
the record, the table, and the CLI option that skips it."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from robocritic.cli import main
from robocritic.jobs import navdp_demo, pendulum_demo
from robocritic.jobs.navdp_demo import DEMO_METHODS, DEMO_WORLD0, format_navdp_summary, run_navdp_demo

#: Episode time limit of the tests, s: long enough for a plan or two, short enough for CI.
MAX_TIME = 4.0


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("navdp_demo")
    return out, run_navdp_demo(1, out, progress=False, max_time=MAX_TIME)


def test_writes_a_topdown_png(demo_run):
    out, record = demo_run
    png = out / "topdown.png"
    assert record["files"]["plot"] == str(png)
    assert png.stat().st_size > 10_000
    with Image.open(png) as image:
        image.verify()  # a truncated or corrupt file raises here
    with Image.open(png) as image:
        assert image.format == "PNG" and min(image.size) > 100


def test_record_pairs_both_methods_on_held_out_worlds(demo_run):
    out, record = demo_run
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["methods"].keys() == record["methods"].keys() == set(DEMO_METHODS)
    assert on_disk["worlds"] == [DEMO_WORLD0] and DEMO_WORLD0 >= 5000  # outside training worlds 0-399
    assert on_disk["checkpoint"].endswith("navdp_small.pt") and len(on_disk["checkpoint_sha256"]) == 64
    assert on_disk["loop"]["max_time"] == MAX_TIME
    rows = on_disk["episodes"]
    assert sorted(r["method"] for r in rows) == sorted(DEMO_METHODS)
    episodes = {(r["world_seed"], r["episode"], r["seed"], tuple(r["start"]), tuple(r["goal"])) for r in rows}
    assert len(episodes) == 1, "both methods ran the same episode"
    for r in rows:
        assert "plan_ms" not in r and r["trace"]["xy"], r["method"]
        assert r["time_s"] <= MAX_TIME + 1e-9
    first = next(r for r in rows if r["method"] == "navdp")["trace"]["first_plan"]
    assert len(first["candidates"]) == len(first["scores"]) > 1 and 0 <= first["best"] < len(first["scores"])


def test_counts_add_up_and_the_table_names_both_methods(demo_run):
    _, record = demo_run
    for name, m in record["methods"].items():
        assert m["success"] + m["collision"] + m["stuck"] + m["timeout"] == m["episodes"] == 1, name
        assert m["plan_ms_p50"] > 0, name
    table = format_navdp_summary(record)
    assert "navdp" in table and "dwa" in table
    assert f"held-out worlds {DEMO_WORLD0}" in table and "navdp_small.pt" in table
    for r in record["episodes"]:
        assert f"{r['method']} {r['outcome']}" in table


def test_the_run_is_deterministic(demo_run, tmp_path):
    _, record = demo_run
    again = run_navdp_demo(1, tmp_path, progress=False, max_time=MAX_TIME)
    for a, b in zip(record["episodes"], again["episodes"], strict=True):
        assert (a["method"], a["outcome"], a["steps"]) == (b["method"], b["outcome"], b["steps"])
        assert a["trace"] == b["trace"], a["method"]


def test_rejects_no_episodes(tmp_path):
    with pytest.raises(ValueError, match="episodes"):
        run_navdp_demo(0, tmp_path, progress=False)


def _stub_pendulum(monkeypatch, calls):
    """The pendulum part replaced by a no-op, and run_navdp_demo by a recorder (CLI wiring only)."""
    monkeypatch.setattr(pendulum_demo, "run_demo",
                        lambda config, progress=True: {"files": {"plot": "p.png", "record": "r.json"}})
    monkeypatch.setattr(pendulum_demo, "format_summary", lambda record: "pendulum")

    def fake_navdp(episodes, out_dir, *, progress=True):
        calls.append((episodes, str(out_dir)))
        return {"files": {"plot": f"{out_dir}/topdown.png", "record": f"{out_dir}/summary.json"}}

    monkeypatch.setattr(navdp_demo, "run_navdp_demo", fake_navdp)
    monkeypatch.setattr(navdp_demo, "format_navdp_summary", lambda record: "NavDP table")


@pytest.mark.parametrize(("option", "expected"), [("0", []), ("2", [(2, "RUN/navdp")])])
def test_cli_option_runs_or_skips_the_part(monkeypatch, tmp_path, capsys, option, expected):
    calls: list = []
    _stub_pendulum(monkeypatch, calls)
    out = tmp_path / "run"
    assert main(["demo", "--out", str(out), "--no-progress", "--graph-episodes", "0", "--bresa-episodes", "0",
                 "--navdp-episodes", option]) == 0
    assert calls == [(n, path.replace("RUN", str(out))) for n, path in expected]
    assert ("NavDP table" in capsys.readouterr().out) == bool(expected)


def test_cli_defaults_and_rejects_negative(monkeypatch, capsys):
    from robocritic.cli import build_parser

    assert build_parser().parse_args(["demo"]).navdp_episodes == 3
    calls: list = []
    _stub_pendulum(monkeypatch, calls)
    assert main(["demo", "--no-progress", "--navdp-episodes", "-1"]) == 2
    assert "--navdp-episodes" in capsys.readouterr().err and calls == []


def test_demo_help_mentions_the_part(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = capsys.readouterr().out
    assert "--navdp-episodes" in text and "navdp/topdown.png" in text
