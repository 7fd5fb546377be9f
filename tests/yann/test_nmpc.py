"""The nonlinear MPC reference (robocritic.yann.nmpc, extra nmpc: CasADi): config checks, one solve
pointing the pole upright within the torque bound, and (slow) a start the N=2 MPC loses, recovered."""

from __future__ import annotations

import numpy as np
import pytest
from robocritic.controllers.lqr import dlqr

from robocritic.dynamics import PendulumModel

Q, R = np.eye(2), np.array([[1e-3]])


def _nmpc(horizon: int):
    pytest.importorskip("casadi")
    from robocritic.yann.nmpc import NMPCConfig, PendulumNMPC

    model = PendulumModel()
    lin = model.linearize()
    _, P = dlqr(lin.A, lin.B, Q, R)
    return PendulumNMPC(model, Q, R, P, NMPCConfig(horizon=horizon))


@pytest.mark.parametrize("field", ["horizon", "substeps", "max_iter"])
def test_config_rejects_bad_values_by_name(field: str):
    from robocritic.yann.nmpc import NMPCConfig

    with pytest.raises(ValueError, match=field):
        NMPCConfig(**{field: 0})


def test_one_solve_pushes_towards_upright_within_the_bound():
    ctrl = _nmpc(20)
    for x, sign in (((0.3, 0.0), -1.0), ((-0.3, 0.0), 1.0), ((0.0, 1.0), -1.0)):
        ctrl.reset()
        u = ctrl.act(np.array(x))
        assert u.shape == (1,) and abs(u[0]) <= 2.0 + 1e-9
        assert np.sign(u[0]) == sign
    assert ctrl.failures == 0


@pytest.mark.slow
def test_recovers_a_start_the_n2_mpc_loses():
    import gymnasium as gym
    import robocritic.envs  # noqa: F401

    ctrl = _nmpc(60)
    env = gym.make("robocritic/ClippedPendulum-v1")
    try:
        obs, _ = env.reset(seed=0, options={"state": [1.1, 2.9]})  # the N=2 MPC loses it (cost ~2400)
        cost = 0.0
        for _ in range(200):
            obs, r, _, _, _ = env.step(ctrl.act(obs))
            cost -= r
    finally:
        env.close()
    assert abs(obs[0]) < 0.1 and abs(obs[1]) < 0.5
    assert cost < 1000.0
