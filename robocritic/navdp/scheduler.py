"""DDPM noise schedule for the NavDP denoiser: squared-cosine betas, epsilon prediction, clipped
``x0`` estimates, the "fixed_small" posterior variance, every training step used at inference.

With these settings it follows the DDPM formulas in the order diffusers' ``DDPMScheduler`` uses
(``beta_schedule="squaredcos_cap_v2"``, ``prediction_type="epsilon"``, ``clip_sample=True``,
``variance_type="fixed_small"``, as many inference steps as training steps), so the two agree bit
for bit in float32; robocritic does not depend on diffusers.

Notation (``t = 0 .. T-1``; ``abar_t = prod_{s <= t} (1 - beta_s)``, ``abar_{-1} = 1``):

* forward: ``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps``;
* ``x0_hat = clip((x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t), -c, c)``;
* posterior mean ``mu = sqrt(abar_{t-1}) beta'_t / (1 - abar_t) x0_hat
  + sqrt(alpha'_t) (1 - abar_{t-1}) / (1 - abar_t) x_t`` with ``alpha'_t = abar_t / abar_{t-1}``,
  ``beta'_t = 1 - alpha'_t``;
* ``x_{t-1} = mu + sqrt(var_t) z`` with ``var_t = (1 - abar_{t-1}) / (1 - abar_t) beta'_t``
  (floored at 1e-20) and ``z ~ N(0, I)``; no noise is added at ``t = 0``, whose output is
  ``x0_hat`` itself (so the final sample lies in ``[-c, c]``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["DDPMScheduler", "squaredcos_cap_v2_betas"]


def squaredcos_cap_v2_betas(num_steps: int, max_beta: float = 0.999) -> Tensor:
    """``(num_steps,)`` float32 betas from ``abar(s) = cos((s + 0.008) / 1.008 * pi / 2) ** 2``:
    ``beta_i = min(1 - abar((i + 1) / T) / abar(i / T), max_beta)`` (computed in float64)."""
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1; got {num_steps}")

    def alpha_bar(s: float) -> float:
        return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = [min(1 - alpha_bar((i + 1) / num_steps) / alpha_bar(i / num_steps), max_beta)
             for i in range(num_steps)]
    return torch.tensor(betas, dtype=torch.float32)


class DDPMScheduler:
    """DDPM forward noising and reverse steps (module docstring) on float32 tensors.

    Args:
        num_steps: diffusion steps ``T`` (training and inference).
        clip: ``c``, the bound of the clipped ``x0`` estimate.

    Attributes:
        betas, alphas, alphas_cumprod: ``(T,)`` float32 schedule (``alphas_cumprod[t] = abar_t``).
        timesteps: ``(T,)`` int64 ``T-1, ..., 0``, the order of :meth:`step` calls when sampling.
    """

    def __init__(self, num_steps: int = 10, clip: float = 1.0) -> None:
        if not clip > 0:
            raise ValueError(f"clip must be > 0; got {clip}")
        self.num_steps = int(num_steps)
        self.clip = float(clip)
        self.betas = squaredcos_cap_v2_betas(self.num_steps)
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)
        self.timesteps = torch.arange(self.num_steps - 1, -1, -1, dtype=torch.int64)
        self._one = torch.tensor(1.0)

    def add_noise(self, x0: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """``x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps``.

        Args:
            x0: clean samples ``(B, ...)``. eps: noise, the same shape.
            t: ``(B,)`` integer steps in ``[0, T)``.

        Returns:
            ``(B, ...)`` noisy samples.
        """
        abar = self.alphas_cumprod.to(device=x0.device, dtype=x0.dtype)
        t = t.to(x0.device)
        shape = (-1,) + (1,) * (x0.ndim - 1)
        sqrt_abar = (abar[t] ** 0.5).flatten().reshape(shape)
        sqrt_one_minus = ((1 - abar[t]) ** 0.5).flatten().reshape(shape)
        return sqrt_abar * x0 + sqrt_one_minus * eps

    def _abar_prev(self, t: int) -> Tensor:
        return self.alphas_cumprod[t - 1] if t > 0 else self._one

    def variance(self, t: int) -> Tensor:
        """"fixed_small" posterior variance ``(1 - abar_{t-1}) / (1 - abar_t) * beta'_t`` (0-dim)."""
        abar_t, abar_prev = self.alphas_cumprod[t], self._abar_prev(t)
        beta_t = 1 - abar_t / abar_prev
        return torch.clamp((1 - abar_prev) / (1 - abar_t) * beta_t, min=1e-20)

    def step(self, eps_pred: Tensor, t: int, x_t: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One reverse step ``x_t -> x_{t-1}`` (module docstring).

        Args:
            eps_pred: predicted noise, shape of ``x_t``. t: the current step, ``0 <= t < T``.
            x_t: current samples ``(B, ...)``.
            generator: source of the step's noise ``z`` (drawn only for ``t > 0``).

        Returns:
            ``x_{t-1}``, shape of ``x_t``.
        """
        t = int(t)
        if not 0 <= t < self.num_steps:
            raise ValueError(f"t must lie in [0, {self.num_steps}); got {t}")
        abar_t, abar_prev = self.alphas_cumprod[t], self._abar_prev(t)
        beta_prod_t, beta_prod_prev = 1 - abar_t, 1 - abar_prev
        alpha_t = abar_t / abar_prev
        beta_t = 1 - alpha_t
        x0_hat = (x_t - beta_prod_t ** 0.5 * eps_pred) / abar_t ** 0.5
        x0_hat = x0_hat.clamp(-self.clip, self.clip)
        x0_coeff = (abar_prev ** 0.5 * beta_t) / beta_prod_t
        xt_coeff = alpha_t ** 0.5 * beta_prod_prev / beta_prod_t
        mean = x0_coeff * x0_hat + xt_coeff * x_t
        if t == 0:
            return mean
        z = torch.randn(x_t.shape, generator=generator, device=x_t.device, dtype=x_t.dtype)
        return mean + self.variance(t) ** 0.5 * z
