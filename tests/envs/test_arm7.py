"""Arm7PressWipe-v0: the 7-DoF asset against the Panda's DH chain and the hardware profile's
limits, the wrist sensor under gravity compensation, Cartesian impedance pressing, the surface
offset, pushes along x and y, the force limit, seeded determinism, the IK start box, the m = 3
policies and data collection, and the null-space posture helper.

The Gymnasium contract (checker, seeded rollouts, bad actions) runs for this id in
``test_contract.py``.
"""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np
import pytest
import robocritic.envs  # noqa: F401 - registers the ids
from robocritic.controllers.impedance import CartesianImpedance, ImpedanceGains
from robocritic.controllers.posture import NullSpacePosture, PostureImpedance
from robocritic.envs.arm.model7 import (
    TOOL_LENGTH,
    Arm7Kinematics,
    Arm7Model,
    dh_tcp_pose,
    dh_tool_rotation_jacobian,
    tool_tilt,
)
from robocritic.envs.arm.press_wipe7_v0 import N_OBS, STROKE_Y
from robocritic.envs.arm.press_wipe_v0 import SURFACE_OFFSET_MAX

from robocritic.bresa.hierarchy import HierarchyConfig, TwoRateLoop, make_controller, policy_rng, run_episode
from robocritic.bresa.policies import (
    NOMINAL_CONTACT_HEIGHT_7,
    ExplorationPolicy,
    ScriptedPressWipe,
    policy_for_env,
)

ENV_ID = "robocritic/Arm7PressWipe-v0"


@pytest.fixture
def env():
    e = gym.make(ENV_ID)
    yield e
    e.close()


def hold(env: gym.Env, steps: int) -> list[dict]:
    """Gravity compensation only: ``tau = bias``."""
    return [env.step(env.unwrapped.arm_state().bias)[4] for _ in range(steps)]


def impedance_press(env: gym.Env, depth: float, k_normal: float, steps: int, offset: float = 0.0) -> dict:
    """Cartesian impedance with the setpoint ``depth`` below the touching TCP height; last info."""
    arm = env.unwrapped
    law = CartesianImpedance(7, 3, stiffness_max=3000.0, joint_damping=0.2, torque_limit=arm.dynamics.torque_limit)
    gains = ImpedanceGains(stiffness=np.array([800.0, 800.0, k_normal]))
    _, info = env.reset(seed=3, options={"surface_offset": offset})
    contact_z = info["surface_height"] + arm.tip_radius()
    setpoint = np.array([*arm.arm_state().x[:2], contact_z - depth])
    for _ in range(steps):
        _, _, terminated, truncated, info = env.step(law.torques(arm.arm_state(), setpoint, gains))
        assert not (terminated or truncated)
    info["contact_z"] = contact_z
    return info


# ---- the asset ----------------------------------------------------------------------------------
def test_kinematics_follow_the_panda_dh_chain(env):
    arm = env.unwrapped
    m, d = arm.model, mujoco.MjData(arm.model)
    tcp = m.site("tcp").id
    assert m.site_pos[tcp].tolist() == [0.0, 0.0, TOOL_LENGTH]
    rng = np.random.default_rng(0)
    jp, jr = np.zeros((3, 7)), np.zeros((3, 7))
    for _ in range(20):
        q = rng.uniform(arm.dynamics.joint_low, arm.dynamics.joint_high)
        d.qpos[:] = q
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        pose = dh_tcp_pose(q)
        np.testing.assert_allclose(d.site_xpos[tcp], pose[:3, 3], atol=1e-9)
        np.testing.assert_allclose(d.site_xmat[tcp].reshape(3, 3), pose[:3, :3], atol=1e-9)
        rot, jac_r = dh_tool_rotation_jacobian(q)
        mujoco.mj_jacSite(m, d, jp, jr, tcp)
        np.testing.assert_allclose(rot, pose[:3, :3], atol=1e-12)
        np.testing.assert_allclose(jac_r, jr, atol=1e-9)


def test_limits_match_the_hardware_profile(env):
    from robocritic.profiles import load_profile

    profile = load_profile("arm7_torque")
    model, m = env.unwrapped.dynamics, env.unwrapped.model
    assert [j.name for j in profile.joints] == [m.joint(i).name for i in range(7)]
    np.testing.assert_array_equal([j.position_limits for j in profile.joints],
                                  np.column_stack([model.joint_low, model.joint_high]))
    np.testing.assert_array_equal([j.velocity_limit for j in profile.joints], model.velocity_limit)
    np.testing.assert_array_equal([j.effort_limit for j in profile.joints], model.torque_limit)
    np.testing.assert_array_equal(m.actuator_ctrlrange[:, 1], model.torque_limit)
    np.testing.assert_array_equal(m.jnt_range, np.column_stack([model.joint_low, model.joint_high]))
    assert env.action_space.shape == (7,) and env.observation_space.shape == (N_OBS,) == (23,)
    assert m.opt.timestep == 0.001 and m.opt.integrator == mujoco.mjtIntegrator.mjINT_IMPLICITFAST


