"""BridgeLogic without any middleware, on the MuJoCo pendulum: sensing, command intake, lockstep
and free-running command selection, watchdog, e-stop, episodes."""

from __future__ import annotations

import logging

import gymnasium as gym
import numpy as np
import pytest
import robocritic.envs  # noqa: F401 - registers the env ids

from robocritic.nodes.bridge_logic import BridgeLogic
from robocritic.profiles import JointMap, JointSpec

ENV = "robocritic/ClippedPendulum-v0"
DT = 50_000_000  # ns
TIMEOUT = 150_000_000


def joint_map(sign: int = 1, offset: float = 0.0, joints: int = 1) -> JointMap:
    names = ["hinge", "elbow", "wrist"][:joints]
    return JointMap(tuple(JointSpec(n, sign, offset, (-2.0, 2.0), 8.0, 2.0) for n in names))


def make(
    *, sign=1, offset=0.0, source="observation", x0=(0.2, -0.1), max_steps=0, **env_kwargs
) -> BridgeLogic:
    return BridgeLogic(
        gym.make(ENV, **env_kwargs), joint_map(sign, offset), state_source=source,
        command_timeout_ns=TIMEOUT, seed=7, initial_state=None if x0 is None else list(x0), max_steps=max_steps,
    )  # fmt: skip


def test_sensor_sample_is_the_observation_in_robot_order_and_units():
    logic = make(sign=-1, offset=0.25)
    s = logic.sensor()
    assert (s.tick, s.stamp_ns, s.names) == (0, 0, ("hinge",))
    # model = sign * robot + offset  ->  robot = sign * (model - offset)
    np.testing.assert_allclose(s.position, [-(np.float32(0.2) - 0.25)])
    np.testing.assert_allclose(s.velocity, [np.float32(0.1)])
    np.testing.assert_array_equal(s.state, [0.2, -0.1])
    # the observation is float32: what run_closed_loop hands a controller
    assert make().sensor().position[0] == float(np.float32(0.2))
    assert make(source="state").sensor().position[0] == 0.2


def test_lockstep_steps_only_with_the_ticks_command():
    logic = make()
    assert logic.select(0, lockstep=True) is None
    assert logic.on_command([0.5], 0)
    u, reason = logic.select(0, lockstep=True)
    assert (u.tolist(), reason) == ([0.5], "command")
    record = logic.step(u, reason)
    assert (record.tick, logic.tick, logic.stamp_ns) == (0, 1, DT)
    assert logic.select(DT, lockstep=True) is None  # the command was used up
    logic.on_command([0.1], DT)
    logic.discard_fresh()  # it came before the tick was published
    assert logic.select(DT, lockstep=True) is None
    assert logic.episodes[0]["actions"] == [[0.5]]
    assert len(logic.episodes[0]["states"]) == 2


def test_command_sign_is_applied_and_bad_commands_are_counted():
    logic = make(sign=-1)
    assert logic.on_command([0.5], 0)
    assert logic.select(0, lockstep=True)[0].tolist() == [-0.5]
    assert not logic.on_command([0.5, 0.1], 0)
    assert not logic.on_command([float("nan")], 0)
    assert not logic.on_command([], 0)
    assert not logic.on_command(["x"], 0)
    assert logic.rejected == {"wrong_size": 2, "non_finite": 1, "malformed": 1}
    assert logic.commands_received == 1


def test_efforts_beyond_twice_the_limit_are_rejected_and_count_as_missing():
    logic = make(sign=-1)
    assert logic.on_command([4.0], 0)  # 2x the 2 N m limit: plausible, the env saturates it
    assert logic.select(0, lockstep=True)[0].tolist() == [-4.0]
    logic.step(*logic.select(0, lockstep=False))
    for bad in ([4.0 + 1e-9], [-1e300]):
        assert not logic.on_command(bad, DT)
    assert logic.rejected == {"out_of_range": 2} and logic.commands_received == 1
    assert logic.select(DT, lockstep=True) is None  # lockstep: still waiting for a good command
    # free-running: the last good command is held, then the watchdog applies the safe command
    assert logic.select(DT, lockstep=False) == (pytest.approx([-4.0]), "held")
    assert logic.select(TIMEOUT + 1, lockstep=False) == (pytest.approx([0.0]), "watchdog")


