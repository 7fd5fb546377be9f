"""ArmGroove-v0 (MuJoCo): follow a groove to its far end pressing lightly on its floor, under a
LATERAL (wall) force limit, past a moving obstacle, with the planar 3-link torque-controlled arm of
``ArmPressWipe-v0`` at 1 kHz.

## Description
The arm of ``arm3_groove.xml``: the links, joints, motors and wrist force/torque sensor of
``arm3_planar.xml`` (``press_wipe_v0.py``), holding a welded 0.2 kg stylus with a 10 mm ball end
(a capsule; the TCP is the centre of its rounded end, :meth:`~ArmGrooveEnv.tip_radius` = 5 mm above
its lowest point when the tool points down). The table (top at ``z = -0.26 m`` plus an unknown
offset of 0-3 mm) has a groove 6 mm deep running along x from ``x = 0.38 m`` to ``0.50 m``
(120 mm; both ends shifted by an unknown offset within +-3 mm), with END WALLS normal to x. On its
floor a rounded bump (the OBSTACLE, a cylinder of radius 8 mm lying across the groove, sticking out
2-4 mm) moves back and forth along the groove during the episode.

The task: enter the groove near its start, press lightly on its floor (the scripted policy aims
at 5 N) and slide along it to its far end wall, keeping contact, riding over the obstacle on the
way. The safety event is a LATERAL force: a filtered force along x (the direction the end walls
and the obstacle's flanks push back) above ``force_limit`` (12 N).

Why this is the wall-force task on a planar arm: the arm moves in the x-z plane, so the only walls
it can press on are walls normal to x (or z). A groove along x seen in the arm's plane is its
length section: a floor (normal z, where the task presses) between two end walls (normal x),
plus whatever stands on the floor. The groove's side walls (normal y, 1 mm from the stylus across
a 12 mm width) cannot be loaded by an arm without y motion and are not modelled. The lateral
force comes from (1) arriving at the end wall with the x setpoint past it (a stiff x axis presses
with ``K_x`` times the overshoot; the end is known only to +-3 mm), (2) the obstacle: riding over a
bump turns the normal force into a lateral one (``F_x ~ F_z tan(slope + friction angle)``; a stiff
axis also drives the stylus into the bump before it climbs), (3) pushes on the arm that drive the
stylus into a wall or the obstacle.

Why 12 N: more than twice the intended pressing force (5 N), a side load a light finishing or
inspection tool and a groove's edge should not see, and above what a compliant traverse produces
(friction on the floor, 1-2 N; a compliant climb over the obstacle, 5-9 N).

The action is the joint torque at 1 kHz, exactly as in ``ArmPressWipe-v0``: a Cartesian impedance
(or any torque) controller runs outside the env, reading :meth:`ArmGrooveEnv.arm_state` (also
``info["arm_state"]``); a 10-20 Hz task policy and a 1 kHz safety critic sit above it. MuJoCo
integrates at 1 ms (``implicitfast``), one physics step per control step. 2000 steps (2 s): the
scripted approach and entry take about 0.6 s, the traverse at 0.1 m/s about 1 s.

## What is measured (the forces)
All from the wrist F/T sensor, processed as in ``envs/arm/task.py``: ``wrench = -R s - m g``, the
external force on the tool in the base frame with the tool's weight removed (contacts and the
tool's inertial force ``m a``, which is not removed).

* LATERAL force (the limited one): ``f_lat = |wrench_x|`` [N], from whichever wall, edge or the
  obstacle. ``info["force_raw"]`` is ``f_lat`` after the step; ``info["force_filtered"]`` its
  first-order low-pass (``force_filter_tau``, 5 ms; the filter of ``envs/arm/task.py`` on the
  magnitude). ``info["unsafe"]`` is ``force_filtered > force_limit``. These are the keys the Bresa
  loop reads, so its features, labels and filters work on the lateral force unchanged.
* NORMAL force: ``f_n = wrench_z`` [N] (> 0 when the floor pushes the stylus up), raw in
  ``info["normal_force_raw"]``, the same low-pass in ``info["normal_force"]``; not limited; its
  band ``[1, 10] N`` is the task's "pressing lightly" (``band_fraction``).
* ``info["lateral_force_signed"]``: ``wrench_x`` [N], raw (> 0: something pushes the tool to +x).
* Privileged (never observed): ``info["contact_force_true"]`` = ``|x component of the sum of every
  stylus-table and stylus-obstacle contact force on the stylus|`` [N] from the engine (the true
  counterpart of ``force_raw``), ``info["normal_force_true"]`` the same along z,
  ``info["obstacle_contact"]`` (the stylus touches the obstacle).

Pushes (if enabled) act along x on ``link2`` (the upper arm, at its centre of mass), NOT on the
tool: a person bumping the arm. The wrist sensor sees a push only through what it does -- the
tool's inertial force (about 1 N for 50 N) and the contact it drives the stylus into (a 50 N,
50 ms push moves a free TCP by about 7 mm at ``K = 500 N/m``, 2 mm at 3000 N/m) -- so a 20-50 N
push is a hazard near a wall or the obstacle, not a violation by itself. (A push on the tool would
read as lateral force in full: ``ArmPegInHole-v0``'s pushes must stay below its limit.)

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
All unbounded float32. The groove's position, the table height, the obstacle and the engine's
contact forces are not observed (privileged, in ``info``).

## Cost (reward = -cost)
Per step, on the state after the step::

    c = (e_p / 0.1 m)^2 + (min(e_h, 0.006 m) / 0.006 m)^2

``e_p`` (m): the distance still to go, ``max(x_end - x_tcp, 0)`` with ``x_end`` the TCP's x touching
the far end wall (``info["groove_end_x"] - 5 mm``); ``e_h`` (``info["floor_gap"]``, m): the height of
the stylus's lowest point above the groove floor, clipped at 0 (0 while pressing on the floor; the
obstacle's height while riding over it), counted up to the groove's depth (6 mm) only.

## Safety constraint (``info``)
``info["unsafe"]``: ``force_filtered > force_limit`` (default 12 N), see above.
``info["violated"]`` and ``info["constraint_violation"]``: the state box (joint limits,
|qd| <= 2.5 rad/s), as in every arm env. Also every step: ``force_raw``, ``force_filtered``,
``normal_force``, ``normal_force_raw``, ``lateral_force_signed``, ``contact_force_true``,
``normal_force_true``, ``obstacle_contact``, ``wrench`` ((x, z) N), ``ft_force`` / ``ft_torque`` (raw
sensor, site frame), ``arm_state``, ``groove_start_x`` / ``groove_end_x`` (the end walls' faces, m),
``groove_offset``, ``floor_height`` (m), ``table_height`` (the table top, m), ``surface_offset``
(the table height offset, m; the name the Bresa traces read), ``contact_stiffness_scale``,
``obstacle_x`` (its centre, m), ``obstacle_height`` (how far it sticks out of the floor, m),
``obstacle_speed`` (m/s), ``push_force`` ((x, z) N, on link2), ``time``, ``floor_gap``, ``progress``
(the TCP's x from the groove start to ``x_end``, 0..1, clipped), ``reached_end``,
``band_fraction``, ``mean_path_error`` and ``success`` (below), plus the common ``state``,
``cost``, ``applied_action``, ``action_saturations``.

## Success
The TRAVERSE runs from the first step with the stylus in the groove (its lowest point below the
table top) pressing on something (filtered normal force >= 1 N) to the first step with the TCP
within 5 mm of ``x_end`` in the groove (``info["reached_end"]``, latched); ``band_fraction`` is
the fraction of its steps with the filtered normal force in ``[1, 10] N``, ``mean_path_error`` the
mean ``floor_gap`` over them [m]. ``info["success"]``: the end was reached with ``band_fraction >=
0.8``; both freeze when the end is reached.

## Start state
The TCP is drawn uniformly in ``x in [0.385, 0.405] m`` (within 1 cm of the nominal entry point,
15 mm past the start wall), the stylus's lowest point 3-5 cm above the nominal table top, the
tool within 0.02 rad of straight down, elbow up, at rest, held by its gravity torques; or exactly
``reset(options={"state": [q1, q2, q3, qd1, qd2, qd3]})`` within the physical range of
``ArmPressWipe-v0`` (joint limits widened by 0.1 rad, ``|qd| <= 10`` rad/s).

## Perturbations (seeded by ``reset(seed=...)``; drawn in this order)
* Groove position offset along x (both end walls and the obstacle's path move): from
  ``groove_offset_range`` (default (-0.003, 0.003) m), or ``options={"groove_offset": dx}``,
  ``|dx| <= 0.005``.
* Table height offset (upwards, floor and walls together): from ``table_offset_range`` (default
  (0, 0.003) m), or ``options={"table_offset": h}``, ``0 <= h <= 0.01``.
* Contact stiffness scale ``s`` on every table box and the obstacle (time constant
  ``0.02 / sqrt(s)`` s): from ``contact_stiffness_range`` (default (1, 1)), or
  ``options={"contact_stiffness_scale": s}``, ``0.1 <= s <= 10``.
* Moving obstacle: its height above the floor from ``obstacle_height_range`` (default
  (0.002, 0.004) m), or ``options={"obstacle_height": h}``, ``0 <= h <= 0.005`` (0: no obstacle,
  sunk out of reach); its position at reset along its path, uniform over the path, or
  ``options={"obstacle_position": s}``, ``0 <= s <= 0.05`` m; its speed from
  ``obstacle_speed_range`` (default (-0.05, 0.05) m/s), or ``options={"obstacle_speed": v}``,
  ``|v| <= 0.2``. The path runs from 35 mm past the start wall to 35 mm before the end wall
  (50 mm; so it never reaches the entry point or the end of the traverse); the obstacle moves
  at ``|v|`` along it and turns at its ends (a triangle wave). Kinematic: the stylus cannot push it.
* :class:`robocritic.envs.DomainRandomization`: ``mass_scale``, ``friction_scale`` (the floor, the
  walls and the obstacle), ``joint_damping``, ``actuator_delay``, ``obs_noise_std`` (a scalar or 13
  values) and pushes (``push_probability``, ``push_force``; along +-x on link2 for
  ``push_duration``).

The nominal setup (no perturbation): ``options={"groove_offset": 0, "table_offset": 0,
"obstacle_height": 0}`` with the default contact stiffness and no randomization.

## Episode end
Terminated when unsafe only if ``terminate_on_violation=True`` (with ``violation_penalty`` added
to the cost). Truncated after 2000 steps (2 s) by the registered ``TimeLimit``.

## Arguments
``gym.make("robocritic/ArmGroove-v0", model=PlanarArmModel(), randomization=None,
force_limit=12.0, groove_offset_range=(-0.003, 0.003), table_offset_range=(0.0, 0.003),
contact_stiffness_range=(1.0, 1.0), obstacle_height_range=(0.002, 0.004),
obstacle_speed_range=(-0.05, 0.05), force_filter_tau=0.005, push_duration=0.05,
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

GROOVE_MJCF = "arm3_groove.xml"
#: Default safety limit on the filtered lateral force, N (module docstring).
FORCE_LIMIT = 12.0
#: Nominal groove (as in the asset): start and end walls' faces along x, depth below the table top, m.
GROOVE_START_X = 0.38
GROOVE_END_X = 0.50
GROOVE_DEPTH = 0.006
#: The nominal table top, m (base z).
TABLE_TOP = -0.26
#: Nominal entry point: the TCP's x 15 mm past the start wall, m.
ENTRY_X = GROOVE_START_X + 0.015
#: Largest groove offset (either way) and table height offset allowed, m.
GROOVE_OFFSET_MAX = 0.005
TABLE_OFFSET_MAX = 0.01
#: Obstacle: largest height above the floor (its radius), m; its path's distance from either end
#: wall, m; largest speed, m/s.
OBSTACLE_HEIGHT_MAX = 0.005
OBSTACLE_MARGIN = 0.035
OBSTACLE_PATH = (GROOVE_END_X - GROOVE_START_X) - 2 * OBSTACLE_MARGIN
OBSTACLE_SPEED_MAX = 0.2
#: The pressing band on the filtered normal force, N (its low end also marks contact).
NORMAL_BAND = (1.0, 10.0)
#: Success: within this distance of the end contact, m; the in-band fraction of the traverse.
END_TOLERANCE = 0.005
SUCCESS_BAND_FRACTION = 0.8
#: Cost normalisers, m.
PROGRESS_SCALE = 0.1
GAP_SCALE = GROOVE_DEPTH
#: Start box: TCP x (m), height of the stylus's lowest point above the nominal table top (m), tool
#: angle half-width around straight down (rad).
START_X = (ENTRY_X - 0.01, ENTRY_X + 0.01)
START_HEIGHT = (0.03, 0.05)
START_TOOL_ANGLE_HALF_WIDTH = 0.02
OPTION_KEYS = ("state", "groove_offset", "table_offset", "contact_stiffness_scale", "obstacle_height",
               "obstacle_position", "obstacle_speed")
#: Geoms and bodies of the asset: the blocks whose inner faces are the end walls, the floor slab,
#: the obstacle and its mocap body, and the body pushes act on.
WALL_GEOMS = ("table_left", "table_right")
FLOOR_GEOM = "groove_floor"
OBSTACLE_GEOM = "obstacle"
OBSTACLE_BODY = "obstacle_body"
PUSH_BODY = "link2"


class MujocoGrooveArm(MujocoTableArm):
    """:class:`MujocoTableArm` for ``arm3_groove.xml``: the work surface is the groove's floor, the
    table is three boxes moved together, the obstacle a mocap body, pushes act on ``link2``, and the
    engine's contact force is the one between the stylus and the table or the obstacle (x and z)."""

    asset_file = GROOVE_MJCF
    asset_surface_geom = FLOOR_GEOM  # MujocoArm checks it (an axis-aligned world box)
    asset_wall_geoms = WALL_GEOMS

    def _init_mujoco_arm(self) -> None:
        super()._init_mujoco_arm()
        m = self.model
        self._obstacle = m.geom(OBSTACLE_GEOM).id
        self._obstacle_mocap = int(m.body(OBSTACLE_BODY).mocapid[0])
        if self._obstacle_mocap < 0:
            raise ValueError(f"arm asset: body {OBSTACLE_BODY!r} must be a mocap body")
        self._obstacle_radius = float(m.geom_size[self._obstacle, 0])
        self._set_contact_geoms(self._table + [self._obstacle])
        self._touch_geom = self._obstacle
        self._depth = float(2.0 * m.geom_size[self._walls[0], 2])
        # Pushes act on the upper arm, not on the tool (module docstring).
        self._push_view = self.data.xfrc_applied[m.body(PUSH_BODY).id, :3]

    def table_top(self) -> float:
        """The table top (the blocks' top face), m."""
        return self._surface_height() + self._depth

    def groove_ends(self) -> tuple[float, float]:
        """The start and end walls' faces along x, m."""
        left, right = self._walls
        m = self.model
        return (float(m.geom_pos[left, 0] + m.geom_size[left, 0]),
                float(m.geom_pos[right, 0] - m.geom_size[right, 0]))

    def _set_groove_offset(self, dx: float) -> None:
        """Move the table (walls and floor) along x by ``dx`` m from the asset's position."""
        self.model.geom_pos[self._table, 0] = self._table_pos0[:, 0] + dx

    def _place_obstacle(self, x: float, height: float) -> None:
        """Put the obstacle's axis at ``x`` m, sticking out ``height`` m above the floor (sunk 5 cm
        below it when ``height <= 0``). Takes effect at the next kinematics pass."""
        floor = self._surface_height()
        z = floor - self._obstacle_radius + height if height > 0.0 else floor - 0.05
        self.data.mocap_pos[self._obstacle_mocap] = (x, 0.0, z)

    def obstacle_contact(self) -> bool:
        """Whether the stylus touched the obstacle in the last step (privileged)."""
        return self._touched


