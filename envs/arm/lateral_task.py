"""What the planar arm's LATERAL-force tasks share (``peg_in_hole_v0.py``, ``groove_v0.py``): the
limited force is the magnitude of the wrench along base x, a second low-pass runs on the normal
force (along z), and the observation is ``[q, qd, x, v, f_lat filtered, f_n filtered, t]``.

The raw forces come from :meth:`~robocritic.envs.arm.task.ArmTask.arm_state`'s wrench (the external
force on the tool, weight removed): ``f_lat = |wrench_x|`` (``force_raw``, filtered by
``force_filter`` into ``force_filtered``), ``f_n = wrench_z`` (``normal_force_raw``, filtered by
:attr:`LateralForceTask.normal_filter` into ``normal_force``). The engine side is
:class:`~robocritic.envs.arm.mujoco_arm.MujocoTableArm` (its ``contact_force_xz``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from robocritic.envs.arm.model import ArmGeometry
from robocritic.envs.arm.task import ArmTask, FirstOrderLowPass

#: Size of the observation.
N_OBS = 13


class LateralForceTask(ArmTask):
    """A planar arm task whose limited force is the lateral one (see the module docstring).

    A task passes :data:`N_OBS` to :meth:`~ArmTask._init_task` and starts its ``_force_info`` with
    :meth:`_lateral_info`; the force filter hooks of :class:`~ArmTask` run on both forces here.
    """

    def _init_arm(self, force_filter_tau: float, push_duration: float) -> None:
        """:meth:`ArmTask._init_arm`, the normal force's filter and the arm's link lengths."""
        super()._init_arm(force_filter_tau, push_duration)
        # ArmTask's filter runs on the lateral magnitude (force_filter); a second one on the normal.
        self.normal_filter = FirstOrderLowPass(force_filter_tau, self.step_dt)
        self._geometry = ArmGeometry.from_mujoco(self.model)  # type: ignore[attr-defined]
        self._lateral_signed = 0.0
        self._normal_raw = 0.0

    def _read_forces(self) -> tuple[float, float]:
        """Raw lateral magnitude and normal force from the wrist sensor now, N (module docstring)."""
        wrench = self.arm_state().wrench  # (x, z): external force on the tool, weight removed
        self._lateral_signed = float(wrench[0])
        self._normal_raw = float(wrench[1])
        self._force_raw = abs(self._lateral_signed)
        return self._force_raw, self._normal_raw

    def _reset_force_filter(self) -> None:
        """Start both filters from the raw forces now."""
        lateral, normal = self._read_forces()
        self.force_filter.reset(lateral)
        self.normal_filter.reset(normal)

    def _update_force_filter(self) -> tuple[float, float]:
        """Read the raw forces after a step and filter them; returns the lateral force (raw,
        filtered), N."""
        lateral, normal = self._read_forces()
        force = self.force_filter.update(lateral)
        self.normal_filter.update(normal)
        return lateral, force

    def _get_obs(self) -> np.ndarray:
        return self._obs(self.force_filter.y, self.normal_filter.y, self.time)

    def _lateral_info(self) -> dict[str, Any]:
        """The force part of ``info`` (module docstring): :meth:`~ArmTask._sensor_info` plus
        ``lateral_force_signed``, ``normal_force``, ``normal_force_raw`` and the engine's
        ``contact_force_true`` (``|f_x|``) and ``normal_force_true`` (``f_z``), N."""
        fx, fz = self.contact_force_xz()  # type: ignore[attr-defined]
        return {
            **self._sensor_info(),
            "lateral_force_signed": self._lateral_signed,
            "normal_force": self.normal_filter.y,
            "normal_force_raw": self._normal_raw,
            "contact_force_true": abs(fx),
            "normal_force_true": fz,
        }
