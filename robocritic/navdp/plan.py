"""What every local planner answers: a :class:`Plan` (torch-free, so that code which only runs or
scores plans, such as the simulated robot's bridge, does not load torch)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Plan"]


@dataclass(frozen=True)
class Plan:
    """The outcome of one plan (:meth:`~robocritic.navdp.planner.NavDPPlanner.plan`, or a
    classical planner's in the same form).

    Attributes:
        candidates: ``(K, N, 3)`` float32 cumulative waypoints ``(x, y, theta)`` [m, m, rad] in
            the robot frame.
        scores: ``(K,)`` float32 critic scores after the no-goal rule (NaN without a critic; the
            goal progress of ``"critic"`` selection is not added in).
        best: index of the picked candidate (with ``stop``: the highest-scoring one).
        stop: no candidate is safe enough: do not follow ``path``; rotate in place.
        rotate: with ``stop``, the turn direction: +1 counter-clockwise (toward +y, left), -1
            clockwise; 0 when not stopping.
    """

    candidates: np.ndarray
    scores: np.ndarray
    best: int
    stop: bool
    rotate: int

    @property
    def path(self) -> np.ndarray:
        """``(N, 3)`` waypoints of the chosen candidate."""
        return self.candidates[self.best]
