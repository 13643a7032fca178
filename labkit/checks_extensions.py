"""The exercise checks of notebook 06 (the extensions) (see labkit.checks for how a check cell uses them)."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .checking import _Fail, _call, _close, _expect, _known_mistake, _needs_grad, _reference, _run, _tensor


# ---------------------------------------------------------------------------------------------------
# Exercise 6.1: the KL per latent dimension (posterior collapse)
# ---------------------------------------------------------------------------------------------------

def check_kl_per_dimension(fn: Callable) -> Callable:
    """Exercise 6.1 (notebooks/06_extensions.ipynb): kl_per_dimension(mu, logvar) -> (B, latent_dim)."""
    return _run("6.1", "kl_per_dimension", fn, _reference("kl_per_dimension"), _check_kl_per_dimension)


def _check_kl_per_dimension(fn: Callable) -> None:
    torch.manual_seed(61)
    mu, logvar = torch.randn(5, 3), 0.8 * torch.randn(5, 3)  # (B, latent_dim): 5 images, 3 dimensions
    got = _tensor(_call(fn, mu.clone().requires_grad_(), logvar.clone().requires_grad_()), "the KL per dimension")
    want = _reference("kl_per_dimension")(mu, logvar)  # (5, 3)
    sigma, var = torch.exp(0.5 * logvar), logvar.exp()

    def kl(log_var, variance, mean_term=mu ** 2, one=1.0):  # the closed form with one term replaced
        return -0.5 * (one + log_var - mean_term - variance)

    keep = "keep one value per image and dimension, shape (5, 3)"
    _known_mistake(got, [
        (want.sum(1), f"summed over the latent dims: got shape (5,), expected (5, 3); that sum is notebook 02's "
                      f"kl_divergence, the point here is to see each dimension apart: {keep}, no sum"),
        (want.mean(1), f"averaged over the latent dims: got shape (5,), expected (5, 3): {keep}, no mean"),
        (want.mean(0), f"averaged over the batch: got shape (3,), expected (5, 3): {keep} (labkit.collapse takes "
                       f"the mean over the test digits afterwards)"),
        (want.sum(0), f"summed over the batch: got shape (3,), expected (5, 3): {keep}"),
        (want.sum(), f"summed to one number: {keep}"),
        (want.mean(), f"averaged to one number: {keep}"),
        (2 * want, "twice labkit's value: the closed form has a factor 1/2 in front, -0.5 * (1 + logvar - mu^2 - "
                   "exp(logvar))"),
        (-want, "a sign is flipped (a KL is never negative): -0.5 * (1 + logvar - mu^2 - exp(logvar))"),
        (kl(2 * logvar, torch.exp(2 * logvar)), "logvar read as log sigma: it holds log sigma^2, so the second term "
                                                "is logvar itself and sigma^2 = exp(logvar), not exp(2 * logvar)"),
        (kl(logvar, torch.exp(2 * logvar)), "sigma^2 is exp(logvar), not exp(2 * logvar): logvar already holds "
                                            "log sigma^2"),
        (kl(logvar, logvar ** 2), "sigma^2 is exp(logvar), not logvar^2"),
        (kl(torch.log(logvar ** 2), logvar ** 2), "logvar treated as sigma: it holds log sigma^2, so log sigma^2 = "
                                                  "logvar and sigma^2 = exp(logvar)"),
        (kl(sigma, var), "sigma used where log sigma^2 is expected: the second term is logvar itself"),
        (kl(logvar, sigma), "sigma used where sigma^2 is expected: the last term is exp(logvar), not "
                            "exp(0.5 * logvar)"),
        (kl(logvar, var, mean_term=mu), "mu where mu^2 is expected: the term is mu.pow(2)"),
        (kl(logvar, var, one=0.0), "the 1 inside the bracket is missing: 1 + logvar - mu^2 - exp(logvar)"),
    ])
    if torch.isnan(got).any():
        raise _Fail("the KL per dimension contains NaN: logvar = log sigma^2 can be negative, so log(logvar) or "
                    "sqrt(logvar) fail; sigma^2 = logvar.exp()")
    _expect(got, want, "the KL per dimension", "KL_j = -1/2 (1 + logvar_j - mu_j^2 - exp(logvar_j)) for every "
                                               "image and dimension j, shape (B, latent_dim)")
    _needs_grad(got, "the KL per dimension")


# ---------------------------------------------------------------------------------------------------
# Exercise 6.2: WGAN-GP's gradient penalty
# ---------------------------------------------------------------------------------------------------

def check_gradient_penalty(fn: Callable) -> Callable:
    """Exercise 6.2 (notebooks/06_extensions.ipynb): gradient_penalty(net_D, x, fake) -> 10 E[(||grad|| - 1)^2]."""
    return _run("6.2", "gradient_penalty", fn, _reference("gradient_penalty"), _check_gradient_penalty)


class _LinearCritic(nn.Module):
    """D(x) = <x.flatten(1), w> + b, (B,): its gradient is w at every point, so ||grad|| = ||w|| whatever eps is."""

    def __init__(self, norm: float):
        super().__init__()
        w = torch.randn(784)
        self.w = nn.Parameter(w / w.norm() * norm)
        self.b = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x.flatten(1) @ self.w + self.b


class _QuadraticCritic(nn.Module):
    """D(x) = ||x||^2 / 2 per image, (B,): its gradient at x̂ is x̂ itself, so the penalty shows where x̂ lies."""

    def forward(self, x):
        return 0.5 * x.flatten(1).pow(2).sum(1)


_WEIGHT = 10.0  # lambda (Gulrajani et al. 2017)
_DRAW = "eps = torch.rand(len(x), 1, 1, 1), one per image"


def _penalty(fn: Callable, net: nn.Module, x: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """fn(net, x, fake) as a tensor, with a hint for the errors a penalty typically raises."""
    try:
        got = _call(fn, net, x, fake)
    except _Fail as e:
        text = str(e)
        if "does not require grad" in text:
            text += "; x_hat must require grad before D scores it: x_hat.requires_grad_(True)"
        elif "must match the size" in text:
            text += f"; eps needs shape (B, 1, 1, 1) to scale each whole image: {_DRAW}"
        raise _Fail(text) from None
    return _tensor(got, "the penalty")


def _gp_at(eps: torch.Tensor, x: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The penalty of _QuadraticCritic at x̂ = eps * x + (1 - eps) * fake: there the gradient is x̂."""
    return _WEIGHT * ((eps * x + (1 - eps) * fake).flatten(1).norm(dim=1).sub(1) ** 2).mean()


