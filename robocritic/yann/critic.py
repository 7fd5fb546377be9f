"""Critics of YANN-RL: the discounted-LQR quadratic Q-function plus a zero-initialised network,
and the plain MLP critic of the DDPG baseline. Both estimate a discounted *cost* (lower is better).

YANN critic (the critic of YANN-RL), with ``z = [x - x_eq; u - u_eq]`` (deviation units)::

    Q(x, u) = cost_scale * z' M z + aux(x, u)
    M = [[Q_w + g A'PA,  g A'PB],
         [g B'PA,        R + g B'PB]]

``P`` solves the DISCOUNTED Riccati equation (the undiscounted problem on ``sqrt(g) A,
sqrt(g) B``; :func:`~robocritic.controllers.lqr.dlqr` with ``discount=g``). Then ``z'Mz`` is
exactly the discounted Q-function of the linear model under the unconstrained LQR policy
``u = -K x`` with the stage cost ``x'Q_w x + u'R u``: ``Q(x, u) = c(x, u) + g Q(x', -K x')``
holds to rounding. The paper's undiscounted ``P`` would leave a residual of the order of
``1 - g`` in that identity, so the discounted one is used. ``aux`` is an MLP on the scaled
deviations with a zero last layer: it is exactly 0 at initialisation and learns what the
quadratic misses (constraints, nonlinearity).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from robocritic.controllers.lqr import dlqr
from robocritic.dynamics.base import LinearModel
from robocritic.learning.spec import half_widths
from robocritic.yann.actor import feature_size, make_mlp, state_features

__all__ = ["MLPCritic", "YANNCritic", "lqr_q_matrix"]


def lqr_q_matrix(
    A: np.ndarray, B: np.ndarray, Q: np.ndarray, R: np.ndarray, gamma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadratic Q-function of the discounted LQR problem.

    Args:
        A: ``(n_x, n_x)``, B: ``(n_x, n_u)`` discrete model (deviation units).
        Q: ``(n_x, n_x)`` stage state weight, R: ``(n_u, n_u)`` input weight.
        gamma: discount in (0, 1].

    Returns:
        ``M (n_x + n_u, n_x + n_u)`` symmetric, ``K (n_u, n_x)`` (optimal law ``u = -K x``) and
        ``P (n_x, n_x)`` (value ``x'Px``), all of the discounted problem.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64).reshape(A.shape[0], -1)
    Q = np.atleast_2d(np.asarray(Q, dtype=np.float64))
    R = np.atleast_2d(np.asarray(R, dtype=np.float64))
    K, P = dlqr(A, B, Q, R, discount=gamma)
    M = np.block(
        [
            [Q + gamma * A.T @ P @ A, gamma * A.T @ P @ B],
            [gamma * B.T @ P @ A, R + gamma * B.T @ P @ B],
        ]
    )
    return 0.5 * (M + M.T), K, P


class YANNCritic(nn.Module):
    """``Q(x, u) = cost_scale * z'Mz + aux(x, u)`` (module docstring); a discounted cost.

    Args:
        model: linear model (``A, B, x_eq, u_eq``, and the state / input boxes whose finite
            half-widths scale the auxiliary network's inputs).
        state_weight: ``Q_w (n_x, n_x)``; input_weight: ``R (n_u, n_u)`` of the stage cost.
        gamma: discount factor.
        hidden: widths of the auxiliary MLP; activation: its hidden activation.
        cost_scale: the critic predicts ``cost_scale`` times the discounted cost.
        train_quadratic: ``M`` is a trainable parameter (initialised from the LQR; the paper's
            critic) instead of a frozen buffer. The state-dict key is ``M`` either way.
        dtype: parameter dtype.

    Buffers: ``M (n_x + n_u, n_x + n_u)`` (a parameter if ``train_quadratic``), ``x_eq``,
    ``u_eq``, ``z_scale (n_x + n_u,)``.
    """

    def __init__(
        self,
        model: LinearModel,
        state_weight: np.ndarray,
        input_weight: np.ndarray,
        gamma: float,
        hidden: Sequence[int] = (64, 64),
        activation: str = "tanh",
        *,
        cost_scale: float = 1.0,
        train_quadratic: bool = False,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        M, _, _ = lqr_q_matrix(model.A, model.B, state_weight, input_weight, gamma)
        self.n_x, self.n_u = model.n_x, model.n_u
        M_t = torch.from_numpy(cost_scale * M).to(dtype)
        if train_quadratic:
            self.M = nn.Parameter(M_t)
        else:
            self.register_buffer("M", M_t)
        self.register_buffer("x_eq", torch.from_numpy(model.x_eq.copy()).to(dtype))
        self.register_buffer("u_eq", torch.from_numpy(model.u_eq.copy()).to(dtype))
        self.register_buffer("z_scale", torch.from_numpy(_box_scale(model)).to(dtype))
        self.aux = make_mlp(self.n_x + self.n_u, hidden, 1, activation, zero_last=True, dtype=dtype)

    def quadratic_parameters(self) -> list[nn.Parameter]:
        """``[M]`` if the quadratic part is trainable, else ``[]``."""
        return [self.M] if isinstance(self.M, nn.Parameter) else []

    def deviation(self, x: Tensor, u: Tensor) -> Tensor:
        """``z = [x - x_eq, u - u_eq]`` ``(B, n_x + n_u)`` for absolute ``x (B, n_x)``, ``u (B, n_u)``."""
        return torch.cat([x - self.x_eq, u - self.u_eq], dim=-1)

    def quadratic(self, x: Tensor, u: Tensor, *, z: Tensor | None = None) -> Tensor:
        """``cost_scale * z'Mz`` for ``x (B, n_x)``, ``u (B, n_u)`` absolute -> ``(B,)``
        (``z``: their :meth:`deviation` if already computed)."""
        if z is None:
            z = self.deviation(x, u)
        return ((z @ self.M) * z).sum(dim=-1)

    def forward(self, x: Tensor, u: Tensor) -> Tensor:
        """``x (B, n_x)``, ``u (B, n_u)`` absolute -> ``Q (B,)`` (scaled discounted cost)."""
        # One z for both terms: its gradient is accumulated once, in the same order as ever
        # (bit-identical training across versions).
        z = self.deviation(x, u)
        return self.quadratic(x, u, z=z) + self.aux(z / self.z_scale).squeeze(-1)


class MLPCritic(nn.Module):
    """Plain DDPG critic ``Q(x, u) = MLP([features(x); (u - u_eq) / u_scale])`` -> ``(B,)``
    (:func:`~robocritic.yann.actor.state_features`: the scaled state or Gym's observation).

    Args:
        x_eq, x_scale: ``(n_x,)``; u_eq, u_scale: ``(n_u,)`` centring and positive scales.
        hidden: widths (the paper: 256, 256); activation; features: "state" or "gym"; dtype.
    """

    def __init__(
        self,
        x_eq: np.ndarray,
        x_scale: np.ndarray,
        u_eq: np.ndarray,
        u_scale: np.ndarray,
        hidden: Sequence[int] = (256, 256),
        activation: str = "relu",
        *,
        features: str = "state",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        n_x, n_u = len(x_eq), len(u_eq)
        self.n_x, self.features = n_x, features
        self.net = make_mlp(feature_size(n_x, features) + n_u, hidden, 1, activation, zero_last=False, dtype=dtype)
        centre = np.concatenate([np.asarray(x_eq, dtype=np.float64), np.asarray(u_eq, dtype=np.float64)])
        scale = np.concatenate([np.asarray(x_scale, dtype=np.float64), np.asarray(u_scale, dtype=np.float64)])
        self.register_buffer("z_centre", torch.as_tensor(centre, dtype=dtype))
        self.register_buffer("z_scale", torch.as_tensor(scale, dtype=dtype))

    def forward(self, x: Tensor, u: Tensor) -> Tensor:
        """``x (B, n_x)``, ``u (B, n_u)`` absolute -> ``Q (B,)``."""
        if self.features == "state":  # the original expression (bit-identical training)
            return self.net((torch.cat([x, u], dim=-1) - self.z_centre) / self.z_scale).squeeze(-1)
        n = self.n_x
        feats = state_features(x, self.z_centre[:n], self.z_scale[:n], self.features)
        return self.net(torch.cat([feats, (u - self.z_centre[n:]) / self.z_scale[n:]], dim=-1)).squeeze(-1)


def _box_scale(model: LinearModel) -> np.ndarray:
    """``(n_x + n_u,)`` half-widths of the state and input boxes (:func:`half_widths`)."""
    boxes = (model.state_box, model.input_box)
    return np.concatenate([half_widths(box.low, box.high) for box in boxes])
