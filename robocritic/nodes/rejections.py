"""What a node does with an input it must drop: name the reason, count it, log it rate-limited.

Every rule about what a node accepts raises :class:`InputRejected` with a reason key; the logic
classes catch it, count it in a :class:`RejectionCounter` and carry on (a bad message never
raises out of a callback).
"""

from __future__ import annotations

from collections import Counter

from robocritic.ros.transport.base import NodeLogger

REJECT_LOG_PERIOD_S = 1.0
"""At most one log line per rejection reason per this many seconds; the counters count them all."""


class InputRejected(ValueError):
    """An incoming message a node must drop; ``reason`` is the counter key, the text says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class RejectionCounter:
    """Counts dropped inputs by reason and logs each reason at most once per ``period_s``.

    Attributes:
        counts: rejections so far, by reason (``non_finite``, ``wrong_size``, ...).
    """

    def __init__(self, logger: NodeLogger, what: str, period_s: float = REJECT_LOG_PERIOD_S) -> None:
        self.counts: Counter[str] = Counter()
        self._logger = logger
        self._what = what
        self._period_s = period_s

    def reject(self, exc: InputRejected) -> None:
        """Count ``exc`` and log it (rate-limited per reason)."""
        self.counts[exc.reason] += 1
        self._logger.warning(
            f"dropped {self._what}: {exc} ({exc.reason}: {self.counts[exc.reason]} so far)",
            throttle_s=self._period_s,
            key=("rejected", self._what, exc.reason),
        )

    @property
    def total(self) -> int:
        """All rejections so far."""
        return sum(self.counts.values())


__all__ = ["REJECT_LOG_PERIOD_S", "InputRejected", "RejectionCounter"]