def _check_gradient_penalty(fn: Callable) -> None:
    batch = 8
    torch.manual_seed(62)
    x = torch.rand(batch, 1, 28, 28) * 2 - 1  # real images in [-1, 1], as the GANs see them
    fake = torch.rand(batch, 1, 28, 28) * 2 - 1  # G(z), already detached by the caller

    # 1. A critic with ||grad|| = 3 everywhere: GP = 10 * (3 - 1)^2 = 40 for any eps.
    net = _LinearCritic(3.0)
    got = _penalty(fn, net, x, fake)
    w = net.w.detach()
    per_pixel = _WEIGHT * ((w.abs() - 1) ** 2).mean()  # the norm over dim=1 of a (B, 1, 28, 28) gradient: |w_j|
    _known_mistake(got, [
        (torch.full((batch,), 40.0), "one penalty per image, shape (8,): take the mean over the batch, one number"),
        (torch.tensor(4.0), "the weight 10 is missing (lambda in the paper): return 10 * ((norm - 1) ** 2).mean()"),
        (torch.tensor(320.0), "summed over the batch: take the mean over the images"),
        (torch.tensor(90.0), "that penalises ||grad||^2; WGAN-GP penalises (||grad|| - 1)^2, pulling the norm "
                             "towards 1"),
        (torch.tensor(640.0), "(||grad||^2 - 1)^2 uses the squared norm: take the norm itself, "
                              "(grad.flatten(1).norm(2, dim=1) - 1) ** 2"),
        (torch.tensor(20.0), "the difference is not squared: (||grad|| - 1) ** 2"),
        (_WEIGHT * (3 * batch ** 0.5 - 1) ** 2 * torch.ones(()), "one norm over the whole batch's gradient: take "
                                                                 "one norm per image, grad.flatten(1).norm(2, "
                                                                 "dim=1), then the mean of (norm - 1)^2"),
        (per_pixel, "the norm over dim=1 of a (B, 1, 28, 28) gradient is one per pixel (dim 1 is the channel): "
                    "flatten first, grad.flatten(1).norm(2, dim=1)"),
        (_WEIGHT * (3 / 28 - 1) ** 2 * torch.ones(()), "the norm is the root of the sum of squares over the pixels, "
                                                       "not of their mean: grad.flatten(1).norm(2, dim=1)"),
        (_WEIGHT * (3 / batch - 1) ** 2 * torch.ones(()), "the gradient of D(x_hat).mean() divides each image's "
                                                          "gradient by the batch size: differentiate D(x_hat).sum() "
                                                          "(or pass grad_outputs=torch.ones_like(scores))"),
    ])
    _expect(got, torch.tensor(40.0), "for a critic whose gradient has norm 3 everywhere, the penalty",
            "GP = 10 * mean over images of (||grad_i|| - 1)^2 = 10 * (3 - 1)^2")
    if any(p.grad is not None for p in net.parameters()):
        raise _Fail("the penalty filled net_D's .grad: .backward() inside it differentiates D's parameters too; "
                    "torch.autograd.grad(scores.sum(), x_hat, create_graph=True) gives the gradient w.r.t. x_hat only")
    if not got.requires_grad:
        raise _Fail("no gradient reaches D through the penalty, so it cannot train the critic: use "
                    "create_graph=True in torch.autograd.grad (and no .detach() or .item() after it)")
    got.backward()
    if net.w.grad is None or not torch.allclose(net.w.grad, 2 * _WEIGHT * (3 - 1) * w / 3, rtol=1e-3, atol=1e-5):
        raise _Fail("GP.backward() does not reach the critic's weights as it should: build the gradient with "
                    "torch.autograd.grad(scores.sum(), x_hat, create_graph=True)")

    # 2. ||grad|| = 0.4 < 1: WGAN-GP pulls it up as well (two-sided).
    got = _penalty(fn, _LinearCritic(0.4), x, fake)
    _known_mistake(got, [(torch.tensor(0.0), "that is the one-sided penalty max(0, ||grad|| - 1)^2, which leaves "
                                             "norms below 1 alone; WGAN-GP's is two-sided, (||grad|| - 1)^2")])
    _expect(got, torch.tensor(_WEIGHT * 0.6 ** 2), "for a critic whose gradient has norm 0.4, the penalty",
            "GP = 10 * (0.4 - 1)^2")

    # 3. Where x̂ lies: a critic whose gradient is x̂ itself, eps drawn from the same seed as labkit's.
    net = _QuadraticCritic()
    torch.manual_seed(620)
    got = _penalty(fn, net, x, fake)
    torch.manual_seed(620)
    want = _reference("gradient_penalty")(net, x, fake)

    def seeded(draw):
        torch.manual_seed(620)
        return _gp_at(draw(), x, fake)

    _known_mistake(got, [
        (seeded(lambda: torch.rand_like(x)), f"eps drawn per pixel: x_hat must lie on the line between a real image "
                                             f"and a fake, {_DRAW}"),
        (seeded(lambda: torch.rand(1)), f"one eps for the whole batch: {_DRAW}"),
        (seeded(lambda: torch.randn(batch, 1, 1, 1)), "eps is normal (torch.randn); it is uniform on [0, 1]: "
                                                      "torch.rand(len(x), 1, 1, 1)"),
        (_gp_at(torch.tensor(0.5), x, fake), f"x_hat is the midpoint of x and fake: eps must be random, {_DRAW}"),
        (_gp_at(torch.tensor(1.0), x, fake), "the penalty is taken at the real images: take it at x_hat = eps * x + "
                                             "(1 - eps) * fake, between real and fake"),
        (_gp_at(torch.tensor(0.0), x, fake), "the penalty is taken at the fakes: take it at x_hat = eps * x + "
                                             "(1 - eps) * fake, between real and fake"),
    ])
    if not _close(got, want):  # another way to draw eps can be just as right: judge it by its statistics
        _eps_statistics(fn)


