"""Task policies for the groove-following hierarchy (``robocritic/ArmGroove-v0``, planar arm, task
axes x, z; the limited force is the LATERAL one, along x: the groove's end walls and the moving
obstacle's flanks).

Both see only the observation (TCP position at ``obs[6:8]``, filtered lateral and normal force at
``obs[10:12]``, time last), ``info``'s public fields and the applied command -- never the groove
offset, the table offset, the obstacle or the engine's contact force. Their knowledge of the task
(nominal entry point, end of the groove, floor height) is a constructor argument
(:data:`GROOVE_GEOMETRY`, from the env module).

* :class:`ScriptedGrooveFollow` -- the nominal task policy: move over the NOMINAL entry point at a
  hover height with stiff axes, descend into the groove (slowly for the last ``slow_height``) to
  ``target_force / K_z`` below the nominal floor contact, with the stiffness switched to
  ``traverse_stiffness``; once the filtered normal force shows floor contact, run the x setpoint
  along the groove at ``traverse_speed`` to ``end_overshoot`` past the nominal end contact. Near the
  nominal end a lateral force of ``stop_force`` means the end wall: the x setpoint is then held
  ``stop_force / K_x`` past the TCP. Compliant (the default, ``K = (500, 500) N/m``) the stylus
  rides over the obstacle and meets the end wall with a few N; STIFF (:func:`stiff_groove_policy`,
  ``K_x = 3000 N/m``) it drives into the obstacle's flank before it climbs and, between two 20 Hz
  decisions, several mm past an end wall that comes early.
* :class:`GrooveExplorationPolicy` -- randomised behaviour for critic data: per episode an entry
  aim error, stiffnesses over the whole range, traverse speeds, press depths, an end overshoot
  (no force sensing: it presses into the end wall), lateral sweeps, setpoint noise and stiffness
  jumps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from robocritic.bresa.scripted import (
    OBS_F_LAT,
    OBS_F_N,
    OBS_T,
    OBS_X,
    RandomizedPolicy,
    check_applied,
    check_finite,
    check_positive,
    check_ranges,
    check_stiffness,
    descend,
    policy_for,
    ramp,
)
from robocritic.envs.arm.groove_v0 import ENTRY_X, GROOVE_DEPTH, GROOVE_END_X, TABLE_TOP

__all__ = ["GROOVE_ENV_ID", "GROOVE_GEOMETRY", "GrooveExplorationPolicy", "ScriptedGrooveFollow",
           "groove_policy_for_env", "stiff_groove_policy"]

GROOVE_ENV_ID = "robocritic/ArmGroove-v0"
_TIP_RADIUS = 0.005  # the stylus's ball end: the TCP sits this far above its lowest point [m]
GROOVE_GEOMETRY: dict[str, dict[str, Any]] = {
    GROOVE_ENV_ID: {"n_task": 2, "entry_x": ENTRY_X, "end_x": GROOVE_END_X - _TIP_RADIUS,
                    "floor_contact_height": TABLE_TOP - GROOVE_DEPTH + _TIP_RADIUS, "depth": GROOVE_DEPTH},
}
"""What the policies know of each groove env: task axes ``n_task``, the nominal entry x [m], the
TCP's x touching the nominal end wall [m], the TCP height with the stylus on the nominal floor
[m], the groove depth [m]."""


class ScriptedGrooveFollow:
    """The nominal groove-following task policy (module docstring).

    Args:
        stiffness: ``(K_x, K_z)`` [N/m] while approaching the entry point.
        traverse_stiffness: ``(K_x, K_z)`` [N/m] once the setpoint is below the slow height.
        target_force: downward force aimed at on the groove floor [N] (the z setpoint goes to
            ``target_force / K_z`` below the nominal floor contact).
        approach_speed, descend_speed: z setpoint speeds above / below the slow height [m/s].
        slow_height: height above the nominal floor contact where the slow descent starts [m].
        hover_height: height above the nominal table top contact held until the TCP is within
            ``align_tolerance`` [m] of the nominal entry x [m].
        contact_force: filtered normal force [N] that starts the traverse (floor contact).
        traverse_speed: speed of the x setpoint along the groove [m/s].
        end_overshoot: how far past the nominal end contact the x setpoint runs [m] (friction and
            the end's position uncertainty would stop it short otherwise).
        stop_force, end_zone: within ``end_zone`` [m] of the nominal end contact, a filtered
            lateral force >= ``stop_force`` [N] stops the run: the x setpoint is held
            ``stop_force / K_x`` past the TCP from then on.
        decision_period: time between decisions [s].
        entry_x, end_x, floor_contact_height, depth: the nominal task geometry (:data:`GROOVE_GEOMETRY`).
    """

    def __init__(
        self,
        stiffness: tuple[float, float] = (1500.0, 1000.0),
        traverse_stiffness: tuple[float, float] = (500.0, 500.0),
        target_force: float = 5.0,
        approach_speed: float = 0.2,
        descend_speed: float = 0.05,
        slow_height: float = 0.01,
        hover_height: float = 0.01,
        align_tolerance: float = 0.003,
        contact_force: float = 1.0,
        traverse_speed: float = 0.1,
        end_overshoot: float = 0.005,
        stop_force: float = 3.0,
        end_zone: float = 0.012,
        decision_period: float = 0.05,
        entry_x: float = ENTRY_X,
        end_x: float = GROOVE_END_X - _TIP_RADIUS,
        floor_contact_height: float = TABLE_TOP - GROOVE_DEPTH + _TIP_RADIUS,
        depth: float = GROOVE_DEPTH,
    ) -> None:
        owner = "ScriptedGrooveFollow"
        self.stiffness = check_stiffness(owner, "stiffness", stiffness)
        self.traverse_stiffness = check_stiffness(owner, "traverse_stiffness", traverse_stiffness)
        self.target_force = check_positive(owner, "target_force", target_force)
        self.approach_speed = check_positive(owner, "approach_speed", approach_speed)
        self.descend_speed = check_positive(owner, "descend_speed", descend_speed)
        self.slow_height = check_positive(owner, "slow_height", slow_height)
        self.hover_height = check_positive(owner, "hover_height", hover_height)
        self.align_tolerance = check_positive(owner, "align_tolerance", align_tolerance)
        self.contact_force = check_positive(owner, "contact_force", contact_force)
        self.traverse_speed = check_positive(owner, "traverse_speed", traverse_speed)
        self.end_overshoot = check_finite(owner, "end_overshoot", end_overshoot)
        self.stop_force = check_positive(owner, "stop_force", stop_force)
        self.end_zone = check_positive(owner, "end_zone", end_zone)
        self.decision_period = check_positive(owner, "decision_period", decision_period)
        self.depth = check_positive(owner, "depth", depth)
        self.entry_x = check_finite(owner, "entry_x", entry_x)
        self.end_x = check_finite(owner, "end_x", end_x)
        self.floor_contact_height = check_finite(owner, "floor_contact_height", floor_contact_height)
        if self.end_x <= self.entry_x:
            raise ValueError(f"{owner}.end_x must lie past entry_x ({self.entry_x:g} m); got {end_x!r}")
        self._log_approach = np.log(self.stiffness)
        self._log_traverse = np.log(self.traverse_stiffness)
        self.reset(np.random.default_rng(0))

    @property
    def press_height(self) -> float:
        """The z setpoint while traversing [m]: ``target_force / K_z`` below the nominal floor contact."""
        return self.floor_contact_height - self.target_force / self.traverse_stiffness[1]

    def reset(self, rng: np.random.Generator) -> None:
        """Deterministic: nothing to draw; forget the last episode's phase."""
        self._traversing = False
        self._stopped_at: float | None = None

    def decide(self, obs: np.ndarray, info: dict[str, Any], applied: np.ndarray) -> np.ndarray:
        check_applied("ScriptedGrooveFollow", applied)
        x_sp, z_sp = float(applied[0]), float(applied[1])
        x, f_lat = float(obs[OBS_X]), float(obs[OBS_F_LAT])
        slow_from = self.floor_contact_height + self.slow_height
        top_contact = self.floor_contact_height + self.depth
        aligned = abs(x - self.entry_x) <= self.align_tolerance
        z_target, descending = descend(z_sp, aligned, slow_from, top_contact + self.hover_height,
                                       self.press_height, self.approach_speed, self.descend_speed,
                                       self.decision_period)
        log_k = self._log_traverse if descending else self._log_approach
        k_x = float(np.exp(log_k[0]))
        if not self._traversing and descending and float(obs[OBS_F_N]) >= self.contact_force:
            self._traversing = True
        if self._stopped_at is None and self._traversing and x >= self.end_x - self.end_zone \
                and f_lat >= self.stop_force:
            self._stopped_at = x + self.stop_force / k_x  # the end wall: press on it lightly, stop
        if self._stopped_at is not None:
            x_target = self._stopped_at
        elif self._traversing:
            x_target = min(x_sp + self.traverse_speed * self.decision_period, self.end_x + self.end_overshoot)
        else:
            x_target = self.entry_x
        return np.array([x_target - x_sp, z_target - z_sp, *log_k])


def stiff_groove_policy(**kwargs: Any) -> ScriptedGrooveFollow:
    """The stiff-lateral variant: ``K_x`` 3000 N/m (the top of the loop's range) while traversing
    (module docstring)."""
    return ScriptedGrooveFollow(**{"traverse_stiffness": (3000.0, 500.0), **kwargs})


class GrooveExplorationPolicy(RandomizedPolicy):
    """Randomised groove-following behaviour for safety-critic data (module docstring).

    Per episode (from the ``rng`` of :meth:`reset`): an entry aim error in ``aim_range`` [m],
    log-uniform ``(K_x, K_z)`` over ``stiffness_range``, a descent speed and a traverse speed from
    ``speed_range`` [m/s], a press depth below the nominal floor contact from ``depth_range`` [m],
    an end overshoot past the nominal end contact from ``overshoot_range`` [m] (presses into the end
    wall), with probability 1/2 a lateral sweep (amplitude from ``sweep_range`` [m], period
    0.2-0.8 s) while below the table top, setpoint noise from ``noise_range`` [m] and a per-decision
    chance of a stiffness jump. Same ``rng`` state -> same actions.
    """

    def __init__(
        self,
        stiffness_range: tuple[float, float] = (150.0, 3000.0),
        speed_range: tuple[float, float] = (0.02, 0.3),
        aim_range: tuple[float, float] = (-0.005, 0.005),
        depth_range: tuple[float, float] = (0.0, 0.02),
        overshoot_range: tuple[float, float] = (0.0, 0.015),
        sweep_range: tuple[float, float] = (0.0, 0.008),
        noise_range: tuple[float, float] = (0.0, 0.002),
        jump_probability_range: tuple[float, float] = (0.0, 0.2),
        decision_period: float = 0.05,
        entry_x: float = ENTRY_X,
        end_x: float = GROOVE_END_X - _TIP_RADIUS,
        floor_contact_height: float = TABLE_TOP - GROOVE_DEPTH + _TIP_RADIUS,
        depth: float = GROOVE_DEPTH,
    ) -> None:
        owner = "GrooveExplorationPolicy"
        check_ranges(owner, {"stiffness_range": stiffness_range, "speed_range": speed_range,
                             "depth_range": depth_range, "overshoot_range": overshoot_range,
                             "sweep_range": sweep_range, "noise_range": noise_range,
                             "jump_probability_range": jump_probability_range}, aim_range)
        self.log_k_range = (math.log(stiffness_range[0]), math.log(stiffness_range[1]))
        self.speed_range, self.aim_range = tuple(map(float, speed_range)), tuple(map(float, aim_range))
        self.depth_range = tuple(map(float, depth_range))
        self.overshoot_range = tuple(map(float, overshoot_range))
        self.sweep_range, self.noise_range = tuple(map(float, sweep_range)), tuple(map(float, noise_range))
        self.jump_probability_range = tuple(map(float, jump_probability_range))
        self.decision_period = check_positive(owner, "decision_period", decision_period)
        self.entry_x = check_finite(owner, "entry_x", entry_x)
        self.end_x = check_finite(owner, "end_x", end_x)
        self.floor_contact_height = check_finite(owner, "floor_contact_height", floor_contact_height)
        self.depth = check_positive(owner, "depth", depth)

    def reset(self, rng: np.random.Generator) -> None:
        """Draw this episode's parameters from ``rng`` (kept for the per-decision draws)."""
        self._rng = rng
        self.aim = float(rng.uniform(*self.aim_range))
        self.log_k = rng.uniform(*self.log_k_range, size=2)
        self.descend_speed = float(rng.uniform(*self.speed_range))
        self.traverse_speed = float(rng.uniform(*self.speed_range))
        self.press = float(rng.uniform(*self.depth_range))
        self.overshoot = float(rng.uniform(*self.overshoot_range))
        self.sweep = float(rng.uniform(*self.sweep_range)) if rng.random() < 0.5 else 0.0
        self.sweep_period = float(rng.uniform(0.2, 0.8))
        self.noise = float(rng.uniform(*self.noise_range))
        self.jump_probability = float(rng.uniform(*self.jump_probability_range))
        self._base_x = self.entry_x + self.aim  # the x setpoint before the sweep [m]

    def decide(self, obs: np.ndarray, info: dict[str, Any], applied: np.ndarray) -> np.ndarray:
        rng = self._episode_rng()
        check_applied("GrooveExplorationPolicy", applied)
        t = float(obs[OBS_T])
        x_sp, z_sp = float(applied[0]), float(applied[1])
        top_contact = self.floor_contact_height + self.depth
        z_goal = self.floor_contact_height - self.press
        z_target = ramp(z_sp, z_goal, self.descend_speed * self.decision_period)
        if z_sp < top_contact:  # in the groove: run along it (and sweep into whatever is there)
            self._base_x = min(self._base_x + self.traverse_speed * self.decision_period,
                               self.end_x + self.overshoot)
        x_target = self._base_x
        if z_sp < top_contact:
            x_target += self.sweep * math.sin(2.0 * math.pi * t / self.sweep_period)
        return self._command(rng, [x_target - x_sp, z_target - z_sp])


def groove_policy_for_env(policy: str, env_id: str = GROOVE_ENV_ID,
                          **kwargs: Any) -> ScriptedGrooveFollow | GrooveExplorationPolicy:
    """The ``"scripted"``, ``"stiff"`` or ``"exploration"`` policy for the groove env ``env_id``,
    with that env's :data:`GROOVE_GEOMETRY` (``kwargs`` go to the constructor and win)."""
    return policy_for(policy, env_id, GROOVE_GEOMETRY, "groove",
                      {"scripted": ScriptedGrooveFollow, "stiff": stiff_groove_policy,
                       "exploration": GrooveExplorationPolicy}, kwargs)
