"""Actors of YANN-RL: the YANN actor (explicit MPC + per-region corrections) and an MLP actor.

:class:`YANNActor`, the actor of YANN-RL. On critical region ``i`` of the explicit law::

    u = clip(u_eq + K_i dx + r_i + h * g_i(dx / s)),   dx = x - x_eq

with ``g_i`` a small per-region MLP (``n_x -> hidden... -> n_u``) whose input is the deviation
state divided by the half-width ``s`` of the law's domain box (so that a 70 K temperature swing
does not saturate a tanh unit) and whose output is multiplied by the half-width ``h`` of the
input box (so that a learning rate means the same relative step for a 2 N m torque and a
55 W/(m^2 K) heat-transfer coefficient). Region selection is the gather form of
:class:`~robocritic.yann.network.YANNFast`: ``i = argmin_i max_j (e_ij dx - f_ij)`` over unit-norm
facet rows. Outside the feasible set this is the *nearest region by margin*, the same documented
fallback as :class:`~robocritic.controllers.explicit_mpc.ExplicitMPC`, so the actor is defined
(and equal to the explicit controller at initialisation) everywhere, never a silent zero
(``outside="nearest"``, the default). ``outside="zero"`` is the paper's network instead: outside
the feasible set every region unit is off, the output is ``u_eq`` (zero deviation) and no
correction applies (nor learns) there; ``parts()["feasible"]`` tells the caller.

Exact zero at initialisation, so that the initial actor IS the explicit MPC (bit for bit up to
the rounding of ``K_i dx``):

* ``zero_init="zero_last"`` (default): the last layer of every ``g_i`` is zero. Standard; the
  hidden layers get gradients from the second update on.
* ``zero_init="mirrored"``: ``g_i = a_i - b_i`` with ``b_i`` an identical copy of ``a_i`` at
  initialisation. Both branches evaluate the same operations on the same numbers, so the
  difference is exactly 0.0 in floating point (mirrored hidden units with antisymmetric outgoing
  weights summed in one matmul would not be: the summation order leaves ~1e-17), and every layer
  gets a non-zero gradient from the first update. It doubles the trainable parameters.

The clip is ``torch.clamp`` (zero gradient where the input saturates): a correction cannot push
an input past its bound, and it does not learn where the law already saturates
(``clip_gradient="zero"``, the default). Where the law is exactly at a bound (the saturated
regions, ``u_law = +-u_max``) a first step that pushes the sum past it leaves that state with no
gradient at all, also when the critic later prefers the opposite input. ``clip_gradient="inward"``
passes the gradient through the clip when the step would move the unclipped value back towards
the box (and blocks it when it would push it further out), so such a correction can return.

:class:`MLPActor` is the plain DDPG baseline: ``u = u_mid + u_half * tanh(MLP(dx / s))``.

Both take absolute observations ``(B, n_x)`` and return absolute inputs ``(B, n_u)``;
:class:`TorchPolicy` wraps either as a :class:`~robocritic.interfaces.BatchController` (numpy in
and out) for closed-loop evaluation. :func:`build_actor` builds the actor of an algorithm from
its config (training and loading a trained policy build it the same way).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from robocritic.controllers.explicit_mpc import ExplicitLaw
from robocritic.learning.spec import half_widths
from robocritic.yann.config import RLConfig
from robocritic.yann.network import YANNFast

__all__ = [
    "MLPActor",
    "RegionMLP",
    "TorchPolicy",
    "YANNActor",
    "activation_module",
    "build_actor",
    "feature_size",
    "make_mlp",
    "state_features",
    "torch_dtype",
]

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def torch_dtype(name: str) -> torch.dtype:
    """``"float64"`` / ``"float32"`` (a learner config's ``dtype``) -> the torch dtype."""
    try:
        return _DTYPES[name]
    except KeyError:
        raise ValueError(f"dtype must be one of {list(_DTYPES)}; got {name!r}") from None


def activation_module(name: str) -> nn.Module:
    """``"tanh"`` -> ``nn.Tanh()``, ``"relu"`` -> ``nn.ReLU()``."""
    if name == "tanh":
        return nn.Tanh()
    if name == "relu":
        return nn.ReLU()
    raise ValueError(f"activation must be 'tanh' or 'relu'; got {name!r}")


def make_mlp(
    n_in: int, hidden: Sequence[int], n_out: int, activation: str, *, zero_last: bool, dtype: torch.dtype
) -> nn.Sequential:
    """``n_in -> hidden... -> n_out`` with ``activation`` between layers and a linear output.

    ``zero_last``: the output layer's weight and bias are zero (the network outputs exactly 0).
    Other layers use PyTorch's default ``nn.Linear`` initialisation (global torch RNG).
    """
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h, dtype=dtype), activation_module(activation)]
        width = h
    out = nn.Linear(width, n_out, dtype=dtype)
    if zero_last:
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)
    layers.append(out)
    return nn.Sequential(*layers)