def _eps_statistics(fn: Callable) -> None:
    """_Fail unless x̂ = eps * x + (1 - eps) * fake with eps ~ U(0, 1) per image, judged over many images."""
    n = 2000
    x, fake = torch.full((n, 1, 28, 28), 1 / 28), torch.zeros(n, 1, 28, 28)  # ||x|| = 1: ||x̂_i|| = eps_i
    values = []
    for seed in (621, 622, 623):
        torch.manual_seed(seed)
        values.append(_penalty(fn, _QuadraticCritic(), x, fake).detach().float().reshape(-1)[0].item())
    expected = _WEIGHT / 3  # 10 * E[(eps - 1)^2] for eps ~ U(0, 1)
    if all(abs(v - expected) < 0.3 for v in values):
        return
    if all(abs(v - 1.79) < 0.3 for v in values):  # ||x̂|| = sqrt(mean of eps^2) = 1 / sqrt(3) for eps per pixel
        raise _Fail(f"eps drawn per pixel: x_hat must lie on the line between a real image and a fake, {_DRAW}")
    raise _Fail(f"over {n:,} images at x_hat between x and fake, your penalty came to {sum(values) / 3:.3g} on "
                f"average, expected about {expected:.3g} = 10 * E[(eps - 1)^2] for eps ~ U(0, 1): x_hat = eps * x + "
                f"(1 - eps) * fake with {_DRAW}")
