"""ArmPressWipeBullet-v0 (PyBullet): the PyBullet twin of ArmPressWipe-v0, the same
press-and-wipe task on the same planar 3-link torque-controlled arm at 1 kHz.

## Description
The task, its reference, cost, safety event and success criterion are those of
``robocritic/ArmPressWipe-v0`` (``press_wipe_v0.py``, whose docstring is the spec; the task logic
is the shared :class:`~robocritic.envs.arm.press_wipe_v0.PressWipeTask`). The arm and table are
``arm3_planar.urdf``, the MJCF's links, masses, inertias, joints and table box in URDF. PyBullet
(Featherstone, semi-implicit Euler) integrates at 1 ms, one ``stepSimulation`` per control step,
with Bullet's default link damping and joint velocity motors removed. What differs from MuJoCo
is listed under *Engine differences*; ``envs/arm/bullet_arm.py`` has the details. A policy or
controller tuned on one engine is evaluated on the other: the cheapest proxy of the sim-to-real
gap. Needs the extra: ``pip install robocritic[pybullet]``.

The action is the joint torque at 1 kHz; a Cartesian impedance (or any torque) controller runs
outside the env, reading :meth:`ArmPressWipeBulletEnv.arm_state` (``q``, ``qd``, TCP position,
Jacobian rows for the plane from ``calculateJacobian``, the mass matrix from
``calculateMassMatrix`` plus the emulated armature, bias torques from
``calculateInverseDynamics`` at zero acceleration, contact wrench; also ``info["arm_state"]``).

## Action space
As ArmPressWipe-v0: torques at joint1-3, limits 40 / 30 / 10 N m, positive turns a link from +x
towards +z; saturated (counted in ``info["action_saturations"]``); NaN, inf, a wrong shape or a
value that is no real number (a string, bool, complex number) raise ``ValueError`` naming the env
and ``action``. ``tau = arm_state().bias`` holds the arm still.

## Observation space
As ArmPressWipe-v0: 13 unbounded float32 values, ``[q (3), qd (3), TCP (x, z), TCP velocity
(x, z), filtered normal force, x_ref(t), t]``. The surface height and the engine's own contact
force are not observed.

## Stroke reference, cost, safety constraint, success
As ArmPressWipe-v0 (same functions and constants). ``info`` carries the same keys: ``force_raw``,
``force_filtered``, ``wrench``, ``ft_force`` / ``ft_torque`` (Bullet's joint reaction on the
fixed wrist joint, tool frame; see below), ``arm_state``, ``surface_height``, ``surface_offset``,
``contact_stiffness_scale``, ``contact_force_true`` (sum of Bullet's contact normal forces
between tip and table, privileged), ``push_force``, ``x_ref``, ``time``, ``contact_phase``,
``in_band``, ``force_band_error``, ``path_error``, ``band_fraction``, ``mean_path_error``,
``success``, plus ``state``, ``cost``, ``unsafe``, ``violated``, ``constraint_violation``,
``applied_action``, ``action_saturations``.

## Start state
As ArmPressWipe-v0 (the same start box and ``options={"state": ...}``). Bullet computes sensor
and contact forces only in a step, so the readings at reset come from one step under the holding
torques taken from the start state, after which the start state is restored.

## Perturbations (seeded by ``reset(seed=...)``)
As ArmPressWipe-v0: ``surface_offset`` (the table body is moved), ``contact_stiffness_scale``
``s`` (Bullet's contact stiffness times ``s``, damping times ``sqrt(s)``),
:class:`robocritic.envs.DomainRandomization` (``mass_scale`` on every arm link, the tool too;
``friction_scale`` on the tip, which with Bullet's product of coefficients scales the contact's;
``joint_damping``; ``actuator_delay``; ``obs_noise_std``), and pushes on the tool's centre of
mass along +-x with ``push_probability``, ``push_force`` and ``push_duration``.

## Engine differences
* Wrist sensor: ``enableJointForceTorqueSensor`` on the fixed joint ``ft_joint``; the force is
  what link3 exerts on the tool in the tool frame (MuJoCo's convention), so ``wrench`` and the
  normal force are computed identically; the torque does not include the weight's moment about
  the flange (unused by the task).
* Armature: the MJCF's 0.01 kg m^2 rotor inertia per joint is emulated by a torque
  ``-A qdd_hat`` (exact in free space and at rest; one step late for contact transients).
* Contact: a spring-damper of fixed stiffness (``bullet_arm.CONTACT_STIFFNESS``, matching
  MuJoCo's static softness at the nominal pose in order of magnitude) instead of MuJoCo's
  pose-dependent soft constraint; pyramidal-free Coulomb friction 0.3 (product of the tip's 1.0
  and the table's 0.3), no torsional or rolling friction.
* Joint damping is applied explicitly once per step; joint limits are Bullet's limit constraints.

## Episode end
As ArmPressWipe-v0: terminated on ``info["unsafe"]`` only with ``terminate_on_violation=True``;
truncated after 2000 steps (2 s) by the registered ``TimeLimit``.

## Arguments
``gym.make("robocritic/ArmPressWipeBullet-v0", model=PlanarArmModel(), randomization=None,
force_limit=30.0, surface_offset_range=(0.0, 0.03), contact_stiffness_range=(1.0, 1.0),
force_filter_tau=0.005, push_duration=0.05, terminate_on_violation=False,
violation_penalty=0.0, render_mode=None)``, as ArmPressWipe-v0.

## Version history
v0: first release.
"""

from __future__ import annotations

from typing import Any

from robocritic.envs.arm.bullet_arm import BulletArm
from robocritic.envs.arm.press_wipe_v0 import PressWipeTask
from robocritic.envs.base.pybullet_env import PyBulletEnv

#: The URDF twin of ``arm3_planar.xml``.
ARM_URDF = "arm3_planar.urdf"
#: Physics step = control step, s (the MJCF's timestep).
PHYSICS_TIMESTEP = 0.001


class ArmPressWipeBulletEnv(BulletArm, PressWipeTask, PyBulletEnv):
    """PyBullet implementation of ArmPressWipe-v0 (see module docstring)."""

    env_name = "ArmPressWipeBullet-v0"

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 1000}
    # The MJCF's "side" camera: from -y, level with the table.
    camera_eye = (0.3, -1.6, -0.05)
    camera_target = (0.3, 0.0, -0.05)
    asset_file = ARM_URDF
    physics_timestep = PHYSICS_TIMESTEP
