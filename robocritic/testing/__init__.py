"""Helpers for unit-testing controllers in closed loop, without ROS.

Example::

    from robocritic.testing import run_closed_loop, assert_constraints_satisfied, assert_settles

    def test_my_controller(pendulum_model):      # fixture from robocritic's pytest plugin
        traj = run_closed_loop(MyController(), pendulum_model, x0=[0.2, 0.0], steps=100)
        assert_constraints_satisfied(traj)
        assert_settles(traj, within=3.0, tolerance=0.01)
"""

from robocritic.testing.assertions import (
    assert_constraints_satisfied,
    assert_settles,
    assert_tracking_error,
    settling_time,
    tracking_error,
)
from robocritic.testing.closed_loop import Trajectory, run_closed_loop

__all__ = [
    "Trajectory",
    "assert_constraints_satisfied",
    "assert_settles",
    "assert_tracking_error",
    "run_closed_loop",
    "settling_time",
    "tracking_error",
]
