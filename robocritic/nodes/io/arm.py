"""Arm I/O: JointState -> ``[q, qd]``, wrist WrenchStamped -> contact force, efforts and
SafetyVerdicts out.

Joint states go through :class:`~robocritic.nodes.io.joint.JointIO` (the profile's
:class:`~robocritic.profiles.JointMap`, its checks and reason keys). The wrench is the external
force on the tool in the arm's base frame with the tool's weight removed (what a driver with tool
load compensation publishes, and what ``arm_sim_bridge`` sends); the normal contact force is its
component along ``normal_axis`` (the surface normal, base frame). Every unusable message is an
:class:`~robocritic.nodes.rejections.InputRejected` with a reason key (``non_finite``,
``wrong_frame``, ``out_of_range``, ``stale_wrench``, and those of :mod:`~robocritic.nodes.io.joint`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robocritic.nodes.io.joint import PLAUSIBLE_FACTOR, JointIO
from robocritic.nodes.rejections import InputRejected
from robocritic.profiles import JointMap
from robocritic.ros.msgs import Float64MultiArray, SafetyVerdict, WrenchStamped
from robocritic.ros.msgs.convert import make_header, numpy_to_wrench, time_to_ns, vector3_to_numpy

AXES = ("x", "y", "z")
"""Names of the base-frame axes a surface normal can lie along."""

WRENCH_PLAUSIBLE_FACTOR = 20.0
"""A contact force above this many times the profile's ``max_contact_force`` is a sensor or unit
fault (``out_of_range``), not a contact: impacts legitimately exceed the limit several times."""


@dataclass(frozen=True)
class WrenchReading:
    """One accepted wrist wrench.

    Attributes:
        stamp_ns: ``header.stamp`` [ns].
        force: ``(3,)`` external force on the tool, base frame [N].
        normal: its component along the surface normal [N] (> 0 pressing).
    """

    stamp_ns: int
    force: np.ndarray
    normal: float


class ArmIO:
    """The edge of an arm controller node: JointState + wrench in, efforts + verdicts out.

    Args:
        joint_map: the profile's joints (order, signs, offsets, limits).
        base_frame: ``header.frame_id`` the wrench must be expressed in; ``""`` accepts any.
        normal_axis: ``"x"``, ``"y"`` or ``"z"``: the surface normal in the base frame.
        max_contact_force: the profile's force limit [N]; forces beyond
            :data:`WRENCH_PLAUSIBLE_FACTOR` times it are rejected (``None``: not checked).
        ignore_unknown_joints, plausible_factor: as :class:`~robocritic.nodes.io.joint.JointIO`.
    """

    def __init__(
        self,
        joint_map: JointMap,
        *,
        base_frame: str = "",
        normal_axis: str = "z",
        max_contact_force: float | None = None,
        ignore_unknown_joints: bool = False,
        plausible_factor: float | None = PLAUSIBLE_FACTOR,
    ) -> None:
        if normal_axis not in AXES:
            raise ValueError(f"normal_axis must be one of {list(AXES)}; got {normal_axis!r}")
        if max_contact_force is not None and not (math.isfinite(max_contact_force) and max_contact_force > 0):
            raise ValueError(f"max_contact_force must be a finite number > 0 [N]; got {max_contact_force!r}")
        self.joints = JointIO(joint_map, ignore_unknown_joints=ignore_unknown_joints,
                              plausible_factor=plausible_factor)  # fmt: skip
        self.base_frame = base_frame
        self.normal_axis = normal_axis
        self.normal_index = AXES.index(normal_axis)
        self.force_max = None if max_contact_force is None else WRENCH_PLAUSIBLE_FACTOR * max_contact_force

    @property
    def n_joints(self) -> int:
        """Number of joints ``n``."""
        return self.joints.n_joints

    def decode_state(
        self, names: Sequence[str], position: Sequence[float], velocity: Sequence[float]
    ) -> np.ndarray:
        """``(2 n,)`` model-order ``[q, qd]`` [rad, rad/s]; :class:`InputRejected` if unusable."""
        return self.joints.decode_state(names, position, velocity)

    def decode_wrench(self, msg: WrenchStamped) -> WrenchReading:
        """The reading of a WrenchStamped; :class:`InputRejected` (``wrong_frame``, ``non_finite``,
        ``out_of_range``) if unusable. The torque is not used (and not checked)."""
        frame = msg.header.frame_id
        if self.base_frame and frame != self.base_frame:
            raise InputRejected(
                "wrong_frame", f"WrenchStamped is in frame {frame!r}; the controller needs the base frame "
                f"{self.base_frame!r} (external force on the tool, tool weight removed)",
            )  # fmt: skip
        force = vector3_to_numpy(msg.wrench.force)
        if not np.isfinite(force).all():
            raise InputRejected("non_finite", f"WrenchStamped force holds NaN or inf: {force.tolist()}")
        if self.force_max is not None and float(np.abs(force).max()) > self.force_max:
            raise InputRejected(
                "out_of_range", f"WrenchStamped force {force.tolist()} N exceeds the plausible "
                f"{self.force_max:g} N: a sensor or unit fault",
            )  # fmt: skip
        return WrenchReading(time_to_ns(msg.header.stamp), force, float(force[self.normal_index]))

    @staticmethod
    def check_fresh(wrench: WrenchReading | None, state_stamp_ns: int, max_age_ns: int) -> WrenchReading:
        """``wrench`` if it is at most ``max_age_ns`` older than the state stamped ``state_stamp_ns``
        (either order); else :class:`InputRejected` ``stale_wrench``."""
        if wrench is None:
            raise InputRejected("stale_wrench", "no wrench received yet; the controller needs the force")
        age = state_stamp_ns - wrench.stamp_ns
        if abs(age) > max_age_ns:
            raise InputRejected(
                "stale_wrench", f"the wrench is {age / 1e9:.4f} s older than the joint state "
                f"(limit {max_age_ns / 1e9:g} s)",
            )  # fmt: skip
        return wrench

    def command_message(self, effort: np.ndarray) -> Float64MultiArray:
        """The effort command for model-order efforts ``(n,)`` [N m]: robot units, profile order."""
        return self.joints.command_message(effort)

    @staticmethod
    def wrench_message(force: np.ndarray, stamp_ns: int, frame_id: str,
                       torque: np.ndarray | None = None) -> WrenchStamped:  # fmt: skip
        """A WrenchStamped of ``force (3,)`` [N] (and ``torque (3,)`` [N m], default zeros)."""
        torque = np.zeros(3) if torque is None else torque
        return WrenchStamped(
            header=make_header(stamp_ns, frame_id),
            wrench=numpy_to_wrench(np.concatenate([np.asarray(force, dtype=np.float64), torque])),
        )

    @staticmethod
    def verdict_message(
        stamp_ns: int,
        *,
        modified: bool,
        value: float,
        nominal: np.ndarray,
        certified: np.ndarray,
        reason: str,
        frame_id: str = "",
    ) -> SafetyVerdict:
        """One tick's SafetyVerdict: ``nominal``/``certified`` impedance commands ``(2 m,)``
        ``[setpoint [m], log stiffness [ln(N/m)]]``; ``value`` larger is safer (NaN: none)."""
        return SafetyVerdict(
            header=make_header(stamp_ns, frame_id), modified=bool(modified), value=float(value),
            nominal=[float(v) for v in nominal], certified=[float(v) for v in certified], reason=reason,
        )  # fmt: skip


__all__ = ["AXES", "WRENCH_PLAUSIBLE_FACTOR", "ArmIO", "WrenchReading"]
