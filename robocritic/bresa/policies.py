"""Task policies for the press-and-wipe hierarchy (:mod:`robocritic.bresa.hierarchy`).

Both act on the planar arm (task axes x, z) or on a spatial one (x, y, z: ``m = 3``, e.g.
``robocritic/Arm7PressWipe-v0``; the normal axis is the last one, y is held at the stroke's y)
and see only the observation (the time is its last entry), ``info``'s public fields and the
applied command -- never the surface offset or the true contact force. Their knowledge of the
task (nominal contact height, stroke) is a constructor argument; :func:`policy_for_env` builds
them for a registered env id.

* :class:`ScriptedPressWipe` -- the nominal task policy. It moves its setpoint down at
  ``approach_speed`` to ``slow_height`` above the NOMINAL contact height, then at
  ``contact_speed`` towards ``target_force / K_z`` below it, while the x setpoint follows the
  stroke reference one decision ahead. Once the wrist sensor's filtered force shows contact it
  tracks ``target_force`` by moving the z setpoint a fraction of the force error per decision,
  so it finds a raised table by force, not by plan. What it cannot do at 10-20 Hz is react
  within a decision: a raised table (offset > 0) is hit earlier, at approach speed, and a push
  or a stiff spot changes the force within milliseconds. That is what makes it unsafe without a
  safety layer. ``force_gain=0`` gives the open-loop variant (depth planned against the nominal
  table only).
* :class:`ExplorationPolicy` -- randomised behaviour for collecting critic data: per episode it
  draws stiffnesses over the whole range, approach speeds, press depths (too deep ones too),
  setpoint noise and occasional abrupt stiffness jumps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from robocritic.envs.arm.press_wipe7_v0 import STROKE_X as STROKE7_X
from robocritic.envs.arm.press_wipe7_v0 import STROKE_Y as STROKE7_Y
from robocritic.envs.arm.press_wipe_v0 import APPROACH_TIME, STROKE_X, stroke_reference
from robocritic.envs.arm.press_wipe_v1 import APPROACH_TIME_V1

__all__ = ["NOMINAL_CONTACT_HEIGHT", "NOMINAL_CONTACT_HEIGHT_7", "SCRIPTED_DEFAULTS", "TASK_GEOMETRY",
           "ExplorationPolicy", "ScriptedPressWipe", "policy_for_env"]

NOMINAL_CONTACT_HEIGHT = -0.25
"""TCP height [m, base z] touching the table at its nominal height: the asset's table top
(-0.26 m) plus the 1 cm fingertip radius. The policies' only knowledge of the table."""
NOMINAL_CONTACT_HEIGHT_7 = 0.06
"""The same for ``arm7_panda.xml`` (table top 0.05 m, fingertip radius 1 cm) [m]."""

TASK_GEOMETRY: dict[str, dict[str, Any]] = {
    "robocritic/ArmPressWipe-v0": {"n_task": 2, "contact_height": NOMINAL_CONTACT_HEIGHT, "stroke_x": STROKE_X},
    "robocritic/ArmPressWipe-v1": {"n_task": 2, "contact_height": NOMINAL_CONTACT_HEIGHT, "stroke_x": STROKE_X,
                                   "approach_time": APPROACH_TIME_V1},
    "robocritic/ArmPressWipeBullet-v0": {"n_task": 2, "contact_height": NOMINAL_CONTACT_HEIGHT,
                                         "stroke_x": STROKE_X},
    "robocritic/Arm7PressWipe-v0": {"n_task": 3, "contact_height": NOMINAL_CONTACT_HEIGHT_7,
                                    "stroke_x": STROKE7_X, "stroke_y": STROKE7_Y},
    "robocritic/Arm7PressWipe-v1": {"n_task": 3, "contact_height": NOMINAL_CONTACT_HEIGHT_7,
                                    "stroke_x": STROKE7_X, "stroke_y": STROKE7_Y, "approach_time": APPROACH_TIME_V1},
}
"""What the policies know of each registered press-and-wipe env: task axes ``n_task``, nominal
contact height [m], stroke start/end along x [m], the stroke's y [m] (spatial arms) and the
approach time [s] where it is not v0's."""

