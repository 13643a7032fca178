"""The exercise checks of notebook 02, the VAE (see labkit.exercises.checks for how a check cell uses them)."""
from __future__ import annotations

import itertools
from typing import Callable

import torch
import torch.nn.functional as F

from .harness import (_Fail, _call, _close, _describe, _expect, _gradients_like, _kl_mistakes, _known_mistake,
                      _needs_grad, _run, _show, _snapshot, _tensor, _untouched)
from .references import _reference, reference_reparameterize


# ---------------------------------------------------------------------------------------------------
# Notebook 02: the variational autoencoder
# ---------------------------------------------------------------------------------------------------

def check_reparameterize(fn: Callable) -> Callable:
    """Exercise 2.1 (notebooks/02_vae.ipynb): reparameterize(mu, logvar) -> z = mu + sigma * eps."""
    return _run("2.1", "reparameterize", fn, reference_reparameterize, _check_reparameterize)


def _check_reparameterize(fn: Callable) -> None:
    torch.manual_seed(21)
    mu, logvar = torch.randn(6, 4), torch.randn(6, 4)  # (B, latent_dim)
    mu_g, logvar_g = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    before = _snapshot(mu=mu_g, logvar=logvar_g)
    torch.manual_seed(210)
    z = _tensor(_call(fn, mu_g, logvar_g), "z")
    _untouched(before, "reparameterize")
    torch.manual_seed(210)
    want = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # the same eps, if drawn the same way
    if z.shape != mu.shape:
        raise _Fail(f"z has shape {tuple(z.shape)}, expected {tuple(mu.shape)} like mu: one sample per entry")
    if torch.isnan(z).any():
        raise _Fail("z contains NaN: logvar = log sigma^2 can be negative, so sqrt(logvar) or log(logvar) fail; "
                    "sigma = torch.exp(0.5 * logvar)")
    if _close(z, mu):
        raise _Fail("z equals mu, there is no noise: z = mu + sigma * eps with eps = torch.randn_like(sigma)")
    if not _close(z, want):  # another way to draw eps (torch.normal, rsample) is fine: judge by statistics
        _reparameterize_statistics(fn)
    again = _tensor(_call(fn, mu, logvar), "z")  # the global random state has moved on since the first call
    if _close(again, z):
        raise _Fail("two calls gave the same z: draw a fresh eps at every call (no fixed seed or stored eps inside "
                    "the function), or every epoch sees the same noise")
    if not z.requires_grad:
        raise _Fail("z is cut off from mu and logvar (torch.no_grad, .detach() or Normal(...).sample()): "
                    "z = mu + sigma * eps lets the gradients reach the encoder")
    z.sum().backward()
    if logvar_g.grad is None or not logvar_g.grad.abs().sum() > 0:
        raise _Fail("no gradient reaches logvar: write z = mu + sigma * eps with sigma = torch.exp(0.5 * logvar) "
                    "(torch.normal gives sigma no gradient; so do .detach() and .data)")
    if mu_g.grad is None or not torch.allclose(mu_g.grad, torch.ones_like(mu)):
        raise _Fail("dz/dmu should be 1: z = mu + sigma * eps, with mu added as it is")
    sigma = torch.exp(0.5 * logvar)
    eps = (z.detach() - mu) / sigma  # the noise this z used
    if not torch.allclose(logvar_g.grad, 0.5 * sigma * eps, rtol=1e-3, atol=1e-5):
        raise _Fail("dz/dlogvar should be sigma * eps / 2: only sigma = exp(logvar / 2) may depend on logvar, and eps "
                    "must not (draw eps from torch.randn_like, not from logvar)")


