"""YANNs: an explicit MPC law as a PyTorch network with closed-form weights (no training).

Two equivalent forms of the same :class:`~robocritic.controllers.explicit_mpc.ExplicitLaw`
(``p`` regions, ``q`` facet rows in total, ``n_x`` states, ``m = n_u`` outputs):

:class:`YANN`, the faithful 5-layer network of Braniff & Tian (docs/yann.md#the-yann-network), multi-output::

    L1  q     step H(t) = 1[t >= 0]   W = -E, b = f + facet_tol      row j of its region holds
    L2  p     ReLU                    1 on region i's rows, b = 1 - q_i   all rows of region i hold
    L3  p     ReLU, no bias           z_i - sum_{j>i} z_j            one-hot: highest index wins
    L4  2pm   ReLU, input [z3; x]     +-(K_ik x + r_ik) + M_ik z_i - M_ik   big-M suppression
    L5  m     linear, no bias         +1 / -1 per pair               u_k = sum of the pair

It is exact on the domain iff ``M_ik >= sup_x |K_ik x + r_ik|`` over the domain; ``M`` is computed
from the domain box (``|K c + r| + |K| h``) or, if given, checked against that bound at build
time (a too-small ``M`` raises). Outside every region it outputs ``u_eq`` (a zero deviation),
so it also returns a ``feasible`` flag; the caller must act on it (e.g. :class:`YANNFast`'s or
:class:`~robocritic.controllers.explicit_mpc.ExplicitMPC`'s fallback). Its dense parameters grow
as ``p^2``; float32 rounding is ``~eps32 * M``.

:class:`YANNFast`, the structured ("gather") form: with unit-norm facet rows,
``i* = argmin_i max_j (e_ij x - f_ij)``, ``u = K_i* x + r_i*``. Exact on the feasible set, no
big-M, O(q n_x) work, float32-safe, and it gives a signed infeasibility margin; outside the
feasible set it applies the same documented fallback as ``ExplicitMPC`` (nearest region by
margin, clipped to the input box).

Both take absolute states ``x (B, n_x)`` and return :class:`YANNOutput` with absolute inputs, in
the dtype they were built with (``float64`` default; ``.float()`` or ``dtype=torch.float32``).

Accuracy against the float64 law, on the feasible set (state ``x`` in region ``i``): float64 agrees
to rounding for both forms. float32 errors are bounded by
``4 eps32 (|K_i| (|x| + |x_eq|) + |r_i| + 1)`` for :class:`YANNFast` and the same plus
``4 eps32 M_i`` for :class:`YANN` (``eps32 = 1.19e-7``; the big-M term is why the 5-layer form
loses more in float32 on systems with large inputs), and a float32 feasibility flag can differ
from float64 only close to the feasible set's boundary. The tests check these bounds; measured
errors are in BENCHMARKS.md (explicit_eval).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from robocritic.controllers.explicit_mpc import ExplicitLaw

__all__ = ["YANN", "YANNFast", "YANNOutput", "required_big_m"]

# Relative head-room added to the computed big-M, so that casting the weights to float32 (which
# may round M down by ~6e-8 relative) cannot leave M below the supremum it must dominate.
_BIG_M_HEADROOM = 1e-6


class YANNOutput(NamedTuple):
    """What a YANN returns for a batch of ``B`` states.

    Attributes:
        u: ``(B, n_u)`` inputs, absolute units.
        feasible: ``(B,)`` bool: the state lies in a critical region (the MPC QP is feasible).
        margin: ``(B,)`` signed infeasibility margin (deviation-state units, ``<= 0`` inside;
            :class:`YANNFast` only, ``None`` for the 5-layer :class:`YANN`).
    """

    u: Tensor
    feasible: Tensor
    margin: Tensor | None


def required_big_m(law: ExplicitLaw) -> np.ndarray:
    """``(p, n_u)`` smallest exact big-M: ``sup |K_ik x + r_ik|`` over the law's domain box."""
    return law.law_bounds()


class _Step(nn.Module):
    """Heaviside ``H(t) = 1[t >= 0]`` (as a comparison, so it exports to ONNX)."""

    def forward(self, t: Tensor) -> Tensor:
        return (t >= 0).to(t.dtype)


