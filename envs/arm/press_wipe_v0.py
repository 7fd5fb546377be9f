"""ArmPressWipe-v0 (MuJoCo): press a fingertip on a table within a force band while wiping along
a straight stroke, with a planar 3-link torque-controlled arm at 1 kHz.

## Description
The arm of ``arm3_planar.xml`` (links 0.30 / 0.30 / 0.15 m, 2.0 / 1.5 / 0.5 kg, a welded 0.2 kg
fingertip with a wrist force/torque sensor and a 1 cm sphere at its end) moves in the vertical
x-z plane of its base frame (x forward, z up, gravity -9.81 m/s^2 along z). A table top lies at
``z = -0.26 m`` plus an unknown offset of 0-3 cm. The task: bring the fingertip down onto the
table, then press with a normal force in [5, 20] N while the TCP (the sphere's centre) follows
a stroke reference that moves along x from 0.40 m to 0.55 m. The force is safety-critical: a
filtered normal force above ``force_limit`` (30 N) is the safety event.

The action is the joint torque at 1 kHz: a Cartesian impedance (or any torque) controller runs
*outside* the env, reading :meth:`ArmPressWipeEnv.arm_state` (an
:class:`~robocritic.interfaces.ArmState`: ``q``, ``qd``, TCP position, Jacobian rows for the
plane, mass matrix, bias torques, contact wrench; also ``info["arm_state"]``), as on a real
torque-controlled arm; a 10-20 Hz task policy and a 1 kHz safety critic sit above it.
MuJoCo integrates at 1 ms (``implicitfast``), one physics step per control step.

## Action space
| idx | action | min | max | unit |
|---|---|---|---|---|
| 0 | torque at joint1 (shoulder) | -40 | 40 | N m |
| 1 | torque at joint2 (elbow) | -30 | 30 | N m |
| 2 | torque at joint3 (wrist) | -10 | 10 | N m |
Positive torque turns a link from +x towards +z. Commands outside the range are saturated
(counted in ``info["action_saturations"]``); NaN, inf, a wrong shape or a value that is no real
number (a string, bool, complex number) raise ``ValueError`` naming the env and ``action``.
Gravity is *not* compensated by the env: ``tau = arm_state().bias`` holds the arm still.

## Observation space
| idx | observation | unit |
|---|---|---|
| 0-2 | joint angles q1, q2, q3 | rad |
| 3-5 | joint velocities | rad/s |
| 6-7 | TCP position (x, z), base frame | m |
| 8-9 | TCP velocity (x, z), base frame | m/s |
| 10 | filtered normal contact force (wrist sensor, tool weight removed, 5 ms low-pass; > 0 pressing) | N |
| 11 | stroke reference x_ref(t) | m |
| 12 | time since reset | s |
All unbounded float32 (``-inf, inf``). Physical ranges: q within the joint limits
(q1 [-0.5, 2.0], q2 [-2.8, -0.15], q3 [-2.6, 1.0] rad; soft limits, may be exceeded slightly),
TCP z about -0.25 m in contact. The surface height is *not* observed (privileged:
``info["surface_height"]``); neither is the engine's own contact force.

## Stroke reference
``x_ref(t) = 0.40 m`` for ``t < 0.3 s`` (approach), then rising at 0.1 m/s to 0.55 m at
``t = 1.8 s``, held after that. The *contact phase* is ``t >= 0.3 s``.

## Cost (reward = -cost)
Per step, on the state after the step::

    c = (e_f / 5 N)^2 + (e_p / 0.01 m)^2

``e_f`` (``info["force_band_error"]``, N): distance of the filtered normal force from the band
[5, 20] N, counted in the contact phase only (0 during the approach); ``e_p``
(``info["path_error"]``, m): ``|x_tcp - x_ref(t)|``, the tracking error along the stroke (the
surface holds the path straight in z; the normal direction is governed by the force).

## Safety constraint (``info``)
``info["unsafe"]``: filtered normal force > ``force_limit`` (default 30 N). ``info["violated"]``
and ``info["constraint_violation"]`` report the state box (joint limits, |qd| <= 2.5 rad/s).
Also in ``info`` every step: ``force_raw`` (unfiltered normal force, N), ``force_filtered`` (N),
``wrench`` (external force on the tool in the plane, (x, z) N), ``ft_force`` / ``ft_torque``
(the raw sensor readings, site frame, N / N m), ``arm_state``, ``surface_height`` (m, base z),
``surface_offset`` (m), ``contact_stiffness_scale``, ``contact_force_true`` (the engine's normal
contact force, N, privileged), ``push_force`` ((x, z) N), ``x_ref``, ``time``,
``contact_phase``, ``in_band``, ``force_band_error``, ``path_error``, ``band_fraction``,
``mean_path_error`` and ``success``, plus the common ``state`` ([q, qd]), ``cost``,
``applied_action``, ``action_saturations``. The force readings and the filter are described in
``envs/arm/task.py``.

## Success
At the episode's end (read ``info["success"]`` of the last step, or recompute with
:func:`success_from_infos`): in the contact phase, the filtered normal force was in [5, 20] N
for >= 90 % of the steps (``band_fraction``) and the mean path error was <= 1 cm
(``mean_path_error``). The running values are reported every step.

## Start state
The TCP is drawn uniformly in ``x in [0.38, 0.42] m``, ``z in [-0.20, -0.17] m`` (5-8 cm above
the nominal contact height, >= 2 cm above the highest surface), tool angle ``q1 + q2 + q3`` within
0.1 rad of straight down, elbow up, at rest; over this box the elbow angle stays within
[-1.9, -1.5] rad, far from the stretched singularity (q2 = 0; the joint limit stops it at -0.15).
Or exactly ``reset(options={"state": [q1, q2, q3, qd1, qd2, qd3]})`` within the physical range:
each q within its joint limits widened by 0.1 rad (the limits are soft), each ``|qd| <= 10`` rad/s
(or the speed limit where that is wider); outside it, ``ValueError`` naming the env and the entry.
The arm starts held by its gravity torques (the sensor readings at reset assume them).

## Perturbations (seeded by ``reset(seed=...)``)
* Surface height offset: drawn per episode from ``surface_offset_range`` (default (0, 0.03) m,
  upwards), or exactly ``reset(options={"surface_offset": h})``, ``0 <= h <= 0.03``.
* Contact stiffness: a scale ``s`` on MuJoCo's reference stiffness of the surface contact (time
  constant ``0.02 / sqrt(s)`` s, damping ratio kept at 1), drawn from
  ``contact_stiffness_range`` (default (1, 1)), or ``options={"contact_stiffness_scale": s}``,
  ``0.1 <= s <= 10``. At ``s = 1`` 10 N compress the contact by ~0.07 mm at the nominal pose.
* :class:`robocritic.envs.DomainRandomization`: ``mass_scale`` (every body, the tool too; the
  weight removal uses the scaled mass), ``friction_scale`` (the surface's sliding friction 0.3 decides
  the contact), ``joint_damping``, ``actuator_delay`` (whole 1 ms steps), ``obs_noise_std``
  (a scalar or 13 values).
* Pushes: ``push_probability`` is the chance per 1 ms step that a push *starts* (while none is
  acting); it then acts for ``push_duration`` (default 0.05 s = 50 steps) on the tool body's centre
  of mass, along +x or -x (the arm plane's horizontal axis, 50/50), with a magnitude drawn from
  ``push_force``. A 20-50 N push for 50 ms about once a second:
  ``randomization={"push_probability": 0.001, "push_force": (20, 50)}`` (expected 1000 p starts
  per second of push-free time). The wrist sensor measures a push like any external force on the
  tool (it shows in ``wrench``'s x component, not in the normal force).

## Episode end
Terminated when ``info["unsafe"]`` only if ``terminate_on_violation=True`` (then with
``violation_penalty`` added to the cost). Truncated after 2000 steps (2 s) by the registered
``TimeLimit``. A step after which MuJoCo reset itself (a NaN or huge state) or the observation is
not finite raises :class:`~robocritic.envs.SimulationDiverged` instead (every arm env).

## Arguments
``gym.make("robocritic/ArmPressWipe-v0", model=PlanarArmModel(), randomization=None,
force_limit=30.0, surface_offset_range=(0.0, 0.03), contact_stiffness_range=(1.0, 1.0),
force_filter_tau=0.005, push_duration=0.05, terminate_on_violation=False,
violation_penalty=0.0, render_mode=None)``. ``model`` sets the torque limits, joint limits and
speed limit (:class:`robocritic.envs.arm.model.PlanarArmModel`). ``push_duration`` is one step to
an hour; every setting takes real numbers only, and a bad one raises ``ValueError`` naming the env
and the setting.

## Version history
v0: first release.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from robocritic.envs.arm.model import asset_geometry
from robocritic.envs.arm.mujoco_arm import MujocoArm
from robocritic.envs.arm.task import (
    FORCE_FILTER_TAU,
    PUSH_DURATION,
    STIFFNESS_SCALE_LIMITS,
    ArmTask,
    check_options,
    check_range,
    planar_start_state,
)
from robocritic.envs.base.mujoco_env import MujocoEnv
from robocritic.envs.base.randomization import DomainRandomization
from robocritic.envs.base.robocritic_env import names_env_errors

from robocritic.dynamics import DynamicsModel

#: Normal-force band of the task, N.
FORCE_BAND = (5.0, 20.0)
#: Default safety limit on the filtered normal force, N.
FORCE_LIMIT = 30.0
#: Stroke along x, m: start and end of the reference.
STROKE_X = (0.40, 0.55)
#: Approach phase (reference held at the stroke start), s; the contact phase starts here.
APPROACH_TIME = 0.3
#: Duration of the stroke, s (0.1 m/s).
STROKE_TIME = 1.5
#: Cost normalisers: a 5 N band error and a 1 cm path error each cost 1 per step.
FORCE_SCALE = 5.0
PATH_SCALE = 0.01
#: Largest surface height offset, m (upwards).
SURFACE_OFFSET_MAX = 0.03
#: Start box of the TCP: x (m), height above the nominal contact height (m), tool angle
#: half-width around straight down (rad).
START_X = (0.38, 0.42)
START_HEIGHT = (0.05, 0.08)
START_TOOL_ANGLE_HALF_WIDTH = 0.1
#: Success: fraction of contact-phase steps in the band, mean contact-phase path error (m).
SUCCESS_BAND_FRACTION = 0.9
SUCCESS_PATH_ERROR = 0.01
#: Size of the observation.
N_OBS = 13
OPTION_KEYS = ("state", "surface_offset", "contact_stiffness_scale")


def stroke_reference(t: float, stroke: tuple[float, float] = STROKE_X,
                     approach_time: float = APPROACH_TIME) -> float:
    """The stroke reference ``x_ref(t)`` in m at ``t`` s after reset, for a stroke from
    ``stroke[0]`` to ``stroke[1]`` m (this env's :data:`STROKE_X` by default) that starts
    ``approach_time`` s after reset (this env's :data:`APPROACH_TIME` by default)."""
    if t <= approach_time:
        return stroke[0]
    frac = min((t - approach_time) / STROKE_TIME, 1.0)
    return stroke[0] + frac * (stroke[1] - stroke[0])


def force_band_error(force: float) -> float:
    """Distance of ``force`` (N) from :data:`FORCE_BAND`, N."""
    return max(FORCE_BAND[0] - force, 0.0, force - FORCE_BAND[1])


def success_from_infos(infos: Iterable[dict[str, Any]]) -> bool:
    """The success criterion recomputed from an episode's per-step ``info`` dicts."""
    in_band, path = [], []
    for info in infos:
        if info["contact_phase"]:
            in_band.append(bool(info["in_band"]))
            path.append(float(info["path_error"]))
    if not in_band:
        return False
    return bool(np.mean(in_band) >= SUCCESS_BAND_FRACTION and np.mean(path) <= SUCCESS_PATH_ERROR)


class PressWipeTask(ArmTask):
    """The press-and-wipe task on any engine (see the module docstring).

    Written for any arm: the task axes are :attr:`ArmTask.task_slice` (``m`` of them), the
    observation has ``2 n + 2 m + 3`` entries (``n`` joints), the stroke runs along x over
    :attr:`stroke`. The planar arm's start box and path error are the defaults here; a spatial
    arm's task overrides :meth:`_init_start_states`, :meth:`sample_start_state` and
    :meth:`_path_error` (``press_wipe7_v0.Arm7PressWipeTask``).
    """

    #: Start and end of the stroke along base x, m.
    stroke: tuple[float, float] = STROKE_X
    #: Length of the approach phase, s: the stroke and the contact phase start here.
    approach_time: float = APPROACH_TIME

    @names_env_errors
    def __init__(
        self,
        model: DynamicsModel | None = None,
        randomization: DomainRandomization | dict[str, Any] | None = None,
        force_limit: float = FORCE_LIMIT,
        surface_offset_range: tuple[float, float] = (0.0, SURFACE_OFFSET_MAX),
        contact_stiffness_range: tuple[float, float] = (1.0, 1.0),
        force_filter_tau: float = FORCE_FILTER_TAU,
        push_duration: float = PUSH_DURATION,
        terminate_on_violation: bool = False,
        violation_penalty: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        self._load_engine(model, randomization, render_mode)
        try:
            n_task = len(range(3)[self.task_slice])
            n_obs = 2 * int(self.dynamics.n_u) + 2 * n_task + 3  # q, qd, x, v, force, x_ref, t
            self._init_task(force_limit, contact_stiffness_range, force_filter_tau, push_duration,
                            terminate_on_violation, violation_penalty, n_obs)
            self.surface_offset_range = check_range("surface_offset_range", surface_offset_range, 0.0,
                                                     SURFACE_OFFSET_MAX)
            self._init_start_states()
        except ValueError:
            self.close()
            raise
        self._surface0 = self.nominal_surface_height()
        self._contact_height0 = self._surface0 + self.tip_radius()  # TCP z touching the nominal surface
        self.surface_offset = 0.0
        self.contact_stiffness_scale = 1.0
        self._reset_contact_phase()

    # ---- start state -------------------------------------------------------------------------
    def _init_start_states(self) -> None:
        """Prepare :meth:`sample_start_state` (the planar arm's link lengths)."""
        self._geometry = asset_geometry()

    def sample_start_state(self) -> np.ndarray:
        """A start state ``[q, qd]`` from the start box (see the module docstring)."""
        return planar_start_state(self.np_random, self._geometry, START_X, self._contact_height0, START_HEIGHT,
                                  START_TOOL_ANGLE_HALF_WIDTH)

    def reset_model(self, options: dict[str, Any] | None) -> np.ndarray:
        options = check_options(options, OPTION_KEYS)
        offset = self._option_or_draw(options, "surface_offset", self.surface_offset_range,
                                      (0.0, SURFACE_OFFSET_MAX))
        scale = self._option_or_draw(options, "contact_stiffness_scale", self.contact_stiffness_range,
                                     STIFFNESS_SCALE_LIMITS)
        x0 = self._start_state(options)
        self.surface_offset = offset
        self.contact_stiffness_scale = scale
        self._set_surface_height(self._surface0 + offset)
        self._set_contact_stiffness_scale(scale)
        self._start_episode(x0)
        self._reset_contact_phase()
        return self._get_obs()

    def _reset_contact_phase(self) -> None:
        self._phase_steps = 0
        self._in_band_steps = 0
        self._path_error_sum = 0.0

    # ---- observation, step -----------------------------------------------------------------
    def _get_obs(self, t: float | None = None, x_ref: float | None = None) -> np.ndarray:
        """The observation at time ``t`` with reference ``x_ref`` (both computed when ``None``)."""
        if t is None:
            t = self.time
        if x_ref is None:
            x_ref = stroke_reference(t, self.stroke, self.approach_time)
        return self._obs(self.force_filter.y, x_ref, t)

    def _force_info(self, t: float | None = None, x_ref: float | None = None) -> dict[str, Any]:
        """The force, contact and surface part of ``info`` at time ``t`` with reference ``x_ref``
        (both computed when ``None``)."""
        if t is None:
            t = self.time
        if x_ref is None:
            x_ref = stroke_reference(t, self.stroke, self.approach_time)
        return {
            **self._sensor_info(),
            "surface_height": self._surface_height(),
            "surface_offset": self.surface_offset,
            "contact_stiffness_scale": self.contact_stiffness_scale,
            "contact_force_true": self._contact_normal_force(),
            "push_force": self.push_force[self.task_slice].copy(),
            "x_ref": x_ref,
            "time": t,
        }

    def _path_error(self, x: np.ndarray, x_ref: float) -> float:
        """Tracking error of the TCP position ``x`` ``(m,)`` against the stroke reference, m:
        ``|x - x_ref|`` along the stroke (the surface holds the normal direction)."""
        return abs(float(x[0]) - x_ref)

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        u = self._prepare_action(action)
        self._update_push()
        self._advance(u)
        _, force = self._update_force_filter()
        st = self.arm_state()
        t = self.time
        x_ref = stroke_reference(t, self.stroke, self.approach_time)
        path_error = self._path_error(st.x, x_ref)
        contact_phase = t >= self.approach_time - 1e-12
        band_error = force_band_error(force) if contact_phase else 0.0
        in_band = contact_phase and band_error == 0.0
        if contact_phase:
            self._phase_steps += 1
            self._in_band_steps += int(in_band)
            self._path_error_sum += path_error
        cost = (band_error / FORCE_SCALE) ** 2 + (path_error / PATH_SCALE) ** 2
        cost, info, terminated = self._finish_step(u, cost, force)
        band_fraction = self._in_band_steps / self._phase_steps if self._phase_steps else 0.0
        mean_path = self._path_error_sum / self._phase_steps if self._phase_steps else 0.0
        info.update(self._force_info(t, x_ref))
        info.update(
            contact_phase=contact_phase,
            in_band=in_band,
            force_band_error=band_error,
            path_error=path_error,
            band_fraction=band_fraction,
            mean_path_error=mean_path,
            success=bool(self._phase_steps > 0 and band_fraction >= SUCCESS_BAND_FRACTION
                         and mean_path <= SUCCESS_PATH_ERROR),
        )
        return self._observe(self._get_obs(t, x_ref)), -cost, terminated, False, info


class ArmPressWipeEnv(MujocoArm, PressWipeTask, MujocoEnv):
    """MuJoCo implementation of ArmPressWipe-v0 (see module docstring)."""

    env_name = "ArmPressWipe-v0"

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 1000}
    render_camera = "side"
