"""Node executables as processes: ROS arguments, clean shutdown on SIGINT/SIGTERM with the safe stop
on the wire, activation over ``~/activate``, and a bad parameter as exit status 2 with a message
naming it.

tests/ros2/test_nodes_process_rclpy.py runs the same checks on ``--transport rclpy`` and reuses
:data:`BAD_ARGUMENTS` and :func:`wait_for_text` from here."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from robocritic.nodes.profile_params import ESTOP_QOS
from robocritic.ros.msgs import Bool, Float64MultiArray
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


BAD_ARGUMENTS = [
    # (node module, ROS arguments, text the one-line error must contain); the same on every transport
    ("sim_bridge", ["-p", "mode:=warp"], "parameter 'mode' = 'warp' is invalid"),
    ("mpc_controller", ["-p", "rate_hz:=20"], "parameter 'rate_hz' expects float"),
    ("explicit_controller", ["--frobnicate"], "unknown ROS argument"),
    ("mpc_controller", ["-p", "realtime_priority:=99"], "parameter 'realtime_priority' = 99 is invalid"),
    ("mpc_controller", ["-p", "use_sim_time:=1"], "parameter 'use_sim_time' expects bool; got int 1"),
    ("sim_bridge", ["-p", "initial_state:=[1, 2.0]"], "'initial_state': list items must all have one type"),
]


def wait_for_text(path, text: str, proc: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """Wait until the log file ``path`` of ``proc`` contains ``text``; fail if ``proc`` exits first."""
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
            [sys.executable, "-m", "robocritic.nodes.mpc_controller", "--transport", "dds", "--ros-args",
             "-r", "__node:=ctl", "-r", "__ns:=/robot", "-r", "/pendulum/effort_command:=/robot/effort",
             "-p", "horizon:=5", "-p", f"report_path:={report}", "--log-level", "info"],
            stdout=out, stderr=subprocess.STDOUT, env=dds_env,
        )  # fmt: skip
    try:
        wait_for_text(log, "activated", proc)
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


def _spin_until(node, predicate, timeout_s: float = 20.0) -> bool:
    end = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > end:
            return False
        node.spin_once(0.05)
    return True


def test_activate_topic_drives_a_controller_without_autostart(tmp_path, dds_env):
    """The DDS transport has no services: ~/activate takes the lifecycle transitions there."""
    listener = make_node("listener", transport="dds", namespace="/robot")
    got: list[list[float]] = []
    listener.create_subscription(
        Float64MultiArray, "effort", lambda m: got.append(list(m.data)), QoSProfile(depth=100)
    )
    activate = listener.create_publisher(Bool, "/robot/ctl/activate", ESTOP_QOS)
    log, report = tmp_path / "ctl.log", tmp_path / "report.json"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "robocritic.nodes.mpc_controller", "--transport", "dds", "--ros-args",
             "-r", "__node:=ctl", "-r", "__ns:=/robot", "-r", "/pendulum/effort_command:=/robot/effort",
             "-p", "autostart:=false", "-p", f"report_path:={report}"],
            stdout=out, stderr=subprocess.STDOUT, env=dds_env,
        )  # fmt: skip
    try:
        wait_for_text(log, "inactive until activated", proc)
        assert _spin_until(listener, lambda: activate.get_subscription_count() == 1), log.read_text()
        listener.spin(1.0)
        assert got == []  # unconfigured: nothing sent
        activate.publish(Bool(data=True))
        assert _spin_until(listener, lambda: len(got) >= 3), log.read_text()  # no state: safe commands
        activate.publish(Bool(data=False))
        assert _spin_until(listener, lambda: "deactivated (deactivate)" in log.read_text()), log.read_text()
        listener.spin(0.7)
        settled = len(got)
        listener.spin(0.5)
        assert len(got) == settled  # inactive: nothing more
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        listener.destroy()
    data = json.loads(report.read_text())
    assert data["safe_commands"]["deactivate"] == 1 and "shutdown" not in data["safe_commands"]
    assert data["commands_sent"] == data["safe_commands"]["deactivate"] + data["safe_commands"]["stale_state"]
    assert 3 <= len(got) <= data["commands_sent"] and all(c == [0.0] for c in got)


@pytest.mark.parametrize(("module", "args", "message"), BAD_ARGUMENTS)
def test_bad_arguments_exit_with_status_2_and_name_the_problem(module, args, message, dds_env):
    proc = subprocess.run(
        [sys.executable, "-m", f"robocritic.nodes.{module}", "--transport", "dds", "--ros-args", *args],
        check=False, capture_output=True, text=True, env=dds_env, timeout=30,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
