"""Command lines of the node executables: ``--ros-args`` as rcl reads them, plus ``--transport``."""

from __future__ import annotations

import math

import pytest

from robocritic.nodes.args import NodeArgumentError, load_params_file, parse_node_arguments


def test_parameters_are_typed_like_rcl():
    args = parse_node_arguments(
        ["--ros-args", "-p", "horizon:=10", "-p", "rate_hz:=20.0", "-p", "autostart:=false",
         "-p", "mode:=lockstep", "-p", "initial_state:=[0.1, -0.2]", "-p", "tol:=1e-3",
         "--param", "quoted:='4.0'", "-p", "nan:=.nan"],
        "sim_bridge",
    )  # fmt: skip
    p = args.parameters
    assert p["horizon"] == 10 and type(p["horizon"]) is int
    assert p["rate_hz"] == 20.0 and type(p["rate_hz"]) is float
    assert p["autostart"] is False
    assert p["mode"] == "lockstep"
    assert p["initial_state"] == [0.1, -0.2]
    assert p["tol"] == 0.001 and type(p["tol"]) is float  # YAML 1.1 would say "1e-3" is a string
    assert p["quoted"] == "4.0"
    assert math.isnan(p["nan"])
    assert (args.name, args.namespace, args.transport) == ("sim_bridge", "/", "auto")


def test_name_namespace_remaps_and_transport():
    args = parse_node_arguments(
        ["--transport", "dds", "--ros-args", "-r", "__node:=sim", "-r", "__ns:=/robot",
         "-r", "joint_states:=/hw/joints", "-r", "sim_bridge:cmd:=/a", "-r", "other:cmd:=/b",
         "--remap", "/clock:=/sim/clock", "--"],
        "sim_bridge",
    )  # fmt: skip
    assert (args.name, args.namespace, args.fully_qualified_name) == ("sim", "/robot", "/robot/sim")
    assert args.transport == "dds"
    # node-targeted rules apply to this node (by its default or remapped name) only
    assert args.remappings == {"joint_states": "/hw/joints", "cmd": "/a", "/clock": "/sim/clock"}


def test_sources_apply_in_command_line_order(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(
        "/**:\n  ros__parameters:\n    horizon: 5\n    solver: osqp\n"
        "/robot/ctl:\n  ros__parameters:\n    horizon: 7\n    weights: {q: [1.0, 2.0]}\n"
        "other:\n  ros__parameters:\n    horizon: 99\n"
    )
    args = parse_node_arguments(
        ["--ros-args", "-p", "horizon:=3", "--params-file", str(params), "-p", "solver:=daqp",
         "-r", "__node:=ctl", "-r", "__ns:=/robot"],
        "mpc_controller",
    )  # fmt: skip
    # -p horizon:=3 came first, so the file's /robot/ctl entry (7) wins; -p solver after the file wins.
    assert args.parameters == {"horizon": 7, "solver": "daqp", "weights.q": [1.0, 2.0]}


def test_params_file_wildcards_and_nesting(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text(
        "robot:\n  '*':\n    ros__parameters: {a: 1}\n"
        "/robot/ctl:\n  ros__parameters: {b: 2}\n"
        "/other/**:\n  ros__parameters: {c: 3}\n"
    )
    assert load_params_file(params, "/robot/ctl") == {"a": 1, "b": 2}
    assert load_params_file(params, "/robot/x") == {"a": 1}
    assert load_params_file(params, "/other/deep/node") == {"c": 3}
    assert load_params_file(params, "/ctl") == {}


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--ros-args", "-p", "horizon"], "NAME:=VALUE"),
        (["--ros-args", "-p"], "needs a value"),
        (["--ros-args", "-p", "x:="], "expected a bool, int, float, string or list"),
        (["--ros-args", "-p", "x:={a: 1}"], "expected a bool"),
        (["--ros-args", "--enclave", "/x"], "enclaves are not supported"),
        (["--ros-args", "--frobnicate"], "unknown ROS argument '--frobnicate'"),
        (["--ros-args", "--log-level", "loud"], "--log-level must be one of"),
        (["--transport", "zeromq"], "--transport must be one of"),
        (["--ros-args", "-r", "__node:=9lives"], "invalid node name"),
        (["--ros-args", "--params-file", "/nonexistent/params.yaml"], "cannot read"),
    ],
)
def test_bad_command_lines_name_the_argument(argv, match):
    with pytest.raises(NodeArgumentError, match=match):
        parse_node_arguments(argv, "sim_bridge")


def test_malformed_params_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("horizon: 3\n")
    with pytest.raises(NodeArgumentError, match="not under a 'ros__parameters' key"):
        parse_node_arguments(["--ros-args", "--params-file", str(bad)], "n")


def test_log_level_and_ignored_logging_switches():
    args = parse_node_arguments(
        ["--ros-args", "--log-level", "WARN", "--disable-rosout-logs", "--enable-stdout-logs"], "n"
    )
    assert args.log_level == "warning"
    assert parse_node_arguments(["--ros-args", "--log-level", "rcl:=debug"], "n").log_level is None
    assert parse_node_arguments(["--ros-args", "--log-level", "n:=debug"], "n").log_level == "debug"


def test_arguments_outside_ros_args_are_kept_for_the_node():
    assert parse_node_arguments(["foo", "--ros-args", "-p", "a:=1", "--", "bar"], "n").extra == ("foo", "bar")
