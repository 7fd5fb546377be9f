"""ArmPressWipe-v0 and the arm task: the wrist sensor and the wrench derived from it, pressing with
a Cartesian force, the force filter, the surface and contact options, the force limit, pushes,
bad options, seeded determinism, the success criterion and the free-space model.

The Gymnasium contract (checker, seeded rollouts, bad actions) runs for this id in
``test_contract.py``. The Cartesian force law here is written out (``tau = J' F + bias - D qd``);
``controllers/impedance.py`` is not imported.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from robocritic.envs.arm.model import PlanarArmModel, asset_geometry
from robocritic.envs.arm.press_wipe_v0 import (
    FORCE_BAND,
    SURFACE_OFFSET_MAX,
    stroke_reference,
    success_from_infos,
)
from robocritic.envs.arm.task import FirstOrderLowPass

from robocritic.interfaces import ArmState

ENV_ID = "robocritic/ArmPressWipe-v0"
G = 9.81
TOOL_MASS = 0.2  # kg, the MJCF's fingertip body


@pytest.fixture
def env():
    e = gym.make(ENV_ID)
    yield e
    e.close()


def contact_state(env: gym.Env, x: float = 0.45, offset: float = 0.0) -> np.ndarray:
    """At rest, tool straight down, the fingertip sphere just touching the surface."""
    u = env.unwrapped
    z = u.nominal_surface_height() + offset + u.tip_radius()
    return np.concatenate([asset_geometry().inverse(x, z, -np.pi / 2), np.zeros(3)])


def press(env: gym.Env, force: float, steps: int, damping: float = 1.0) -> list[dict]:
    """Push down with a constant Cartesian force (N): ``tau = J' (0, -force) + bias - D qd``.
    The joint damping only removes the free self-motion of the redundant arm; it is zero at rest."""
    u = env.unwrapped
    infos = []
    for _ in range(steps):
        st = u.arm_state()
        tau = st.jacobian.T @ np.array([0.0, -force]) + st.bias - damping * st.qd
        infos.append(env.step(tau)[4])
    return infos


def hold(env: gym.Env, steps: int) -> list[dict]:
    """Gravity compensation only: ``tau = bias``."""
    return [env.step(env.unwrapped.arm_state().bias)[4] for _ in range(steps)]


# ---- the sensor and the wrench -------------------------------------------------------------
def test_free_tip_wrench_is_zero_and_the_sensor_reads_the_tool_weight(env):
    env.reset(seed=0, options={"surface_offset": 0.0})
    info = hold(env, 200)[-1]
    st = info["arm_state"]
    assert isinstance(st, ArmState)
    assert info["contact_force_true"] == 0.0
    np.testing.assert_allclose(st.wrench, 0.0, atol=1e-6)
    assert abs(info["force_raw"]) < 1e-6
    # The raw reading: the flange holds the tool up with its weight (site frame -> base frame).
    rot = env.unwrapped.data.site_xmat[env.unwrapped.model.site("ft_site").id].reshape(3, 3)
    assert np.linalg.norm(info["ft_force"]) == pytest.approx(TOOL_MASS * G, rel=1e-6)
    np.testing.assert_allclose(rot @ info["ft_force"], [0.0, 0.0, TOOL_MASS * G], atol=1e-5)


def test_weight_removal_follows_the_randomised_tool_mass():
    e = gym.make(ENV_ID, randomization={"mass_scale": (1.3, 1.3)})
    try:
        e.reset(seed=0)
        info = hold(e, 100)[-1]
        assert np.linalg.norm(info["ft_force"]) == pytest.approx(1.3 * TOOL_MASS * G, rel=1e-6)
        np.testing.assert_allclose(info["wrench"], 0.0, atol=1e-6)
    finally:
        e.close()


@pytest.mark.parametrize("force", [5.0, 15.0])
def test_pressing_with_a_cartesian_force_settles_at_that_contact_force(env, force):
    """At rest ``J' (F + f_c) = 0`` with ``J`` (2 x 3) of full row rank, so the contact force is
    exactly ``-F``; what is left after 0.8 s is the decay of the transient (contact time constant
    20 ms, critically damped; joint damping on the self-motion), well below 0.5 % of F. The
    sensor-derived wrench equals the engine's own contact force at rest (no tool acceleration)."""
    env.reset(seed=0, options={"state": contact_state(env), "surface_offset": 0.0})
    info = press(env, force, 800)[-1]
    tol = 0.005 * force
    assert info["contact_force_true"] == pytest.approx(force, abs=tol)
    assert info["force_raw"] == pytest.approx(force, abs=tol)
    assert info["force_filtered"] == pytest.approx(force, abs=tol)
    np.testing.assert_allclose(info["wrench"], [0.0, force], atol=tol)
    # The tip rests on the surface: TCP z = surface + sphere radius, less a sub-mm compression.
    tcp_z = info["arm_state"].x[1]
    gap = tcp_z - (info["surface_height"] + env.unwrapped.tip_radius())
    assert -5e-4 < gap <= 0.0