def _frozen_linear(weight: np.ndarray, bias: np.ndarray | None) -> nn.Linear:
    out_f, in_f = weight.shape
    layer = nn.Linear(in_f, out_f, bias=bias is not None, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(weight)))
        if bias is not None:
            layer.bias.copy_(torch.from_numpy(np.ascontiguousarray(bias)))
    # Closed-form weights: nothing here is trained (YANN-RL adds its own trainable parts).
    layer.requires_grad_(False)
    return layer


class YANN(nn.Module):
    """The faithful 5-layer YANN of an explicit law (see the module docstring).

    Args:
        law: the explicit MPC law.
        big_m: ``None`` (tight M from the domain box, plus a ``1e-6`` relative head-room), a
            scalar, or a ``(p, n_u)`` array. A given M is checked against the domain-box bound.
        facet_tol: added to L1's bias: a state within ``facet_tol`` (deviation units; facet rows
            are normalised) of a region counts as inside it. Match ``ExplicitMPC``'s
            ``feasibility_tol`` to get the same feasibility flag.
        dtype: ``torch.float64`` (exact to ~1e-13) or ``torch.float32``.

    Raises:
        ValueError: ``big_m`` too small for some region/output (the message names the worst one and
            the bound needed), wrong shape, or not finite.

    Attributes:
        l1..l5: the five ``nn.Linear`` layers (frozen); big_m: ``(p, n_u)`` M used (float64 numpy).
    """

    def __init__(
        self,
        law: ExplicitLaw,
        *,
        big_m: float | np.ndarray | None = None,
        facet_tol: float = 1e-8,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        p, m, n_x, q = law.n_regions, law.n_u, law.n_x, law.n_rows
        need = required_big_m(law)
        if big_m is None:
            M = need * (1.0 + _BIG_M_HEADROOM)
        else:
            M = np.asarray(big_m, dtype=np.float64)
            if M.ndim == 0:
                M = np.full((p, m), float(M))
            if M.shape != (p, m):
                raise ValueError(f"big_m must be a scalar or a ({p}, {m}) array; got shape {M.shape}")
            if not np.all(np.isfinite(M)):
                raise ValueError("big_m must be finite")
            short = need - M
            if np.any(short > 0):
                i, k = np.unravel_index(int(np.argmax(short)), short.shape)
                raise ValueError(
                    f"big_m too small: region {i} output {k} law |K x + r| reaches {need[i, k]:.6g} on the "
                    f"domain box but M = {M[i, k]:.6g}; the YANN would be wrong there. Need M >= "
                    f"{need.max():.6g} (or big_m=None for the tight per-region bound)"
                )
        if not (np.isfinite(facet_tol) and facet_tol >= 0):
            raise ValueError(f"facet_tol must be a finite number >= 0; got {facet_tol!r}")
        self.big_m = M
        self.facet_tol = float(facet_tol)

        En, fn = law.normalized()
        counts = np.diff(law.region_ptr)
        owner = np.repeat(np.arange(p), counts)  # region of each stacked row

        W2 = np.zeros((p, q))
        W2[owner, np.arange(q)] = 1.0
        W3 = np.eye(p) - np.triu(np.ones((p, p)), k=1)

        # L4 row (i, k, s), s = +1 / -1: ReLU(M_ik z_i + s (K_ik x + r_ik) - M_ik).
        signs = np.array([1.0, -1.0])
        W4z = np.zeros((p, m, 2, p))
        W4z[np.arange(p), :, :, np.arange(p)] = M[:, :, None]
        W4x = signs[None, None, :, None] * law.K[:, :, None, :]
        b4 = signs[None, None, :] * law.r[:, :, None] - M[:, :, None]
        W4 = np.concatenate([W4z.reshape(2 * p * m, p), W4x.reshape(2 * p * m, n_x)], axis=1)
        W5 = np.zeros((m, p, m, 2))
        for k in range(m):
            W5[k, :, k, :] = signs

        self.step = _Step()
        self.l1 = _frozen_linear(-En, fn + self.facet_tol)
        self.l2 = _frozen_linear(W2, 1.0 - counts.astype(np.float64))
        self.l3 = _frozen_linear(W3, None)
        self.l4 = _frozen_linear(W4, b4.reshape(-1))
        self.l5 = _frozen_linear(W5.reshape(m, 2 * p * m), None)
        self.register_buffer("x_eq", torch.from_numpy(law.x_eq.copy()))
        self.register_buffer("u_eq", torch.from_numpy(law.u_eq.copy()))
        self.n_regions, self.n_x, self.n_u = p, n_x, m
        self.to(dtype)

    def activations(self, x: Tensor) -> dict[str, Tensor]:
        """All layer outputs for ``x (B, n_x)``: ``h1 (B, q)``, ``z2, z3 (B, p)``, ``h4 (B, 2pm)``,
        ``y (B, n_u)`` (deviation input)."""
        dx = x - self.x_eq
        h1 = self.step(self.l1(dx))
        z2 = torch.relu(self.l2(h1))
        z3 = torch.relu(self.l3(z2))
        h4 = torch.relu(self.l4(torch.cat([z3, dx], dim=-1)))
        return {"h1": h1, "z2": z2, "z3": z3, "h4": h4, "y": self.l5(h4)}

    def forward(self, x: Tensor) -> YANNOutput:
        """``x (B, n_x)`` absolute states -> ``YANNOutput(u (B, n_u), feasible (B,), None)``.

        Where ``feasible`` is False ``u`` is ``u_eq`` (the paper network's zero): handle it.
        """
        a = self.activations(x)
        feasible = a["z3"].sum(dim=-1) > 0.5
        return YANNOutput(self.u_eq + a["y"], feasible, None)


def _resync_after_load(module: nn.Module, incompatible_keys: object) -> None:
    """``load_state_dict`` post-hook of :class:`YANNFast` (module-level: picklable)."""
    module._sync_slot_buffers()


class YANNFast(nn.Module):
    """Structured (gather) form of a YANN: exact on the feasible set, no big-M, O(q n_x).

    Args:
        law: the explicit MPC law.
        feasibility_tol: margin (deviation-state units) up to which a state counts as feasible.
        clip: clip ``u`` to the input box (on the feasible set this changes nothing beyond
            rounding; outside it is the fallback's saturation).
        dtype: ``torch.float64`` or ``torch.float32``.

    Buffers: ``E (p * q_max, n_x)`` and ``f (p, q_max)`` the padded unit-norm facets (see
    :meth:`ExplicitLaw.padded`), ``K (p, n_u, n_x)``, ``r (p, n_u)``, ``x_eq``, ``u_eq``,
    ``u_low``, ``u_high`` (absolute input box). These are the module's state (``state_dict``).

    Evaluation (speed): the padded facets are also kept slot-major (column ``j p + i`` is slot
    ``j`` of region ``i``), so the margins of a batch are one ``addmm`` and the per-region maximum
    is one ``amax`` over a middle axis (vectorised across regions; the region-major layout's
    reduction over a short inner axis was the slow part). Outside ``torch.jit``/``torch.export``
    (ONNX export records one graph), a large batch is located in chunks of about
    :attr:`CHUNK_ELEMS` margin entries, so the work array stays in cache instead of a fresh
    tens-of-MB tensor per call (measured 5-15x faster at batch 4096 with 115-193 regions in
    float64). The slot-major copies are derived, non-persistent buffers: they follow
    ``.to()``/``.float()`` and are not part of the ``state_dict``. Results equal the region-major
    computation up to rounding (ties still go to the lowest region index).
    """

    CHUNK_ELEMS = 1 << 18
    """Margin entries (batch rows x ``p q_max``) per chunk of a large batch (~2 MB in float64)."""

    def __init__(
        self,
        law: ExplicitLaw,
        *,
        feasibility_tol: float = 1e-8,
        clip: bool = True,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        if not (np.isfinite(feasibility_tol) and feasibility_tol >= 0):
            raise ValueError(f"feasibility_tol must be a finite number >= 0; got {feasibility_tol!r}")
        E_pad, f_pad = law.padded()
        p, q_max, n_x = E_pad.shape
        self.n_regions, self.q_max, self.n_x, self.n_u = p, q_max, n_x, law.n_u
        self.feasibility_tol = float(feasibility_tol)
        self.clip = bool(clip)
        self.register_buffer("E", torch.from_numpy(E_pad.reshape(p * q_max, n_x).copy()))
        self.register_buffer("f", torch.from_numpy(f_pad.copy()))
        self.register_buffer("K", torch.from_numpy(law.K.copy()))
        self.register_buffer("r", torch.from_numpy(law.r.copy()))
        self.register_buffer("x_eq", torch.from_numpy(law.x_eq.copy()))
        self.register_buffer("u_eq", torch.from_numpy(law.u_eq.copy()))
        self.register_buffer("u_low", torch.from_numpy(law.u_eq + law.u_low))
        self.register_buffer("u_high", torch.from_numpy(law.u_eq + law.u_high))

        # Slot-major copies (class docstring): (n_x, q_max p) and (q_max p,), derived from E and f
        # here and again after every load_state_dict, so they never go stale.
        self._n_cols = p * q_max
        self.register_buffer("_Et_slot", torch.empty(n_x, p * q_max, dtype=torch.float64), persistent=False)
        self.register_buffer("_nf_slot", torch.empty(p * q_max, dtype=torch.float64), persistent=False)
        self._sync_slot_buffers()
        self.register_load_state_dict_post_hook(_resync_after_load)
        self.to(dtype)

    @torch.no_grad()
    def _sync_slot_buffers(self) -> None:
        p, q_max, n_x = self.n_regions, self.q_max, self.n_x
        Et = self.E.reshape(p, q_max, n_x).transpose(0, 1).reshape(p * q_max, n_x).T
        self._Et_slot = Et.contiguous().to(self.E.dtype)
        self._nf_slot = (-self.f.T.reshape(-1)).contiguous().to(self.f.dtype)

    def _margins(self, dx: Tensor) -> tuple[Tensor, Tensor]:
        """``dx (B, n_x)`` deviation states -> ``margin (B,)``, ``region (B,)``."""
        S = torch.addmm(self._nf_slot, dx, self._Et_slot)  # (B, q_max p): e_ij dx - f_ij
        g = S.reshape(-1, self.q_max, self.n_regions).amax(dim=1)  # (B, p): max over each region's slots
        return g.min(dim=-1)  # the first (lowest-index) minimum on ties

    def _law(self, dx: Tensor, region: Tensor) -> Tensor:
        u = (self.K[region] @ dx.unsqueeze(-1)).squeeze(-1) + self.r[region] + self.u_eq
        if self.clip:
            # minimum/maximum rather than clamp: per-element bounds export to ONNX as Min/Max.
            u = torch.minimum(torch.maximum(u, self.u_low), self.u_high)
        return u

    def _chunk_rows(self, x: Tensor) -> int:
        """Rows per chunk for ``x``, or 0 to evaluate in one piece (small batch, or a graph being
        traced / exported, where a Python loop over the batch must not be recorded)."""
        # torch.export (and so the ONNX exporter) sets is_exporting / is_compiling; the legacy
        # TorchScript-based ONNX exporter traces. (torch.onnx.is_in_onnx_export costs ~2 us.)
        if torch.compiler.is_exporting() or torch.compiler.is_compiling() or torch.jit.is_tracing():
            return 0
        rows = max(1, self.CHUNK_ELEMS // max(1, self._n_cols))
        return rows if x.shape[0] > rows else 0

    def _locate_dx(self, dx: Tensor) -> tuple[Tensor, Tensor]:
        """``margin (B,)``, ``region (B,)`` of deviation states, in chunks where that pays."""
        rows = self._chunk_rows(dx)
        if not rows:
            return self._margins(dx)
        parts = [self._margins(dx[s : s + rows]) for s in range(0, dx.shape[0], rows)]
        return torch.cat([pt[0] for pt in parts]), torch.cat([pt[1] for pt in parts])

    def locate(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, n_x)`` absolute -> ``region (B,)`` int64 and ``margin (B,)``."""
        dx = x - self.x_eq
        margin, region = self._locate_dx(dx if dx.dim() == 2 else dx.reshape(-1, self.n_x))
        return region, margin

    def forward(self, x: Tensor) -> YANNOutput:
        """``x (B, n_x)`` absolute states -> ``YANNOutput(u (B, n_u), feasible (B,), margin (B,))``."""
        dx = x - self.x_eq
        if dx.dim() != 2:
            dx = dx.reshape(-1, self.n_x)  # a single (n_x,) state is a batch of one
        margin, region = self._locate_dx(dx)
        return YANNOutput(self._law(dx, region), margin <= self.feasibility_tol, margin)