class RegionMLP(nn.Module):
    """``p`` independent MLPs ``n_in -> hidden... -> n_out``, one per region, evaluated by gather.

    Parameters ``weight_l (p, out_l, in_l)`` and ``bias_l (p, out_l)`` per layer ``l``; sample
    ``b`` uses only its region's slices (so only they receive gradient). Hidden layers are
    initialised per region like ``nn.Linear`` (``U(-1/sqrt(in), 1/sqrt(in))``, global torch RNG);
    the last layer is zero if ``zero_last``.

    Args:
        n_regions: ``p``. n_in, n_out: input and output sizes. hidden: hidden widths.
        activation: "tanh" or "relu". zero_last: zero output layer. dtype: parameter dtype.
    """

    def __init__(
        self,
        n_regions: int,
        n_in: int,
        hidden: Sequence[int],
        n_out: int,
        activation: str,
        *,
        zero_last: bool,
        dtype: torch.dtype,
    ) -> None:
        super().__init__()
        sizes = [n_in, *hidden, n_out]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            bound = 1.0 / math.sqrt(fan_in)
            w = torch.empty(n_regions, fan_out, fan_in, dtype=dtype)
            b = torch.empty(n_regions, fan_out, dtype=dtype)
            if zero_last and layer == len(sizes) - 2:
                w.zero_()
                b.zero_()
            else:
                w.uniform_(-bound, bound)
                b.uniform_(-bound, bound)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))
        self.act = activation_module(activation)
        self.n_regions = n_regions

    def forward(self, z: Tensor, region: Tensor) -> Tensor:
        """``z (B, n_in)``, ``region (B,)`` int64 -> ``(B, n_out)``."""
        h = z
        last = len(self.weights) - 1
        for layer, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.bmm(w[region], h.unsqueeze(-1)).squeeze(-1) + b[region]
            if layer < last:
                h = self.act(h)
        return h