# ---- the filter ----------------------------------------------------------------------------------
def test_filter_step_response_reaches_63_percent_at_its_time_constant():
    filt = FirstOrderLowPass(0.005, 0.001)
    filt.reset(0.0)
    y = np.array([filt.update(1.0) for _ in range(20)])
    np.testing.assert_allclose(y, 1.0 - np.exp(-np.arange(1, 21) * 0.001 / 0.005), rtol=1e-12)
    first = int(np.argmax(y >= 1.0 - np.exp(-1.0) - 1e-12)) + 1  # steps until 63.2 %
    assert abs(first - 5) <= 1


def test_env_filters_the_raw_force_with_its_low_pass(env):
    env.reset(seed=0, options={"state": contact_state(env), "surface_offset": 0.0})
    infos = press(env, 12.0, 150)
    raw = np.array([i["force_raw"] for i in infos])
    filtered = np.array([i["force_filtered"] for i in infos])
    alpha = 1.0 - np.exp(-0.001 / 0.005)
    expected = filtered[:-1] + alpha * (raw[1:] - filtered[:-1])
    np.testing.assert_allclose(filtered[1:], expected, rtol=1e-12, atol=1e-12)
    # While the force rises the filter lags behind the raw reading.
    rising = np.flatnonzero(np.diff(raw) > 1e-3)
    assert rising.size and np.all(filtered[rising + 1] < raw[rising + 1])


# ---- surface and contact options -------------------------------------------------------------------
def test_surface_offset_moves_the_contact_point():
    heights = {}
    for offset in (0.0, SURFACE_OFFSET_MAX):
        e = gym.make(ENV_ID)
        try:
            _, info0 = e.reset(seed=0, options={"state": contact_state(e, offset=offset), "surface_offset": offset})
            assert info0["surface_height"] == pytest.approx(e.unwrapped.nominal_surface_height() + offset)
            info = press(e, 10.0, 400)[-1]
            assert info["contact_force_true"] == pytest.approx(10.0, abs=0.1)
            heights[offset] = info["arm_state"].x[1]
        finally:
            e.close()
    assert heights[SURFACE_OFFSET_MAX] - heights[0.0] == pytest.approx(SURFACE_OFFSET_MAX, abs=1e-5)


def test_sampled_surface_offsets_stay_in_range_and_are_not_observed():
    e = gym.make(ENV_ID)
    try:
        offsets = [e.reset(seed=s)[1]["surface_offset"] for s in range(20)]
        assert all(0.0 <= o <= SURFACE_OFFSET_MAX for o in offsets) and np.ptp(offsets) > 0.01
        obs_a, _ = e.reset(seed=3, options={"surface_offset": 0.0})
        obs_b, _ = e.reset(seed=3, options={"surface_offset": 0.02})
        np.testing.assert_array_equal(obs_a, obs_b)  # same start, surface height invisible
    finally:
        e.close()


