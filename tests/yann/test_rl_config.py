"""YANN-RL configs (robocritic.yann.config): validated defaults per env id, YAML loading that
rejects unknown keys by name, errors that name the field, reproducible stored test states."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from robocritic.envs.cstr.safety_cstr_v0 import START_HALF_WIDTH as CSTR_BOX
from robocritic.envs.pendulum.task import START_HALF_WIDTH as PENDULUM_BOX

from robocritic.dynamics import CSTRModel
from robocritic.yann.config import (
    TEST_STATE_SEED,
    VALIDATION_STATE_SEED,
    DDPGConfig,
    RLConfig,
    SB3Config,
    YANNDDPGConfig,
    config_from_dict,
    config_to_dict,
    default_config,
    draw_start_states,
    load_config,
)

PENDULUM = "robocritic/ClippedPendulum-v0"
CSTR = "robocritic/SafetyCSTR-v0"


@pytest.mark.parametrize("env_id", [PENDULUM, CSTR])
def test_defaults_are_valid_and_round_trip(env_id: str):
    cfg = default_config(env_id)
    assert isinstance(cfg, RLConfig) and cfg.episodes == 50 and len(cfg.test_states) == 10
    data = json.loads(json.dumps(config_to_dict(cfg)))
    assert config_from_dict(data) == cfg
    # YANN-DDPG: no exploration noise, as the paper intends (docs/yann.md#algorithm).
    assert cfg.yann_ddpg.exploration_noise == 0.0
    assert cfg.ddpg.actor_hidden == (256, 256) and cfg.ddpg.critic_hidden == (256, 256)


def test_stored_test_states_regenerate_from_their_seed():
    np.testing.assert_array_equal(
        default_config(PENDULUM).test_state_array(),
        draw_start_states(np.zeros(2), PENDULUM_BOX, 10, TEST_STATE_SEED),
    )
    np.testing.assert_array_equal(
        default_config(CSTR).test_state_array(),
        draw_start_states(CSTRModel().x_eq, CSTR_BOX, 10, TEST_STATE_SEED),
    )


def test_default_validation_states_are_seeded_and_disjoint_from_the_test_states():
    for env_id, x_eq, box in ((PENDULUM, np.zeros(2), PENDULUM_BOX), (CSTR, CSTRModel().x_eq, CSTR_BOX)):
        cfg = default_config(env_id)
        val = cfg.validation_state_array()
        np.testing.assert_array_equal(val, draw_start_states(x_eq, box, 10, VALIDATION_STATE_SEED))
        assert not {tuple(v) for v in val} & {tuple(t) for t in cfg.test_state_array()}


def test_paper_specific_defaults():
    cstr = default_config(CSTR)
    assert cstr.terminate_on_violation and cstr.violation_penalty == 1e5
    assert cstr.yann_ddpg.actor_hidden == (8, 8)
    assert default_config(PENDULUM).yann_ddpg.actor_hidden == (16, 16)


def test_yaml_overrides_nested_fields(tmp_path):
    path = tmp_path / "cfg.yaml"
    path.write_text(
        "env_id: robocritic/ClippedPendulum-v0\nepisodes: 7\n"
        "yann_ddpg:\n  actor_lr: 3.0e-5\n  actor_hidden: [4, 4]\n"
    )
    cfg = load_config(path)
    assert cfg.episodes == 7 and cfg.yann_ddpg.actor_lr == 3e-5 and cfg.yann_ddpg.actor_hidden == (4, 4)
    assert cfg.ddpg == default_config(PENDULUM).ddpg


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("env_id: robocritic/ClippedPendulum-v0\nepisodez: 3\n", "episodez"),
        ("env_id: robocritic/ClippedPendulum-v0\nyann_ddpg:\n  actor_lrr: 1.0\n", "yann_ddpg.actor_lrr"),
        ("env_id: robocritic/ClippedPendulum-v0\ntd3:\n  net: [64]\n", "td3.net"),
    ],
)
def test_yaml_unknown_keys_are_rejected_by_name(tmp_path, text: str, named: str):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"unknown key '{named}'"):
        load_config(path)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"episodes": 0}, "episodes"),
        ({"gamma": 1.0}, "gamma"),
        ({"gamma": "0.9"}, "gamma"),
        ({"ddpg": {"cost_scale": -1.0}}, "cost_scale"),
        ({"test_states": [[0.1, 0.2, 0.3]]}, r"test_states\[0\]"),
        ({"test_states": []}, "test_states must be a non-empty list"),
        ({"validation_states": [[0.1, 0.2], [0.1]]}, r"validation_states\[1\]"),
        ({"state_weight": [[1.0, 2.0], [0.0, 1.0]]}, "state_weight"),
        ({"yann_ddpg": {"tau": 0.0}}, "tau"),
        ({"yann_ddpg": {"zero_init": "ones"}}, "zero_init"),
        ({"yann_ddpg": {"batch_size": 512}}, "learning_starts"),
        ({"ddpg": {"activation": "gelu"}}, "activation"),
        ({"sac": {"learning_rate": 0.0}}, "learning_rate"),
        ({"terminate_on_violation": "yes"}, "terminate_on_violation"),
    ],
)
def test_invalid_values_name_the_field(data: dict, field: str):
    with pytest.raises(ValueError, match=field):
        config_from_dict({"env_id": PENDULUM, **data})


def test_missing_or_unknown_env_id():
    with pytest.raises(ValueError, match="env_id"):
        config_from_dict({"episodes": 3})
    with pytest.raises(ValueError, match="env_id"):
        default_config("robocritic/Nope-v0")


def test_learner_configs_validate_directly():
    with pytest.raises(ValueError, match="DDPGConfig.buffer_size"):
        DDPGConfig(batch_size=64, buffer_size=10, learning_starts=64)
    with pytest.raises(ValueError, match="YANNDDPGConfig.law_lr"):
        YANNDDPGConfig(law_lr=-1.0)
    with pytest.raises(ValueError, match="SB3Config.net_arch"):
        SB3Config(net_arch=())
    with pytest.raises(dataclasses.FrozenInstanceError):
        default_config(PENDULUM).episodes = 3  # type: ignore[misc]
