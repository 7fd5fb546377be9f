"""Hardware profiles: shipped files validate, bad fields are named, joint maps are right."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from robocritic.profiles import (
    JointNameError,
    ProfileError,
    available_profiles,
    joint_order,
    load_profile,
    parse_profile,
)


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


def _signed_map():
    from robocritic.profiles import JointMap, JointSpec

    return JointMap((
        JointSpec("shoulder", 1, 0.0, (-2.0, 2.0), 3.0, 40.0),
        JointSpec("elbow", -1, 0.25, (-1.0, 2.5), 4.0, 20.0),
        JointSpec("wrist", -1, 0.0, None, 5.0, 5.0),
    ))  # fmt: skip


def test_effort_to_model_inverts_effort_to_robot():
    jm = _signed_map()
    u = np.array([1.5, -2.0, 0.25])
    np.testing.assert_array_equal(jm.effort_to_robot(u), [1.5, 2.0, -0.25])
    np.testing.assert_array_equal(jm.effort_to_model(jm.effort_to_robot(u)), u)
    np.testing.assert_array_equal(jm.effort_to_robot(jm.effort_to_model(u)), u)


def test_readings_round_trip_through_the_codec_in_any_order():
    jm = _signed_map()
    q, dq = np.array([0.1, 0.7, -3.0]), np.array([1.0, -2.0, 0.5])
    robot_q, robot_dq = jm.position_to_robot(q), jm.velocity_to_robot(dq)
    np.testing.assert_allclose(robot_q, [0.1, -0.45, 3.0])  # elbow: -(0.7 - 0.25)
    np.testing.assert_array_equal(robot_dq, [1.0, 2.0, -0.5])
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        names = [jm.names[i] for i in order]
        back_q, back_dq = jm.to_model(names, robot_q[order], robot_dq[order])
        np.testing.assert_allclose(back_q, q)
        np.testing.assert_array_equal(back_dq, dq)
    # an extra joint is ignored, unless unknown joints are refused
    q_extra, _ = jm.to_model(["gripper", *jm.names], np.r_[9.0, robot_q])
    np.testing.assert_allclose(q_extra, q)
    with pytest.raises(JointNameError, match=r"joints \['gripper'\] that the profile does not list") as err:
        jm.to_model(["gripper", *jm.names], np.r_[9.0, robot_q], allow_unknown=False)
    assert err.value.reason == "unknown_joint"


@pytest.mark.parametrize(
    ("names", "position", "reason", "match"),
    [
        (["shoulder", "wrist"], [0.0, 0.0], "missing_joint", r"lacks joint\(s\) \['elbow'\]"),
        ([], [], "missing_joint", r"lacks joint\(s\) \['shoulder', 'elbow', 'wrist'\]"),
        (["shoulder", "elbow", "elbow", "wrist"], [0.0] * 4, "malformed", "repeats a joint name"),
        (["shoulder", "elbow", 3], [0.0] * 3, "malformed", "joint names must be strings"),
        (["shoulder", "elbow", "wrist"], [0.0] * 2, "malformed", "3 names, 2 positions"),
    ],
)
def test_names_that_do_not_fit_are_named_with_a_reason(names, position, reason, match):
    with pytest.raises(JointNameError, match=match) as err:
        _signed_map().to_model(names, position)
    assert err.value.reason == reason and isinstance(err.value, ValueError)


def test_the_last_name_order_is_reused_and_a_new_one_recomputed():
    jm = _signed_map()
    first = jm.index(["wrist", "elbow", "shoulder"])
    assert first.tolist() == [2, 1, 0] and jm.index(("wrist", "elbow", "shoulder")) is first
    assert not first.flags.writeable  # shared: nobody may change it
    assert jm.index(["elbow", "shoulder", "wrist"]).tolist() == [1, 0, 2]
    jm.index(["x", "wrist", "elbow", "shoulder"])  # cached with an unknown joint ...
    with pytest.raises(JointNameError, match="does not list"):  # ... still refused where it must be
        jm.index(["x", "wrist", "elbow", "shoulder"], allow_unknown=False)
    assert joint_order(("b", "a"), ("a", "c", "b")).tolist() == [2, 0]


def test_the_pendulum_profile_carries_the_benchmark_mpc():
    from robocritic.envs.pendulum.task import INPUT_WEIGHT, STATE_WEIGHT

    spec = load_profile("pendulum_sim").mpc
    assert spec.model == "PendulumModel" and spec.model_parameters == {} and spec.horizon == 10
    assert spec.state_weight == tuple(np.diag(STATE_WEIGHT))
    assert spec.input_weight == tuple(np.diag(INPUT_WEIGHT))
    assert load_profile("arm7_torque").mpc is None


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(horizon=0), r"mpc\.horizon must be an integer >= 1; got 0"),
        (lambda m: m.update(horizon=2.5), r"mpc\.horizon must be int"),
        (lambda m: m.update(state_weight=[1.0]), r"mpc\.state_weight must be 2 finite numbers >= 0"),
        (lambda m: m.update(state_weight=[1.0, -1.0]), r"mpc\.state_weight must be 2 finite numbers >= 0"),
        (lambda m: m.update(input_weight=[0.0]), r"mpc\.input_weight must be 1 finite numbers > 0"),
        (lambda m: m.update(model="pendulum model"), r"mpc\.model must name a class of robocritic\.dynamics"),
        (lambda m: m.update(model_parameters={"g": "ten"}), r"mpc\.model_parameters\.g must be int/float"),
        (lambda m: m.update(solver="daqp"), r"mpc has unknown field\(s\) \['solver'\]"),
        (lambda m: m.pop("model"), r"mpc\.model is required"),
    ],
)
def test_bad_mpc_fields_are_named(edit, message):
    data = copy.deepcopy(_pendulum_data())
    edit(data["mpc"])
    with pytest.raises(ProfileError, match=message):
        parse_profile(data, "hardware/test.yaml")


def _arm3_data() -> dict:
    from importlib import resources

    return yaml.safe_load(resources.files("robocritic.hardware").joinpath("arm3_sim.yaml").read_text())


@pytest.mark.parametrize(("axis", "index"), [("x", 0), ("y", 1), ("z", 2)])
def test_an_arm_profile_may_name_the_contact_normal(axis, index):
    data = _arm3_data()
    data.pop("contact", None)
    assert parse_profile(data, "t").contact is None  # optional: the nodes keep their own default
    data["contact"] = {"normal_axis": axis}
    contact = parse_profile(data, "t").contact
    assert contact.normal_axis == axis and contact.normal_index == index


@pytest.mark.parametrize(
    "contact, message",
    [
        ({"normal_axis": "w"}, r"contact\.normal_axis must be one of \['x', 'y', 'z'\] \(a base-frame axis\); got 'w'"),  # noqa: E501
        ({"normal_axis": "Z"}, r"contact\.normal_axis must be one of"),
        ({"normal_axis": 2}, r"contact\.normal_axis must be str; got 2"),
        ({}, r"contact\.normal_axis is required"),
        ({"normal_axis": "z", "sign": -1}, r"contact has unknown field\(s\) \['sign'\]"),
        ("z", r"contact must be a mapping; got str"),
    ],
)
def test_bad_contact_fields_are_named(contact, message):
    data = _arm3_data()
    data["contact"] = contact
    with pytest.raises(ProfileError, match=message) as err:
        parse_profile(data, "hardware/test.yaml")
    assert str(err.value).startswith("hardware/test.yaml: ")


def test_contact_is_only_for_arms():
    data = _pendulum_data()
    data["contact"] = {"normal_axis": "z"}
    message = r"hardware/test\.yaml: contact is only valid for kind 'arm'; got kind 'pendulum'"
    with pytest.raises(ProfileError, match=message):
        parse_profile(data, "hardware/test.yaml")


def _diffdrive_data() -> dict:
    from importlib import resources

    return yaml.safe_load(resources.files("robocritic.hardware").joinpath("diffdrive_depth.yaml").read_text())


def test_the_diffdrive_camera_is_the_nav_envs_camera():
    """navdp_planner checks images against it: it must be what the NavDP model was trained on."""
    import math

    from robocritic.envs.nav.sensors import DepthConfig

    cam, env = load_profile("diffdrive_depth").camera, DepthConfig()
    assert (cam.height, cam.width, (cam.min_range, cam.max_range), (cam.x, cam.z)) == (
        env.height, env.width, env.range, env.position)
    assert math.radians(cam.hfov_deg) == pytest.approx(env.hfov) and math.radians(cam.pitch_deg) == env.pitch


@pytest.mark.parametrize(
    "edit, message",
    [
        ({"width": 0}, r"camera\.width must be >= 1 pixel; got 0"),
        ({"height": 4.5}, r"camera\.height must be int; got 4\.5"),
        ({"hfov_deg": 190.0}, r"camera\.hfov_deg must be below 180 deg; got 190"),
        ({"max_range": 0.05}, r"camera\.max_range must exceed min_range \(0\.1 m\); got 0\.05"),
        ({"pitch_deg": -95.0}, r"camera\.pitch_deg must be within \(-90, 90\) deg; got -95"),
        ({"fov": 1.0}, r"camera has unknown field\(s\) \['fov'\]"),
    ],
)
def test_bad_camera_fields_are_named(edit, message):
    data = _diffdrive_data()
    data["camera"].update(edit)
    with pytest.raises(ProfileError, match=message):
        parse_profile(data, "hardware/test.yaml")


def test_camera_is_only_for_diff_drives():
    data = _pendulum_data()
    data["camera"] = _diffdrive_data()["camera"]
    with pytest.raises(ProfileError, match=r"camera is only valid for kind 'diff_drive'; got kind 'pendulum'"):
        parse_profile(data, "hardware/test.yaml")