def test_contact_stiffness_scale_changes_the_compression(env):
    compression = {}
    for scale in (0.25, 4.0):
        env.reset(seed=0, options={"state": contact_state(env), "surface_offset": 0.0,
                                   "contact_stiffness_scale": scale})
        info = press(env, 10.0, 400)[-1]
        compression[scale] = (info["surface_height"] + env.unwrapped.tip_radius()) - info["arm_state"].x[1]
        assert info["contact_stiffness_scale"] == scale
    assert compression[0.25] > 8 * compression[4.0] > 0


# ---- the force limit -------------------------------------------------------------------------------
def test_unsafe_is_the_filtered_force_above_the_limit(env):
    env.reset(seed=0, options={"state": contact_state(env), "surface_offset": 0.0})
    infos = press(env, 40.0, 300)
    unsafe = np.array([i["unsafe"] for i in infos])
    filtered = np.array([i["force_filtered"] for i in infos])
    np.testing.assert_array_equal(unsafe, filtered > 30.0)
    assert not unsafe[0] and unsafe[-1]
    # A band force stays safe.
    env.reset(seed=0, options={"state": contact_state(env), "surface_offset": 0.0})
    assert not any(i["unsafe"] for i in press(env, 15.0, 300))


def test_force_limit_argument_and_termination():
    e = gym.make(ENV_ID, force_limit=12.0, terminate_on_violation=True, violation_penalty=100.0)
    try:
        e.reset(seed=0, options={"state": contact_state(e), "surface_offset": 0.0})
        u = e.unwrapped
        for k in range(300):
            st = u.arm_state()
            _, reward, terminated, _, info = e.step(st.jacobian.T @ np.array([0.0, -15.0]) + st.bias - st.qd)
            if terminated:
                break
        assert terminated and info["unsafe"] and info["force_filtered"] > 12.0
        assert info["cost"] >= 100.0 and reward == -info["cost"]
    finally:
        e.close()


# ---- pushes ---------------------------------------------------------------------------------------
def test_pushes_act_on_the_tool_along_the_arm_plane_for_their_duration():
    e = gym.make(ENV_ID, randomization={"push_probability": 1.0, "push_force": (30.0, 30.0)},
                 push_duration=0.05)
    try:
        e.reset(seed=1, options={"surface_offset": 0.0})
        infos = hold(e, 102)
        push = np.array([i["push_force"] for i in infos])
        assert np.all(push[:, 1] == 0.0)  # horizontal, in the plane (x)
        on = np.abs(push[:, 0]) == 30.0
        # 50 steps (50 ms) on, one step off, the next push (push_probability 1).
        np.testing.assert_array_equal(on[:102], [True] * 50 + [False] + [True] * 50 + [False])
        first = infos[0]
        # The wrist sensor sees the push on the tool, less the tool's own inertial force m a: the
        # light wrist lets the 0.2 kg tool accelerate at ~50 m/s^2 under 30 N, so about a third.
        assert np.sign(first["wrench"][0]) == np.sign(push[0, 0])
        assert 0.5 * 30.0 < abs(first["wrench"][0]) < 30.0
        assert abs(first["force_raw"]) < 0.1 * 30.0
        # The tool moves the way it is pushed.
        v = infos[20]["arm_state"].jacobian @ infos[20]["arm_state"].qd
        assert np.sign(v[0]) == np.sign(push[0, 0])
    finally:
        e.close()


# ---- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"surface_offset": 0.05}, r"options\['surface_offset'\]"),
        ({"surface_offset": -0.001}, r"options\['surface_offset'\]"),
        ({"surface_offset": float("nan")}, r"options\['surface_offset'\]"),
        ({"surface_offset": "1cm"}, r"options\['surface_offset'\]"),
        ({"contact_stiffness_scale": 0.0}, r"options\['contact_stiffness_scale'\]"),
        ({"state": [0.8, -1.6, -0.8, 0.0, 0.0, np.inf]}, r"options\['state'\] must be finite"),
        ({"state": [0.8, -1.6, -0.8]}, r"options\['state'\] must have shape \(6,\)"),
        ({"surface_height": 0.01}, r"unknown key\(s\) \['surface_height'\]"),
    ],
)
def test_bad_reset_options_name_the_field(env, options, match):
    with pytest.raises(ValueError, match=match):
        env.reset(seed=0, options=options)