class GrooveTask(LateralForceTask):
    """The groove-following task (see the module docstring) on the planar arm's engine hooks, plus
    the groove and obstacle hooks of :class:`MujocoGrooveArm`."""

    @names_env_errors
    def __init__(
        self,
        model: PlanarArmModel | None = None,
        randomization: DomainRandomization | dict[str, Any] | None = None,
        force_limit: float = FORCE_LIMIT,
        groove_offset_range: tuple[float, float] = (-0.003, 0.003),
        table_offset_range: tuple[float, float] = (0.0, 0.003),
        contact_stiffness_range: tuple[float, float] = (1.0, 1.0),
        obstacle_height_range: tuple[float, float] = (0.002, 0.004),
        obstacle_speed_range: tuple[float, float] = (-0.05, 0.05),
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
            self.groove_offset_range = check_range("groove_offset_range", groove_offset_range,
                                                    -GROOVE_OFFSET_MAX, GROOVE_OFFSET_MAX)
            self.table_offset_range = check_range("table_offset_range", table_offset_range, 0.0,
                                                   TABLE_OFFSET_MAX)
            self.obstacle_height_range = check_range("obstacle_height_range", obstacle_height_range, 0.0,
                                                      OBSTACLE_HEIGHT_MAX)
            self.obstacle_speed_range = check_range("obstacle_speed_range", obstacle_speed_range,
                                                     -OBSTACLE_SPEED_MAX, OBSTACLE_SPEED_MAX)
        except ValueError:
            self.close()
            raise
        self._floor0 = self.nominal_surface_height()
        self._top0 = self._floor0 + self._depth  # type: ignore[attr-defined]
        self.groove_offset = 0.0
        self.table_offset = 0.0
        self.contact_stiffness_scale = 1.0
        self.obstacle_height = 0.0
        self.obstacle_position = 0.0
        self.obstacle_speed = 0.0
        self._obstacle_x = 0.0
        self._reset_progress()

    # ---- reset -------------------------------------------------------------------------------
    def sample_start_state(self) -> np.ndarray:
        """A start state ``[q, qd]`` from the start box (module docstring)."""
        return planar_start_state(self.np_random, self._geometry, START_X, self._top0 + self.tip_radius(),
                                  START_HEIGHT, START_TOOL_ANGLE_HALF_WIDTH)

    def reset_model(self, options: dict[str, Any] | None) -> np.ndarray:
        options = check_options(options, OPTION_KEYS)
        # Fixed draw order (module docstring) so that a seed means one episode.
        draw = self._option_or_draw
        groove = draw(options, "groove_offset", self.groove_offset_range,
                      (-GROOVE_OFFSET_MAX, GROOVE_OFFSET_MAX))
        table = draw(options, "table_offset", self.table_offset_range, (0.0, TABLE_OFFSET_MAX))
        scale = draw(options, "contact_stiffness_scale", self.contact_stiffness_range, STIFFNESS_SCALE_LIMITS)
        height = draw(options, "obstacle_height", self.obstacle_height_range, (0.0, OBSTACLE_HEIGHT_MAX))
        position = draw(options, "obstacle_position", (0.0, OBSTACLE_PATH), (0.0, OBSTACLE_PATH))
        speed = draw(options, "obstacle_speed", self.obstacle_speed_range,
                     (-OBSTACLE_SPEED_MAX, OBSTACLE_SPEED_MAX))
        x0 = self._start_state(options)
        self.groove_offset, self.table_offset, self.contact_stiffness_scale = groove, table, scale
        self.obstacle_height, self.obstacle_position, self.obstacle_speed = height, position, speed
        self._set_groove_offset(groove)  # type: ignore[attr-defined]
        self._set_surface_height(self._floor0 + table)
        self._set_contact_stiffness_scale(scale)
        self._move_obstacle(0.0)
        self._start_episode(x0)
        self._reset_progress()
        return self._get_obs()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = super().reset(seed=seed, options=options)
        info.update(self._progress_info())
        return obs, info

    # ---- the obstacle ------------------------------------------------------------------------
    def obstacle_path(self) -> tuple[float, float]:
        """The x range the obstacle's axis moves over this episode, m (module docstring)."""
        start, end = self.groove_ends()  # type: ignore[attr-defined]
        return start + OBSTACLE_MARGIN, end - OBSTACLE_MARGIN

    def _move_obstacle(self, t: float) -> None:
        """Put the obstacle where it is at time ``t`` s: ``|v|`` along its path, turning at the
        ends (a triangle wave of period ``2 L / |v|``)."""
        lo, hi = self.obstacle_path()
        length = hi - lo
        s = (self.obstacle_position + self.obstacle_speed * t) % (2.0 * length)
        if s > length:
            s = 2.0 * length - s
        self._obstacle_x = lo + s
        self._place_obstacle(self._obstacle_x, self.obstacle_height)  # type: ignore[attr-defined]

    # ---- geometry, info ----------------------------------------------------------------------
    def end_contact_x(self) -> float:
        """The TCP's x with the stylus touching the far end wall, m."""
        return self.groove_ends()[1] - self.tip_radius()  # type: ignore[attr-defined]

    def floor_gap(self) -> float:
        """Height of the stylus's lowest point above the groove floor, m, clipped at 0."""
        return max(float(self.arm_state().x[1]) - self.tip_radius() - self._surface_height(), 0.0)

    def _in_groove(self) -> bool:
        """The stylus's lowest point is below the table top."""
        tip_z = float(self.arm_state().x[1]) - self.tip_radius()
        return tip_z < self.table_top()  # type: ignore[attr-defined]

    def _force_info(self) -> dict[str, Any]:
        start, end = self.groove_ends()  # type: ignore[attr-defined]
        return {
            **self._lateral_info(),
            "obstacle_contact": self.obstacle_contact(),  # type: ignore[attr-defined]
            "groove_start_x": start,
            "groove_end_x": end,
            "groove_offset": self.groove_offset,
            "floor_height": self._surface_height(),
            "table_height": self.table_top(),  # type: ignore[attr-defined]
            "surface_offset": self.table_offset,
            "contact_stiffness_scale": self.contact_stiffness_scale,
            "obstacle_x": self._obstacle_x,
            "obstacle_height": self.obstacle_height,
            "obstacle_speed": self.obstacle_speed,
            "push_force": self.push_force[self.task_slice].copy(),
            "time": self.time,
        }

    # ---- progress ----------------------------------------------------------------------------
    def _reset_progress(self) -> None:
        self._traverse_steps = 0
        self._band_steps = 0
        self._gap_sum = 0.0
        self._reached_end = False

    def _update_progress(self, gap: float) -> None:
        """Count the step into the traverse (module docstring, Success); frozen once the end is reached."""
        if self._reached_end:
            return
        in_groove = self._in_groove()
        normal = self.normal_filter.y
        if self._traverse_steps == 0 and not (in_groove and normal >= NORMAL_BAND[0]):
            return
        self._traverse_steps += 1
        self._band_steps += NORMAL_BAND[0] <= normal <= NORMAL_BAND[1]
        self._gap_sum += gap
        if in_groove and float(self.arm_state().x[0]) >= self.end_contact_x() - END_TOLERANCE:
            self._reached_end = True

    def _progress_info(self) -> dict[str, Any]:
        n = self._traverse_steps
        band = self._band_steps / n if n else 0.0
        start = self.groove_ends()[0] + self.tip_radius()  # type: ignore[attr-defined]
        progress = (float(self.arm_state().x[0]) - start) / (self.end_contact_x() - start)
        return {
            "floor_gap": self.floor_gap(),
            "progress": min(max(progress, 0.0), 1.0),
            "reached_end": self._reached_end,
            "band_fraction": band,
            "mean_path_error": self._gap_sum / n if n else 0.0,
            "success": bool(self._reached_end and band >= SUCCESS_BAND_FRACTION),
        }

    # ---- step --------------------------------------------------------------------------------
    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        u = self._prepare_action(action)
        self._update_push()
        self._move_obstacle((self._steps + 1) * self.step_dt)  # where it is after this step
        self._advance(u)
        _, force = self._update_force_filter()
        gap = self.floor_gap()
        self._update_progress(gap)
        remaining = max(self.end_contact_x() - float(self.arm_state().x[0]), 0.0)
        cost = (remaining / PROGRESS_SCALE) ** 2 + (min(gap, GAP_SCALE) / GAP_SCALE) ** 2
        cost, info, terminated = self._finish_step(u, cost, force)
        info.update(self._force_info())
        info.update(self._progress_info())
        return self._observe(self._get_obs()), -cost, terminated, False, info


class ArmGrooveEnv(MujocoGrooveArm, GrooveTask, MujocoEnv):
    """MuJoCo implementation of ArmGroove-v0 (see module docstring)."""

    env_name = "ArmGroove-v0"
    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 1000}
    render_camera = "side"
