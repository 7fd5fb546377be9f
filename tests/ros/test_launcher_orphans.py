"""No node outlives ``robocritic launch`` (issue 12, finding 3), and ``--duration`` is a finite
number of seconds > 0.

``kill -9`` of the launcher used to leave its nodes running. The launcher cannot see its own
SIGKILL; the kernel's parent-death signal (robocritic/ros/launcher/spawn.py) ends the nodes. The
stand-in nodes are tests/ros/launch_probe.py; one test runs the shipped pendulum launch file over
DDS (loopback, random ROS_DOMAIN_ID). SIGINT and SIGTERM of the launcher are covered in
test_launch_runner.py.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from robocritic.ros.launcher import LaunchError, LaunchRunner, NodeSpec
from robocritic.ros.launcher.command import main as launch_main
from robocritic.ros.launcher.packages import console_scripts
from robocritic.ros.launcher.spawn import PDEATHSIG_SUPPORTED, spawn_node
from robocritic.ros.transport.dds import LOOPBACK_CONFIG

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).parents[2]
PROBE = Path(__file__).with_name("launch_probe.py")
PENDULUM = ROOT / "launch" / "pendulum_sim.launch.yaml"
GONE_WITHIN_S = 5.0

needs_pdeathsig = pytest.mark.skipif(not PDEATHSIG_SUPPORTED, reason="parent-death signal is Linux-only")


def gone(pid: int) -> bool:
    """Ended: no such process, or a zombie nobody reaped yet (PID 1 of a container may not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def wait_gone(pids: dict[str, int], timeout_s: float = GONE_WITHIN_S) -> list[str]:
    """Labels of the processes still alive after ``timeout_s``."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if all(gone(pid) for pid in pids.values()):
            return []
        time.sleep(0.05)
    return [label for label, pid in pids.items() if not gone(pid)]


def kill_leftovers(pids: dict[str, int]) -> None:
    for pid in pids.values():
        if not gone(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def probe_spec(label: str, mode: str) -> NodeSpec:
    return NodeSpec(
        package="probe_pkg", executable="probe", name=label, namespace=None, env=(("PROBE_MODE", mode),),
        output="screen", command=(sys.executable, str(PROBE)),
    )  # fmt: skip


@pytest.fixture
def probe_launch_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A launch file of two probes, ``a`` (SIGINT ends it) and ``b`` (ignores SIGINT), in package
    ``probe_pkg`` on ``AMENT_PREFIX_PATH``."""
    prefix = tmp_path / "prefix"
    (prefix / "lib" / "probe_pkg").mkdir(parents=True)
    (prefix / "share" / "probe_pkg").mkdir(parents=True)
    index = prefix / "share" / "ament_index" / "resource_index" / "packages"
    index.mkdir(parents=True)
    (index / "probe_pkg").touch()
    script = prefix / "lib" / "probe_pkg" / "probe"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{PROBE}" "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    path = tmp_path / "probes.launch.yaml"
    node = (
        "- node: {{pkg: probe_pkg, exec: probe, name: {}, output: screen,"
        " env: [{{name: PROBE_MODE, value: {}}}]}}\n"
    )
    path.write_text("launch:\n" + node.format("a", "sleep") + node.format("b", "stubborn"))
    return path


def start_launcher(path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "robocritic.cli", "launch", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env or dict(os.environ),
    )  # fmt: skip


def read_until(proc: subprocess.Popen[str], done: re.Pattern[str], count: int, timeout_s: float) -> list[str]:
    """The launcher's output lines until ``count`` distinct labels matched ``done``."""
    lines: list[str] = []
    seen: set[str] = set()
    end = time.monotonic() + timeout_s
    # readline blocks; a timer kills the launcher so a stuck start fails the test instead of hanging.
    timer = threading.Timer(timeout_s, proc.kill)
    timer.start()
    try:
        while len(seen) < count and time.monotonic() < end:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = done.match(line)
            if match:
                seen.add(match.group(1))
    finally:
        timer.cancel()
    assert len(seen) == count, "".join(lines)
    return lines


def started_pids(lines: list[str]) -> dict[str, int]:
    return {
        m.group(1): int(m.group(2))
        for m in (re.match(r"\[launch\] started (\S+) \[pid (\d+)\]", line) for line in lines)
        if m
    }


@needs_pdeathsig
def test_sigkill_of_the_launcher_ends_its_nodes(probe_launch_file: Path) -> None:
    proc = start_launcher(probe_launch_file)
    pids: dict[str, int] = {}
    try:
        lines = read_until(proc, re.compile(r"\[(a|b)\] \{"), 2, timeout_s=20)  # both probes running
        pids = started_pids(lines)
        assert set(pids) == {"a", "b"}
        for label, line in zip("ab", sorted(line for line in lines if re.match(r"\[[ab]\] \{", line))):
            assert json.loads(line[4:])["pid"] == pids[label]  # the started pid is the node itself
        proc.kill()
        proc.wait(timeout=10)
        assert wait_gone(pids) == [], f"nodes outlived the launcher's SIGKILL: {pids}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        kill_leftovers(pids)


@needs_pdeathsig
@pytest.mark.timeout(90)
def test_sigkill_of_the_launcher_ends_the_pendulum_graph() -> None:
    missing = [name for name in ("sim_bridge", "mpc_controller") if name not in console_scripts()]
    if missing:
        pytest.skip(f"node console scripts not installed: {missing}")
    domain = random.SystemRandom().randint(100, 200)
    env = dict(os.environ, ROS_DOMAIN_ID=str(domain), CYCLONEDDS_URI=LOOPBACK_CONFIG)
    env.pop("ROS_DISTRO", None)
    proc = start_launcher(PENDULUM, env)
    pids: dict[str, int] = {}
    try:
        # Both nodes past start-up (their first log line), as in the reported case.
        lines = read_until(proc, re.compile(r"\[(sim_bridge|mpc_controller)\] \[INFO\]"), 2, timeout_s=45)
        pids = started_pids(lines)
        assert set(pids) == {"sim_bridge", "mpc_controller"}, "".join(lines)
        proc.kill()
        proc.wait(timeout=10)
        assert wait_gone(pids) == [], f"nodes outlived the launcher's SIGKILL: {pids}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        kill_leftovers(pids)


def test_nodes_started_in_a_short_lived_thread_keep_running(tmp_path: Path) -> None:
    """Linux sends the parent-death signal when the forking *thread* ends: nodes are forked by a
    thread that lives as long as the process, so the caller's thread may end first."""
    err = io.StringIO()
    runner = LaunchRunner([probe_spec("a", "sleep")], stdout=err, stderr=err, sigterm_timeout_s=2.0)
    thread = threading.Thread(target=runner.start)
    thread.start()
    thread.join()
    try:
        (node,) = runner.processes
        time.sleep(0.5)
        assert node.popen.poll() is None, err.getvalue()
    finally:
        runner.shutdown()
    assert runner.exit_codes() == {"a": 0}, err.getvalue()  # SIGINT from the runner, not SIGTERM


def test_an_exception_in_the_launcher_stops_the_nodes(tmp_path: Path) -> None:
    class Interrupted(LaunchRunner):
        polls = 0

        def _alive(self):  # Ctrl-C without the runner's handlers lands in the supervision loop
            self.polls += 1
            if self.polls == 20:
                raise KeyboardInterrupt
            return super()._alive()

    err = io.StringIO()
    runner = Interrupted([probe_spec("a", "sleep"), probe_spec("b", "stubborn")], stdout=err, stderr=err,
                         sigterm_timeout_s=0.5)  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        runner.run(handle_signals=False)
    assert all(p.returncode is not None and gone(p.pid) for p in runner.processes), err.getvalue()
    assert "shutting down: KeyboardInterrupt in the launcher" in err.getvalue()


def test_spawn_reports_a_missing_or_non_executable_program_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        spawn_node([str(tmp_path / "missing")])
    with pytest.raises(FileNotFoundError):
        spawn_node(["robocritic-no-such-program"], env={"PATH": str(tmp_path)})
    plain = tmp_path / "plain"
    plain.write_text("#!/bin/sh\n")
    with pytest.raises(PermissionError):
        spawn_node([str(plain)])


# --- --duration and the shutdown timeouts --------------------------------------------------------


NOT_SECONDS = ["nan", "NaN", "inf", "-inf", "-1", "abc", ""]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--duration", v) for v in [*NOT_SECONDS, "0", "0.0"]]
    + [(o, v) for o in ("--sigterm-timeout", "--sigkill-timeout") for v in NOT_SECONDS],  # 0: at once
)
def test_bad_seconds_are_a_usage_error_naming_the_option(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        launch_main([str(PENDULUM), "--print", f"{option}={value}"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}:" in err and "seconds" in err and repr(value) in err, err


def test_good_duration_is_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    assert launch_main([str(PENDULUM), "--print", "--duration", "0.5", "--sigterm-timeout", "0"]) == 0
    assert "sim_bridge" in capsys.readouterr().out


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 0.0, "10", True])
def test_runner_rejects_a_bad_duration_before_starting(value: object) -> None:
    runner = LaunchRunner([probe_spec("a", "sleep")], stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(LaunchError, match="duration must be a finite number of seconds > 0"):
        runner.run(value, handle_signals=False)
    assert runner.processes == []


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -0.5])
def test_runner_rejects_bad_shutdown_timeouts(value: float) -> None:
    with pytest.raises(LaunchError, match="sigterm_timeout_s must be a finite number"):
        LaunchRunner([probe_spec("a", "sleep")], sigterm_timeout_s=value)
    with pytest.raises(LaunchError, match="sigkill_timeout_s must be a finite number"):
        LaunchRunner([probe_spec("a", "sleep")], sigkill_timeout_s=value)
