"""Joint-space I/O: JointState fields -> model-order ``[q, dq]``, efforts <-> robot order.

Every conversion goes through the profile's :class:`~robocritic.profiles.JointMap` (joint order,
sign, offset), the one joint-order codec; what is added here is what a node must check before it
acts on a reading or a command: message consistency, finiteness and physical plausibility, each
failure an :class:`~robocritic.nodes.rejections.InputRejected` with a reason key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from robocritic.nodes.rejections import InputRejected
from robocritic.profiles import JointMap, JointNameError
from robocritic.ros.msgs import Float64MultiArray
from robocritic.ros.msgs.convert import numpy_to_float64_multi_array

PLAUSIBLE_FACTOR = 2.0
"""How far beyond a joint's profile limits a value may lie before it is treated as impossible.

A reading or command beyond it is a sensor, scaling or unit fault, not a state of the robot, and
is rejected as ``out_of_range`` (see :class:`PlausibleRange`): acting on it would command full
effort toward a place the joint cannot be.
"""


@dataclass(frozen=True)
class PlausibleRange:
    """Model-order values a profile's joints can physically take; beyond them is a fault.

    The rule, with ``f`` = ``factor`` (>= 1): a position outside the joint's limit range
    ``[low, high]`` scaled by ``f`` about its centre (for symmetric limits ``|q| > f * high``;
    a joint without position limits is not checked), a velocity with ``|dq| > f * velocity_limit``
    or an effort with ``|u| > f * effort_limit`` raises :class:`InputRejected` with reason
    ``out_of_range``. Values between the limit and ``f`` times it are plausible (a joint past a
    soft limit, an effort that the actuator saturates) and pass.

    Attributes:
        names: joint names in model order.
        factor: ``f``.
        position_low, position_high: ``(n,)`` plausible positions [rad or m].
        velocity_max, effort_max: ``(n,)`` plausible magnitudes [rad/s or m/s, N m or N].
    """

    names: tuple[str, ...]
    factor: float
    position_low: np.ndarray
    position_high: np.ndarray
    velocity_max: np.ndarray
    effort_max: np.ndarray

    @classmethod
    def of(cls, joint_map: JointMap, factor: float = PLAUSIBLE_FACTOR) -> PlausibleRange:
        """The plausible range of ``joint_map``'s joints for ``factor`` (``ValueError`` if < 1)."""
        if not (math.isfinite(factor) and factor >= 1.0):
            raise ValueError(f"plausible factor must be a finite number >= 1; got {factor!r}")
        limits = joint_map.position_limits
        bounded = np.all(np.isfinite(limits), axis=1)
        finite = np.where(bounded[:, None], limits, 0.0)  # centre of [-inf, inf] would be NaN
        centre, half = finite.mean(axis=1), factor * (finite[:, 1] - finite[:, 0]) / 2
        return cls(
            names=joint_map.names,
            factor=float(factor),
            position_low=np.where(bounded, centre - half, -np.inf),
            position_high=np.where(bounded, centre + half, np.inf),
            velocity_max=factor * joint_map.velocity_limit,
            effort_max=factor * joint_map.effort_limit,
        )

    def check_state(self, q: np.ndarray, dq: np.ndarray) -> None:
        """Raise ``out_of_range`` for an impossible JointState (model order and units)."""
        self._check("JointState position", q, self.position_low, self.position_high)
        self._check("JointState velocity", dq, -self.velocity_max, self.velocity_max)

    def check_effort(self, u: np.ndarray) -> None:
        """Raise ``out_of_range`` for an impossible effort command (model order and units)."""
        self._check("command effort", u, -self.effort_max, self.effort_max)

    def _check(self, field: str, values: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
        bad = (values < low) | (values > high)
        if bad.any():
            i = int(bad.argmax())  # the first offending joint
            raise InputRejected(
                "out_of_range",
                f"{field} of joint {self.names[i]!r} is {values[i]:g}, beyond {self.factor:g}x the profile's "
                f"limit (plausible [{low[i]:g}, {high[i]:g}], model units): a sensor or scaling fault",
            )


def decode_joint_state(
    joint_map: JointMap,
    names: Sequence[str],
    position: Sequence[float],
    velocity: Sequence[float],
    *,
    ignore_unknown_joints: bool = False,
    plausible: PlausibleRange | None = None,
) -> np.ndarray:
    """Model-order state ``[q (n,), dq (n,)]`` [rad, rad/s] from the fields of a JointState.

    ``joint_map`` applies joint order, sign and offset. Raises :class:`InputRejected` with reason
    ``malformed`` (lengths disagree, repeated or non-string names, non-numeric values),
    ``unknown_joint`` (a name the profile does not list, unless ``ignore_unknown_joints``),
    ``missing_joint``, ``no_velocity``, ``non_finite`` (NaN/inf in a joint the node uses) or
    ``out_of_range`` (outside ``plausible``; not checked when ``None``).
    """
    n = len(names)
    if len(position) != n or len(velocity) not in (0, n):
        raise InputRejected(
            "malformed", f"JointState has {n} names, {len(position)} positions and {len(velocity)} velocities"
        )
    try:
        if len(velocity):
            q, dq = joint_map.to_model(names, position, velocity, allow_unknown=ignore_unknown_joints)
        else:
            joint_map.index(names, allow_unknown=ignore_unknown_joints)  # a name fault is reported first
    except JointNameError as exc:
        raise InputRejected(exc.reason, f"JointState: {exc}") from None
    except (TypeError, ValueError) as exc:  # e.g. a position that is not a number
        raise InputRejected("malformed", f"JointState: {exc}") from None
    if not len(velocity):
        raise InputRejected("no_velocity", "JointState carries no velocities; the controller needs them")
    x = np.concatenate([q, dq])
    if not np.isfinite(x).all():
        raise InputRejected("non_finite", f"JointState holds NaN or inf: q={q.tolist()}, dq={dq.tolist()}")
    if plausible is not None:
        plausible.check_state(q, dq)
    return x


def decode_effort(
    values: Sequence[float], joint_map: JointMap, plausible: PlausibleRange | None = None
) -> np.ndarray:
    """Model-order effort ``(n,)`` [N m or N] from a command in robot joint order and units.

    Raises :class:`InputRejected`: ``wrong_size`` (not one value per profile joint),
    ``non_finite`` or ``out_of_range`` (outside ``plausible``; not checked when ``None``).
    """
    u = np.asarray(values, dtype=np.float64).ravel()
    n = len(joint_map.names)
    if u.size != n:
        raise InputRejected(
            "wrong_size", f"command has {u.size} values; the profile has {n} joints {list(joint_map.names)}"
        )
    if not np.isfinite(u).all():
        raise InputRejected("non_finite", f"command holds NaN or inf: {u.tolist()}")
    u = joint_map.effort_to_model(u)
    if plausible is not None:
        plausible.check_effort(u)
    return u


class JointIO:
    """The joint-space edge of a controller node: JointState fields in, effort commands out.

    Args:
        joint_map: the profile's joint order, signs, offsets and limits.
        ignore_unknown_joints: accept JointStates that carry joints the profile does not list.
        plausible_factor: reject states beyond this factor of the joint limits as ``out_of_range``
            (see :class:`PlausibleRange`); ``None`` turns the check off.

    Attributes:
        joint_map: as given.
        plausible: the :class:`PlausibleRange` in use (``None``: off).
        ignore_unknown_joints: as given.
        effort_limits: ``(n,)`` |effort| limits, model units [N m or N].
    """

    def __init__(
        self,
        joint_map: JointMap,
        *,
        ignore_unknown_joints: bool = False,
        plausible_factor: float | None = PLAUSIBLE_FACTOR,
    ) -> None:
        self.joint_map = joint_map
        self.ignore_unknown_joints = ignore_unknown_joints
        self.plausible = None if plausible_factor is None else PlausibleRange.of(joint_map, plausible_factor)
        self.effort_limits = joint_map.effort_limit.copy()

    @property
    def n_joints(self) -> int:
        """Number of joints ``n`` (the state has ``2 n`` values, a command ``n``)."""
        return len(self.joint_map.names)

    def decode_state(
        self, names: Sequence[str], position: Sequence[float], velocity: Sequence[float]
    ) -> np.ndarray:
        """``(2 n,)`` model-order ``[q, dq]`` [rad, rad/s] from a JointState's fields (robot order
        and units); :class:`InputRejected` if unusable."""
        return decode_joint_state(
            self.joint_map, names, position, velocity,
            ignore_unknown_joints=self.ignore_unknown_joints, plausible=self.plausible,
        )  # fmt: skip

    def command_message(self, effort: np.ndarray) -> Float64MultiArray:
        """The command message for model-order efforts ``(n,)`` [N m or N]: robot units, profile order."""
        return numpy_to_float64_multi_array(self.joint_map.effort_to_robot(effort), labels=["joints"])


__all__ = ["PLAUSIBLE_FACTOR", "JointIO", "PlausibleRange", "decode_effort", "decode_joint_state"]
