"""YANN actor (robocritic.yann.actor): exactly zero corrections at initialisation, so the actor
equals the explicit MPC (to 1e-12 in float64 on >= 1000 feasible states), the documented
nearest-region fallback outside the feasible set, and corrections that train per region."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from robocritic.controllers.explicit_mpc import ExplicitLaw, ExplicitMPC
from robocritic.controllers.lqr import dlqr

from robocritic.dynamics import CSTRModel, PendulumModel
from robocritic.yann.actor import MLPActor, TorchPolicy, YANNActor
from robocritic.yann.laws import saturated_linear_law

N_FEASIBLE = 1000
EXACT = 1e-12


def hand_law(model_name: str) -> ExplicitLaw:
    """A 3-region saturated-LQR law (no PPOPT needed)."""
    if model_name == "pendulum":
        lin, Q, R = PendulumModel().linearize(), np.eye(2), np.array([[1e-3]])
    else:
        lin, Q, R = CSTRModel().linearize(), 0.1 * np.eye(4), np.array([[1e-4]])
    K, _ = dlqr(lin.A, lin.B, Q, R)
    return saturated_linear_law(lin, K)


def mpc_law(model_name: str) -> ExplicitLaw:
    """The paper's N=2 explicit MPC (PPOPT)."""
    pytest.importorskip("ppopt")
    from robocritic.controllers.mpc import MPCConfig

    from robocritic.yann.mpqp import compute_explicit_mpc

    if model_name == "pendulum":
        lin, cfg = PendulumModel().linearize(), MPCConfig(horizon=2, Q=np.eye(2), R=1e-3)
    else:
        lin, cfg = CSTRModel().linearize(), MPCConfig(horizon=2, Q=0.1 * np.eye(4), R=1e-4)
    return compute_explicit_mpc(lin, cfg).law


LAWS = {
    "hand-pendulum": lambda: hand_law("pendulum"),
    "hand-cstr": lambda: hand_law("cstr"),
    "mpc-pendulum": lambda: mpc_law("pendulum"),
    "mpc-cstr": lambda: mpc_law("cstr"),
}
_CACHE: dict[str, ExplicitLaw] = {}


@pytest.fixture(params=list(LAWS))
def law(request) -> ExplicitLaw:
    if request.param not in _CACHE:
        _CACHE[request.param] = LAWS[request.param]()
    return _CACHE[request.param]


def domain_states(law: ExplicitLaw, n: int, seed: int, widen: float = 1.0) -> np.ndarray:
    """Uniform absolute states in the law's domain box (scaled by ``widen`` about its centre)."""
    rng = np.random.default_rng(seed)
    c = 0.5 * (law.domain_low + law.domain_high)
    h = 0.5 * widen * (law.domain_high - law.domain_low)
    return law.x_eq + rng.uniform(c - h, c + h, size=(n, law.n_x))


@pytest.mark.parametrize("zero_init", ["zero_last", "mirrored"])
def test_initial_actor_is_the_explicit_mpc(law: ExplicitLaw, zero_init: str):
    torch.manual_seed(0)
    actor = YANNActor(law, (16, 16), "tanh", zero_init=zero_init)
    X = domain_states(law, 3000, seed=1)
    ref = ExplicitMPC(law).evaluate(X)
    assert ref.feasible.sum() >= N_FEASIBLE
    parts = actor.parts(torch.from_numpy(X))
    # The correction is exactly 0.0 (not merely small) at every state.
    assert torch.count_nonzero(parts["g"]) == 0
    u = parts["u"].detach().numpy()
    assert np.max(np.abs(u - ref.u)[ref.feasible]) <= EXACT * max(1.0, float(np.abs(ref.u).max()))
    np.testing.assert_array_equal(parts["feasible"].numpy(), ref.feasible)
    np.testing.assert_array_equal(parts["region"].numpy()[ref.feasible], ref.region[ref.feasible])


def test_outside_the_feasible_set_uses_the_nearest_region(law: ExplicitLaw):
    actor = YANNActor(law, (8,), "tanh")
    X = domain_states(law, 2000, seed=2, widen=1.6)
    ref = ExplicitMPC(law).evaluate(X)
    outside = ~ref.feasible
    assert outside.sum() > 50
    parts = actor.parts(torch.from_numpy(X))
    assert not parts["feasible"].numpy()[outside].any()
    u = parts["u"].detach().numpy()
    # Same fallback as ExplicitMPC: nearest region by margin, clipped to the input box.
    assert np.max(np.abs(u - ref.u)[outside]) <= EXACT * max(1.0, float(np.abs(ref.u).max()))
    assert np.all(u >= law.u_eq + law.u_low - 1e-12) and np.all(u <= law.u_eq + law.u_high + 1e-12)


def test_mirrored_init_has_gradient_in_every_layer_and_zero_last_only_in_the_last():
    law = hand_law("pendulum")
    x = torch.from_numpy(domain_states(law, 256, seed=3, widen=0.2))
    for zero_init, expect_hidden_grad in (("mirrored", True), ("zero_last", False)):
        torch.manual_seed(0)
        actor = YANNActor(law, (16, 16), "tanh", zero_init=zero_init)
        actor.parts(x)["g"].sum().backward()
        grads = [w.grad for w in actor.correction.weights]
        assert grads[-1] is not None and grads[-1].abs().sum() > 0
        hidden = float(sum(g.abs().sum() for g in grads[:-1]))
        assert (hidden > 0) == expect_hidden_grad


def test_corrections_train_only_the_visited_region():
    law = hand_law("pendulum")
    actor = YANNActor(law, (16,), "tanh")
    x = torch.tensor([[0.01, 0.0], [-0.02, 0.01]], dtype=torch.float64)  # region 0 (unsaturated)
    region = actor.parts(x)["region"]
    assert torch.all(region == 0)
    opt = torch.optim.Adam(actor.correction_parameters(), lr=1e-2)
    before = [p.detach().clone() for p in actor.correction_parameters()]
    last_before = actor.correction.weights[-1].detach().clone()
    actor(x).sum().backward()
    opt.step()
    for p, b in zip(actor.correction_parameters(), before):
        changed = (p.detach() != b).flatten(1).any(dim=1)  # per region
        assert not changed[1:].any()
    # With a zero last layer only that layer has a gradient at the first step.
    assert (actor.correction.weights[-1][0] != last_before[0]).any()
    # The law itself is frozen (buffers) unless train_law=True.
    assert actor.law_parameters() == []
    assert len(YANNActor(law, train_law=True).law_parameters()) == 2


def test_float32_actor_is_close_to_the_law():
    law = hand_law("cstr")
    actor = YANNActor(law, dtype=torch.float32)
    X = domain_states(law, 1000, seed=4)
    ref = ExplicitMPC(law).evaluate(X)
    u = TorchPolicy(actor).act_batch(X)
    # float32 rounding of u ~ 113 W/(m^2 K) and of the 475 K state: documented bound 1e-3.
    assert np.max(np.abs(u - ref.u)[ref.feasible]) < 1e-3


def test_mlp_actor_stays_in_the_input_box():
    torch.manual_seed(0)
    actor = MLPActor(np.zeros(2), np.array([2.0, 8.0]), np.array([-2.0]), np.array([2.0]))
    u = actor(torch.randn(512, 2) * 100)
    assert torch.all(u.abs() <= 2.0)
    policy = TorchPolicy(actor)
    assert policy.act(np.array([0.1, -0.1])).shape == (1,)
