"""A joint-space controller's logic without middleware: the safety shell plus joint I/O.

:class:`ControllerLogic` is a :class:`~robocritic.nodes.shell.NodeShell` (activation, e-stop,
watchdog, output checks, optional filter stage) whose states come from JointState fields through
:class:`~robocritic.nodes.io.joint.JointIO` and whose commands are efforts clipped to the
profile's limits:

- **input checks**: a NaN/inf, malformed, wrong-size, unknown-joint or physically impossible
  (``out_of_range``: beyond :data:`~robocritic.nodes.io.joint.PLAUSIBLE_FACTOR` times the
  profile's position/velocity limits, a sensor fault) state is dropped and counted by reason,
  logged at most once per second per reason, and never raises. A dropped state counts as
  missing: the controller keeps acting on the last accepted state until the watchdog expires,
  then sends the safe command (one rule for every kind of bad state);
- **output checks**: a controller that raises or returns NaN/wrong size yields the safe command;
  efforts are clipped to the profile's limits (and counted).

Times are integer nanoseconds of the node's clock (sim time under ``use_sim_time``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from robocritic.interfaces import Controller, SafetyFilter
from robocritic.nodes.io.joint import PLAUSIBLE_FACTOR, JointIO, PlausibleRange
from robocritic.nodes.rejections import InputRejected
from robocritic.nodes.shell import SAFE_REASONS, Command, NodeShell
from robocritic.profiles import JointMap
from robocritic.ros.transport.base import NodeLogger


class ControllerLogic(NodeShell):
    """A :class:`NodeShell` fed by JointState fields, commanding efforts (see the module docstring).

    Args:
        controller: the control law; ``act(x)`` gets the model-order state ``[q, dq]``.
        joint_map: the profile's joint order, signs and offsets.
        effort_limits: ``(n,)`` |effort| limits in model units [N m or N].
        safe_command: ``(n,)`` effort applied on e-stop, stale state, deactivation [N m or N].
        state_timeout_ns: watchdog timeout on the node's clock [ns].
        control_period_ns: control period [ns]; used by :meth:`claim_tick` under sim time.
        active: start active (``autostart``).
        now_ns: clock reading at construction, for the watchdog's grace period after an
            ``active`` start (``None``: the first reading :meth:`stale` sees).
        ignore_unknown_joints: accept JointStates that carry joints the profile does not list.
        plausible_factor: reject states beyond this factor of the joint map's position/velocity
            limits as ``out_of_range`` (see :class:`~robocritic.nodes.io.joint.PlausibleRange`);
            ``None`` turns the check off.
        logger: where warnings go (rate-limited); default a logger named ``controller``.
        safety_filter: certifies the controller's efforts ``(n,)`` against ``[q, dq]`` at every
            filter tick (see :class:`NodeShell`); ``None``: no filter stage.
        filter_period_ns: the filter's period [ns] (<= ``control_period_ns``; default equal).

    Attributes:
        joints: the :class:`~robocritic.nodes.io.joint.JointIO` decoding the states.
        rejected: dropped states by reason (see :func:`~robocritic.nodes.io.joint.decode_joint_state`).
        (and the :class:`NodeShell` counters: ``safe_commands``, ``commands_sent``, ``clipped``,
        ``states_accepted``, ``compute_times_s``.)
    """

    def __init__(
        self,
        controller: Controller,
        joint_map: JointMap,
        *,
        effort_limits: Sequence[float] | np.ndarray,
        safe_command: Sequence[float] | np.ndarray,
        state_timeout_ns: int,
        control_period_ns: int,
        active: bool = True,
        now_ns: int | None = None,
        ignore_unknown_joints: bool = False,
        plausible_factor: float | None = PLAUSIBLE_FACTOR,
        logger: NodeLogger | None = None,
        safety_filter: SafetyFilter | None = None,
        filter_period_ns: int | None = None,
    ) -> None:
        n = len(joint_map.names)
        limits = np.asarray(effort_limits, dtype=np.float64).reshape(-1)
        safe = np.asarray(safe_command, dtype=np.float64).reshape(-1)
        if limits.shape != (n,) or safe.shape != (n,):
            raise ValueError(
                f"effort_limits and safe_command need one value per joint ({n}); got "
                f"{limits.shape} and {safe.shape}"
            )
        self.joints = JointIO(
            joint_map, ignore_unknown_joints=ignore_unknown_joints, plausible_factor=plausible_factor
        )
        self.effort_limits = limits
        super().__init__(
            controller, safe_command=safe, state_timeout_ns=state_timeout_ns,
            control_period_ns=control_period_ns, action_low=-limits, action_high=limits,
            safety_filter=safety_filter, filter_period_ns=filter_period_ns, active=active, now_ns=now_ns,
            logger=logger, what="joint state",
        )  # fmt: skip

    @property
    def joint_map(self) -> JointMap:
        """The profile's joint map."""
        return self.joints.joint_map

    @property
    def plausible(self) -> PlausibleRange | None:
        """The plausibility range states are checked against (``None``: off)."""
        return self.joints.plausible

    @property
    def ignore_unknown_joints(self) -> bool:
        """Whether JointStates may carry joints the profile does not list."""
        return self.joints.ignore_unknown_joints

    def on_state(
        self,
        names: Sequence[str],
        position: Sequence[float],
        velocity: Sequence[float],
        stamp_ns: int,
        now_ns: int,
    ) -> bool:
        """Check and store a JointState's fields; ``False`` (counted, logged) if dropped.

        Args:
            names, position, velocity: the message's fields (robot order and units).
            stamp_ns: ``header.stamp`` [ns].
            now_ns: receipt time on the node's clock [ns] (what the watchdog measures).
        """
        try:
            x = self.joints.decode_state(names, position, velocity)
        except InputRejected as exc:
            self.reject(exc)
            return False
        except (TypeError, ValueError) as exc:  # a field of the wrong kind altogether
            self.reject(InputRejected("malformed", str(exc)))
            return False
        self.accept_state(x, stamp_ns, now_ns)
        return True


__all__ = ["SAFE_REASONS", "Command", "ControllerLogic"]