def test_an_absurd_effort_log_line_names_the_field_and_joint(caplog):
    logic = make()
    with caplog.at_level(logging.WARNING, logger="robocritic.ros"):
        assert not logic.on_command([1e300], 0)
    [line] = [r.getMessage() for r in caplog.records if "dropped command" in r.getMessage()]
    assert "command effort of joint 'hinge' is 1e+300" in line and "plausible [-4, 4]" in line


def test_free_running_holds_the_last_command_and_the_watchdog_applies_the_safe_one():
    logic = make()
    assert logic.select(0, lockstep=False)[1] == "no_command"
    logic.on_command([0.3], 0)
    assert logic.select(0, lockstep=False)[1] == "command"
    logic.step(*logic.select(0, lockstep=False))
    u, reason = logic.select(DT, lockstep=False)
    assert (u.tolist(), reason) == ([0.3], "held")
    logic.step(u, reason)
    assert logic.select(TIMEOUT, lockstep=False)[1] == "held"  # exactly the timeout: still valid
    u, reason = logic.select(TIMEOUT + 1, lockstep=False)
    assert (u.tolist(), reason) == ([0.0], "watchdog")
    logic.step(u, reason)
    assert logic.safe_steps == {"watchdog": 1} and logic.held_steps == 1


def test_estop_latches_the_safe_command_until_reset():
    logic = make()
    logic.on_command([1.0], 0)
    logic.on_estop(True)
    assert logic.select(0, lockstep=False) == (pytest.approx([0.0]), "estop")
    assert logic.select(0, lockstep=True)[1] == "estop"  # lockstep still waits for the tick's command
    assert not logic.reset_estop()
    logic.on_estop(False)
    assert logic.estopped and logic.select(0, lockstep=False)[1] == "estop"
    assert logic.reset_estop() and not logic.estopped
    assert logic.select(0, lockstep=False)[1] == "command"


def test_safe_command_defaults_to_the_models_u_eq():
    assert make().safe_command.tolist() == [0.0]


def test_episodes_restart_with_the_next_seed_and_time_keeps_running():
    logic = make(x0=None, max_episode_steps=3)
    first = logic.sensor().state
    for _ in range(3):
        logic.step(np.zeros(1), "command")
    assert len(logic.episodes) == 2 and logic.episodes[1]["seed"] == 8
    assert logic.episodes[1]["start_tick"] == 3 and logic.sensor().stamp_ns == 3 * DT
    assert len(logic.episodes[0]["states"]) == 4
    again = gym.make(ENV)
    np.testing.assert_array_equal(again.reset(seed=7)[1]["state"], first)
    np.testing.assert_array_equal(again.reset(seed=8)[1]["state"], logic.sensor().state)


def test_max_steps_stops_the_bridge_without_resetting():
    logic = make(max_steps=2, max_episode_steps=2)
    logic.step(np.zeros(1), "command")
    assert not logic.done
    logic.step(np.zeros(1), "command")
    assert logic.done and len(logic.episodes) == 1 and len(logic.episodes[0]["states"]) == 3
    with pytest.raises(RuntimeError, match="max_steps=2"):
        logic.step(np.zeros(1), "command")


def test_env_that_does_not_fit_the_profile_is_an_error():
    with pytest.raises(ValueError, match=r"action has shape \(1,\); the profile.s 3 joint"):
        BridgeLogic(gym.make(ENV), joint_map(joints=3), command_timeout_ns=TIMEOUT)
    with pytest.raises(ValueError, match="state_source"):
        BridgeLogic(gym.make(ENV), joint_map(), state_source="truth", command_timeout_ns=TIMEOUT)
