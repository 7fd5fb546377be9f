"""mpc_controller builds its problem from the hardware profile alone: the pendulum profile gives the
benchmark controller exactly, other profiles their own, and every bad setting names its parameter."""

from __future__ import annotations

import ast
import inspect
from importlib import resources

import numpy as np
import pytest
import yaml
from robocritic.controllers.mpc import LinearMPC, MPCConfig

import robocritic.nodes.mpc_controller as mpc_module
from robocritic.dynamics import PendulumModel
from robocritic.nodes.controller_node import ControllerNode
from robocritic.nodes.mpc_controller import build_linear_mpc, linear_model_from_profile, mpc_factory
from robocritic.profiles import load_profile
from robocritic.ros.transport import InProcessBus, ParameterError


def _profile(tmp_path, edit) -> str:
    data = yaml.safe_load(resources.files("robocritic.hardware").joinpath("pendulum_sim.yaml").read_text())
    edit(data)
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_the_pendulum_profile_gives_the_benchmark_mpc_exactly():
    built = build_linear_mpc(load_profile("pendulum_sim"))
    reference = LinearMPC(
        PendulumModel(dt=0.05, max_torque=2.0, max_angle=2.0, max_speed=8.0).linearize(),
        MPCConfig(horizon=10, Q=np.eye(2), R=np.array([[1e-3]]), solver="daqp", polish=False),
    )
    for name in ("A", "B", "x_eq", "u_eq"):
        np.testing.assert_array_equal(getattr(built.model, name), getattr(reference.model, name))
    for box in ("state_box", "input_box"):
        for side in ("low", "high"):
            np.testing.assert_array_equal(
                getattr(getattr(built.model, box), side), getattr(getattr(reference.model, box), side)
            )
    assert built.model.dt == reference.model.dt and built.horizon == 10
    np.testing.assert_array_equal(built.config.Q, reference.config.Q)
    np.testing.assert_array_equal(built.config.R, reference.config.R)
    for x in np.random.default_rng(0).uniform([-1.5, -6.0], [1.5, 6.0], size=(50, 2)):
        np.testing.assert_array_equal(built.act(x), reference.act(x))


def test_mpc_controller_imports_no_env_and_no_pendulum_code():
    imported = set()
    for node in ast.walk(ast.parse(inspect.getsource(mpc_module))):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module)
            imported.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not [m for m in imported if "envs" in m or "Pendulum" in m]


def test_weights_horizon_and_bounds_come_from_the_profile(tmp_path):
    def edit(d):
        d["mpc"].update(horizon=4, state_weight=[10.0, 0.5], input_weight=[0.01])
        d["joints"][0].update(position_limits=[-1.0, 1.5], velocity_limit=6.0, effort_limit=1.5)

    path = _profile(tmp_path, edit)
    model = linear_model_from_profile(load_profile(path), 20.0)
    np.testing.assert_array_equal(model.state_box.low, [-1.0, -6.0])
    np.testing.assert_array_equal(model.state_box.high, [1.5, 6.0])
    np.testing.assert_array_equal(model.input_box.high, [1.5])
    ctl = ControllerNode(InProcessBus().create_node("ctl", parameters={"profile": path}), mpc_factory)
    assert ctl.built.info["state_weight"] == [10.0, 0.5] and ctl.built.info["input_weight"] == [0.01]
    mpc = ctl.built.controller
    assert mpc.horizon == 4 and mpc.config.Q.tolist() == [[10.0, 0.0], [0.0, 0.5]]
    # node parameters override the profile's defaults
    params = {"profile": path, "horizon": 6, "state_weight": [1.0, 2.0]}
    node = InProcessBus().create_node("ctl", parameters=params)
    assert ControllerNode(node, mpc_factory).built.controller.horizon == 6


def test_model_parameters_reach_the_model(tmp_path):
    path = _profile(tmp_path, lambda d: d["mpc"].update(model_parameters={"mass": 2.0}))
    heavy = linear_model_from_profile(load_profile(path), 20.0)
    light = linear_model_from_profile(load_profile("pendulum_sim"), 20.0)
    assert heavy.B[1, 0] == pytest.approx(light.B[1, 0] / 2, rel=1e-3)


@pytest.mark.parametrize(
    ("edit", "params", "match"),
    [
        (None, {"profile": "arm7_torque"}, r"parameter 'profile' \(hardware/arm7_torque.yaml\): mpc_controller "
         r"needs the profile's 'mpc' section .* hardware/pendulum_sim.yaml"),
        (lambda d: d["mpc"].update(model="Pendulum"), {},
         r"parameter 'profile' \(.*\): mpc.model = 'Pendulum' is not a dynamics model; robocritic.dynamics has "
         r"\['CSTRModel', 'PendulumModel'\]"),
        (lambda d: d["mpc"].update(model="CSTRModel", state_weight=[1.0, 1.0]), {},
         r"mpc.model = 'CSTRModel': the law maps 4 states to 1 inputs; profile pendulum_sim needs 2 states"),
        (lambda d: d["mpc"].update(model_parameters={"mass": -1.0}), {},
         r"mpc.model_parameters do not fit PendulumModel: PendulumModel.mass must be a positive"),
        (lambda d: d["mpc"].update(model_parameters={"spring": 1.0}), {}, r"mpc.model_parameters do not fit"),
        (None, {"state_weight": [1.0]}, r"parameter 'state_weight' needs 2 values \(diagonal of Q\)"),
        (None, {"state_weight": [1.0, -1.0]}, r"parameter 'state_weight' = \[1.0, -1.0\] is invalid"),
        (None, {"input_weight": [0.001, 1.0]}, r"parameter 'input_weight' needs 1 values \(diagonal of R\)"),
        (None, {"horizon": 0}, r"parameter 'horizon' = 0 is invalid"),
    ],
)
def test_bad_settings_name_their_parameter(tmp_path, edit, params, match):
    if edit is not None:
        params = {**params, "profile": _profile(tmp_path, edit)}
    with pytest.raises(ParameterError, match=match):
        ControllerNode(InProcessBus().create_node("ctl", parameters=params), mpc_factory)


def test_build_linear_mpc_checks_its_arguments_by_parameter_name():
    profile = load_profile("pendulum_sim")
    with pytest.raises(ParameterError, match=r"parameter 'horizon' = 0 is invalid"):
        build_linear_mpc(profile, horizon=0)
    with pytest.raises(ParameterError, match=r"parameter 'solver' = 'gurobi' is invalid"):
        build_linear_mpc(profile, solver="gurobi")
    match = r"parameter 'input_weight' = \[0.0\] is invalid: R needs entries > 0"
    with pytest.raises(ParameterError, match=match):
        build_linear_mpc(profile, input_weight=[0.0])
    with pytest.raises(ParameterError, match=r"parameter 'state_weight' needs 2 values"):
        build_linear_mpc(profile, state_weight=[1.0, float("nan")])