def test_free_space_model_holds_home_and_agrees_with_the_env():
    model = Arm7Model()
    np.testing.assert_allclose(model.f(model.x_eq, model.u_eq), 0.0, atol=1e-9)
    e = gym.make(ENV_ID)
    try:
        e.reset(seed=0, options={"state": model.x_eq, "surface_offset": 0.0})
        st = e.unwrapped.arm_state()
        np.testing.assert_allclose(st.bias, model.u_eq, atol=1e-10)
        np.testing.assert_allclose(st.x, Arm7Model.HOME_TCP, atol=1e-9)
    finally:
        e.close()


# ---- sensor, pressing, surface, pushes, limit ------------------------------------------------------------
def test_holding_the_bias_keeps_the_arm_still_and_the_wrench_zero(env):
    _, info0 = env.reset(seed=1)
    q0 = info0["arm_state"].q.copy()
    info = hold(env, 300)[-1]
    st = info["arm_state"]
    np.testing.assert_allclose(st.q, q0, atol=1e-9)
    np.testing.assert_allclose(st.qd, 0.0, atol=1e-9)
    np.testing.assert_allclose(st.wrench, 0.0, atol=1e-6)
    assert st.wrench.shape == (3,) and st.n_task == 3 and st.n_joints == 7
    assert abs(info["force_raw"]) < 1e-6 and info["contact_force_true"] == 0.0
    # The raw reading: the flange holds the 0.3 kg tool up against gravity.
    assert np.linalg.norm(info["ft_force"]) == pytest.approx(0.3 * 9.81, rel=1e-6)


@pytest.mark.parametrize(("depth", "k_normal"), [(0.02, 500.0), (0.01, 1500.0)])
def test_impedance_press_settles_at_stiffness_times_depth(env, depth, k_normal):
    info = impedance_press(env, depth, k_normal, 1500)
    # The tip sinks a little into the table (soft at first touch, asset docstring): the spring is
    # stretched by the setpoint's depth less that penetration.
    penetration = info["contact_z"] - info["arm_state"].x[2]
    assert 0.0 <= penetration < 1e-3
    expected = k_normal * (depth - penetration)
    assert abs(info["force_filtered"] - expected) < 0.03 * expected
    assert abs(info["contact_force_true"] - expected) < 0.03 * expected
    np.testing.assert_allclose(info["wrench"][2], info["force_filtered"], atol=0.05 * expected)
    assert not info["unsafe"]


def test_surface_offset_moves_the_contact(env):
    heights = {}
    for offset in (0.0, SURFACE_OFFSET_MAX):
        info = impedance_press(env, 0.01, 1000.0, 800, offset=offset)
        assert info["surface_height"] == pytest.approx(env.unwrapped.nominal_surface_height() + offset)
        penetration = info["contact_z"] - info["arm_state"].x[2]  # soft at first touch
        assert 0.0 <= penetration < 1e-3
        assert info["contact_force_true"] == pytest.approx(1000.0 * (0.01 - penetration), rel=0.03)
        heights[offset] = info["arm_state"].x[2]
    assert heights[SURFACE_OFFSET_MAX] - heights[0.0] == pytest.approx(SURFACE_OFFSET_MAX, abs=1e-4)


def test_pushes_act_along_x_and_y_and_show_in_the_wrench():
    e = gym.make(ENV_ID, randomization={"push_probability": 1.0, "push_force": (30.0, 30.0)}, push_duration=0.02)
    try:
        e.reset(seed=1, options={"surface_offset": 0.0})
        infos = hold(e, 210)
        push = np.array([i["push_force"] for i in infos])
        assert np.all(push[:, 2] == 0.0) and np.all(np.count_nonzero(push, axis=1) <= 1)
        assert np.any(push[:, 0] != 0.0) and np.any(push[:, 1] != 0.0)  # both horizontal axes
        for k in np.flatnonzero(np.any(push != 0, axis=1) & np.all(np.roll(push, 1, axis=0) == 0, axis=1))[:6]:
            axis = int(np.flatnonzero(push[k])[0])
            w = infos[k]["wrench"][axis]  # the push less the tool's inertial force m a
            assert np.sign(w) == np.sign(push[k, axis]) and 0.3 * 30.0 < abs(w) < 30.0
            assert abs(infos[k]["force_raw"]) < 0.1 * 30.0
    finally:
        e.close()


