"""``yann_controller``: a trained YANN-RL run as a controller node, over the in-process transport."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from robocritic.nodes.controller_node import ControllerNode
from robocritic.nodes.sim_bridge import SimBridgeNode
from robocritic.nodes.yann_controller import yann_factory
from robocritic.ros.msgs import Float64MultiArray
from robocritic.ros.transport import InProcessBus, ParameterError
from robocritic.testing import run_closed_loop
from robocritic.yann.runner import load_policy, train

ENV = "robocritic/ClippedPendulum-v0"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_pendulum_config):
    """A finished two-episode YANN-DDPG run on the pendulum (hand-built law, no PPOPT)."""
    folder = tmp_path_factory.mktemp("yann")
    config = tiny_pendulum_config(
        folder, episodes=2, max_episode_steps=30, n_test=2, validation_states=(),
        yann_ddpg={"actor_hidden": (8, 8), "critic_hidden": (16,), "actor_lr": 1e-2},
    )  # fmt: skip
    train(config, "yann_ddpg", 0, folder / "run", progress=False, tensorboard=False)
    return folder / "run"


def test_node_runs_the_trained_policy_like_run_closed_loop(run_dir):
    bus = InProcessBus()
    x0, steps = [0.2, -0.1], 40
    sim = SimBridgeNode(bus.create_node("sim_bridge", parameters={"initial_state": x0, "max_steps": steps,
                                                                   "real_time_factor": 0.0}))  # fmt: skip
    commands: list[list[float]] = []
    probe = bus.create_node("probe")
    probe.create_subscription(Float64MultiArray, "/pendulum/effort_command", lambda m: commands.append(list(m.data)), 100)
    ctl = ControllerNode(bus.create_node("ctl", parameters={"run_dir": str(run_dir), "use_sim_time": True}), yann_factory)
    bus.step(0.1)
    policy, _, algorithm = load_policy(run_dir)
    ref = run_closed_loop(policy, ENV, x0=x0, steps=steps)
    np.testing.assert_array_equal(np.array(sim.logic.episodes[0]["states"]), ref.states)
    assert algorithm == "yann_ddpg" and ctl.logic.rejected == {} and len(commands) >= steps


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({}, "parameter 'run_dir' is required"),
        ({"run_dir": "/no/such/run"}, "no actor.json there"),
        ({"run_dir": "TRAINED", "rate_hz": 10.0}, "sample time 0.05 s differs from the control period 1/rate_hz = 0.1 s"),
        ({"run_dir": "TRAINED", "profile": "arm7_torque"}, "law maps 2 states to 1 inputs"),
    ],
)
def test_bad_run_dir_or_rate_is_a_parameter_error(run_dir, params, match):
    params = {k: str(run_dir) if v == "TRAINED" else v for k, v in params.items()}
    with pytest.raises(ParameterError, match=match):
        ControllerNode(InProcessBus().create_node("ctl", parameters=params), yann_factory)


def test_console_script_reports_a_missing_run_dir():
    proc = subprocess.run(
        [sys.executable, "-m", "robocritic.nodes.yann_controller", "--transport", "inprocess", "--ros-args",
         "-p", "run_dir:=/no/such/run"],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "parameter 'run_dir'" in proc.stderr and "Traceback" not in proc.stderr


# Modules a deployed policy must not need: the simulators, the envs, and the training code.
TRAINING_OR_SIMULATION = ("mujoco", "pybullet", "robocritic.envs", "robocritic.yann.runner", "robocritic.yann.trainer",
                          "robocritic.yann.baselines", "robocritic.yann.factory", "robocritic.yann.ddpg",
                          "robocritic.yann.critic", "robocritic.learning.buffer")  # fmt: skip


def test_the_node_loads_the_policy_without_training_code_or_simulator(run_dir):
    """A fresh interpreter builds the node from the run folder alone (sidecar: sizes, period,
    safe command) and never imports a simulator, an env or the trainer."""
    code = f"""
import sys
import numpy as np
from robocritic.nodes.controller_node import ControllerNode
from robocritic.nodes.yann_controller import yann_factory
from robocritic.ros.transport import InProcessBus
from robocritic.yann.policy_io import load_policy

ctl = ControllerNode(InProcessBus().create_node("ctl", parameters={{"run_dir": {str(run_dir)!r}}}), yann_factory)
loaded = load_policy({str(run_dir)!r})
assert loaded.algorithm == "yann_ddpg" and (loaded.plant.n_x, loaded.plant.n_u, loaded.plant.dt) == (2, 1, 0.05)
assert np.isfinite(loaded.policy.act(np.array([0.2, -0.1]))).all()
present = sorted(m for m in sys.modules if m.startswith({TRAINING_OR_SIMULATION!r}))
assert not present, present
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), proc.stderr[-3000:]
