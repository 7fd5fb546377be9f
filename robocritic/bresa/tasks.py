"""Which Bresa task each registered arm env is: one :class:`TaskSpec` per env id.

Everything that differs between the task families -- press-and-wipe (planar and 7-DoF, v0 and
v1), peg-in-hole and groove following -- is here, so the methods, data collection and evaluation
look a task up (:func:`task_spec`) instead of asking which family an env belongs to:

* ``n_task``: task-space axes ``m`` (the critic's feature layout);
* ``policies``: the policy factory (``"scripted"``, ``"exploration"``; peg and groove also
  ``"stiff"``) with the env's geometry filled in;
* ``filter_setup``: settings of the filters that differ from their defaults, per filter kind
  (``"reflex"``, ``"minmod"``, ``"force_clamp"``, ``"backstop"``: the backstop reflex's settings over
  ``"reflex"``'s; ``ArmPressWipe-v1`` sets the minimal-modification threshold);
* ``low_stiffness``: the scripted policy's overrides for the ``low_stiffness`` baseline;
* the limited force for plots: its label, the limit [N] and the task band [N] (``None`` when the
  band is on another force than the limited one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from robocritic.bresa.filters import RecoveryPolicy
from robocritic.bresa.groove_policies import GROOVE_GEOMETRY, groove_policy_for_env
from robocritic.bresa.peg_policies import PEG_GEOMETRY, peg_policy_for_env
from robocritic.bresa.policies import TASK_GEOMETRY, policy_for_env
from robocritic.envs.arm.groove_v0 import FORCE_LIMIT as GROOVE_FORCE_LIMIT
from robocritic.envs.arm.peg_in_hole_v0 import FORCE_LIMIT as PEG_FORCE_LIMIT
from robocritic.envs.arm.press_wipe_v0 import FORCE_BAND, FORCE_LIMIT

__all__ = ["LOW_STIFFNESS", "TASKS", "TaskSpec", "task_spec"]

LOW_STIFFNESS = 150.0
"""Stiffness of the ``low_stiffness`` baseline [N/m] (the bottom of the stiffness range)."""


@dataclass(frozen=True)
class TaskSpec:
    """What the Bresa methods need to know of one registered arm env (module docstring).

    Attributes:
        env_id: the Gymnasium id. family: ``"press-and-wipe"``, ``"peg-in-hole"`` or ``"groove"``.
        n_task: task-space axes ``m``. policies: ``policies(name, **kwargs)`` -> a task policy.
        filter_setup: filter kind -> constructor settings over the filter's defaults.
        low_stiffness: scripted-policy overrides of the ``low_stiffness`` baseline.
        force_label: y label of force plots. force_limit: [N]. force_band: [N] or ``None``.
    """

    env_id: str
    family: str
    n_task: int
    policies: Callable[..., Any]
    low_stiffness: Mapping[str, Any]
    force_label: str
    force_limit: float
    force_band: tuple[float, float] | None = None
    filter_setup: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def policy(self, name: str, **kwargs: Any) -> Any:
        """The task policy ``name`` for this env (``kwargs`` go to its constructor and win)."""
        return self.policies(name, **kwargs)


_LATERAL = {  # the limited force is lateral (x): comply along x, back off upward
    "reflex": {"recovery": RecoveryPolicy(retreat=0.003, soften_axes=(0,))},
    "minmod": {"shift_axis": -1, "soften_axis": 0, "retreats": (0.0, 0.001, 0.002, 0.003, 0.005)},
}


_PRESS_WIPE_FILTERS: dict[str, dict[str, dict[str, Any]]] = {
    "robocritic/ArmPressWipe-v1": {"minmod": {"threshold": 0.3}},
}
"""Press-and-wipe filter settings over the defaults. ArmPressWipe-v1: the minimal-modification
filter's threshold tuned on perturbation seeds of its own (0.3; BENCHMARKS.md, bresa_threshold and
bresa_guard). v0 keeps the default 0.5 its published study used."""


def _press_wipe(env_id: str) -> TaskSpec:
    m = int(TASK_GEOMETRY[env_id]["n_task"])
    return TaskSpec(env_id, "press-and-wipe", m, partial(policy_for_env, env_id=env_id),
                    {"stiffness": (LOW_STIFFNESS,) * m}, "filtered normal force (N)", FORCE_LIMIT, FORCE_BAND,
                    filter_setup=_PRESS_WIPE_FILTERS.get(env_id, {}))


def _peg(env_id: str) -> TaskSpec:
    # The approach's x stiffness too (the insertion's is low already).
    return TaskSpec(env_id, "peg-in-hole", int(PEG_GEOMETRY[env_id]["n_task"]),
                    partial(peg_policy_for_env, env_id=env_id),
                    {"stiffness": (LOW_STIFFNESS,) * 2, "insert_stiffness_x": LOW_STIFFNESS},
                    "filtered lateral force (N)", PEG_FORCE_LIMIT,
                    filter_setup={**_LATERAL, "force_clamp": {"axis": 0, "two_sided": True,
                                                              "force_limit": PEG_FORCE_LIMIT, "margin": 3.0}})


def _groove(env_id: str) -> TaskSpec:
    # The approach and the traverse; the task band is on the normal force, not the limited one.
    return TaskSpec(env_id, "groove", int(GROOVE_GEOMETRY[env_id]["n_task"]),
                    partial(groove_policy_for_env, env_id=env_id),
                    {"stiffness": (LOW_STIFFNESS,) * 2, "traverse_stiffness": (LOW_STIFFNESS,) * 2},
                    "filtered lateral (wall) force (N)", GROOVE_FORCE_LIMIT,
                    filter_setup={**_LATERAL, "force_clamp": {"axis": 0, "two_sided": True,
                                                              "force_limit": GROOVE_FORCE_LIMIT, "margin": 3.0}})


TASKS: dict[str, TaskSpec] = {
    **{env_id: _press_wipe(env_id) for env_id in TASK_GEOMETRY},
    **{env_id: _peg(env_id) for env_id in PEG_GEOMETRY},
    **{env_id: _groove(env_id) for env_id in GROOVE_GEOMETRY},
}
"""Every Bresa env id's task. Peg-in-hole and groove following limit a LATERAL force (x): the
reflex's recovery complies along x (soft, setpoint at the TCP) and backs off 3 mm up; minimal
modification softens x and backs off up by at most 5 mm (the peg's slot is 25 mm deep: a 2 cm
retreat would pull the peg out; on the groove backing off lifts the stylus over the obstacle and
stays inside the 6 mm groove); the clamp caps the lateral spring force both ways at the limit
minus 3 N."""


def task_spec(env_id: str) -> TaskSpec:
    """The :class:`TaskSpec` of ``env_id``; ValueError naming the known ids otherwise."""
    try:
        return TASKS[env_id]
    except KeyError:
        raise ValueError(f"env_id: no Bresa task for {env_id!r}; known: {sorted(TASKS)}") from None