SCRIPTED_DEFAULTS: dict[str, dict[str, Any]] = {
    "robocritic/Arm7PressWipe-v0": {"stiffness": (1500.0, 1500.0, 1000.0), "approach_speed": 0.4,
                                    "contact_speed": 0.2},
    "robocritic/ArmPressWipe-v1": {"slow_height": 0.035},
    "robocritic/Arm7PressWipe-v1": {"stiffness": (1500.0, 1500.0, 1000.0), "approach_speed": 0.4,
                                    "contact_speed": 0.07, "slow_height": 0.035},
}
"""Per-env settings of :class:`ScriptedPressWipe` over its constructor's defaults (which are the
planar arm's). The 7-DoF arm's normal task inertia is several times the planar arm's, so its TCP
trails a moving setpoint by centimetres (the lag of a critically damped axis is
``2 v / omega``, ``omega = sqrt(K_z / Lambda_zz)``): the setpoint descends at the fastest speed the
loop's ``max_increment`` allows and slows down only to ``contact_speed`` near the table, so that
contact comes near the start of the contact phase; the force feedback then sets the depth.
``ArmPressWipe-v1``'s longer approach window is there for a guarded move: the policy slows to
``contact_speed`` 3.5 cm above the nominal table, above the highest the table may be (3 cm) plus
5 mm, so that no table height is hit at approach speed; the 7-DoF arm's v1 crosses that band at
0.07 m/s (with its heavier task inertia a 0.1 m/s touch-down still overshoots the limit; the
speeds tried are in BENCHMARKS.md, bresa_tasks)."""

_T = -1  # observation index of the time since reset [s]: the last entry, for every arm


def _check_positive(owner: str, name: str, value: float) -> float:
    if isinstance(value, bool) or not (isinstance(value, (int, float, np.integer, np.floating))
                                       and math.isfinite(value) and value > 0):
        raise ValueError(f"{owner}.{name} must be a finite number > 0; got {value!r}")
    return float(value)


def _check_stroke(owner: str, stroke: Any) -> tuple[float, float]:
    try:
        x0, x1 = (float(v) for v in stroke)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{owner}.stroke_x must be a (start, end) pair [m]; got {stroke!r}") from exc
    if not (math.isfinite(x0) and math.isfinite(x1)):
        raise ValueError(f"{owner}.stroke_x must be finite [m]; got {stroke!r}")
    return x0, x1


def _task_size(owner: str, applied: np.ndarray) -> int:
    """Task axes ``m`` of the applied command ``(2 m,)``: 2 or 3."""
    size = int(np.shape(applied)[0])
    if size not in (4, 6):
        raise ValueError(f"{owner}: the applied command must have 4 (m = 2) or 6 (m = 3) values; got {size}")
    return size // 2