def test_nan_torques_raise_naming_the_action(env):
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be finite"):
        env.step(np.array([0.0, np.nan, 0.0]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"surface_offset_range": (0.0, 0.05)}, "surface_offset_range"),
        ({"surface_offset_range": 0.01}, "surface_offset_range"),
        ({"contact_stiffness_range": (0.0, 1.0)}, "contact_stiffness_range"),
        ({"force_limit": -1.0}, "force_limit"),
        ({"force_limit": float("nan")}, "force_limit"),
        ({"force_filter_tau": 0.0}, "force_filter_tau"),
        ({"push_duration": 0.0}, "push_duration"),
        ({"randomization": {"obs_noise_std": [0.1, 0.2]}}, "obs_noise_std"),
        ({"model": "arm"}, "model"),
        ({"model": PlanarArmModel(dt=0.002)}, "dt"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make(ENV_ID, **kwargs)


# ---- determinism ---------------------------------------------------------------------------------------
RANDOMIZED = {
    "mass_scale": (0.9, 1.1), "friction_scale": (0.5, 1.5), "joint_damping": (0.0, 0.1),
    "actuator_delay": (0, 2), "obs_noise_std": 0.001, "push_probability": 0.01, "push_force": (20.0, 50.0),
}


def _trajectory(seed: int) -> list[np.ndarray]:
    e = gym.make(ENV_ID, randomization=RANDOMIZED, contact_stiffness_range=(0.5, 2.0))
    try:
        obs, info = e.reset(seed=seed)
        out = [obs, np.array([info["surface_offset"], info["contact_stiffness_scale"]])]
        for infos in (press(e, 12.0, 250),):
            for i in infos:
                out += [i["state"], np.array([i["force_raw"], i["force_filtered"], i["cost"]]), i["push_force"]]
        return out
    finally:
        e.close()


def test_seeded_episodes_repeat_exactly_and_seeds_matter():
    a, b, c = _trajectory(5), _trajectory(5), _trajectory(6)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])
    assert any(np.any(p != 0) for p in a[4::3]), "the run should contain a push"


# ---- success ----------------------------------------------------------------------------------------
def _wipe(env: gym.Env) -> list[dict]:
    """A hand-tuned Cartesian law: fast descent, then 12 N down and a PD on the stroke in x."""
    u = env.unwrapped
    infos = []
    for _ in range(2000):
        st, t = u.arm_state(), u.time
        v = st.jacobian @ st.qd
        v_ref = 0.1 if 0.3 < t < 1.8 else 0.0
        fx = 2500.0 * (stroke_reference(t) - st.x[0]) + 100.0 * (v_ref - v[0])
        fz = -12.0 - 40.0 * v[1] if st.wrench[1] > 1.0 or t > 0.5 else -30.0 - 70.0 * v[1]
        _, _, terminated, truncated, info = env.step(st.jacobian.T @ np.array([fx, fz]) + st.bias - 0.5 * st.qd)
        infos.append(info)
        if terminated or truncated:
            break
    return infos


def test_success_criterion_from_per_step_info(env):
    env.reset(seed=0)
    infos = _wipe(env)
    assert len(infos) == 2000  # truncated by the registered TimeLimit at 2 s
    last = infos[-1]
    assert last["success"] and success_from_infos(infos)
    assert last["band_fraction"] >= 0.9 and last["mean_path_error"] <= 0.01
    phase = [i for i in infos if i["contact_phase"]]
    assert len(phase) == 1701  # t = 0.300 ... 2.000 s
    assert last["band_fraction"] == pytest.approx(np.mean([FORCE_BAND[0] <= i["force_filtered"] <= FORCE_BAND[1]
                                                          for i in phase]))
    # The fast descent this law uses hits the table hard: the impact is a force-limit event.
    assert any(i["unsafe"] for i in infos)
    # Hovering in the air never succeeds.
    env.reset(seed=0)
    hover = hold(env, 400)
    assert not hover[-1]["success"] and not success_from_infos(hover)


