"""The NavDP DDPM scheduler against the DDPM formulas written out here in float64 numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from robocritic.navdp.scheduler import DDPMScheduler, squaredcos_cap_v2_betas

T = 10


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def reference_alpha_bar(t: np.ndarray) -> np.ndarray:
    """Continuous squared-cosine schedule ``abar(s) = cos((s + 0.008) / 1.008 * pi / 2) ** 2``."""
    return np.cos((t + 0.008) / 1.008 * np.pi / 2) ** 2


def reference_betas(n: int) -> np.ndarray:
    s = np.arange(n + 1) / n
    ab = reference_alpha_bar(s)
    return np.minimum(1 - ab[1:] / ab[:-1], 0.999)


def reference_abar(n: int) -> np.ndarray:
    return np.cumprod(1 - reference_betas(n))


def test_betas_follow_the_squared_cosine_schedule_capped_at_0_999():
    betas = squaredcos_cap_v2_betas(T)
    assert betas.dtype == torch.float32 and betas.shape == (T,)
    np.testing.assert_array_equal(betas.numpy(), reference_betas(T).astype(np.float32))
    # The last step hits the cap: abar(1) is ~0 (cos of ~pi/2).
    assert float(betas[-1]) == pytest.approx(0.999)
    assert np.all(np.diff(betas.numpy()) > 0)


def test_alpha_bar_is_the_running_product_of_one_minus_beta():
    s = DDPMScheduler(T)
    np.testing.assert_allclose(s.alphas_cumprod.numpy(), reference_abar(T), rtol=2e-6, atol=1e-9)
    assert s.timesteps.tolist() == list(range(T - 1, -1, -1))


def test_add_noise_is_the_forward_marginal():
    s = DDPMScheduler(T)
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn((T, 24, 3), generator=g), torch.randn((T, 24, 3), generator=g)
    t = torch.arange(T)
    ab = reference_abar(T)[:, None, None]
    expected = np.sqrt(ab) * x0.double().numpy() + np.sqrt(1 - ab) * eps.double().numpy()
    np.testing.assert_allclose(s.add_noise(x0, eps, t).numpy(), expected, atol=2e-6)


def test_fixed_small_variance():
    s = DDPMScheduler(T)
    ab = reference_abar(T)
    for t in range(1, T):
        beta_t = 1 - ab[t] / ab[t - 1]
        assert float(s.variance(t)) == pytest.approx((1 - ab[t - 1]) / (1 - ab[t]) * beta_t, rel=1e-5)
    assert float(s.variance(0)) == pytest.approx(1e-20)  # abar_{-1} = 1: zero, floored


@pytest.mark.parametrize("t", [1, 4, 9])
def test_step_is_the_posterior_mean_plus_fixed_small_noise(t):
    """With the true noise (x0 inside the clip range), ``x0_hat = x0`` and the step is the DDPM
    posterior ``q(x_{t-1} | x_t, x0)``: its mean in both textbook forms, plus ``sqrt(var) z``."""
    s = DDPMScheduler(T)
    g = torch.Generator().manual_seed(1)
    x0 = torch.rand((4, 24, 3), generator=g) * 1.6 - 0.8
    eps = torch.randn((4, 24, 3), generator=g)
    x_t = s.add_noise(x0, eps, torch.full((4,), t))
    out = s.step(eps, t, x_t, torch.Generator().manual_seed(5))
    z = torch.randn((4, 24, 3), generator=torch.Generator().manual_seed(5)).double().numpy()

    ab, betas = reference_abar(T), reference_betas(T)
    ab_t, ab_prev = ab[t], ab[t - 1]
    beta_t = 1 - ab_t / ab_prev
    assert beta_t == pytest.approx(betas[t])
    xt, x0n, epsn = x_t.double().numpy(), x0.double().numpy(), eps.double().numpy()
    mean = (np.sqrt(ab_prev) * beta_t / (1 - ab_t) * x0n
            + np.sqrt(1 - beta_t) * (1 - ab_prev) / (1 - ab_t) * xt)
    mean_eps_form = (xt - beta_t / np.sqrt(1 - ab_t) * epsn) / np.sqrt(1 - beta_t)
    np.testing.assert_allclose(mean, mean_eps_form, atol=1e-5)
    std = math.sqrt((1 - ab_prev) / (1 - ab_t) * beta_t)
    np.testing.assert_allclose(out.numpy(), mean + std * z, atol=2e-5)


def test_last_step_adds_no_noise_and_returns_the_clipped_x0_estimate():
    s = DDPMScheduler(T)
    g = torch.Generator().manual_seed(2)
    x_t, eps = torch.randn((3, 24, 3), generator=g) * 2, torch.randn((3, 24, 3), generator=g)
    ab0 = reference_abar(T)[0]
    x0_hat = np.clip((x_t.double().numpy() - np.sqrt(1 - ab0) * eps.double().numpy()) / np.sqrt(ab0), -1, 1)
    out = s.step(eps, 0, x_t, generator=None)  # no generator needed: nothing is drawn
    np.testing.assert_allclose(out.numpy(), x0_hat, atol=1e-6)
    assert out.abs().max() <= 1.0


def test_clip_bounds_the_x0_estimate():
    s = DDPMScheduler(T, clip=1.0)
    x_t = torch.zeros((2, 24, 3))
    huge = torch.full((2, 24, 3), -1e3)  # x0_hat = +big before the clip
    assert torch.equal(s.step(huge, 0, x_t), torch.ones((2, 24, 3)))
    # At t > 0 the mean uses the clipped estimate: the same as eps giving x0_hat = 1 exactly.
    t = 5
    ab = s.alphas_cumprod[t]
    eps_exact = (x_t - ab**0.5 * torch.ones_like(x_t)) / (1 - ab) ** 0.5
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    torch.testing.assert_close(s.step(huge, t, x_t, g1), s.step(eps_exact, t, x_t, g2), atol=1e-6, rtol=0)


def test_step_is_deterministic_given_a_generator():
    s = DDPMScheduler(T)
    x_t, eps = torch.randn(2, 24, 3), torch.randn(2, 24, 3)
    a = s.step(eps, 7, x_t, torch.Generator().manual_seed(11))
    b = s.step(eps, 7, x_t, torch.Generator().manual_seed(11))
    c = s.step(eps, 7, x_t, torch.Generator().manual_seed(12))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_invalid_arguments_are_refused():
    s = DDPMScheduler(T)
    with pytest.raises(ValueError, match="t must lie"):
        s.step(torch.zeros(1, 2, 3), T, torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="clip"):
        DDPMScheduler(T, clip=0.0)
    with pytest.raises(ValueError, match="num_steps"):
        squaredcos_cap_v2_betas(0)


def test_matches_diffusers_bit_for_bit():
    """Only where diffusers happens to be installed (robocritic does not depend on it)."""
    diffusers = pytest.importorskip("diffusers")
    ref = diffusers.DDPMScheduler(num_train_timesteps=T, beta_schedule="squaredcos_cap_v2", clip_sample=True,
                                  prediction_type="epsilon", variance_type="fixed_small")
    ref.set_timesteps(T)
    s = DDPMScheduler(T)
    assert torch.equal(ref.betas, s.betas) and torch.equal(ref.alphas_cumprod, s.alphas_cumprod)
    assert ref.timesteps.tolist() == s.timesteps.tolist()
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn((4, 24, 3), generator=g), torch.randn((4, 24, 3), generator=g)
    t = torch.randint(0, T, (4,), generator=g)
    assert torch.equal(ref.add_noise(x0, eps, t), s.add_noise(x0, eps, t))
    x_ref = x_ours = torch.randn((4, 24, 3), generator=g)
    g_ref, g_ours = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    for step in s.timesteps.tolist():
        eps_pred = torch.sin(3 * x_ours + step)  # any deterministic "network"
        x_ref = ref.step(torch.sin(3 * x_ref + step), step, x_ref, generator=g_ref).prev_sample
        x_ours = s.step(eps_pred, step, x_ours, g_ours)
        assert torch.equal(x_ref, x_ours)
