"""Trained policies from run folders (robocritic.yann.policy_io): env-free loading from the
sidecar, run folders written before it (format-1 sidecar) still load and can be upgraded, the
config rebuilt from its record without env defaults, and the typed learner accessors."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robocritic.learning.checkpoint import CheckpointError
from robocritic.learning.runs import PolicySidecar
from robocritic.yann.config import (
    SB3Config,
    YANNDDPGConfig,
    config_from_record,
    config_to_dict,
    default_config,
)
from robocritic.yann.policy_io import load_policy, upgrade_sidecar
from robocritic.yann.runner import train

PENDULUM = "robocritic/ClippedPendulum-v0"
STATES = np.array([[0.2, -0.1], [-0.3, 0.25], [1.0, 2.0]])


@pytest.fixture(scope="module")
def tiny_config(tiny_pendulum_config):
    """``(folder, episodes=1) -> RLConfig``: pendulum, 20-step episodes, no validation states."""
    return functools.partial(
        tiny_pendulum_config, episodes=1, max_episode_steps=20, n_test=2, validation_states=(),
        yann_ddpg={"actor_hidden": (8,), "critic_hidden": (8,)},
        ddpg={"actor_hidden": (16,), "critic_hidden": (16,)},
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_config) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("runs")
    cfg = tiny_config(folder)
    out = {}
    for algorithm in ("yann_ddpg", "ddpg"):
        train(cfg, algorithm, 0, folder / algorithm, progress=False, tensorboard=False)
        out[algorithm] = folder / algorithm
    return out


def downgrade_sidecar(run_dir: Path) -> None:
    """Rewrite actor.json as robocritic wrote it before the plant was recorded (format 1)."""
    side = json.loads((run_dir / "actor.json").read_text())
    for key in ("format", "plant", "observation"):
        side.pop(key)
    (run_dir / "actor.json").write_text(json.dumps(side))


ENV_FREE = """
import sys
import numpy as np
from robocritic.yann.policy_io import load_policy
loaded = load_policy(sys.argv[1])
print(loaded.algorithm, np.asarray(loaded.policy.act_batch(np.array({states}))).tolist())
bad = sorted(m for m in sys.modules if m.startswith(("mujoco", "pybullet", "robocritic.envs", "robocritic.yann.runner",
             "robocritic.yann.trainer", "robocritic.yann.baselines", "robocritic.yann.factory")))
assert not bad, bad
"""


def assert_loads_env_free(run_dir: Path) -> None:
    """In a fresh interpreter: the run's policy loads and acts with no simulator, env or trainer
    imported, and acts like the policy loaded here."""
    code = ENV_FREE.format(states=STATES.tolist())
    proc = subprocess.run([sys.executable, "-c", code, str(run_dir)], check=False, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    algorithm, actions = proc.stdout.strip().split(" ", 1)
    loaded = load_policy(run_dir)
    assert algorithm == loaded.algorithm
    np.testing.assert_array_equal(json.loads(actions), loaded.policy.act_batch(STATES))


@pytest.mark.parametrize("algorithm", ["yann_ddpg", "ddpg"])
def test_policy_loads_env_free(runs, algorithm):
    loaded = load_policy(runs[algorithm])
    assert loaded.sidecar.format == 2 and loaded.plant.n_x == 2 and loaded.plant.dt == 0.05
    np.testing.assert_array_equal(loaded.plant.input_high, [2.0])
    assert_loads_env_free(runs[algorithm])


@pytest.mark.parametrize("algorithm", ["yann_ddpg", "ddpg"])
def test_a_format_1_run_folder_loads_through_its_env_and_upgrades(runs, tmp_path, algorithm):
    old = tmp_path / "old"
    shutil.copytree(runs[algorithm], old)
    downgrade_sidecar(old)
    loaded, current = load_policy(old), load_policy(runs[algorithm])
    assert loaded.sidecar.format == 1 and loaded.sidecar.plant is None
    assert loaded.plant.to_json() == current.plant.to_json()  # read from the env instead
    assert loaded.config == current.config
    np.testing.assert_array_equal(loaded.policy.act_batch(STATES), current.policy.act_batch(STATES))
    upgraded = upgrade_sidecar(old)
    assert upgraded.format == 2 and upgraded.plant.to_json() == current.plant.to_json()
    assert PolicySidecar.from_json(json.loads((old / "actor.json").read_text())).format == 2
    assert upgrade_sidecar(old).to_json() == upgraded.to_json()  # idempotent


def test_broken_run_folders_are_checkpoint_errors(runs, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(runs["ddpg"], bad)
    side = json.loads((bad / "actor.json").read_text())
    (bad / "actor.json").write_text(json.dumps({**side, "algorithm": "ppo"}))
    with pytest.raises(CheckpointError, match="unknown algorithm 'ppo'"):
        load_policy(bad)
    (bad / "actor.json").write_text(json.dumps({**side, "config": {**side["config"], "ddpg": {
        **side["config"]["ddpg"], "actor_hidden": [4]}}}))  # fmt: skip
    with pytest.raises(CheckpointError, match="do not fit the config's network"):
        load_policy(bad)
    (bad / "actor.pt").unlink()
    with pytest.raises(CheckpointError, match="actor.pt: missing"):
        load_policy(bad)


def test_config_from_record_needs_no_env_defaults(tmp_path, tiny_config):
    cfg = tiny_config(tmp_path)
    record = json.loads(json.dumps(config_to_dict(cfg)))
    assert config_from_record(record) == cfg
    # A record from before a field existed falls back to the env's defaults for it.
    old = {k: v for k, v in record.items() if k != "keep_checkpoints"}
    old["ddpg"] = {k: v for k, v in record["ddpg"].items() if k != "cost_scale"}
    back = config_from_record(old)
    assert back.keep_checkpoints == default_config(PENDULUM).keep_checkpoints
    assert back.ddpg.cost_scale == default_config(PENDULUM).ddpg.cost_scale == 0.01
    with pytest.raises(ValueError, match="unknown key 'ddpg.bogus'"):
        config_from_record({**record, "ddpg": {**record["ddpg"], "bogus": 1}})
    code = (
        "import json, sys; from robocritic.yann.config import config_from_record; "
        f"config_from_record(json.loads({json.dumps(json.dumps(record))})); "
        "assert not [m for m in sys.modules if m.startswith('robocritic.envs')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_typed_learner_accessors():
    cfg = default_config(PENDULUM)
    assert isinstance(cfg.ddpg_learner("yann_ddpg"), YANNDDPGConfig) and cfg.ddpg_learner("ddpg") is cfg.ddpg
    assert isinstance(cfg.sb3_learner("td3"), SB3Config) and cfg.sb3_learner("sac") is cfg.sac
    assert cfg.cost_scale("td3") == 0.01 and cfg.cost_scale("yann_ddpg") == 1.0
    with pytest.raises(ValueError, match="our DDPG learners"):
        cfg.ddpg_learner("td3")
    with pytest.raises(ValueError, match="SB3 baselines"):
        cfg.sb3_learner("ddpg")