def _reparameterize_statistics(fn: Callable) -> None:
    """_Fail unless fn's samples for a fixed (mu, logvar) have mean mu and std exp(logvar / 2) per dimension."""
    mu = torch.tensor([0.5, -1.0, 2.0, 0.0])
    logvar = torch.tensor([-2.0, -0.5, 0.7, 1.5])  # sigma = [0.37, 0.78, 1.42, 2.12]
    n = 4000
    torch.manual_seed(211)
    with torch.no_grad():
        z = _tensor(_call(fn, mu.expand(n, 4).clone(), logvar.expand(n, 4).clone()), "z")
    if z.shape != (n, 4):
        raise _Fail(f"for mu of shape ({n}, 4), z has shape {tuple(z.shape)}: one sample per entry of mu")
    sigma = torch.exp(0.5 * logvar)
    mean, std = z.float().mean(0), z.float().std(0)

    def near(a, b, tol=0.06):
        return bool(((a - b).abs() <= tol * b.abs().clamp(min=0.2)).all())

    if bool((std < 1e-6).all()):
        raise _Fail("every sample got the same noise: draw one eps per entry, eps = torch.randn_like(sigma)")
    for cand, hint in (
        (torch.exp(logvar), "the spread is sigma^2 = exp(logvar), the variance: sigma = torch.exp(0.5 * logvar)"),
        (logvar.abs(), "logvar used as sigma: logvar is log sigma^2, so sigma = torch.exp(0.5 * logvar)"),
        (torch.exp(-0.5 * logvar), "sigma = exp(-logvar / 2) has the wrong sign: sigma = torch.exp(0.5 * logvar)"),
        (0.5 * logvar.exp(), "sigma = exp(logvar) / 2: the 1/2 goes inside the exp, torch.exp(0.5 * logvar)"),
        (sigma / 12 ** 0.5, "eps is uniform (torch.rand_like); it must be standard normal: torch.randn_like(sigma)"),
    ):
        if near(std, cand) and not near(std, sigma):
            raise _Fail(hint)
    if not bool(((mean - mu).abs() <= 5 * sigma / n ** 0.5).all()):
        raise _Fail(f"z's mean over many draws is {_show(mean)}, expected mu = {_show(mu)}: eps must have mean 0 "
                    f"(torch.randn_like), and z = mu + sigma * eps")
    if not near(std, sigma):
        raise _Fail(f"z's spread over many draws is {_show(std)}, expected sigma = exp(0.5 * logvar) = {_show(sigma)}")
    noise = ((z.double() - mu) / sigma).T  # (4, n): the eps of each dimension
    corr = torch.corrcoef(noise) - torch.eye(4, dtype=noise.dtype)
    if corr.abs().max() > 0.15:  # 0.15 is ten standard errors of a correlation over 4000 independent draws
        raise _Fail(f"the noise of different latent dimensions is correlated (up to {corr.abs().max():.2f}): one eps "
                    f"shared by all dimensions of an image? Draw one eps per entry, eps = torch.randn_like(sigma), "
                    f"shape (B, latent_dim)")


def check_kl_divergence(fn: Callable) -> Callable:
    """Exercise 2.2 (notebooks/02_vae.ipynb): kl_divergence(mu, logvar) -> (B,), KL(N(mu, sigma^2) || N(0, I))."""
    return _run("2.2", "kl_divergence", fn, _reference("kl_divergence"), _check_kl_divergence)


def _check_kl_divergence(fn: Callable) -> None:
    torch.manual_seed(22)
    mu, logvar = torch.randn(5, 3), 0.8 * torch.randn(5, 3)  # (B, latent_dim)
    mu_g, logvar_g = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    got = _tensor(_call(fn, mu_g, logvar_g), "the KL")
    want = _reference("kl_divergence")(mu, logvar)  # (5,)
    terms = -0.5 * (1 + logvar - mu ** 2 - logvar.exp())  # (5, 3), one per latent dim
    formula = "KL = -1/2 * sum over dim 1 of (1 + logvar - mu^2 - exp(logvar))"
    _known_mistake(got, [
        (want / 3, "averaged over the latent dims: sum over them instead (dim=1); the KL of independent dims adds up"),
        (want.sum(), "summed over the batch to one number: return one KL per image, shape (B,), summing over "
                     "dim=1 only"),
        (want.mean(), "averaged over the batch to one number: return one KL per image, shape (B,) (vae_loss takes "
                      "the mean over images)"),
        (terms, "one value per latent dimension, shape (5, 3): sum over the latent dims, dim=1, to get (B,)"),
        (terms.sum(0), "summed over the batch (dim=0), shape (3,): sum over the latent dims, dim=1, to get (B,)"),
    ] + [(t.sum(1), hint) for t, hint in _kl_mistakes(mu, logvar)])
    if torch.isnan(got).any():
        raise _Fail("the KL contains NaN: logvar = log sigma^2 can be negative, so log(logvar) or sqrt(logvar) "
                    "fail; sigma^2 = logvar.exp()")
    _expect(got, want, "the KL", formula)
    _needs_grad(got, "the KL")
    _gradients_like(got, (mu_g, logvar_g), _reference("kl_divergence"), (mu, logvar), ("mu", "logvar"), "the KL")


def check_vae_loss(fn: Callable) -> Callable:
    """Exercise 2.3 (notebooks/02_vae.ipynb): vae_loss(x_hat, x, mu, logvar) -> (total, recon, kl), per image."""
    return _run("2.3", "vae_loss", fn, _reference("vae_loss"), _check_vae_loss)


