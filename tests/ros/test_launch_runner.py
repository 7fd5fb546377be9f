"""The launch runner with a stand-in node (tests/ros/launch_probe.py): arguments and environment
reach the process, output is prefixed, a failing node stops the launch, and Ctrl-C / SIGTERM shut
everything down with no process left behind; the runner's parts (start, wait_until, stop) for a
program that supervises a node graph itself."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from robocritic.ros.launcher import LaunchError, LaunchRunner, NodeSpec, load_launch_file
from robocritic.ros.launcher.runner import PROCESS_TRANSPORTS, describe_exit

pytestmark = pytest.mark.timeout(60)

PROBE = Path(__file__).with_name("launch_probe.py")


@pytest.fixture
def probe_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``AMENT_PREFIX_PATH`` with package ``probe_pkg``: ``lib/probe_pkg/probe`` and a share dir."""
    prefix = tmp_path / "prefix"
    (prefix / "lib" / "probe_pkg").mkdir(parents=True)
    (prefix / "share" / "probe_pkg").mkdir(parents=True)
    index = prefix / "share" / "ament_index" / "resource_index" / "packages"
    index.mkdir(parents=True)
    (index / "probe_pkg").touch()
    script = prefix / "lib" / "probe_pkg" / "probe"
    # exec: the launched pid is the Python probe itself, so signals reach it directly.
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{PROBE}" "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    return prefix


def probe_node(name: str, mode: str, output: str = "screen") -> str:
    """A launch-file entry for one probe node doing ``mode`` (see launch_probe.py)."""
    return f"- node: {{pkg: probe_pkg, exec: probe, name: {name}, output: {output}, env: [{{name: PROBE_MODE, value: '{mode}'}}]}}\n"


def launch_file(tmp_path: Path, *nodes: str) -> Path:
    path = tmp_path / "probe.launch.yaml"
    path.write_text("launch:\n" + "".join(nodes))
    return path


def run(plan, **kw) -> tuple[int, LaunchRunner, str, str]:
    out, err = io.StringIO(), io.StringIO()
    duration = kw.pop("duration_s", None)
    runner = LaunchRunner(plan, stdout=out, stderr=err, **kw)
    code = runner.run(duration, handle_signals=False)
    return code, runner, out.getvalue(), err.getvalue()


def reports(text: str, label: str) -> list[dict]:
    prefix = f"[{label}] {{"
    return [json.loads(line[len(label) + 3 :]) for line in text.splitlines() if line.startswith(prefix)]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"  # zombie: ended, unreaped


def test_arguments_parameters_remaps_and_environment_reach_the_node(tmp_path, probe_prefix):
    path = tmp_path / "args.launch.yaml"
    path.write_text(
        textwrap.dedent("""\
        launch:
        - arg: {name: tag, default: t0}
        - arg: {name: rate, default: "100.0"}
        - group:
          - push-ros-namespace: {namespace: robot}
          - node:
              pkg: probe_pkg
              exec: probe
              name: p
              namespace: arm
              output: screen
              env: [{name: PROBE_MODE, value: "exit:0"}, {name: PROBE_TAG, value: "$(var tag)"}]
              param:
              - {name: rate, value: "$(var rate)"}
              - {name: "on", value: true}
              - {name: label, value: "4.0", type: str}
              remap: [{from: cmd, to: /robot/cmd}]
        """)
    )
    plan = load_launch_file(path, {"tag": "from-cli", "rate": "250.0"})
    code, _runner, out, err = run(plan, domain_id=77)
    assert code == 0, err
    (report,) = reports(out, "p")
    assert report["argv"] == [
        "--ros-args", "-r", "__node:=p", "-r", "__ns:=/robot/arm", "-p", "rate:=250.0", "-p", "on:=true",
        "-p", "label:='4.0'", "-r", "cmd:=/robot/cmd",
    ]  # fmt: skip
    env = report["env"]
    assert (
        env["ROS_DOMAIN_ID"] == "77"
        and env["ROBOCRITIC_TRANSPORT"] == "dds"
        and env["PROBE_TAG"] == "from-cli"
    )
    assert env["PYTHONUNBUFFERED"] == "1" and '<NetworkInterface name="lo"/>' in env["CYCLONEDDS_URI"]
    assert f"[p] probe {report['pid']} on stderr" in err
    assert f"[launch] p [pid {report['pid']}] finished cleanly" in err


