"""pytest plugin (auto-loaded through the ``pytest11`` entry point once robocritic is installed).

Fixtures:
    closed_loop: :func:`robocritic.testing.run_closed_loop`.
    make_env: ``make_env(id, **kwargs)`` creates a registered env and closes it after the test.
    pendulum_model: the nominal :class:`robocritic.dynamics.PendulumModel`.

Imports are deferred into the fixtures so that loading the plugin costs nothing for test
sessions that do not use robocritic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture
def closed_loop() -> Callable[..., Any]:
    """:func:`robocritic.testing.run_closed_loop`, to run a controller on a model or env."""
    from robocritic.testing.closed_loop import run_closed_loop

    return run_closed_loop


@pytest.fixture
def make_env() -> Iterator[Callable[..., Any]]:
    """``make_env(id, **kwargs)``: ``gym.make`` a registered env, closed after the test."""
    import gymnasium as gym

    import robocritic.envs  # noqa: F401 -- registers the ids

    made: list[Any] = []

    def _make(env_id: str, **kwargs: Any) -> Any:
        env = gym.make(env_id, **kwargs)
        made.append(env)
        return env

    yield _make
    for env in made:
        env.close()


@pytest.fixture
def pendulum_model() -> Any:
    """The nominal clipped pendulum model (g=10, l=m=1, dt=0.05 s, |u| <= 2 N m)."""
    from robocritic.dynamics import PendulumModel

    return PendulumModel()
