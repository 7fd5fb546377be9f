"""Errors an env raises besides ``ValueError`` (a bad argument, option or action)."""

from __future__ import annotations


class SimulationDiverged(RuntimeError):
    """The simulation left the finite numbers (NaN or inf in the state or observation), or the
    engine reset itself to escape that (MuJoCo's automatic reset on a bad position, velocity or
    acceleration). Raised by ``step`` instead of returning the step as if it were normal; the
    episode is over and every later ``step`` raises it again until ``reset``."""