# ---- arm state and the model --------------------------------------------------------------------------
def test_arm_state_matches_the_kinematics_and_is_computed_once_per_step(env):
    env.reset(seed=2)
    _, _, _, _, info = env.step(np.array([3.0, -2.0, 1.0]) + env.unwrapped.arm_state().bias)
    st = env.unwrapped.arm_state()
    assert st is info["arm_state"]
    geometry = asset_geometry()
    np.testing.assert_allclose(st.x, geometry.forward(st.q)[:2], atol=1e-12)
    eps = 1e-7
    jac = np.column_stack([(geometry.forward(st.q + eps * e)[:2] - geometry.forward(st.q - eps * e)[:2]) / (2 * eps)
                           for e in np.eye(3)])
    np.testing.assert_allclose(st.jacobian, jac, atol=1e-7)
    assert st.mass_matrix.shape == (3, 3)
    np.testing.assert_allclose(st.mass_matrix, st.mass_matrix.T, atol=1e-14)
    assert np.all(np.linalg.eigvalsh(st.mass_matrix) > 0)
    assert st.wrench.shape == (2,) and st.n_task == 2 and st.n_joints == 3


def test_start_box_is_far_from_singular_and_above_every_surface(env):
    u = env.unwrapped
    highest_contact = u.nominal_surface_height() + SURFACE_OFFSET_MAX + u.tip_radius()
    for seed in range(30):
        _, info = env.reset(seed=seed)
        st = info["arm_state"]
        assert -1.9 < st.q[1] < -1.5  # elbow bent, far from q2 = 0
        assert np.linalg.svd(st.jacobian, compute_uv=False)[-1] > 0.2  # m/rad
        assert st.x[1] > highest_contact + 0.02 - 1e-9
        assert abs(info["force_filtered"]) < 1e-6 and not any(st.qd)


def test_free_space_model_holds_home_and_agrees_with_the_env():
    model = PlanarArmModel()
    np.testing.assert_allclose(model.f(model.x_eq, model.u_eq), 0.0, atol=1e-9)
    lin = model.linearize()
    assert lin.A.shape == (6, 6) and lin.B.shape == (6, 3)
    e = gym.make(ENV_ID)
    try:
        u = e.unwrapped
        np.testing.assert_array_equal(u.model.actuator_ctrlrange[:, 1], model.torque_limit)
        assert e.action_space.shape == (3,) and e.observation_space.shape == (13,)
        # The env's bias at home equals the model's u_eq; one free-space step follows f.
        e.reset(seed=0, options={"state": model.x_eq, "surface_offset": 0.0})
        np.testing.assert_allclose(u.arm_state().bias, model.u_eq, atol=1e-12)
        tau = model.u_eq + np.array([1.0, 0.5, -0.2])
        x1 = e.step(tau)[4]["state"]
        qdd = model.f(model.x_eq, tau)[3:]
        np.testing.assert_allclose(x1[3:], qdd * model.dt, rtol=2e-2)
    finally:
        e.close()


def test_surface_geom_is_moved_not_the_arm(env):
    """The table is a world geom: its height changes the engine's geometry, not the arm's."""
    env.reset(seed=0, options={"surface_offset": 0.025})
    m, d = env.unwrapped.model, env.unwrapped.data
    top = d.geom_xpos[m.geom("surface").id][2] + m.geom_size[m.geom("surface").id][2]
    assert top == pytest.approx(env.unwrapped.nominal_surface_height() + 0.025)