def test_failing_node_shuts_down_the_others(tmp_path, probe_prefix):
    plan = load_launch_file(
        # 2 s gives the healthy probe time to start its interpreter even on a loaded machine: a
        # SIGINT that lands before Python installs its handler kills it without the "SIGINT" line.
        launch_file(tmp_path, probe_node("steady", "sleep"), probe_node("flaky", "fail_after:2.0"))
    )
    start = time.monotonic()
    code, runner, out, err = run(plan)
    assert code == 1
    assert time.monotonic() - start < 10
    assert "[launch] flaky" in err and "died with code 3; shutting down the launch" in err
    assert "[steady] SIGINT" in out  # the healthy node got SIGINT and cleaned up
    steady, flaky = runner.processes
    assert steady.returncode == 0 and flaky.returncode == 3 and runner.failed == [flaky]
    assert gone(steady.pid) and gone(flaky.pid)


def test_duration_ends_the_launch_cleanly(tmp_path, probe_prefix):
    plan = load_launch_file(launch_file(tmp_path, probe_node("a", "sleep"), probe_node("b", "sleep")))
    start = time.monotonic()
    code, runner, out, err = run(plan, duration_s=3.0)  # long enough for both probes to start under load
    assert code == 0, err
    assert 3.0 <= time.monotonic() - start < 12
    assert out.count("SIGINT") == 2 and "shutting down: duration of 3 s elapsed" in err
    assert [p.returncode for p in runner.processes] == [0, 0]


def test_node_ignoring_sigint_gets_sigterm(tmp_path, probe_prefix):
    plan = load_launch_file(launch_file(tmp_path, probe_node("stubborn", "stubborn")))
    code, runner, _out, err = run(plan, duration_s=0.5, sigterm_timeout_s=0.5)
    assert code == 0
    assert "SIGTERM to stubborn (still running)" in err
    assert runner.processes[0].returncode == -signal.SIGTERM
    assert describe_exit(-signal.SIGTERM) == "signal SIGTERM"


def test_output_log_goes_to_a_file_and_stderr_to_the_screen(tmp_path, probe_prefix):
    plan = load_launch_file(launch_file(tmp_path, probe_node("quiet", "exit:0", output="log"),
                                        probe_node("loud", "exit:0", output="both")))  # fmt: skip
    code, _runner, out, err = run(plan, log_dir=tmp_path / "logs")
    assert code == 0
    assert not reports(out, "quiet") and len(reports(out, "loud")) == 1
    assert "[quiet] probe" in err and "[loud] probe" in err
    quiet_log = (tmp_path / "logs" / "quiet.log").read_text()
    # stdout and stderr are pumped by separate threads: their lines may interleave in either order.
    report = next(line for line in quiet_log.splitlines() if line.startswith("{"))
    assert json.loads(report)["mode"] == "exit:0" and "on stderr" in quiet_log


def _start_launcher(path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "robocritic.cli", "launch", str(path), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ),
    )  # fmt: skip


def _wait_for_pids(
    proc: subprocess.Popen[str], labels: list[str], timeout_s: float = 20.0
) -> tuple[dict, list]:
    """Read the launcher's output until every probe reported its pid."""
    pids: dict[str, int] = {}
    lines: list[str] = []
    end = time.monotonic() + timeout_s
    while len(pids) < len(labels) and time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.match(r"\[(\w+)\] (\{.*)", line)
        if match and match.group(1) in labels:
            pids[match.group(1)] = json.loads(match.group(2))["pid"]
    assert len(pids) == len(labels), "".join(lines)
    return pids, lines


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_to_the_launcher_shuts_down_cleanly_with_no_orphans(tmp_path, probe_prefix, sig):
    path = launch_file(
        tmp_path, probe_node("a", "sleep"), probe_node("b", "sleep"), probe_node("c", "stubborn")
    )
    proc = _start_launcher(path, "--sigterm-timeout", "0.5")
    try:
        pids, lines = _wait_for_pids(proc, ["a", "b", "c"])
        proc.send_signal(sig)
        rest, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = "".join(lines) + rest
    assert proc.returncode == 0, output
    assert f"shutting down: {sig.name} received" in output
    assert "[a] SIGINT" in output and "[b] SIGINT" in output
    assert "SIGTERM to c (still running)" in output
    for label, pid in pids.items():
        assert gone(pid), f"{label} (pid {pid}) outlived the launcher"