class _InwardClamp(torch.autograd.Function):
    """``clamp(v, low, high)``; backward passes ``dL/dv`` inside the box and, outside it, only
    where a gradient-descent step (``v -= lr dL/dv``) moves ``v`` back towards the box."""

    @staticmethod
    def forward(ctx, v: Tensor, low: Tensor, high: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(v, low, high)
        return torch.clamp(v, low, high)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        v, low, high = ctx.saved_tensors
        above, below = v > high, v < low
        keep = (~above & ~below) | (above & (grad > 0)) | (below & (grad < 0))
        return grad * keep, None, None


def inward_clamp(v: Tensor, low: Tensor, high: Tensor) -> Tensor:
    """``clamp(v, low, high)`` whose gradient may pull an out-of-box ``v`` back in (:class:`YANNActor`)."""
    return _InwardClamp.apply(v, low, high)


class YANNActor(nn.Module):
    """YANN actor: the explicit MPC law plus zero-initialised per-region corrections.

    Args:
        law: the explicit MPC law (deviation units; see
            :class:`~robocritic.controllers.explicit_mpc.ExplicitLaw`).
        hidden: hidden widths of each region's correction (the paper: 16 tanh units per layer
            for the pendulum, 8 for the CSTR).
        activation: "tanh" (the paper's) or "relu".
        zero_init: "zero_last" or "mirrored" (module docstring).
        train_law: make ``K (p, n_u, n_x)`` and ``r (p, n_u)`` trainable parameters (else buffers).
        feasibility_tol: margin (deviation-state units) up to which a state counts as feasible.
        outside: "nearest" (nearest region's law and correction) or "zero" (``u_eq``; the paper's)
            outside the feasible set.
        clip_gradient: "zero" (``torch.clamp``) or "inward" (module docstring).
        anchored: every correction is ``g_i(z) - g_i(0)``: zero at the operating point, so the
            actor keeps the law's equilibrium ``u(x_eq) = u_eq`` whatever the weights (a trained
            correction otherwise shifts the equilibrium and leaves a steady offset).
        gate: ``(inner, outer)`` levels of ``v = dx' P dx``: the correction is multiplied by
            ``clip((v - inner) / (outer - inner), 0, 1)``, so inside ``v <= inner`` the actor IS
            the explicit law; ``None``: no gate. gate_P: ``(n_x, n_x)`` ``P`` of the gate (a
            buffer ``gate_P``; zeros if not given, e.g. before loading a trained state dict).
        dtype: ``torch.float64`` (exact equality with the explicit law) or ``torch.float32``.

    Buffers: ``x_eq (n_x,)``, ``u_eq (n_u,)``, ``u_low, u_high (n_u,)`` (absolute input box),
    ``in_scale (n_x,)`` (domain half-widths), ``out_scale (n_u,)`` (input half-widths), and the
    point-location facets of :attr:`locator`.
    """

    def __init__(
        self,
        law: ExplicitLaw,
        hidden: Sequence[int] = (16, 16),
        activation: str = "tanh",
        *,
        zero_init: str = "zero_last",
        train_law: bool = False,
        feasibility_tol: float = 1e-8,
        outside: str = "nearest",
        clip_gradient: str = "zero",
        anchored: bool = False,
        gate: tuple[float, float] | None = None,
        gate_P: np.ndarray | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        if zero_init not in ("zero_last", "mirrored"):
            raise ValueError(f"zero_init must be 'zero_last' or 'mirrored'; got {zero_init!r}")
        if outside not in ("nearest", "zero"):
            raise ValueError(f"outside must be 'nearest' or 'zero'; got {outside!r}")
        self.outside = outside
        if clip_gradient not in ("zero", "inward"):
            raise ValueError(f"clip_gradient must be 'zero' or 'inward'; got {clip_gradient!r}")
        self.clip_gradient = clip_gradient
        self.anchored = bool(anchored)
        if gate is not None and not (len(gate) == 2 and 0.0 <= gate[0] < gate[1]):
            raise ValueError(f"gate must be (inner, outer) with 0 <= inner < outer; got {gate!r}")
        self.gate = None if gate is None else (float(gate[0]), float(gate[1]))
        if self.gate is not None:  # a buffer only with a gate: ungated state dicts stay as they were
            P = np.zeros((law.n_x, law.n_x)) if gate_P is None else np.asarray(gate_P, dtype=np.float64)
            if P.shape != (law.n_x, law.n_x):
                raise ValueError(f"gate_P must be ({law.n_x}, {law.n_x}); got {P.shape}")
            self.register_buffer("gate_P", torch.from_numpy(P.copy()).to(dtype))
        self.n_regions, self.n_x, self.n_u = law.n_regions, law.n_x, law.n_u
        self.zero_init = zero_init
        self.locator = YANNFast(law, feasibility_tol=feasibility_tol, clip=False, dtype=dtype)
        self.locator.requires_grad_(False)
        K = torch.from_numpy(law.K.copy()).to(dtype)
        r = torch.from_numpy(law.r.copy()).to(dtype)
        if train_law:
            self.K = nn.Parameter(K)
            self.r = nn.Parameter(r)
        else:
            self.register_buffer("K", K)
            self.register_buffer("r", r)
        in_scale = half_widths(law.domain_low, law.domain_high)
        self.register_buffer("in_scale", torch.from_numpy(in_scale).to(dtype))
        self.register_buffer("out_scale", torch.from_numpy(half_widths(law.u_low, law.u_high)).to(dtype))
        self.register_buffer("x_eq", torch.from_numpy(law.x_eq.copy()).to(dtype))
        self.register_buffer("u_eq", torch.from_numpy(law.u_eq.copy()).to(dtype))
        self.register_buffer("u_low", torch.from_numpy(law.u_eq + law.u_low).to(dtype))
        self.register_buffer("u_high", torch.from_numpy(law.u_eq + law.u_high).to(dtype))
        zero_last = zero_init == "zero_last"
        self.correction = RegionMLP(
            law.n_regions, law.n_x, hidden, law.n_u, activation, zero_last=zero_last, dtype=dtype
        )
        self.mirror: RegionMLP | None = copy.deepcopy(self.correction) if not zero_last else None

    def law_parameters(self) -> list[nn.Parameter]:
        """``[K, r]`` if the law is trainable, else ``[]``."""
        return [p for p in (self.K, self.r) if isinstance(p, nn.Parameter)]

    def correction_parameters(self) -> list[nn.Parameter]:
        """Parameters of the per-region corrections (both branches if mirrored)."""
        params = list(self.correction.parameters())
        if self.mirror is not None:
            params += list(self.mirror.parameters())
        return params

    def parts(self, x: Tensor) -> dict[str, Tensor]:
        """Everything the actor computes for absolute states ``x (B, n_x)``.

        Returns:
            ``u (B, n_u)`` clipped absolute input, ``u_law (B, n_u)`` the unclipped explicit law
            (absolute), ``g (B, n_u)`` the correction (input units), ``region (B,)`` int64,
            ``margin (B,)`` and
            ``feasible (B,)`` bool (as :class:`~robocritic.yann.network.YANNFast`).
        """
        region, margin = self.locator.locate(x)
        dx = x - self.x_eq
        u_law = self.u_eq + (torch.bmm(self.K[region], dx.unsqueeze(-1)).squeeze(-1) + self.r[region])
        z = dx / self.in_scale
        g = self._correction(z, region)
        if self.anchored:
            g = g - self._correction(torch.zeros_like(z), region)
        g = self.out_scale * g
        if self.gate is not None:
            inner, outer = self.gate
            level = ((dx @ self.gate_P) * dx).sum(dim=-1, keepdim=True)
            g = g * torch.clamp((level - inner) / (outer - inner), 0.0, 1.0)
        if self.clip_gradient == "inward":
            u = inward_clamp(u_law + g, self.u_low, self.u_high)
        else:
            u = torch.clamp(u_law + g, self.u_low, self.u_high)
        feasible = margin <= self.locator.feasibility_tol
        if self.outside == "zero":
            u = torch.where(feasible.unsqueeze(-1), u, self.u_eq.expand_as(u))
        return {"u": u, "u_law": u_law, "g": g, "region": region, "margin": margin, "feasible": feasible}

    def _correction(self, z: Tensor, region: Tensor) -> Tensor:
        g = self.correction(z, region)
        if self.mirror is not None:
            g = g - self.mirror(z, region)
        return g

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, n_x)`` absolute states -> ``u (B, n_u)`` absolute inputs in the input box."""
        return self.parts(x)["u"]


def state_features(x: Tensor, x_eq: Tensor, x_scale: Tensor, features: str) -> Tensor:
    """Network input of the MLP actor and critic from absolute states ``x (B, n_x)``.

    ``"state"``: ``(x - x_eq) / x_scale`` ``(B, n_x)``. ``"gym"`` (pendulum, ``n_x = 2``):
    Gymnasium's observation ``[cos theta, sin theta, theta_dot / x_scale[1]]`` ``(B, 3)``, theta
    the deviation from ``x_eq[0]``.
    """
    z = (x - x_eq) / x_scale
    if features == "state":
        return z
    if features == "gym":
        theta = x[..., 0] - x_eq[0]
        return torch.stack([torch.cos(theta), torch.sin(theta), z[..., 1]], dim=-1)
    raise ValueError(f"features must be 'state' or 'gym'; got {features!r}")


def feature_size(n_x: int, features: str) -> int:
    """Width of :func:`state_features` for ``n_x`` states (``"gym"`` needs ``n_x = 2``)."""
    if features == "gym":
        if n_x != 2:
            raise ValueError(f"features='gym' is Gymnasium's pendulum observation and needs 2 states; got {n_x}")
        return 3
    return n_x


class MLPActor(nn.Module):
    """Plain DDPG actor: ``u = u_mid + u_half * tanh(MLP(features(x)))``
    (:func:`state_features`: ``(x - x_eq) / x_scale`` or Gym's ``[cos, sin, theta_dot]``).

    Args:
        x_eq: ``(n_x,)`` operating state (input centring). x_scale: ``(n_x,)`` positive scales.
        u_low, u_high: ``(n_u,)`` absolute input box. hidden: widths (the paper: 256, 256).
        activation: hidden activation. features: "state" or "gym". dtype: parameter dtype.
    """

    def __init__(
        self,
        x_eq: np.ndarray,
        x_scale: np.ndarray,
        u_low: np.ndarray,
        u_high: np.ndarray,
        hidden: Sequence[int] = (256, 256),
        activation: str = "relu",
        *,
        features: str = "state",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        n_x, n_u = len(x_eq), len(u_low)
        self.features = features
        self.net = make_mlp(feature_size(n_x, features), hidden, n_u, activation, zero_last=False, dtype=dtype)
        self.register_buffer("x_eq", torch.as_tensor(np.asarray(x_eq, dtype=np.float64), dtype=dtype))
        self.register_buffer("x_scale", torch.as_tensor(np.asarray(x_scale, dtype=np.float64), dtype=dtype))
        lo, hi = np.asarray(u_low, dtype=np.float64), np.asarray(u_high, dtype=np.float64)
        self.register_buffer("u_mid", torch.as_tensor(0.5 * (lo + hi), dtype=dtype))
        self.register_buffer("u_half", torch.as_tensor(0.5 * (hi - lo), dtype=dtype))
        self.register_buffer("u_low", torch.as_tensor(lo, dtype=dtype))
        self.register_buffer("u_high", torch.as_tensor(hi, dtype=dtype))
        self.n_x, self.n_u = n_x, n_u

    def forward(self, x: Tensor) -> Tensor:
        """``x (B, n_x)`` absolute states -> ``u (B, n_u)`` absolute inputs in the input box."""
        return self.u_mid + self.u_half * torch.tanh(
            self.net(state_features(x, self.x_eq, self.x_scale, self.features)))


class TorchPolicy:
    """A torch actor as a :class:`~robocritic.interfaces.BatchController`:
    ``act(obs (n_x,)) -> (n_u,)``, ``act_batch(obs (B, n_x)) -> (B, n_u)``.

    Runs the actor without gradients in its own dtype and returns float64 numpy. Stateless.
    """

    def __init__(self, actor: nn.Module) -> None:
        self.actor = actor
        self._dtype = next(iter(actor.buffers())).dtype

    def reset(self) -> None:
        """Nothing to clear (the actor is a static map)."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(np.asarray(obs, dtype=np.float64), dtype=self._dtype).reshape(1, -1)
        with torch.no_grad():
            return self.actor(x)[0].to(torch.float64).numpy().copy()

    def act_batch(self, obs: np.ndarray) -> np.ndarray:
        """``(B, n_x)`` -> ``(B, n_u)`` float64."""
        x = torch.as_tensor(np.asarray(obs, dtype=np.float64), dtype=self._dtype)
        with torch.no_grad():
            return self.actor(x).to(torch.float64).numpy().copy()


def build_actor(
    config: RLConfig,
    algorithm: str,
    law: ExplicitLaw | None,
    *,
    x_eq: np.ndarray,
    x_scale: np.ndarray,
    u_low: np.ndarray,
    u_high: np.ndarray,
    gate_P: np.ndarray | None = None,
) -> nn.Module:
    """The actor of one of our DDPG learners, from ``config``'s learner section.

    Args:
        config: the run's config. algorithm: "yann_ddpg" (a :class:`YANNActor` on ``law``) or
            "ddpg" (an :class:`MLPActor`).
        law: the explicit law (YANN-DDPG only).
        x_eq, x_scale, u_low, u_high: centring, scales and absolute input box of the MLP actor
            (its buffers: loading a trained actor's state dict overwrites them).
        gate_P: ``P`` of the YANN actor's gate (``config.yann_ddpg.gate``; a buffer, so loading a
            trained state dict fills it).

    Initialisation draws from the global torch RNG (seed it first for reproducible weights).
    """
    learner_config = config.ddpg_learner(algorithm)
    dtype = torch_dtype(learner_config.dtype)
    if algorithm == "yann_ddpg":
        if law is None:
            raise ValueError("yann_ddpg needs an explicit law")
        return YANNActor(
            law,
            config.yann_ddpg.actor_hidden,
            config.yann_ddpg.activation,
            zero_init=config.yann_ddpg.zero_init,
            train_law=config.yann_ddpg.train_law,
            outside=config.yann_ddpg.outside,
            clip_gradient=config.yann_ddpg.clip_gradient,
            anchored=config.yann_ddpg.anchored,
            gate=config.yann_ddpg.gate,
            gate_P=gate_P,
            dtype=dtype,
        )
    return MLPActor(
        x_eq, x_scale, u_low, u_high, learner_config.actor_hidden, learner_config.activation,
        features=learner_config.features, dtype=dtype,
    )
