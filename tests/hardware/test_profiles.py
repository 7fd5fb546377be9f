"""Hardware profiles: shipped files validate, bad fields are named, joint maps are right."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from robocritic.profiles import ProfileError, available_profiles, load_profile, parse_profile


def test_shipped_profiles_validate():
    names = available_profiles()
    assert {"pendulum_sim", "arm7_torque", "diffdrive_depth"} <= set(names)
    kinds = {load_profile(n).kind for n in names}
    assert kinds == {"pendulum", "arm", "diff_drive"}


def test_pendulum_profile_matches_the_model_and_env():
    import gymnasium as gym

    import robocritic.envs  # noqa: F401

    p = load_profile("pendulum_sim")
    env = gym.make(p.sim_env)
    model = env.unwrapped.dynamics
    (joint,) = p.joints
    assert joint.effort_limit == model.max_torque
    assert joint.velocity_limit == model.max_speed
    assert joint.position_limits == (-model.max_angle, model.max_angle)
    assert p.control_rate_hz == pytest.approx(1.0 / env.unwrapped.dt)
    env.close()


def test_arm_profile_has_seven_ordered_joints_and_a_kilohertz_critic():
    p = load_profile("arm7_torque")
    assert [j.name for j in p.joints] == [f"panda_joint{i}" for i in range(1, 8)]
    assert p.critic_rate_hz == 1000.0 and p.topics["wrench"].type == "geometry_msgs/msg/WrenchStamped"


def _pendulum_data() -> dict:
    from importlib import resources

    return yaml.safe_load(resources.files("robocritic.hardware").joinpath("pendulum_sim.yaml").read_text())


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["joints"][0].update(sign=2), r"joints\[0\]\.sign must be \+1 or -1; got 2"),
        (lambda d: d["joints"][0].update(velocity_limit=-1), r"joints\[0\]\.velocity_limit must be a positive"),
        (lambda d: d["joints"][0].update(position_limits=[2, -2]), r"joints\[0\]\.position_limits needs low < high"),
        (lambda d: d["joints"][0].update(speed=3), r"joints\[0\] has unknown field\(s\) \['speed'\]"),
        (lambda d: d["topics"]["command"].update(name="bad topic"), r"topics\.command\.name is not a valid ROS 2"),
        (lambda d: d["topics"]["command"].update(type="Float64MultiArray"), r"topics\.command\.type must look like"),
        (lambda d: d["topics"]["command"].update(qos="fast"), r"topics\.command\.qos must be one of"),
        (lambda d: d["rates"].update(control_hz=0), r"rates\.control_hz must be a positive"),
        (lambda d: d["watchdog"].update(state_timeout_s=0.001), r"watchdog\.state_timeout_s must be at least"),
        (lambda d: d.update(kind="drone"), r"kind must be one of"),
        (lambda d: d.pop("estop"), r"estop is required"),
        (lambda d: d["topics"].pop("command"), r"topics must define 'command'"),
        (lambda d: d.update(color="red"), r"<top level> has unknown field\(s\) \['color'\]"),
        (lambda d: d["joints"].append(dict(d["joints"][0])), r"duplicate joint names"),
        (lambda d: d["estop"].update(type="std_msgs/msg/String"), r"estop\.type must use std_msgs/msg/Bool"),
    ],
)
def test_bad_fields_are_named(edit, message):
    data = copy.deepcopy(_pendulum_data())
    edit(data)
    with pytest.raises(ProfileError, match=message) as err:
        parse_profile(data, "hardware/test.yaml")
    assert str(err.value).startswith("hardware/test.yaml: ")


def test_load_by_path_and_unknown_name(tmp_path):
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(_pendulum_data()))
    assert load_profile(path).robot == "pendulum_sim"
    with pytest.raises(ProfileError, match="no hardware profile 'nope'"):
        load_profile("nope")
    path.write_text("robot: [unclosed")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(path)


def test_joint_map_reorders_flips_and_offsets():
    data = copy.deepcopy(yaml.safe_load(
        __import__("importlib").resources.files("robocritic.hardware").joinpath("arm7_torque.yaml").read_text()))
    data["joints"][1]["sign"] = -1
    data["joints"][2]["offset"] = 0.5
    jm = parse_profile(data, "t").joint_map
    names = [f"panda_joint{i}" for i in (7, 6, 5, 4, 3, 2, 1)] + ["gripper"]
    robot_q = np.array([7, 6, 5, 4, 3, 2, 1, 99.0])
    q, dq = jm.to_model(names, robot_q, velocity=robot_q * 10)
    np.testing.assert_allclose(q, [1, -2, 3.5, 4, 5, 6, 7])
    np.testing.assert_allclose(dq, [10, -20, 30, 40, 50, 60, 70])
    np.testing.assert_allclose(jm.position_to_robot(q), [1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_allclose(jm.effort_to_robot(np.ones(7)), [1, -1, 1, 1, 1, 1, 1])
    with pytest.raises(ValueError, match=r"lacks joint\(s\) \['panda_joint1'\]"):
        jm.to_model(names[:-2], robot_q[:-2])
