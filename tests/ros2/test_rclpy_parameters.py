"""Parameters on the rclpy transport follow robocritic's rules, at start-up and on rclpy's services.

A bad value is the same one-line :class:`ParameterError` as on the local transports (not rclpy's
exceptions); a list parameter with an empty default takes a list; and a ``set`` through rclpy's
parameter services (what ``ros2 param set`` uses), from a real parameter client in this process
to a node executable process, is validated like a start-up value and refused with the reason.
"""

from __future__ import annotations

import node_processes as nodes  # tests/ros2 is on sys.path (conftest)
import pytest

from robocritic.ros.transport import InProcessBus, make_node
from robocritic.ros.transport.base import ParameterError

pytestmark = pytest.mark.timeout(90)


def _positive(v: float) -> str | None:
    return None if v > 0 else "must be > 0"


DECLARATIONS = [
    # (parameter, default, validator, override)
    ("rate_hz", 20.0, _positive, 20),  # int for a float
    ("rate_hz", 20.0, _positive, -1.0),  # validator
    ("autostart", True, None, 1),  # int for a bool
    ("horizon", 10, None, True),  # bool for an int
    ("weights", [1.0, 1.0], None, [1, 2]),  # int items for float items
    ("weights", [1.0, 1.0], None, [1.0, "a"]),  # mixed list
    ("initial_state", [], None, "0.0"),  # a string for a list
    ("law", None, None, None),  # required, not given
    ("use_sim_time", None, None, 1),  # rclpy's own parameter, at node creation
]


def _error(create, name, default, validator, override) -> str:
    """The ParameterError text of declaring the parameter on a node made by ``create(overrides)``."""
    overrides = {} if override is None else {name: override}
    with pytest.raises(ParameterError) as info:
        node = create(overrides)
        try:
            node.declare_parameter(name, default, validator)
        finally:
            node.destroy()
    return str(info.value)


@pytest.mark.parametrize(("name", "default", "validator", "override"), DECLARATIONS)
def test_a_bad_value_is_the_same_parameter_error_as_on_the_local_transports(
    ros_env, name, default, validator, override
):
    bus = InProcessBus()
    expected = _error(lambda o: bus.create_node("probe", parameters=o), name, default, validator, override)
    got = _error(lambda o: make_node("probe", "rclpy", parameters=o), name, default, validator, override)
    assert got == expected
    assert f"parameter '{name}" in got


def test_a_list_with_an_empty_default_takes_a_list_at_start_and_later(ros_env):
    node = make_node("probe", "rclpy", parameters={"initial_state": [0.0, 0.0], "tags": []})
    try:
        assert node.declare_parameter("initial_state", []) == [0.0, 0.0]
        assert node.declare_parameter("tags", ["a"]) == []
        node.set_parameter("initial_state", [0.5, -0.5, 1.0])
        assert node.get_parameter("initial_state") == [0.5, -0.5, 1.0]
        with pytest.raises(ParameterError, match="parameter 'initial_state' expects a list; got '0.0'"):
            node.set_parameter("initial_state", "0.0")
        with pytest.raises(ParameterError, match=r"parameter 'tags\[0\]' expects str; got int 1"):
            node.set_parameter("tags", [1])
        assert node.get_parameter("initial_state") == [0.5, -0.5, 1.0] and node.get_parameter("tags") == []
    finally:
        node.destroy()


def test_a_runtime_set_is_validated_and_a_refusal_names_parameter_and_reason(ros_env):
    node = make_node("probe", "rclpy")
    try:
        assert node.declare_parameter("rate_hz", 20.0, _positive) == 20.0
        with pytest.raises(ParameterError, match=r"^parameter 'rate_hz' expects float; got int 5 \(write"):
            node.set_parameter("rate_hz", 5)
        refused = r"^/probe: parameter 'rate_hz' = 0.0 is invalid: must be > 0"
        with pytest.raises(ParameterError, match=refused):
            node.set_parameter("rate_hz", 0.0)
        node.set_parameter("rate_hz", 50.0)
        assert node.get_parameter("rate_hz") == 50.0
    finally:
        node.destroy()


def _set(p, client, **values):
    from rclpy.parameter import Parameter

    reply = p.result(client.set_parameters([Parameter(k, value=v) for k, v in values.items()]))
    return [(r.successful, r.reason) for r in reply.results]


def _get(p, client, *names):
    from rclpy.parameter import parameter_value_to_python

    reply = p.result(client.get_parameters(list(names)))
    return [parameter_value_to_python(v) for v in reply.values]


def test_rclpy_parameter_client_sets_go_through_the_node_validation(tmp_path, ros_env, rclpy_context):
    from rclpy.parameter_client import AsyncParameterClient

    log = tmp_path / "ctl.log"
    # autostart:=false: inactive, so the node sends nothing while its parameters are probed
    args = ["-r", "__node:=ctl", "-r", "__ns:=/robot", "-p", "autostart:=false", "-p", "horizon:=5"]
    with nodes.probe(rclpy_context) as p, nodes.node_process("mpc_controller", args, ros_env, log) as proc:
        nodes.wait_for_text(log, "inactive until activated", proc)
        client = AsyncParameterClient(p.node, "/robot/ctl")
        assert client.wait_for_services(timeout_sec=nodes.SERVICE_TIMEOUT_S), log.read_text()
        assert _get(p, client, "horizon", "rate_hz", "state_weight") == [5, 20.0, [1.0, 1.0]]
        results = _set(p, client, rate_hz=20, horizon=0, solver="qp", input_weight=[0.0], state_weight=[1, 1])
        assert results == [
            (False, "parameter 'rate_hz' expects float; got int 20 (write it as a float, e.g. 4.0)"),
            (False, "/robot/ctl: parameter 'horizon' = 0 is invalid: must be >= 1"),
            (False, "/robot/ctl: parameter 'solver' = 'qp' is invalid: "
                    "must be one of ['daqp', 'osqp', 'cvxpy']"),
            (False, "/robot/ctl: parameter 'input_weight' = [0.0] is invalid: "
                    "must be a non-empty list of finite floats > 0"),
            (False, "parameter 'state_weight[0]' expects float; got int 1 (write it as a float, e.g. 4.0)"),
        ]  # fmt: skip
        assert _set(p, client, horizon=7, input_weight=[0.01]) == [(True, ""), (True, "")]
        assert _get(p, client, "horizon", "rate_hz", "solver", "input_weight") == [7, 20.0, "daqp", [0.01]]
        assert proc.poll() is None
    assert "Traceback" not in log.read_text()


def test_an_empty_list_default_takes_a_command_line_list(tmp_path, ros_env, rclpy_context):
    from rclpy.parameter_client import AsyncParameterClient

    log = tmp_path / "sim.log"
    args = ["-r", "__node:=sim", "-p", "initial_state:=[0.1, 0.0]", "-p", "mode:=lockstep"]
    with nodes.probe(rclpy_context) as p, nodes.node_process("sim_bridge", args, ros_env, log) as proc:
        nodes.wait_for_text(log, "as pendulum_sim: lockstep", proc, timeout_s=60.0)  # the env is built
        client = AsyncParameterClient(p.node, "/sim")
        assert client.wait_for_services(timeout_sec=nodes.SERVICE_TIMEOUT_S), log.read_text()
        assert _get(p, client, "initial_state") == [[0.1, 0.0]]
        assert proc.poll() is None, log.read_text()
    assert "Traceback" not in log.read_text()