@pytest.mark.parametrize(("limit", "force"), [(None, 40.0), (20.0, 25.0)])
def test_unsafe_is_the_filtered_force_above_the_limit(limit, force):
    e = gym.make(ENV_ID, **({} if limit is None else {"force_limit": limit}))
    try:
        e.reset(seed=0, options={"surface_offset": 0.0})
        arm = e.unwrapped
        st = arm.arm_state()
        contact = np.array([*st.x[:2], arm.nominal_surface_height() + arm.tip_radius()])
        infos = []
        for _ in range(500):  # down onto the table, then a constant Cartesian force
            st = arm.arm_state()
            touching = st.x[2] < contact[2] + 1e-3
            f = np.array([0.0, 0.0, -force]) if touching else 300.0 * (contact - st.x) - 40.0 * (st.jacobian @ st.qd)
            infos.append(e.step(st.jacobian.T @ f + st.bias - 0.5 * st.qd)[4])
        unsafe = np.array([i["unsafe"] for i in infos])
        filtered = np.array([i["force_filtered"] for i in infos])
        np.testing.assert_array_equal(unsafe, filtered > (limit or 30.0))
        assert unsafe[-1] and not unsafe[0]
    finally:
        e.close()


# ---- determinism, start states, errors ------------------------------------------------------------------
def _trajectory(seed: int) -> list[np.ndarray]:
    e = gym.make(ENV_ID, randomization={"mass_scale": (0.9, 1.1), "joint_damping": (0.0, 0.1),
                                        "actuator_delay": (0, 2), "obs_noise_std": 0.001,
                                        "push_probability": 0.01, "push_force": (20.0, 50.0)},
                 contact_stiffness_range=(0.5, 2.0))
    try:
        obs, info = e.reset(seed=seed)
        out = [obs, np.array([info["surface_offset"], info["contact_stiffness_scale"]])]
        for i in hold(e, 150):
            out += [i["state"], np.array([i["force_raw"], i["cost"]]), i["push_force"]]
        return out
    finally:
        e.close()


def test_seeded_episodes_repeat_exactly_and_seeds_matter():
    a, b, c = _trajectory(5), _trajectory(5), _trajectory(6)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0]) and not np.array_equal(a[1], c[1])


def test_start_states_are_inside_the_limits_with_margin_and_above_every_surface(env):
    arm = env.unwrapped
    low, high = np.array(arm.dynamics.joint_low), np.array(arm.dynamics.joint_high)
    highest_contact = arm.nominal_surface_height() + SURFACE_OFFSET_MAX + arm.tip_radius()
    for seed in range(20):
        _, info = env.reset(seed=seed)
        st = info["arm_state"]
        assert np.min(np.minimum(st.q - low, high - st.q)) > 0.5  # rad
        assert np.linalg.svd(st.jacobian, compute_uv=False)[-1] > 0.2  # m/rad, far from singular
        assert st.x[2] > highest_contact + 0.02 - 1e-9
        assert abs(st.x[1] - STROKE_Y) <= 0.02 + 1e-9
        assert info["tool_tilt"] < 1e-6 and not np.any(st.qd)
        assert abs(info["force_filtered"]) < 1e-6


def test_ik_reaches_the_target_or_says_why():
    kin = Arm7Kinematics()
    q = kin.inverse(np.array([0.6, 0.05, 0.1]))
    pos, rot = kin.tcp_pose(q)
    np.testing.assert_allclose(pos, [0.6, 0.05, 0.1], atol=1e-9)
    assert tool_tilt(rot) < 1e-6
    with pytest.raises(ValueError, match="IK did not converge"):
        kin.inverse(np.array([1.5, 0.0, 0.1]))
    with pytest.raises(ValueError, match="position"):
        kin.inverse(np.array([np.nan, 0.0, 0.1]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"model": "arm"}, "model"), ({"model": Arm7Model(dt=0.002)}, "dt"),
     ({"force_limit": 0.0}, "force_limit"), ({"randomization": {"obs_noise_std": [0.1] * 13}}, "obs_noise_std")],
)
def test_bad_arguments_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make(ENV_ID, **kwargs)


