"""Arm7PressWipe-v1 (MuJoCo): Arm7PressWipe-v0 with an approach window long enough for a guarded
move onto a table of unknown height.

## What changed from v0
Everything in the v0 spec (``robocritic.envs.arm.press_wipe7_v0``'s module docstring) holds, with
the differences of the planar ``ArmPressWipe-v1`` (``press_wipe_v1.py``, which says why):

* **Approach phase** 0.8 s instead of 0.3 s: ``x_ref(t) = 0.50 m`` for ``t < 0.8 s``, then rising
  at 0.1 m/s to 0.65 m at ``t = 2.3 s``; the *contact phase* is ``t >= 0.8 s``.
* **Episode length** 2500 steps (2.5 s) by the registered ``TimeLimit``.

## Version history
v1: approach phase 0.3 -> 0.8 s, episode 2.0 -> 2.5 s.
"""

from __future__ import annotations

from robocritic.envs.arm.press_wipe7_v0 import Arm7PressWipeEnv
from robocritic.envs.arm.press_wipe_v1 import APPROACH_TIME_V1

__all__ = ["Arm7PressWipeV1Env"]


class Arm7PressWipeV1Env(Arm7PressWipeEnv):
    """MuJoCo implementation of Arm7PressWipe-v1 (see module docstring)."""

    env_name = "Arm7PressWipe-v1"
    approach_time = APPROACH_TIME_V1
