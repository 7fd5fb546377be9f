"""Task policies for the peg-in-hole hierarchy (``robocritic/ArmPegInHole-v0``, planar arm, task
axes x, z; the limited force is the LATERAL one, along x).

Both see only the observation (TCP position at ``obs[6:8]``, time last), ``info``'s public fields
and the applied command -- never the hole offset, the table offset or the engine's contact force.
Their knowledge of the task (nominal slot x, table top, depth) is a constructor argument
(:data:`PEG_GEOMETRY`, from the env module).

* :class:`ScriptedPegInHole` -- the nominal task policy: move over the NOMINAL slot at a hover
  height with a stiff lateral axis, descend at ``approach_speed`` to ``slow_height`` above the
  nominal table top, then insert at ``insert_speed`` down to ``target_force / K_z`` below the
  nominal slot floor, with the lateral stiffness switched to ``insert_stiffness_x`` and a lateral
  search (the x setpoint oscillates over more than the slot's position uncertainty) until the peg
  is engaged; then the x setpoint follows the TCP. Compliant
  (the default, ``K_x`` at the bottom of the range) the peg's rounded end slides along the edge
  of an offset slot into it and the search barely loads the walls; STIFF
  (:func:`stiff_peg_policy`) the search drives the partly inserted peg into the slot's wall with
  ``K_x`` times the search overshoot, more on an offset slot.
* :class:`PegExplorationPolicy` -- randomised behaviour for critic data: per episode a lateral
  aim error (so the peg meets the edge), stiffnesses over the whole range, approach speeds, press
  depths, lateral setpoint sweeps while inserted, setpoint noise and stiffness jumps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from robocritic.bresa.scripted import (
    OBS_T,
    OBS_X,
    OBS_Z,
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
from robocritic.envs.arm.peg_in_hole_v0 import HOLE_DEPTH, HOLE_X

__all__ = ["PEG_ENV_ID", "PEG_GEOMETRY", "PegExplorationPolicy", "ScriptedPegInHole", "peg_policy_for_env",
           "stiff_peg_policy"]

PEG_ENV_ID = "robocritic/ArmPegInHole-v0"
_TOP = -0.26  # nominal table top of arm3_peg.xml [m]
_PEG_RADIUS = 0.005  # the peg's rounded end: the TCP sits this far above the peg's lowest point [m]
PEG_GEOMETRY: dict[str, dict[str, Any]] = {
    PEG_ENV_ID: {"n_task": 2, "hole_x": HOLE_X, "contact_height": _TOP + _PEG_RADIUS, "depth": HOLE_DEPTH},
}
"""What the policies know of each peg env: task axes ``n_task``, nominal slot centre x [m], the TCP
height with the peg touching the nominal table top [m], slot depth [m]."""


class ScriptedPegInHole:
    """The nominal peg-in-hole task policy (module docstring).

    Args:
        stiffness: ``(K_x, K_z)`` [N/m] while approaching (stiff x: the move over the slot).
        insert_stiffness_x: ``K_x`` [N/m] once the setpoint is below the slow height (insertion).
        target_force: downward force aimed at on the slot floor [N] (the final z setpoint is
            ``target_force / K_z`` below the nominal floor contact height).
        approach_speed, insert_speed: z setpoint speeds above / below the slow height [m/s].
        slow_height: height above the nominal table contact where insertion starts [m].
        hover_height: height above it held until the TCP is within ``align_tolerance`` [m] of
            the nominal slot x [m].
        search_amplitude, search_period: the lateral search while inserting: the x setpoint
            oscillates ``amplitude sin(2 pi t / period)`` [m, s] about the nominal slot x (it covers
            the slot's position uncertainty) until the TCP is ``engaged_depth`` [m] below the
            nominal table contact; after that the x setpoint follows the TCP (the walls guide).
        decision_period: time between decisions [s].
        hole_x, contact_height, depth: the nominal task geometry (:data:`PEG_GEOMETRY`).
    """

    def __init__(
        self,
        stiffness: tuple[float, float] = (1500.0, 1000.0),
        insert_stiffness_x: float = 150.0,
        target_force: float = 8.0,
        approach_speed: float = 0.2,
        insert_speed: float = 0.05,
        slow_height: float = 0.003,
        hover_height: float = 0.01,
        align_tolerance: float = 0.002,
        search_amplitude: float = 0.004,
        search_period: float = 0.25,
        engaged_depth: float = 0.012,
        decision_period: float = 0.05,
        hole_x: float = HOLE_X,
        contact_height: float = _TOP + _PEG_RADIUS,
        depth: float = HOLE_DEPTH,
    ) -> None:
        owner = "ScriptedPegInHole"
        self.stiffness = check_stiffness(owner, "stiffness", stiffness)
        self.insert_stiffness_x = check_positive(owner, "insert_stiffness_x", insert_stiffness_x)
        self.target_force = check_positive(owner, "target_force", target_force)
        self.approach_speed = check_positive(owner, "approach_speed", approach_speed)
        self.insert_speed = check_positive(owner, "insert_speed", insert_speed)
        self.slow_height = check_positive(owner, "slow_height", slow_height)
        self.hover_height = check_positive(owner, "hover_height", hover_height)
        self.align_tolerance = check_positive(owner, "align_tolerance", align_tolerance)
        self.decision_period = check_positive(owner, "decision_period", decision_period)
        self.depth = check_positive(owner, "depth", depth)
        if isinstance(search_amplitude, bool) or not (math.isfinite(search_amplitude) and search_amplitude >= 0):
            raise ValueError(f"{owner}.search_amplitude must be a finite number >= 0 [m]; got {search_amplitude!r}")
        self.search_amplitude = float(search_amplitude)
        self.search_period = check_positive(owner, "search_period", search_period)
        self.engaged_depth = check_positive(owner, "engaged_depth", engaged_depth)
        self.hole_x = check_finite(owner, "hole_x", hole_x)
        self.contact_height = check_finite(owner, "contact_height", contact_height)
        self._log_approach = np.log(self.stiffness)
        self._log_insert = np.log([self.insert_stiffness_x, self.stiffness[1]])

    @property
    def press_height(self) -> float:
        """The final z setpoint [m]: ``target_force / K_z`` below the nominal floor contact."""
        return self.contact_height - self.depth - self.target_force / self.stiffness[1]

    def reset(self, rng: np.random.Generator) -> None:
        """Deterministic: nothing to draw."""

    def decide(self, obs: np.ndarray, info: dict[str, Any], applied: np.ndarray) -> np.ndarray:
        check_applied("ScriptedPegInHole", applied)
        x_sp, z_sp = float(applied[0]), float(applied[1])
        slow_from = self.contact_height + self.slow_height
        aligned = abs(float(obs[OBS_X]) - self.hole_x) <= self.align_tolerance
        z_target, inserting = descend(z_sp, aligned, slow_from, self.contact_height + self.hover_height,
                                      self.press_height, self.approach_speed, self.insert_speed,
                                      self.decision_period)
        log_k = self._log_insert if inserting else self._log_approach
        x_target = self.hole_x
        if float(obs[OBS_Z]) < self.contact_height - self.engaged_depth:
            x_target = float(obs[OBS_X])  # engaged: let the walls guide, do not pull sideways
        elif inserting:
            t = float(obs[OBS_T]) + self.decision_period  # the ramp reaches the target one period later
            x_target += self.search_amplitude * math.sin(2.0 * math.pi * t / self.search_period)
        return np.array([x_target - x_sp, z_target - z_sp, *log_k])


def stiff_peg_policy(**kwargs: Any) -> ScriptedPegInHole:
    """The stiff-lateral variant: ``K_x`` 3000 N/m (the top of the loop's range) while inserting,
    which holds the peg on the edge of an offset slot (module docstring)."""
    return ScriptedPegInHole(**{"insert_stiffness_x": 3000.0, **kwargs})


class PegExplorationPolicy(RandomizedPolicy):
    """Randomised peg-in-hole behaviour for safety-critic data (module docstring).

    Per episode (from the ``rng`` of :meth:`reset`): a lateral aim error in ``aim_range`` [m]
    added to the nominal slot x, log-uniform ``(K_x, K_z)`` over ``stiffness_range``, an approach
    speed [m/s], a press depth below the nominal floor contact [m] (deep ones press hard, also on
    an edge), a lateral sweep amplitude [m] and period applied once the setpoint is below the
    table top (drives the peg into a wall), setpoint noise [m] and a per-decision chance of a
    stiffness jump. Same ``rng`` state -> same actions.
    """

    def __init__(
        self,
        stiffness_range: tuple[float, float] = (150.0, 3000.0),
        speed_range: tuple[float, float] = (0.02, 0.3),
        aim_range: tuple[float, float] = (-0.005, 0.005),
        depth_range: tuple[float, float] = (0.0, 0.03),
        sweep_range: tuple[float, float] = (0.0, 0.008),
        noise_range: tuple[float, float] = (0.0, 0.002),
        jump_probability_range: tuple[float, float] = (0.0, 0.2),
        decision_period: float = 0.05,
        hole_x: float = HOLE_X,
        contact_height: float = _TOP + _PEG_RADIUS,
        depth: float = HOLE_DEPTH,
    ) -> None:
        owner = "PegExplorationPolicy"
        check_ranges(owner, {"stiffness_range": stiffness_range, "speed_range": speed_range,
                             "depth_range": depth_range, "sweep_range": sweep_range, "noise_range": noise_range,
                             "jump_probability_range": jump_probability_range}, aim_range)
        self.log_k_range = (math.log(stiffness_range[0]), math.log(stiffness_range[1]))
        self.speed_range, self.aim_range = tuple(map(float, speed_range)), tuple(map(float, aim_range))
        self.depth_range, self.sweep_range = tuple(map(float, depth_range)), tuple(map(float, sweep_range))
        self.noise_range = tuple(map(float, noise_range))
        self.jump_probability_range = tuple(map(float, jump_probability_range))
        self.decision_period = check_positive(owner, "decision_period", decision_period)
        self.hole_x, self.contact_height = float(hole_x), float(contact_height)
        self.depth = check_positive(owner, "depth", depth)

    def reset(self, rng: np.random.Generator) -> None:
        """Draw this episode's parameters from ``rng`` (kept for the per-decision draws)."""
        self._rng = rng
        self.aim = float(rng.uniform(*self.aim_range))
        self.log_k = rng.uniform(*self.log_k_range, size=2)
        self.speed = float(rng.uniform(*self.speed_range))
        self.press = float(rng.uniform(*self.depth_range))
        self.sweep = float(rng.uniform(*self.sweep_range)) if rng.random() < 0.5 else 0.0
        self.sweep_period = float(rng.uniform(0.2, 0.8))
        self.noise = float(rng.uniform(*self.noise_range))
        self.jump_probability = float(rng.uniform(*self.jump_probability_range))

    def decide(self, obs: np.ndarray, info: dict[str, Any], applied: np.ndarray) -> np.ndarray:
        rng = self._episode_rng()
        check_applied("PegExplorationPolicy", applied)
        t = float(obs[OBS_T])
        x_sp, z_sp = float(applied[0]), float(applied[1])
        x_target = self.hole_x + self.aim
        if z_sp < self.contact_height:  # below the table top: sweep sideways into the walls
            x_target += self.sweep * math.sin(2.0 * math.pi * t / self.sweep_period)
        z_goal = self.contact_height - self.depth - self.press
        z_target = ramp(z_sp, z_goal, self.speed * self.decision_period)
        return self._command(rng, [x_target - x_sp, z_target - z_sp])


def peg_policy_for_env(policy: str, env_id: str = PEG_ENV_ID,
                       **kwargs: Any) -> ScriptedPegInHole | PegExplorationPolicy:
    """The ``"scripted"``, ``"stiff"`` or ``"exploration"`` policy for the peg env ``env_id``,
    with that env's :data:`PEG_GEOMETRY` (``kwargs`` go to the constructor and win)."""
    return policy_for(policy, env_id, PEG_GEOMETRY, "peg-in-hole",
                      {"scripted": ScriptedPegInHole, "stiff": stiff_peg_policy, "exploration": PegExplorationPolicy},
                      kwargs)
