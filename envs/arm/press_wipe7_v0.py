"""Arm7PressWipe-v0 (MuJoCo): press a fingertip on a table within a force band while wiping along
a straight stroke, with a 7-DoF torque-controlled arm (Panda kinematics and limits) at 1 kHz.

## Description
The arm of ``arm7_panda.xml``: the Franka Panda's DH chain, the joint, speed and torque limits of
``hardware/arm7_torque.yaml``, approximate link masses (about 17 kg; not Franka's identified
values), a welded 0.3 kg tool at the flange (a 0.1 m stylus ending in a 1 cm sphere) with a wrist
force/torque sensor. Base frame: x forward, z up, gravity -9.81 m/s^2 along z. A table top lies
at ``z = 0.05 m`` plus an unknown offset of 0-3 cm. The task is the planar env's
(``robocritic/ArmPressWipe-v0``, ``press_wipe_v0.py``) in 3-D: bring the fingertip down onto the
table, press with a normal force (along +z) in [5, 20] N while the TCP (the sphere's centre)
follows a stroke reference along x from 0.50 m to 0.65 m at ``y = 0``. A filtered normal force
above ``force_limit`` is the safety event.

The stroke and the table height are where the arm reaches them with the tool vertical, the elbow
well bent but not folded, and every joint far inside its range (the planar env's 0.40-0.55 m
stroke would fold the Panda's elbow close to its -3.07 rad limit).

The action is the joint torque at 1 kHz: a Cartesian impedance (or any torque) controller runs
*outside* the env, reading :meth:`Arm7PressWipeEnv.arm_state` (an
:class:`~robocritic.interfaces.ArmState` with ``m = 3`` task coordinates x, y, z: ``q``, ``qd``,
TCP position, the TCP's translational Jacobian ``(3, 7)``, mass matrix ``(7, 7)``, bias torques,
contact wrench ``(3,)``; also ``info["arm_state"]``). MuJoCo integrates at 1 ms
(``implicitfast``), one physics step per control step.

## Tool orientation
The task space is the TCP position only; the env takes torques and adds nothing. The tool starts
vertical (the start pose's IK) and its orientation is left to the controller: the joint damping
of :class:`~robocritic.controllers.impedance.CartesianImpedance` (``k_q``) damps the four
null-space directions (tool tilt, tool yaw, elbow swivel), and with gravity cancelled by the bias
nothing but the contact and inertial coupling drives them. ``info["tool_tilt"]`` reports the
tool axis's angle from straight down every step.

## Action space
| idx | action | min | max | unit |
|---|---|---|---|---|
| 0-3 | torques at panda_joint1-4 | -87 | 87 | N m |
| 4-6 | torques at panda_joint5-7 | -12 | 12 | N m |
Commands outside the range are saturated (``info["action_saturations"]``); NaN, inf, a wrong
shape or a value that is no real number (a string, bool, complex number) raise ``ValueError``
naming the env and ``action``. Gravity is *not* compensated by the env:
``tau = arm_state().bias`` holds the arm still.

## Observation space
| idx | observation | unit |
|---|---|---|
| 0-6 | joint angles q1..q7 | rad |
| 7-13 | joint velocities | rad/s |
| 14-16 | TCP position (x, y, z), base frame | m |
| 17-19 | TCP velocity (x, y, z), base frame | m/s |
| 20 | filtered normal contact force (wrist sensor, tool weight removed, 5 ms low-pass; > 0 pressing) | N |
| 21 | stroke reference x_ref(t) | m |
| 22 | time since reset | s |
All unbounded float32. The surface height is *not* observed (privileged:
``info["surface_height"]``); neither is the engine's own contact force.

## Stroke reference
``x_ref(t) = 0.50 m`` for ``t < 0.3 s`` (approach), then rising at 0.1 m/s to 0.65 m at
``t = 1.8 s``, held after that; ``y_ref = 0``. The *contact phase* is ``t >= 0.3 s``.

## Cost (reward = -cost)
As the planar env: ``c = (e_f / 5 N)^2 + (e_p / 0.01 m)^2`` with ``e_f`` the distance of the
filtered normal force from [5, 20] N in the contact phase and ``e_p`` (``info["path_error"]``)
the horizontal distance of the TCP from the reference point ``(x_ref(t), y_ref)``, m.

## Safety constraint
``info["unsafe"]``: filtered normal force > ``force_limit``. Default 30 N, as the planar env:
the same margin above the 20 N top of the band, so that an in-band press is safe and the two
arms' safety results compare. ``hardware/arm7_torque.yaml``'s ``max_contact_force`` (20 N)
coincides with the band's top; pass ``force_limit=20.0`` to use it (then the upper part of the
band touches the limit). ``info["violated"]`` and ``info["constraint_violation"]`` report the
state box (joint ranges, per-joint speed limits). ``info`` carries the planar env's keys
(``force_raw``, ``force_filtered``, ``wrench`` (x, y, z) N, ``ft_force``, ``ft_torque``,
``arm_state``, ``surface_height``, ``surface_offset``, ``contact_stiffness_scale``,
``contact_force_true``, ``push_force`` (x, y, z) N, ``x_ref``, ``time``, ``contact_phase``,
``in_band``, ``force_band_error``, ``path_error``, ``band_fraction``, ``mean_path_error``,
``success``) plus ``tool_tilt`` (rad).

## Success
As the planar env: in the contact phase the filtered force in [5, 20] N for >= 90 % of the steps
and a mean path error <= 1 cm (:func:`~robocritic.envs.arm.press_wipe_v0.success_from_infos`).

## Start state
The TCP is drawn uniformly in ``x in [0.48, 0.52] m``, ``y in [-0.02, 0.02] m``, ``z`` 5-8 cm
above the nominal contact height (>= 2 cm above the highest surface), the tool vertical, at rest;
the joint angles come from a damped-least-squares IK (:class:`~robocritic.envs.arm.model7.Arm7Kinematics`,
seeded at :data:`~robocritic.envs.arm.model7.POSTURE`, deterministic), which keeps the elbow
bent and every joint far from its limits. Or exactly ``reset(options={"state": [q (7), qd (7)]})``
within the physical range of the planar env (joint limits widened by 0.1 rad, ``|qd| <= 10`` rad/s).
The arm starts held by its gravity torques.

## Perturbations (seeded by ``reset(seed=...)``)
As the planar env: surface height offset (``surface_offset_range``, default (0, 0.03) m, or
``options={"surface_offset": h}``), contact stiffness scale (``contact_stiffness_range``, or
``options={"contact_stiffness_scale": s}``), :class:`robocritic.envs.DomainRandomization`
(``obs_noise_std``: a scalar or 23 values), and pushes of ``push_force`` N for ``push_duration``
on the tool's centre of mass, along +-x or +-y (sign, then axis, each 50/50).

## Episode end
Terminated on ``info["unsafe"]`` only if ``terminate_on_violation=True`` (``violation_penalty``
added to the cost). Truncated after 2000 steps (2 s) by the registered ``TimeLimit``.

## Arguments
``gym.make("robocritic/Arm7PressWipe-v0", model=Arm7Model(), randomization=None,
force_limit=30.0, surface_offset_range=(0.0, 0.03), contact_stiffness_range=(1.0, 1.0),
force_filter_tau=0.005, push_duration=0.05, terminate_on_violation=False,
violation_penalty=0.0, render_mode=None)``.

## Version history
v0: first release.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any

import numpy as np
from robocritic.envs.arm.constants7 import (
    ARM7_ACTUATORS,
    ARM7_FT_FORCE_SENSOR,
    ARM7_FT_SITE,
    ARM7_FT_TORQUE_SENSOR,
    ARM7_JOINTS,
    ARM7_MJCF,
    ARM7_SURFACE_GEOM,
    ARM7_TCP_SITE,
    ARM7_TIP_GEOM,
    ARM7_TOOL_BODY,
)
from robocritic.envs.arm.model7 import POSTURE, Arm7Kinematics, Arm7Model, tool_tilt
from robocritic.envs.arm.mujoco_arm import MujocoArm
from robocritic.envs.arm.press_wipe_v0 import FORCE_LIMIT, PressWipeTask, stroke_reference
from robocritic.envs.arm.task import SPATIAL_SLICE
from robocritic.envs.base.mujoco_env import MujocoEnv

__all__ = ["FORCE_LIMIT", "N_OBS", "STROKE_X", "STROKE_Y", "Arm7PressWipeEnv", "Arm7PressWipeTask",
           "stroke_reference7"]

# FORCE_LIMIT, the default safety limit on the filtered normal force (see "Safety constraint"), is
# the planar env's: the default of the constructor the two share (PressWipeTask's).
#: Stroke along x, m (start, end), and its y, m.
STROKE_X = (0.50, 0.65)
STROKE_Y = 0.0
#: Start box of the TCP: x, y (m), height above the nominal contact height (m).
START_X = (0.48, 0.52)
START_Y = (-0.02, 0.02)
START_HEIGHT = (0.05, 0.08)
#: Size of the observation.
N_OBS = 23


def stroke_reference7(t: float) -> float:
    """The stroke reference ``x_ref(t)`` in m at ``t`` s after reset (``y_ref`` is :data:`STROKE_Y`)."""
    return stroke_reference(t, STROKE_X)


class Arm7PressWipeTask(PressWipeTask):
    """The press-and-wipe task for the 7-DoF arm on any engine: the planar task with three task
    axes, pushes along x and y, this stroke, an IK start box and a horizontal path error."""

    task_slice = SPATIAL_SLICE
    push_axes = (0, 1)
    stroke = STROKE_X

    def _init_start_states(self) -> None:
        model = self.dynamics
        self._kinematics = Arm7Kinematics(joint_low=np.array(model.joint_low), joint_high=np.array(model.joint_high))

    def sample_start_state(self) -> np.ndarray:
        """A start state ``[q, qd]`` ``(14,)`` from the start box (module docstring)."""
        rng = self.np_random
        x = rng.uniform(*START_X)
        y = rng.uniform(*START_Y)
        z = self._contact_height0 + rng.uniform(*START_HEIGHT)
        q = self._kinematics.inverse(np.array([x, y, z]), POSTURE, POSTURE)
        return np.concatenate([q, np.zeros(q.size)])

    def _path_error(self, x: np.ndarray, x_ref: float) -> float:
        """Horizontal distance of the TCP from the reference point ``(x_ref, STROKE_Y)``, m."""
        return math.hypot(float(x[0]) - x_ref, float(x[1]) - STROKE_Y)

    def _force_info(self, t: float | None = None, x_ref: float | None = None) -> dict[str, Any]:
        info = super()._force_info(t, x_ref)
        info["tool_tilt"] = self.tool_tilt()
        return info

    def tool_tilt(self) -> float:
        """Angle of the tool axis from straight down, rad."""
        return tool_tilt(self._tool_rotation())

    @abstractmethod
    def _tool_rotation(self) -> np.ndarray:
        """Engine hook: orientation ``(3, 3)`` of the TCP frame (tool to base) at the current state."""


class Arm7PressWipeEnv(MujocoArm, Arm7PressWipeTask, MujocoEnv):
    """MuJoCo implementation of Arm7PressWipe-v0 (see module docstring)."""

    env_name = "Arm7PressWipe-v0"

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 1000}
    render_camera = "side"
    asset_file = ARM7_MJCF
    model_type = Arm7Model
    asset_joints = ARM7_JOINTS
    asset_actuators = ARM7_ACTUATORS
    asset_tool_body = ARM7_TOOL_BODY
    asset_ft_site = ARM7_FT_SITE
    asset_tcp_site = ARM7_TCP_SITE
    asset_ft_force_sensor = ARM7_FT_FORCE_SENSOR
    asset_ft_torque_sensor = ARM7_FT_TORQUE_SENSOR
    asset_tip_geom = ARM7_TIP_GEOM
    asset_surface_geom = ARM7_SURFACE_GEOM

    def _tool_rotation(self) -> np.ndarray:
        return self.data.site_xmat[self._tcp].reshape(3, 3)
