"""tests/nodes/test_process.py on ``--transport rclpy``: node executables as real rclpy processes.

SIGINT and SIGTERM end a controller cleanly (exit 0) with its safe stop on the wire, heard by an
rclpy node here: the runtime's handlers, not rclpy's, must see the signal. Bad arguments exit with
status 2 and the same one-line error as on the DDS transport, never rclpy's traceback.
"""

from __future__ import annotations

import json
import signal
import subprocess

import node_processes as nodes  # tests/ros2 is on sys.path (conftest)
import pytest

pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_controller_process_shuts_down_cleanly_with_a_safe_stop(tmp_path, ros_env, rclpy_context, sig):
    log, report = tmp_path / "ctl.log", tmp_path / "report.json"
    args = ["-r", "__node:=ctl", "-r", "__ns:=/robot", "-r", "/pendulum/effort_command:=/robot/effort",
            "-p", "horizon:=5", "-p", f"report_path:={report}", "--log-level", "info"]  # fmt: skip
    with nodes.probe(rclpy_context) as p, nodes.node_process("mpc_controller", args, ros_env, log) as proc:
        got = nodes.float_commands(p, "/robot/effort")
        nodes.wait_for_text(log, "activated", proc)
        # wall-clock watchdog: no state -> safe commands, once the graph is connected
        assert p.spin_until(lambda: len(got) >= 2), log.read_text()
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0, log.read_text()
        p.spin(0.5)  # what was sent before the exit is still on its way
    data = json.loads(report.read_text())
    assert data["node"] == "/robot/ctl" and data["info"]["horizon"] == 5
    assert data["safe_commands"]["shutdown"] == 1 and data["safe_commands"]["stale_state"] >= 1
    assert data["commands_sent"] == data["safe_commands"]["shutdown"] + data["safe_commands"]["stale_state"]
    assert 2 <= len(got) <= data["commands_sent"] and all(c == [0.0] for c in got)
    assert "deactivated (shutdown)" in log.read_text() and "Traceback" not in log.read_text()


@pytest.mark.parametrize(("module", "args", "message"), nodes.BAD_ARGUMENTS)
def test_bad_arguments_exit_with_status_2_and_name_the_problem(module, args, message, ros_env):
    proc = subprocess.run(
        nodes.node_command(module, args), check=False, capture_output=True, text=True, env=ros_env, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith(f"{module}: error: ")]
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_log_level_reaches_the_rclpy_logger(tmp_path, ros_env, rclpy_context):
    log = tmp_path / "ctl.log"
    args = ["-r", "__node:=ctl", "--log-level", "warn"]
    with nodes.probe(rclpy_context) as p, nodes.node_process("mpc_controller", args, ros_env, log) as proc:
        got = nodes.float_commands(p, "/pendulum/effort_command")
        assert p.spin_until(lambda: len(got) >= 2), log.read_text()  # running: it has started up
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0, log.read_text()
    # the start-up, activation and shutdown lines are info: with --log-level info they are there
    assert "[INFO]" not in log.read_text() and "activated" not in log.read_text(), log.read_text()
