"""Node executables as processes: ROS arguments, clean shutdown on SIGINT/SIGTERM with the safe stop
on the wire, and a bad parameter as exit status 2 with a message naming it."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from robocritic.ros.msgs import Float64MultiArray
from robocritic.ros.qos import QoSProfile
from robocritic.ros.transport import make_node
from robocritic.ros.transport.dds import LOOPBACK_CONFIG

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def dds_env(monkeypatch):
    """A random domain on loopback, for this process and the node processes it starts."""
    domain = random.SystemRandom().randint(100, 200)
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    monkeypatch.setenv("CYCLONEDDS_URI", LOOPBACK_CONFIG)
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def _wait_for(path, text: str, proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    end = time.monotonic() + timeout_s
    while text not in path.read_text():
        assert proc.poll() is None, f"node exited early ({proc.returncode}):\n{path.read_text()}"
        assert time.monotonic() < end, f"no {text!r} after {timeout_s} s:\n{path.read_text()}"
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_controller_process_shuts_down_cleanly_with_a_safe_stop(tmp_path, dds_env, sig):
    listener = make_node("listener", transport="dds", namespace="/robot")
    got: list[list[float]] = []
    listener.create_subscription(
        Float64MultiArray, "effort", lambda m: got.append(list(m.data)), QoSProfile(depth=100)
    )
    log = tmp_path / "ctl.log"
    report = tmp_path / "report.json"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "robocritic.ros.nodes.mpc_controller", "--transport", "dds", "--ros-args",
             "-r", "__node:=ctl", "-r", "__ns:=/robot", "-r", "/pendulum/effort_command:=/robot/effort",
             "-p", "horizon:=5", "-p", f"report_path:={report}", "--log-level", "info"],
            stdout=out, stderr=subprocess.STDOUT, env=dds_env,
        )  # fmt: skip
    try:
        _wait_for(log, "activated", proc)
        end = time.monotonic() + 10
        while not got and time.monotonic() < end:  # wall-clock watchdog: no state -> safe commands
            listener.spin_once(0.05)
        proc.send_signal(sig)
        assert proc.wait(timeout=15) == 0, log.read_text()
        listener.spin(0.3)
    finally:
        if proc.poll() is None:
            proc.kill()
        listener.destroy()
    data = json.loads(report.read_text())
    assert data["node"] == "/robot/ctl" and data["info"]["horizon"] == 5
    assert data["safe_commands"]["shutdown"] == 1 and data["safe_commands"]["stale_state"] >= 1
    assert got and all(c == [0.0] for c in got)
    assert "deactivated (shutdown)" in log.read_text()


@pytest.mark.parametrize(
    ("module", "args", "message"),
    [
        ("sim_bridge", ["-p", "mode:=warp"], "parameter 'mode' = 'warp' is invalid"),
        ("mpc_controller", ["-p", "rate_hz:=20"], "parameter 'rate_hz' expects float"),
        ("explicit_controller", ["--frobnicate"], "unknown ROS argument"),
        ("mpc_controller", ["-p", "realtime_priority:=99"], "parameter 'realtime_priority' = 99 is invalid"),
    ],
)
def test_bad_arguments_exit_with_status_2_and_name_the_problem(module, args, message, dds_env):
    proc = subprocess.run(
        [sys.executable, "-m", f"robocritic.ros.nodes.{module}", "--transport", "dds", "--ros-args", *args],
        check=False, capture_output=True, text=True, env=dds_env, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