class ScriptedPressWipe:
    """The nominal press-and-wipe task policy (module docstring).

    Args:
        stiffness: ``(K_x, K_z)`` or ``(K_x, K_y, K_z)`` [N/m], constant; on a spatial arm two
            values mean ``K_y = K_x``.
        target_force: normal force aimed at [N] (the press depth is ``target_force / K_z`` below
            the nominal contact height).
        approach_speed: setpoint speed down to ``slow_height`` [m/s].
        contact_speed: setpoint speed below it [m/s].
        slow_height: height above the nominal contact height where the slow phase starts [m].
        stroke_lead: extra look-ahead on the stroke reference [s]: the x setpoint leads the
            reference so that the TCP, which lags a moving impedance setpoint, stays on it.
        decision_period: time between decisions [s] (the hierarchy's ``decision_ticks * dt``): the
            ramp reaches each x target one period later, so the target looks that far ahead too.
        contact_height: nominal TCP contact height [m].
        stroke_x: stroke start and end along x [m] (the env's). stroke_y: the stroke's y [m],
            where a spatial arm's y setpoint is held.
        force_gain: fraction of the normal-force error the z setpoint corrects per decision once
            the filtered force (``info["force_filtered"]``, the wrist sensor's) has reached
            ``contact_force``: ``z += force_gain * (F - target_force) / K_z``, at most one
            ``contact_speed`` step per decision. 0: open loop, the press depth is planned
            against the nominal table only.
        contact_force: filtered normal force that counts as touching the table [N].
        approach_time: when the env's stroke reference starts moving [s] (the env's).
    """

    def __init__(
        self,
        stiffness: tuple[float, ...] = (1500.0, 1000.0),
        target_force: float = 12.5,
        approach_speed: float = 0.3,
        contact_speed: float = 0.1,
        slow_height: float = 0.005,
        stroke_lead: float = 0.08,
        decision_period: float = 0.05,
        contact_height: float = NOMINAL_CONTACT_HEIGHT,
        stroke_x: tuple[float, float] = STROKE_X,
        stroke_y: float = 0.0,
        force_gain: float = 0.3,
        contact_force: float = 2.0,
        approach_time: float = APPROACH_TIME,
    ) -> None:
        owner = "ScriptedPressWipe"
        k = np.asarray(stiffness, dtype=np.float64)
        if k.shape not in ((2,), (3,)) or not np.all(np.isfinite(k)) or np.any(k <= 0):
            raise ValueError(
                f"{owner}.stiffness must be two or three finite values > 0 (K_x[, K_y], K_z) [N/m]; "
                f"got {stiffness!r}")
        self.stiffness = k
        self.target_force = _check_positive(owner, "target_force", target_force)
        self.approach_speed = _check_positive(owner, "approach_speed", approach_speed)
        self.contact_speed = _check_positive(owner, "contact_speed", contact_speed)
        self.slow_height = _check_positive(owner, "slow_height", slow_height)
        self.decision_period = _check_positive(owner, "decision_period", decision_period)
        if isinstance(stroke_lead, bool) or not (math.isfinite(stroke_lead) and stroke_lead >= 0):
            raise ValueError(f"{owner}.stroke_lead must be a finite number >= 0 [s]; got {stroke_lead!r}")
        self.stroke_lead = float(stroke_lead)
        if not math.isfinite(contact_height):
            raise ValueError(f"{owner}.contact_height must be finite; got {contact_height!r}")
        self.contact_height = float(contact_height)
        self.stroke_x = _check_stroke(owner, stroke_x)
        if isinstance(stroke_y, bool) or not math.isfinite(stroke_y):
            raise ValueError(f"{owner}.stroke_y must be finite [m]; got {stroke_y!r}")
        self.stroke_y = float(stroke_y)
        if isinstance(force_gain, bool) or not (math.isfinite(force_gain) and 0 <= force_gain <= 1):
            raise ValueError(f"{owner}.force_gain must be a finite number in [0, 1]; got {force_gain!r}")
        self.force_gain = float(force_gain)
        self.contact_force = _check_positive(owner, "contact_force", contact_force)
        self.approach_time = _check_positive(owner, "approach_time", approach_time)
        self._touched = False
        self._log_k = np.log(k)
        # A spatial arm's stiffness: (K_x, K_y, K_z), K_y = K_x when two values were given.
        self._log_k3 = self._log_k if k.size == 3 else np.log(np.array([k[0], k[0], k[1]]))

    @property
    def press_height(self) -> float:
        """The final z setpoint [m]: ``target_force / K_z`` below the nominal contact height."""
        return self.contact_height - self.target_force / self.stiffness[-1]

    def reset(self, rng: np.random.Generator) -> None:
        """Deterministic: nothing to draw; forgets the last episode's contact."""
        self._touched = False

    def decide(self, obs: np.ndarray, info: dict[str, Any], applied: np.ndarray) -> np.ndarray:
        m = _task_size("ScriptedPressWipe", applied)
        if m == 2 and self.stiffness.size != 2:
            raise ValueError(f"ScriptedPressWipe.stiffness: three values for a planar arm (m = 2); "
                             f"got {tuple(self.stiffness)}")
        t = float(obs[_T])
        x_sp, z_sp = float(applied[0]), float(applied[m - 1])
        x_target = stroke_reference(t + self.decision_period + self.stroke_lead, self.stroke_x, self.approach_time)
        z_goal = self.press_height
        slow_from = self.contact_height + self.slow_height
        step = (self.approach_speed if z_sp > slow_from else self.contact_speed) * self.decision_period
        force = float(info.get("force_filtered", 0.0)) if self.force_gain > 0 else 0.0
        self._touched = self._touched or force >= self.contact_force
        if self._touched:
            # Force feedback: the setpoint moves by a fraction of the force error, at most one
            # contact-speed step, so a raised table is found without a planned depth.
            correction = self.force_gain * (force - self.target_force) / self.stiffness[-1]
            z_target = z_sp + min(max(correction, -step), step)
        else:
            z_target = max(z_sp - step, z_goal)
            if z_sp > slow_from:
                z_target = max(z_target, slow_from)  # the slow phase starts exactly at slow_from
        if m == 2:
            return np.array([x_target - x_sp, z_target - z_sp, *self._log_k])
        return np.array([x_target - x_sp, self.stroke_y - float(applied[1]), z_target - z_sp, *self._log_k3])