def test_cli_subcommand_prints_commands(tmp_path, probe_prefix, capsys):
    from robocritic.cli import main

    path = launch_file(tmp_path, probe_node("a", "sleep"))
    assert main(["launch", str(path), "--print", "--domain-id", "5"]) == 0
    out = capsys.readouterr().out
    assert "ROS_DOMAIN_ID=5" in out and "PROBE_MODE=sleep" in out and "--ros-args -r __node:=a" in out
    assert main(["launch", str(path), "nope:=1", "--show-args"]) == 0
    assert main(["launch", str(tmp_path / "missing.launch.yaml")]) == 2
    assert "cannot read launch file" in capsys.readouterr().err


# --- the runner's parts, as a program that supervises a graph itself uses them ------------------


def probe_spec(label: str, mode: str, output: str = "log") -> NodeSpec:
    """A probe node built in code, without a launch file."""
    return NodeSpec(
        package="probe_pkg", executable="probe", name=label, namespace=None, env=(("PROBE_MODE", mode),),
        output=output, command=(sys.executable, str(PROBE)),
    )  # fmt: skip


def parts_runner(tmp_path: Path, *nodes: NodeSpec, **kw) -> tuple[LaunchRunner, io.StringIO]:
    err = io.StringIO()
    runner = LaunchRunner(list(nodes), stdout=err, stderr=err, log_dir=tmp_path / "logs", **kw)
    return runner, err


def logged_report(runner: LaunchRunner, label: str) -> dict | None:
    path = runner.process(label).log_path
    lines = path.read_text().splitlines() if path and path.exists() else []
    return next((json.loads(line) for line in lines if line.startswith("{")), None)


def test_parts_start_wait_stop_one_node_then_the_rest(tmp_path):
    runner, err = parts_runner(
        tmp_path, probe_spec("first", "sleep"), probe_spec("second", "sleep"), sigterm_timeout_s=5.0
    )
    with runner:
        # start() returned at once; both report through their log files
        runner.wait_until(
            lambda: all(logged_report(runner, label) for label in ("first", "second")), 20.0, "the reports"
        )
        assert runner.exit_codes() == {"first": None, "second": None}
        assert runner.stop(["first"]) == {"first": 0, "second": None}  # first got SIGINT, exited 0
        assert runner.process("second").returncode is None and not runner.failed
        second = runner.process("second").pid
    # leaving the block shut the rest down
    assert runner.exit_codes() == {"first": 0, "second": 0} and gone(second)
    assert "SIGINT" in (tmp_path / "logs" / "second.log").read_text()
    assert "[launch] first" in err.getvalue() and "ended with code 0" in err.getvalue()


def test_wait_until_reports_a_node_that_ends_with_its_complete_output(tmp_path):
    runner, _err = parts_runner(tmp_path, probe_spec("steady", "sleep"), probe_spec("crash", "exit:4"))
    with pytest.raises(LaunchError, match=r"crash \[pid \d+\] exited with code 4 while waiting for godot"):
        with runner:
            runner.wait_until(lambda: False, 20.0, "godot")
    # the crashed node's last lines reached its log before the error was raised
    assert "on stderr" in (tmp_path / "logs" / "crash.log").read_text()
    codes = runner.exit_codes()
    assert codes["crash"] == 4 and codes["steady"] is not None and gone(runner.process("steady").pid)


def test_wait_until_times_out_and_stop_rejects_unknown_nodes(tmp_path):
    runner, _err = parts_runner(tmp_path, probe_spec("idle", "sleep"))
    with runner:
        with pytest.raises(LaunchError, match=r"timed out after 0.2 s waiting for nothing"):
            runner.wait_until(lambda: False, 0.2, "nothing")
        with pytest.raises(KeyError, match="nobody"):
            runner.stop(["nobody"])
    assert runner.exit_codes()["idle"] is not None


def test_a_node_that_cannot_be_started_stops_those_already_started(tmp_path):
    missing = NodeSpec(
        package="probe_pkg", executable="missing", name=None, namespace=None,
        command=(str(tmp_path / "no_such_executable"),),
    )  # fmt: skip
    runner, _err = parts_runner(tmp_path, probe_spec("early", "sleep"), missing)
    with pytest.raises(LaunchError, match="could not start a node"):
        with runner:
            pass
    (early,) = runner.processes
    assert early.returncode is not None and gone(early.pid)


def test_process_transports_are_the_transports_that_cross_processes():
    from robocritic.ros.transport import TRANSPORTS

    assert set(PROCESS_TRANSPORTS) == set(TRANSPORTS) - {"inprocess"}
