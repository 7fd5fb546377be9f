"""ArmPegInHole-v0 (MuJoCo): insert a peg into a slot with ~1 mm clearance under a LATERAL force
limit, with the planar 3-link torque-controlled arm of ``ArmPressWipe-v0`` at 1 kHz.

## Description
The arm of ``arm3_peg.xml``: the links, joints, motors and wrist force/torque sensor of
``arm3_planar.xml`` (``press_wipe_v0.py``), holding a welded 0.2 kg peg, a capsule 10 mm wide whose
rounded end (a 5 mm hemisphere) acts as its chamfer. The TCP is the centre of that hemisphere; the
peg's lowest point is :meth:`~ArmPegInHoleEnv.tip_radius` (5 mm) below it when the tool points
down. A table (top at ``z = -0.26 m`` plus an unknown offset of 0-5 mm) has a slot 11 mm wide
(1 mm clearance) and 25 mm deep, centred at ``x = 0.45 m`` plus an unknown offset within +-2 mm.
The task: bring the peg over the slot, find it and insert it to >= 90 % of the depth within the
episode. The lateral force is safety-critical: a filtered LATERAL force (along x, the direction
the slot's walls and edges push back) above ``force_limit`` (10 N) is the safety event.

Why 10 N: about the peg's intended downward force (the scripted policy presses with 8 N),
a sideways load a small part, a connector or a fixture's edge should not see, and several
times what a compliant insertion produces (the peg slides along the edge and the walls with a
lateral spring force of a few N at most). A peg held STIFF laterally while its setpoint moves
sideways (a search over the slot's position uncertainty, or aiming at the nominal slot when the
slot is offset) is pressed into the wall with the lateral stiffness times the overshoot: at the
impedance loop's top stiffness (3000 N/m) a few mm of overshoot exceed the limit -- the jam the
limit is there to catch.

The action is the joint torque at 1 kHz, exactly as in ``ArmPressWipe-v0``: a Cartesian impedance
(or any torque) controller runs outside the env, reading :meth:`ArmPegInHoleEnv.arm_state` (also
``info["arm_state"]``), as on a real torque-controlled arm; a 10-20 Hz task policy and a 1 kHz
safety critic sit above it. MuJoCo integrates at 1 ms (``implicitfast``), one physics step per
control step. 2000 steps (2 s) as in press-and-wipe: the scripted approach (a few cm at
0.1-0.3 m/s), the search and the slow insertion take about 1 s, which leaves time for a filter's
recovery and a second attempt.

## What is measured (the forces)
All from the wrist F/T sensor, processed as in ``envs/arm/task.py``: ``wrench = -R s - m g``, the
external force on the tool in the base frame with the tool's weight removed (contacts and pushes;
the tool's inertial force ``m a`` is not removed).

* LATERAL force (the limited one): ``f_lat = |wrench_x|`` [N], the magnitude of the external force
  on the tool along base x, whichever wall or edge it comes from (the sign only says which side).
  ``info["force_raw"]`` is ``f_lat`` after the step; ``info["force_filtered"]`` its first-order
  low-pass (``force_filter_tau``, 5 ms; the filter of ``envs/arm/task.py`` run on the magnitude).
  ``info["unsafe"]`` is ``force_filtered > force_limit``. These are the keys the Bresa loop reads,
  so its features, labels and filters work on the lateral force unchanged.
* NORMAL force: ``f_n = wrench_z`` [N] (> 0 when the table pushes the peg up), raw in
  ``info["normal_force_raw"]``, the same low-pass in ``info["normal_force"]``; not limited.
* ``info["lateral_force_signed"]``: ``wrench_x`` [N], raw (> 0: the table pushes the peg to +x).
* Privileged (never observed): ``info["contact_force_true"]`` = ``|sum of the x components of
  every peg-table contact force on the peg|`` [N] from the engine (the true counterpart of
  ``force_raw``, pushes excluded), ``info["normal_force_true"]`` the same along z.

Pushes (if enabled) act along x on the tool and are measured like any external force: while a
push lasts it shows in ``f_lat`` (a robot's wrist sensor cannot tell a push from a wall), and a
push that loads an inserted peg against a wall is exactly the lateral load the limit is on.

## Action space
| idx | action | min | max | unit |
|---|---|---|---|---|
| 0 | torque at joint1 (shoulder) | -40 | 40 | N m |
| 1 | torque at joint2 (elbow) | -30 | 30 | N m |
| 2 | torque at joint3 (wrist) | -10 | 10 | N m |
As ``ArmPressWipe-v0``: saturated outside the range (``info["action_saturations"]``); NaN, inf,
a wrong shape or a value that is no real number (a string, bool, complex number) raise
``ValueError`` naming the env and ``action``; ``tau = arm_state().bias`` holds the arm.

## Observation space
| idx | observation | unit |
|---|---|---|
| 0-2 | joint angles q1, q2, q3 | rad |
| 3-5 | joint velocities | rad/s |
| 6-7 | TCP position (x, z), base frame | m |
| 8-9 | TCP velocity (x, z), base frame | m/s |
| 10 | filtered lateral force ``force_filtered`` (>= 0) | N |
| 11 | filtered normal force ``normal_force`` | N |
| 12 | time since reset | s |
All unbounded float32. The hole position, the table height and the engine's contact forces are
not observed (privileged: ``info["hole_x"]``, ``info["table_height"]``, ...).

## Cost (reward = -cost)
Per step, on the state after the step::

    c = (e_d / 0.025 m)^2 + (e_x / 0.01 m)^2

``e_d`` (``info["depth_error"]``, m): how far the peg is from the full slot depth,
``max(depth - insertion_depth, 0)``; ``e_x`` (``info["lateral_error"]``, m): ``|x_tcp - hole_x|``.
``info["insertion_depth"]`` [m]: table top minus the peg's lowest point (``z_tcp - 5 mm``),
clipped below at 0 (> 0 only inside the slot; the peg cannot be below the table top elsewhere).

## Safety constraint (``info``)
``info["unsafe"]``: ``force_filtered > force_limit`` (default 10 N), see above.
``info["violated"]`` and ``info["constraint_violation"]``: the state box (joint limits,
|qd| <= 2.5 rad/s), as in every arm env. Also every step: ``force_raw``, ``force_filtered``,
``normal_force``, ``normal_force_raw``, ``lateral_force_signed``, ``contact_force_true``,
``normal_force_true``, ``wrench`` ((x, z) N), ``ft_force`` / ``ft_torque`` (raw sensor, site frame),
``arm_state``, ``hole_x``, ``hole_offset``, ``table_height``, ``surface_offset`` (the table height
offset, m; the name the Bresa traces read), ``contact_stiffness_scale``, ``push_force`` ((x, z) N),
``time``, ``insertion_depth``, ``depth_error``, ``lateral_error``, ``max_depth`` (the deepest
insertion so far, m) and ``success``, plus the common ``state``, ``cost``, ``applied_action``,
``action_saturations``.

## Success
``info["success"]``: the insertion depth has reached >= 90 % of the slot depth (22.5 mm) at some
step of the episode (``max_depth``); it stays True once reached.

## Start state
The TCP is drawn uniformly in ``x in [0.43, 0.47] m`` (within 2 cm of the nominal slot), the
peg's lowest point 3-5 cm above the nominal table top, the tool within 0.02 rad of straight
down, elbow up, at rest, held by its gravity torques; or exactly
``reset(options={"state": [q1, q2, q3, qd1, qd2, qd3]})`` within the physical range of
``ArmPressWipe-v0`` (joint limits widened by 0.1 rad, ``|qd| <= 10`` rad/s).

## Perturbations (seeded by ``reset(seed=...)``)
* Hole position offset along x: from ``hole_offset_range`` (default (-0.002, 0.002) m), or
  ``options={"hole_offset": dx}`` with ``|dx| <= 0.005``.
* Table height offset (upwards): from ``table_offset_range`` (default (0, 0.005) m), or
  ``options={"table_offset": h}``, ``0 <= h <= 0.01``.
* Contact stiffness scale ``s`` on every table box (time constant ``0.02 / sqrt(s)`` s): from
  ``contact_stiffness_range`` (default (1, 1)), or ``options={"contact_stiffness_scale": s}``,
  ``0.1 <= s <= 10``.
* :class:`robocritic.envs.DomainRandomization`: ``mass_scale``, ``friction_scale`` (the sliding
  friction of the peg on the edge and walls; high friction makes jamming easier),
  ``joint_damping``, ``actuator_delay``, ``obs_noise_std`` (a scalar or 13 values) and pushes
  (``push_probability``, ``push_force``; along +-x on the tool for ``push_duration``), exactly as
  in ``ArmPressWipe-v0``.

## Episode end
Terminated when unsafe only if ``terminate_on_violation=True`` (with ``violation_penalty`` added
to the cost). Truncated after 2000 steps (2 s) by the registered ``TimeLimit``.

## Arguments
``gym.make("robocritic/ArmPegInHole-v0", model=PlanarArmModel(), randomization=None,
force_limit=10.0, hole_offset_range=(-0.002, 0.002), table_offset_range=(0.0, 0.005),
contact_stiffness_range=(1.0, 1.0), force_filter_tau=0.005, push_duration=0.05,
terminate_on_violation=False, violation_penalty=0.0, render_mode=None)``.

## Version history
v0: first release.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from robocritic.envs.arm.lateral_task import N_OBS, LateralForceTask
from robocritic.envs.arm.model import PlanarArmModel
from robocritic.envs.arm.mujoco_arm import MujocoTableArm
from robocritic.envs.arm.task import (
    FORCE_FILTER_TAU,
    PUSH_DURATION,
    STIFFNESS_SCALE_LIMITS,
    check_options,
    check_range,
    planar_start_state,
)
from robocritic.envs.base.mujoco_env import MujocoEnv
from robocritic.envs.base.randomization import DomainRandomization
from robocritic.envs.base.robocritic_env import names_env_errors

PEG_MJCF = "arm3_peg.xml"
#: Default safety limit on the filtered lateral force, N (module docstring).
FORCE_LIMIT = 10.0
#: Nominal slot centre along base x, m, and the slot's depth, m (as in the asset).
HOLE_X = 0.45
HOLE_DEPTH = 0.025
#: Success: fraction of the slot depth reached.
SUCCESS_DEPTH_FRACTION = 0.9
#: Largest hole offset (either way) and table height offset allowed, m.
HOLE_OFFSET_MAX = 0.005
TABLE_OFFSET_MAX = 0.01
#: Cost normalisers: the full depth and a 1 cm lateral error each cost 1 per step.
DEPTH_SCALE = HOLE_DEPTH
LATERAL_SCALE = 0.01
#: Start box: TCP x (m), height of the peg's lowest point above the nominal table top (m), tool
#: angle half-width around straight down (rad).
START_X = (0.43, 0.47)
START_HEIGHT = (0.03, 0.05)
START_TOOL_ANGLE_HALF_WIDTH = 0.02
OPTION_KEYS = ("state", "hole_offset", "table_offset", "contact_stiffness_scale")
#: Table geoms of the asset: the two blocks that form the slot's walls, and the slab under them.
WALL_GEOMS = ("table_left", "table_right")
FLOOR_GEOM = "hole_bottom"


class MujocoPegArm(MujocoTableArm):
    """:class:`MujocoTableArm` for ``arm3_peg.xml``: the table is the two blocks (the slot's walls)
    and the slab under them, the work surface is the table top (the blocks' top face), and the
    engine's contact force is the one between the peg and the table."""

    asset_file = PEG_MJCF
    asset_surface_geom = FLOOR_GEOM  # MujocoArm checks it (an axis-aligned world box)
    asset_wall_geoms = WALL_GEOMS

    def _init_mujoco_arm(self) -> None:
        super()._init_mujoco_arm()
        m, wall = self.model, self._walls[0]
        self._top0 = float(m.geom_pos[wall, 2] + m.geom_size[wall, 2])
        self._hole_x0 = float(np.mean(m.geom_pos[self._walls, 0]))

    def _surface_height(self) -> float:
        """The table top (the blocks' top face), m."""
        w = self._walls[0]
        return float(self.model.geom_pos[w, 2] + self.model.geom_size[w, 2])

    def nominal_surface_height(self) -> float:
        return self._top0

    def hole_x(self) -> float:
        """The slot's centre along base x, m."""
        return float(np.mean(self.model.geom_pos[self._walls, 0]))

    def _set_hole_x(self, x: float) -> None:
        """Move the two blocks (the slot's walls) so that the slot is centred at ``x`` m."""
        walls = self._walls
        self.model.geom_pos[walls, 0] = self._table_pos0[: len(walls), 0] + (x - self._hole_x0)


class PegInHoleTask(LateralForceTask):
    """The peg-in-hole task (see the module docstring) on the planar arm's engine hooks, plus
    ``_set_hole_x`` / ``hole_x`` / ``contact_force_xz`` from :class:`MujocoPegArm`."""

    @names_env_errors
    def __init__(
        self,
        model: PlanarArmModel | None = None,
        randomization: DomainRandomization | dict[str, Any] | None = None,
        force_limit: float = FORCE_LIMIT,
        hole_offset_range: tuple[float, float] = (-0.002, 0.002),
        table_offset_range: tuple[float, float] = (0.0, 0.005),
        contact_stiffness_range: tuple[float, float] = (1.0, 1.0),
        force_filter_tau: float = FORCE_FILTER_TAU,
        push_duration: float = PUSH_DURATION,
        terminate_on_violation: bool = False,
        violation_penalty: float = 0.0,
        render_mode: str | None = None,
    ) -> None:
        self._load_engine(model, randomization, render_mode)
        try:
            self._init_task(force_limit, contact_stiffness_range, force_filter_tau, push_duration,
                            terminate_on_violation, violation_penalty, N_OBS)
            self.hole_offset_range = check_range("hole_offset_range", hole_offset_range, -HOLE_OFFSET_MAX,
                                                  HOLE_OFFSET_MAX)
            self.table_offset_range = check_range("table_offset_range", table_offset_range, 0.0,
                                                   TABLE_OFFSET_MAX)
        except ValueError:
            self.close()
            raise
        self._top0 = self.nominal_surface_height()
        self.hole_offset = 0.0
        self.table_offset = 0.0
        self.contact_stiffness_scale = 1.0
        self._max_depth = 0.0

    # ---- reset -------------------------------------------------------------------------------
    def sample_start_state(self) -> np.ndarray:
        """A start state ``[q, qd]`` from the start box (module docstring)."""
        return planar_start_state(self.np_random, self._geometry, START_X, self._top0 + self.tip_radius(),
                                  START_HEIGHT, START_TOOL_ANGLE_HALF_WIDTH)

    def reset_model(self, options: dict[str, Any] | None) -> np.ndarray:
        options = check_options(options, OPTION_KEYS)
        # Fixed draw order (hole, table, stiffness, start) so that a seed means one episode.
        draw = self._option_or_draw
        hole = draw(options, "hole_offset", self.hole_offset_range, (-HOLE_OFFSET_MAX, HOLE_OFFSET_MAX))
        table = draw(options, "table_offset", self.table_offset_range, (0.0, TABLE_OFFSET_MAX))
        scale = draw(options, "contact_stiffness_scale", self.contact_stiffness_range, STIFFNESS_SCALE_LIMITS)
        x0 = self._start_state(options)
        self.hole_offset, self.table_offset, self.contact_stiffness_scale = hole, table, scale
        self._set_hole_x(HOLE_X + hole)  # type: ignore[attr-defined]
        self._set_surface_height(self._top0 + table)
        self._set_contact_stiffness_scale(scale)
        self._start_episode(x0)
        self._max_depth = self.insertion_depth()
        return self._get_obs()

    # ---- geometry, info ----------------------------------------------------------------------
    def insertion_depth(self) -> float:
        """Table top minus the peg's lowest point, m, clipped at 0 (module docstring)."""
        tip_z = float(self.arm_state().x[1]) - self.tip_radius()
        return max(self._surface_height() - tip_z, 0.0)

    def _force_info(self) -> dict[str, Any]:
        return {
            **self._lateral_info(),
            "hole_x": self.hole_x(),  # type: ignore[attr-defined]
            "hole_offset": self.hole_offset,
            "table_height": self._surface_height(),
            "surface_offset": self.table_offset,
            "contact_stiffness_scale": self.contact_stiffness_scale,
            "push_force": self.push_force[self.task_slice].copy(),
            "time": self.time,
        }

    # ---- step --------------------------------------------------------------------------------
    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        u = self._prepare_action(action)
        self._update_push()
        self._advance(u)
        _, force = self._update_force_filter()
        st = self.arm_state()
        depth = self.insertion_depth()
        self._max_depth = max(self._max_depth, depth)
        depth_error = max(HOLE_DEPTH - depth, 0.0)
        lateral_error = abs(float(st.x[0]) - self.hole_x())  # type: ignore[attr-defined]
        cost = (depth_error / DEPTH_SCALE) ** 2 + (lateral_error / LATERAL_SCALE) ** 2
        cost, info, terminated = self._finish_step(u, cost, force)
        info.update(self._force_info())
        info.update(
            insertion_depth=depth,
            depth_error=depth_error,
            lateral_error=lateral_error,
            max_depth=self._max_depth,
            success=bool(self._max_depth >= SUCCESS_DEPTH_FRACTION * HOLE_DEPTH),
        )
        return self._observe(self._get_obs()), -cost, terminated, False, info


class ArmPegInHoleEnv(MujocoPegArm, PegInHoleTask, MujocoEnv):
    """MuJoCo implementation of ArmPegInHole-v0 (see module docstring)."""

    env_name = "ArmPegInHole-v0"
    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 1000}
    render_camera = "side"
