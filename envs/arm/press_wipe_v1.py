"""ArmPressWipe-v1 (MuJoCo): ArmPressWipe-v0 with an approach window long enough for a guarded
move onto a table of unknown height.

## What changed from v0
Everything in the v0 spec (``robocritic.envs.arm.press_wipe_v0``'s module docstring: arm, action,
observation, cost, safety constraint, success, start state, perturbations, arguments) holds, with
these differences:

* **Approach phase** 0.8 s instead of 0.3 s: ``x_ref(t) = 0.40 m`` for ``t < 0.8 s``, then rising
  at 0.1 m/s to 0.55 m at ``t = 2.3 s``. The *contact phase* (where the force band and the path
  error count, and success is judged) is ``t >= 0.8 s``.
* **Episode length** 2500 steps (2.5 s) by the registered ``TimeLimit``: the stroke and the
  0.2 s hold after it are v0's.

Why: the table lies 0-3 cm above its nominal height and its height is not observed. The only
approach that cannot hit it at speed is a guarded move: slow (0.1 m/s) through the whole band
where the table may be. Crossing that band takes about 0.35 s, more than v0's whole 0.3 s
approach, so on v0 a guarded task policy is late for the contact phase and fails the task. v1
gives the approach time for it; the press-and-wipe task itself is unchanged.

## Version history
v1: approach phase 0.3 -> 0.8 s, episode 2.0 -> 2.5 s.
"""

from __future__ import annotations

from robocritic.envs.arm.press_wipe_v0 import ArmPressWipeEnv

__all__ = ["APPROACH_TIME_V1", "ArmPressWipeV1Env"]

#: Approach phase of v1, s: the stroke and the contact phase start here.
APPROACH_TIME_V1 = 0.8


class ArmPressWipeV1Env(ArmPressWipeEnv):
    """MuJoCo implementation of ArmPressWipe-v1 (see module docstring)."""

    env_name = "ArmPressWipe-v1"
    approach_time = APPROACH_TIME_V1