def test_bad_model_fields_are_named():
    with pytest.raises(ValueError, match="Arm7Model.torque_limit"):
        Arm7Model(torque_limit=(1.0,) * 6)
    with pytest.raises(ValueError, match="Arm7Model.joint_low"):
        Arm7Model(joint_low=(3.0,) * 7)


# ---- the policies and the loop on m = 3 ---------------------------------------------------------------
def test_policies_know_the_asset_and_hold_y_on_the_stroke(env):
    arm = env.unwrapped
    assert NOMINAL_CONTACT_HEIGHT_7 == pytest.approx(arm.nominal_surface_height() + arm.tip_radius(), abs=1e-12)
    pol = policy_for_env("scripted", ENV_ID)
    pol.reset(np.random.default_rng(0))
    obs = np.zeros(N_OBS)
    a = pol.decide(obs, {}, np.array([0.5, 0.01, 0.2, 7.0, 7.0, 7.0]))
    assert a.shape == (6,) and a[1] == pytest.approx(STROKE_Y - 0.01)
    np.testing.assert_allclose(a[3:], np.log([1500.0, 1500.0, 1000.0]))
    with pytest.raises(ValueError, match="ScriptedPressWipe.stiffness"):
        ScriptedPressWipe(stiffness=(1.0, 2.0, 3.0)).decide(np.zeros(13), {}, np.zeros(4))
    with pytest.raises(ValueError, match="ExplorationPolicy.n_task"):
        ExplorationPolicy(n_task=4)


def test_run_episode_on_the_7dof_arm(env):
    cfg = HierarchyConfig(max_ticks=300)
    tr = run_episode(env, policy_for_env("scripted", ENV_ID), config=cfg, seed=0)
    assert tr.n_ticks == 300 and tr.m == 3 and tr.state_features.shape == (300, 16)
    assert np.all(np.isfinite(tr.applied))
    a = run_episode(env, policy_for_env("exploration", ENV_ID), config=HierarchyConfig(max_ticks=150), seed=4)
    b = run_episode(env, policy_for_env("exploration", ENV_ID), config=HierarchyConfig(max_ticks=150), seed=4)
    np.testing.assert_array_equal(a.applied, b.applied)


def test_collect_runs_on_the_7dof_arm():
    from robocritic.bresa.collect import collect

    ds = collect(1, seed=0, env_id=ENV_ID, env_kwargs={"max_episode_steps": 100}, progress=False)
    assert ds.state.shape == (100, 16) and ds.action.shape == (100, 6)
    assert "pos_y" in ds.feature_names and "cmd_log_k_z" in ds.feature_names
    with pytest.raises(ValueError, match="env_id"):
        collect(1, seed=0, env_id="robocritic/Nope-v0", progress=False)


# ---- the null-space posture helper ---------------------------------------------------------------------
def test_posture_torque_does_not_act_on_the_task(env):
    env.reset(seed=2)
    st = env.step(env.unwrapped.arm_state().bias + 0.5)[4]["arm_state"]
    posture = NullSpacePosture(7, 5.0, 1.0, posture=np.zeros(7), kinematics=dh_tool_rotation_jacobian,
                               axis_stiffness=50.0, axis_damping=5.0)
    tau = posture.torques(st)
    assert np.linalg.norm(tau) > 1.0
    np.testing.assert_allclose(st.jacobian @ np.linalg.solve(st.mass_matrix, tau), 0.0, atol=1e-9)
    with pytest.raises(ValueError, match="NullSpacePosture.stiffness"):
        NullSpacePosture(7, -1.0, 0.0)


def test_posture_helper_keeps_the_tool_vertical_while_pressing(env):
    arm = env.unwrapped
    cfg = HierarchyConfig()
    tilts = {}
    for name in ("plain", "posture"):
        obs, info = env.reset(seed=0, options={"surface_offset": 0.0})
        law = make_controller(arm, cfg, 3)
        if name == "posture":
            law = PostureImpedance(law, NullSpacePosture(7, 1.0, 0.5, kinematics=dh_tool_rotation_jacobian,
                                                         axis_stiffness=50.0, axis_damping=5.0))
        loop = TwoRateLoop(policy_for_env("scripted", ENV_ID), law, cfg, arm.step_dt)
        loop.reset(info["arm_state"], policy_rng(0))
        tilt = []
        for _ in range(1000):
            tau = loop.tick(info["arm_state"], info["force_filtered"], info["force_raw"], obs, info)
            obs, _, _, _, info = env.step(tau)
            tilt.append(info["tool_tilt"])
        tilts[name] = max(tilt)
    assert tilts["posture"] < np.radians(3.0) < tilts["plain"]