class ExplorationPolicy:
    """Randomised press-and-wipe behaviour for safety-critic data (module docstring).

    Per episode (from the ``rng`` of :meth:`reset`): log-uniform stiffness per axis over
    ``stiffness_range``, an approach speed in ``speed_range`` [m/s], a press depth below the
    nominal contact height in ``depth_range`` [m] (deep ones give violations), a setpoint-noise
    scale, a lateral speed factor on the stroke, and a per-decision chance of an abrupt
    stiffness jump to a random value. Same ``rng`` state -> same actions.

    Args:
        stiffness_range: ``(low, high)`` [N/m]. speed_range: approach speeds [m/s].
        depth_range: press depths below the nominal contact height [m].
        noise_range: ``(low, high)`` std of the per-decision setpoint noise [m].
        jump_probability_range: ``(low, high)`` per-decision probability of a stiffness jump.
        decision_period: time between decisions [s]. contact_height: nominal contact height [m].
        n_task: task axes ``m`` of the arm (2: x, z; 3: x, y, z). stroke_x: stroke start and end
            along x [m]. stroke_y: the stroke's y [m] (``m = 3``: the y target, plus noise).
        approach_time: when the env's stroke reference starts moving [s] (the env's).
    """

    def __init__(
        self,
        stiffness_range: tuple[float, float] = (150.0, 3000.0),
        speed_range: tuple[float, float] = (0.02, 0.4),
        depth_range: tuple[float, float] = (0.0, 0.06),
        noise_range: tuple[float, float] = (0.0, 0.004),
        jump_probability_range: tuple[float, float] = (0.0, 0.2),
        decision_period: float = 0.05,
        contact_height: float = NOMINAL_CONTACT_HEIGHT,
        n_task: int = 2,
        stroke_x: tuple[float, float] = STROKE_X,
        stroke_y: float = 0.0,
        approach_time: float = APPROACH_TIME,
    ) -> None:
        owner = "ExplorationPolicy"
        if isinstance(n_task, bool) or n_task not in (2, 3):
            raise ValueError(f"{owner}.n_task must be 2 (x, z) or 3 (x, y, z); got {n_task!r}")
        if isinstance(stroke_y, bool) or not math.isfinite(stroke_y):
            raise ValueError(f"{owner}.stroke_y must be finite [m]; got {stroke_y!r}")
        self.n_task = int(n_task)
        self.stroke_x = _check_stroke(owner, stroke_x)
        self.stroke_y = float(stroke_y)
        for name, (lo, hi), low_ok in (("stiffness_range", stiffness_range, False),
                                       ("speed_range", speed_range, False),
                                       ("depth_range", depth_range, True),
                                       ("noise_range", noise_range, True),
                                       ("jump_probability_range", jump_probability_range, True)):
            ok_low = lo >= 0 if low_ok else lo > 0
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi and ok_low):
                op = "<=" if low_ok else "<"
                raise ValueError(f"{owner}.{name} must be a finite (low, high) with 0 {op} low <= high; "
                                 f"got {(lo, hi)!r}")
        if jump_probability_range[1] > 1:
            raise ValueError(
                f"{owner}.jump_probability_range must lie in [0, 1]; got {jump_probability_range!r}")
        self.log_k_range = (math.log(stiffness_range[0]), math.log(stiffness_range[1]))
        self.speed_range = tuple(float(v) for v in speed_range)
        self.depth_range = tuple(float(v) for v in depth_range)
        self.noise_range = tuple(float(v) for v in noise_range)
        self.jump_probability_range = tuple(float(v) for v in jump_probability_range)
        self.decision_period = _check_positive(owner, "decision_period", decision_period)
        self.contact_height = float(contact_height)
        self.approach_time = _check_positive(owner, "approach_time", approach_time)
        self._rng: np.random.Generator | None = None

    def reset(self, rng: np.random.Generator) -> None:
        """Draw this episode's parameters from ``rng`` (kept for the per-decision draws)."""
        self._rng = rng
        self.log_k = rng.uniform(*self.log_k_range, size=self.n_task)
        self.speed = float(rng.uniform(*self.speed_range))
        self.depth = float(rng.uniform(*self.depth_range))
        self.noise = float(rng.uniform(*self.noise_range))
        self.jump_probability = float(rng.uniform(*self.jump_probability_range))
        self.stroke_factor = float(rng.uniform(0.5, 1.5))  # faster or slower than the reference
        # Some episodes change their mind about the depth halfway (a second press).
        self.redepth_time = float(rng.uniform(0.5, 1.8)) if rng.random() < 0.3 else math.inf
        self.depth2 = float(rng.uniform(*self.depth_range))

    def decide(self, obs: np.ndarray, info: dict[str, Any], applied: np.ndarray) -> np.ndarray:
        rng = self._rng
        if rng is None:
            raise RuntimeError("ExplorationPolicy.decide before reset")
        m = _task_size("ExplorationPolicy", applied)
        if m != self.n_task:
            raise ValueError(f"ExplorationPolicy.n_task is {self.n_task} but the applied command has "
                             f"{applied.shape[0]} values (m = {m})")
        t = float(obs[_T])
        x_sp, z_sp = float(applied[0]), float(applied[m - 1])
        x0 = self.stroke_x[0]
        x_ref = stroke_reference(t + self.decision_period, self.stroke_x, self.approach_time)
        x_target = x0 + self.stroke_factor * (x_ref - x0)
        depth = self.depth if t < self.redepth_time else self.depth2
        z_goal = self.contact_height - depth
        step = self.speed * self.decision_period
        z_target = z_goal if abs(z_goal - z_sp) <= step else z_sp + math.copysign(step, z_goal - z_sp)
        if m == 2:
            inc = np.array([x_target - x_sp, z_target - z_sp])
        else:
            inc = np.array([x_target - x_sp, self.stroke_y - float(applied[1]), z_target - z_sp])
        inc = inc + rng.normal(0.0, self.noise, size=m)
        if rng.random() < self.jump_probability:
            self.log_k = rng.uniform(*self.log_k_range, size=m)
        return np.concatenate([inc, self.log_k])


def policy_for_env(policy: str, env_id: str, **kwargs: Any) -> ScriptedPressWipe | ExplorationPolicy:
    """The ``"scripted"`` or ``"exploration"`` policy for the registered env ``env_id``, built with
    that env's :data:`TASK_GEOMETRY` and, for ``"scripted"``, its :data:`SCRIPTED_DEFAULTS`
    (``kwargs`` go to the constructor and win)."""
    if env_id not in TASK_GEOMETRY:
        raise ValueError(f"env_id: no press-and-wipe geometry for {env_id!r}; known: {sorted(TASK_GEOMETRY)}")
    geometry = dict(TASK_GEOMETRY[env_id])
    n_task = geometry.pop("n_task")
    if policy == "scripted":
        return ScriptedPressWipe(**{**geometry, **SCRIPTED_DEFAULTS.get(env_id, {}), **kwargs})
    if policy == "exploration":
        return ExplorationPolicy(**{"n_task": n_task, **geometry, **kwargs})
    raise ValueError(f"policy: expected 'scripted' or 'exploration'; got {policy!r}")
