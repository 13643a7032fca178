"""The exercise checks of notebook 06 (the extensions) (see labkit.exercises.checks for how a check cell uses them)."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .harness import (_Fail, _call, _expect, _gradients_like, _kl_mistakes, _known_mistake, _needs_grad, _run,
                      _snapshot, _tensor, _untouched)
from .references import _reference


# ---------------------------------------------------------------------------------------------------
# Exercise 6.1: the KL per latent dimension (posterior collapse)
# ---------------------------------------------------------------------------------------------------

def check_kl_per_dimension(fn: Callable) -> Callable:
    """Exercise 6.1 (notebooks/06_extensions.ipynb): kl_per_dimension(mu, logvar) -> (B, latent_dim)."""
    return _run("6.1", "kl_per_dimension", fn, _reference("kl_per_dimension"), _check_kl_per_dimension)


def _check_kl_per_dimension(fn: Callable) -> None:
    torch.manual_seed(61)
    mu, logvar = torch.randn(5, 3), 0.8 * torch.randn(5, 3)  # (B, latent_dim): 5 images, 3 dimensions
    inputs = (mu.clone().requires_grad_(), logvar.clone().requires_grad_())
    got = _tensor(_call(fn, *inputs), "the KL per dimension")
    want = _reference("kl_per_dimension")(mu, logvar)  # (5, 3)
    keep = "keep one value per image and dimension, shape (5, 3)"
    _known_mistake(got, [
        (want.sum(1), f"summed over the latent dims: got shape (5,), expected (5, 3); that sum is notebook 02's "
                      f"kl_divergence, the point here is to see each dimension apart: {keep}, no sum"),
        (want.mean(1), f"averaged over the latent dims: got shape (5,), expected (5, 3): {keep}, no mean"),
        (want.mean(0), f"averaged over the batch: got shape (3,), expected (5, 3): {keep} (the table takes the mean "
                       f"over the test digits afterwards)"),
        (want.sum(0), f"summed over the batch: got shape (3,), expected (5, 3): {keep}"),
        (want.sum(), f"summed to one number: {keep}"),
        (want.mean(), f"averaged to one number: {keep}"),
        (want.T, f"transposed, shape (3, 5): {keep}, like mu"),
    ] + _kl_mistakes(mu, logvar))
    if torch.isnan(got).any():
        raise _Fail("the KL per dimension contains NaN: logvar = log sigma^2 can be negative, so log(logvar) or "
                    "sqrt(logvar) fail; sigma^2 = logvar.exp()")
    _expect(got, want, "the KL per dimension", "KL_j = -1/2 (1 + logvar_j - mu_j^2 - exp(logvar_j)) for every "
                                               "image and dimension j, shape (B, latent_dim)")
    _needs_grad(got, "the KL per dimension")
    _gradients_like(got, inputs, _reference("kl_per_dimension"), (mu, logvar), ("mu", "logvar"),
                    "the KL per dimension")


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
    _check_norm_three(fn, x, fake)
    _check_norm_below_one(fn, x, fake)
    _check_where_eps_puts_x_hat(fn, x, fake)


def _check_norm_three(fn: Callable, x: torch.Tensor, fake: torch.Tensor) -> None:
    """1. A critic with ||grad|| = 3 everywhere: GP = 10 * (3 - 1)^2 = 40 for any eps, and it trains the critic."""
    batch = len(x)
    net = _LinearCritic(3.0)
    before = _snapshot(x=x, fake=fake)
    got = _penalty(fn, net, x, fake)
    _untouched(before, "gradient_penalty")
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


def _check_norm_below_one(fn: Callable, x: torch.Tensor, fake: torch.Tensor) -> None:
    """2. ||grad|| = 0.4 < 1: WGAN-GP pulls it up as well (two-sided)."""
    got = _penalty(fn, _LinearCritic(0.4), x, fake)
    _known_mistake(got, [(torch.tensor(0.0), "that is the one-sided penalty max(0, ||grad|| - 1)^2, which leaves "
                                             "norms below 1 alone; WGAN-GP's is two-sided, (||grad|| - 1)^2")])
    _expect(got, torch.tensor(_WEIGHT * 0.6 ** 2), "for a critic whose gradient has norm 0.4, the penalty",
            "GP = 10 * (0.4 - 1)^2")


def _check_where_eps_puts_x_hat(fn: Callable, x: torch.Tensor, fake: torch.Tensor) -> None:
    """3. Where x̂ lies: a critic whose gradient is x̂ itself, eps drawn from the same seed as labkit's."""
    batch = len(x)
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
    _where_x_hat_lies(fn)  # whatever way eps is drawn: on the segment, one eps per image, uniform


class _RecordingCritic(_QuadraticCritic):
    """_QuadraticCritic that keeps the points it was asked to score."""

    def __init__(self):
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return super().forward(x)


def _where_x_hat_lies(fn: Callable) -> None:
    """_Fail unless the points the penalty scores are x_hat_i = eps_i * x_i + (1 - eps_i) * fake_i, eps_i ~ U(0, 1).

    Judged on what net_D is given, so any way of drawing eps passes: each x_hat_i is fitted as a_i x_i + b_i fake_i
    (least squares over its pixels); the fit must be exact, a_i + b_i = 1, and the a_i uniform on [0, 1]."""
    n = 1000
    torch.manual_seed(624)
    x, fake = torch.rand(n, 1, 28, 28) * 2 - 1, torch.rand(n, 1, 28, 28) * 2 - 1
    critic = _RecordingCritic()
    _penalty(fn, critic, x, fake)
    seen = [t for t in critic.seen if t.shape == x.shape]
    if not seen:
        raise _Fail(f"net_D never scored a batch shaped like x: score x_hat = eps * x + (1 - eps) * fake, {_DRAW}")
    basis = torch.stack([x.flatten(1), fake.flatten(1)], dim=2).double()  # (n, 784, 2)
    x_hat = seen[-1].flatten(1).double().unsqueeze(2)  # (n, 784, 1)
    coef = torch.linalg.lstsq(basis, x_hat).solution  # (n, 2, 1): x_hat_i ~ a_i x_i + b_i fake_i
    residual = (basis @ coef - x_hat).squeeze(2).norm(dim=1) / x_hat.squeeze(2).norm(dim=1).clamp(min=1e-12)
    if bool((residual > 1e-3).float().mean() > 0.5):
        raise _Fail(f"x_hat is not a mix of one real image and one fake with one weight per image (eps drawn per "
                    f"pixel?): {_DRAW}")
    a, b = coef[:, 0, 0], coef[:, 1, 0]
    if not torch.allclose(a + b, torch.ones_like(a), atol=1e-3):
        raise _Fail("x_hat is off the line between x and fake: the weights on x and on fake do not add up to 1; draw "
                    "eps once and use it on both sides, x_hat = eps * x + (1 - eps) * fake")
    if a.std() < 1e-4:
        raise _Fail(f"every image got the same eps ({a.mean():.3g}): draw one per image, {_DRAW}")
    if bool((a < -1e-3).any() or (a > 1 + 1e-3).any()):
        raise _Fail("some x_hat lie outside the segment between x and fake (eps outside [0, 1]): eps is uniform on "
                    "[0, 1], torch.rand, not torch.randn")
    mean, std = a.mean().item(), a.std().item()
    if abs(mean - 0.5) > 0.05 or abs(std - 12 ** -0.5) > 0.03:
        raise _Fail(f"over {n} images eps has mean {mean:.3g} and std {std:.3g}, expected 0.5 and 0.289 for "
                    f"U(0, 1): {_DRAW}")