def _check_vae_loss(fn: Callable) -> None:
    torch.manual_seed(23)
    batch = 4
    x = torch.rand(batch, 1, 28, 28)  # (B, 1, 28, 28) in [0, 1]
    x_hat = torch.sigmoid(torch.randn(batch, 1, 28, 28))  # decoder output in (0, 1)
    mu, logvar = torch.randn(batch, 3), 0.8 * torch.randn(batch, 3)
    inputs = [t.clone().requires_grad_() for t in (x_hat, mu, logvar)]
    got = _call(fn, inputs[0], x, inputs[1], inputs[2])
    if not (isinstance(got, (tuple, list)) and len(got) == 3):
        raise _Fail(f"expected three values (total, recon, kl), got {_describe(got)}")
    total, recon, kl = (_tensor(v, name) for v, name in zip(got, ("total", "recon", "kl")))
    w_total, w_recon, w_kl = _reference("vae_loss")(x_hat, x, mu, logvar)
    wants = (w_total, w_recon, w_kl)
    values = (total, recon, kl)
    for order in itertools.permutations(range(3)):  # all three right, in another order
        if order != (0, 1, 2) and all(_close(values[i], wants[j]) for i, j in enumerate(order)):
            raise _Fail("the three terms are right but in another order: return them in the order "
                        "(total, recon, kl)")
    _check_vae_recon(recon, w_recon, x, x_hat)
    _check_vae_kl_and_total(kl, total, wants, mu, logvar)
    _needs_grad(total, "total")
    leaves = [t.clone().requires_grad_() for t in (x_hat, mu, logvar)]
    want = torch.autograd.grad(_reference("vae_loss")(leaves[0], x, leaves[1], leaves[2])[0], leaves)
    grads = torch.autograd.grad(total, inputs, allow_unused=True)
    for g, w, name, term, learns in zip(grads, want, ("x_hat", "mu", "logvar"), ("reconstruction", "KL", "KL"),
                                        ("the decoder", "the encoder", "the encoder")):
        if g is None or not g.abs().sum() > 0:
            raise _Fail(f"no gradient of total reaches {name}: the {term} term is cut off (.detach(), .item(), .data "
                        f"or torch.no_grad), so {learns} would not learn from it")
        if not torch.allclose(g, w, rtol=1e-3, atol=1e-7):
            raise _Fail(f"total's gradient w.r.t. {name} differs from that of recon + kl: part of the {term} term is "
                        f"cut off from the graph (.detach(), .data)")


def _check_vae_recon(recon: torch.Tensor, w_recon: torch.Tensor, x: torch.Tensor, x_hat: torch.Tensor) -> None:
    """recon is labkit's BCE summed over pixels and averaged over the batch; else which usual mistake it is."""
    batch = len(x)
    flat_x, flat_hat = x.flatten(1), x_hat.flatten(1)
    bce = F.binary_cross_entropy
    _known_mistake(recon, [
        (w_recon / 784, "recon is the BCE averaged over pixels (F.binary_cross_entropy's default): sum over the 784 "
                        "pixels, reduction='sum', then divide by the batch size"),
        (w_recon * batch, "recon is summed over the batch: divide the pixel sum by the batch size, len(x)"),
        (w_recon / batch, "recon divides by the batch size twice: sum over pixels and images, divide by len(x) once"),
        (bce(flat_hat, flat_x, reduction="none").sum(1), "recon has one value per image: take the mean over the "
                                                         "batch (the pixel sum divided by len(x))"),
        (((flat_hat - flat_x) ** 2).sum() / batch, "recon is the squared error; the VAE's Bernoulli decoder uses "
                                                   "binary cross-entropy, F.binary_cross_entropy(x_hat, x, "
                                                   "reduction='sum') / len(x)"),
        (F.mse_loss(flat_hat, flat_x), "recon is the mean squared error; the VAE uses binary cross-entropy summed "
                                       "over pixels: F.binary_cross_entropy(x_hat, x, reduction='sum') / len(x)"),
        (bce(flat_x, flat_hat, reduction="sum") / batch, "the BCE's arguments are swapped: "
                                                         "F.binary_cross_entropy(x_hat, x), prediction first"),
    ])
    _expect(recon, w_recon, "recon", "recon = F.binary_cross_entropy(x_hat, x, reduction='sum') / len(x)")


def _check_vae_kl_and_total(kl: torch.Tensor, total: torch.Tensor, wants: tuple, mu: torch.Tensor,
                            logvar: torch.Tensor) -> None:
    """kl is the batch mean of the closed-form KL and total = recon + kl; else which usual mistake it is."""
    w_total, w_recon, w_kl = wants
    batch = len(mu)
    per_image = -0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(1)
    _known_mistake(kl, [
        (w_kl * batch, "kl is summed over the batch: take the mean over images, kl_divergence(mu, logvar).mean()"),
        (per_image, "kl has one value per image: take their mean, kl_divergence(mu, logvar).mean()"),
        (2 * w_kl, "kl is twice labkit's: the closed form has a factor 1/2 in front"),
    ])
    _expect(kl, w_kl, "kl", "kl = kl_divergence(mu, logvar).mean()")
    _known_mistake(total, [
        (w_recon - w_kl, "total = recon - kl: the negative ELBO adds them, total = recon + kl"),
        (w_recon, "total leaves out the KL: total = recon + kl"),
        (w_kl, "total leaves out the reconstruction: total = recon + kl"),
        ((w_recon + w_kl) / 2, "total is the average of the two terms: add them, total = recon + kl"),
        (w_recon + 2 * w_kl, "total counts the KL twice: total = recon + kl"),
    ])
    _expect(total, w_total, "total", "total = recon + kl")
