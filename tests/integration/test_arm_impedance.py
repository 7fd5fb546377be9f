"""The Bresa control chain without learning: the Cartesian impedance law (controllers/) driving
the planar arm env (envs/) through nothing but ArmState. Pressing a setpoint ``d`` below the
table with normal stiffness ``K_z`` must settle at the contact force ``K_z d`` (the table is much
stiffer than the impedance), measured by the env's wrist sensor."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import robocritic.envs  # noqa: F401 - registers the ids
from robocritic.controllers.impedance import CartesianImpedance, ImpedanceGains
from robocritic.envs.arm.constants import TIP_GEOM


@pytest.mark.parametrize(("depth", "k_normal"), [(0.02, 500.0), (0.01, 1500.0)])
def test_impedance_press_settles_at_stiffness_times_depth(depth, k_normal):
    env = gym.make("robocritic/ArmPressWipe-v0", surface_offset_range=(0.0, 0.0))
    arm = env.unwrapped
    law = CartesianImpedance(3, 2, stiffness_max=3000.0, joint_damping=0.2)
    gains = ImpedanceGains(stiffness=np.array([800.0, k_normal]))
    try:
        _, info = env.reset(seed=3)
        radius = float(arm.model.geom(TIP_GEOM).size[0])
        contact_z = info["surface_height"] + radius  # TCP height when the sphere touches the table
        setpoint = np.array([arm.arm_state().x[0], contact_z - depth])
        forces, unsafe = [], []
        for _ in range(1500):  # 1.5 s at 1 kHz
            _, _, terminated, truncated, info = env.step(law.torques(arm.arm_state(), setpoint, gains))
            forces.append(info["force_filtered"])
            unsafe.append(info["unsafe"])
            assert not (terminated or truncated)
        settled = np.array(forces[-200:])
        expected = k_normal * depth
        assert np.all(np.abs(settled - expected) < 0.03 * expected), (settled.min(), settled.max(), expected)
        assert abs(info["contact_force_true"] - expected) < 0.03 * expected  # the sensor tells the truth
        assert abs(arm.arm_state().x[1] - contact_z) < 1e-3  # resting on the table, not in it
        assert not any(unsafe)  # critically damped approach: no impact spike over 30 N
    finally:
        env.close()
