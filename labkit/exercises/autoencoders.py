"""The exercise checks of notebooks 01 (the autoencoder) and 02 (the VAE) (see labkit.exercises.checks for how a check cell uses them)."""
from __future__ import annotations

import itertools
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .harness import (_ACTIVATIONS, _Fail, _as_float64, _bends, _call, _close, _describe, _expect, _gradients_like,
                      _is_affine, _kl_mistakes, _known_mistake, _leaves, _module, _n_params, _needs_grad, _reference,
                      _run, _sequence, _show, _snapshot, _tensor, _untouched, reference_make_decoder,
                      reference_make_encoder, reference_reparameterize)


# ---------------------------------------------------------------------------------------------------
# Notebook 01: the autoencoder
# ---------------------------------------------------------------------------------------------------

def check_ae_loss(fn: Callable) -> Callable:
    """Exercise 1.1 (notebooks/01_autoencoder.ipynb): ae_loss(x_hat, x), the MSE averaged over pixels and batch."""
    return _run("1.1", "ae_loss", fn, _reference("ae_loss"), _check_ae_loss)


def _check_ae_loss(fn: Callable) -> None:
    torch.manual_seed(11)
    x = torch.rand(8, 1, 28, 28)  # (B, 1, 28, 28) in [0, 1], like MNIST
    x_hat = torch.rand(8, 1, 28, 28).requires_grad_()
    before = _snapshot(x=x)
    got = _tensor(_call(fn, x_hat, x), "the loss")
    _untouched(before, "ae_loss")
    want = _reference("ae_loss")(x_hat, x)
    err = (x_hat - x).detach()
    _known_mistake(got, [
        ((err ** 2).flatten(1).sum(1).mean(), "summed over the 784 pixels: average over pixels too, the mean of "
                                              "(x_hat - x)^2 over every pixel of every image"),
        ((err ** 2).sum(), "summed instead of averaged: average over pixels and images, so the loss does not grow "
                           "with the batch"),
        ((err ** 2).sum().sqrt(), "that is the norm ||x_hat - x|| of the whole batch: square the differences and "
                                  "average them, no square root"),
        ((err ** 2).flatten(1).mean(1).sum(), "averaged over pixels but summed over images: average over the "
                                              "images too"),
        ((err ** 2).flatten(1).mean(1), "one loss per image, shape (8,): average over the batch as well, "
                                        "to one number"),
        ((err ** 2).mean().sqrt(), "that is the root of the mean squared error: drop the square root"),
        (err.abs().mean(), "that is the mean absolute error (L1): square the differences instead"),
        (err.mean(), "the differences are not squared: ((x_hat - x) ** 2).mean()"),
        (0.5 * (err ** 2).mean(), "half the mean squared error: drop the 1/2"),
        (F.binary_cross_entropy(x_hat.detach(), x), "that is binary cross-entropy; the autoencoder of notebook "
                                                    "01 uses the mean squared error (BCE comes with the VAE)"),
    ])
    _expect(got, want, "the loss", "the mean over pixels and images of (x_hat - x)^2")
    _needs_grad(got, "the loss")
    got.backward()
    if x_hat.grad is None or not _close(x_hat.grad, 2 * err / err.numel(), rtol=1e-3, atol=1e-8):
        raise _Fail("the loss has the right value but not the right gradient: part of it is cut off from x_hat "
                    "(.detach(), .round(), .data); d loss / d x_hat should be 2 (x_hat - x) / (B * 784)")


def check_make_encoder(fn: Callable) -> Callable:
    """Exercise 1.2 (notebooks/01_autoencoder.ipynb): make_encoder(latent_dim), the AE's encoder network."""
    return _run("1.2", "make_encoder", fn, reference_make_encoder, _check_make_encoder)


def _check_make_encoder(fn: Callable) -> None:
    latent_dim, batch = 7, 5
    torch.manual_seed(12)
    net = _module(_call(fn, latent_dim, what="make_encoder(7)"), "make_encoder(7)")
    x = torch.rand(batch, 1, 28, 28)
    flatten = "" if any(isinstance(m, nn.Flatten) for m in net.modules()) else \
        "start with nn.Flatten(), so each (1, 28, 28) image becomes 784 numbers"
    z = _tensor(_call(net, x, what="your encoder, run on images (5, 1, 28, 28),", hint=flatten), "the code z")
    if z.shape != (batch, latent_dim):
        if z.shape[-1:] == (400,):
            raise _Fail(f"the codes have shape {tuple(z.shape)}, expected (5, 7) for latent_dim=7: end with "
                        f"nn.Linear(400, latent_dim)")
        fixed = " (use the latent_dim argument, not a fixed number)" if z.dim() == 2 and z.shape[0] == batch else ""
        raise _Fail(f"the codes have shape {tuple(z.shape)}, expected (5, 7) for latent_dim=7{fixed}")
    _only_linear_and_activations(net, [nn.Linear, nn.ReLU, nn.Linear], "the encoder",
                                 "nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, latent_dim)")
    want = 784 * 400 + 400 + 400 * latent_dim + latent_dim
    if _n_params(net) != want:
        raise _Fail(f"{_n_params(net):,} parameters, expected {want:,} = 784*400 + 400 + 400*7 + 7 for "
                    f"Linear(784, 400) and Linear(400, latent_dim); check the layer widths")
    last = _leaves(net)[-1]
    if isinstance(last, _ACTIVATIONS) or bool((z >= 0).all()):
        name = type(last).__name__ if isinstance(last, _ACTIVATIONS) else "an activation (all codes are >= 0)"
        relu = " (a ReLU would waste half the latent space)" if isinstance(last, nn.ReLU) else ""
        raise _Fail(f"the encoder ends in {name}: leave z without an activation, so codes can take any "
                    f"value{relu}")
    if _is_affine(net, torch.rand(batch, 1, 28, 28), x):
        raise _Fail("the encoder is linear: put nn.ReLU() between Linear(784, 400) and Linear(400, latent_dim)")
    _sequence(net, [nn.Linear, nn.ReLU, nn.Linear], "the encoder",
              "nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, latent_dim)")
    if _bends(_as_float64(net), x):
        raise _Fail("the encoder's hidden activation is curved (a Sigmoid, Tanh or GELU?): the text asks for a "
                    "ReLU, which keeps each unit linear where it is on")


def _only_linear_and_activations(net: nn.Module, expected: list[type], what: str, asked: str) -> None:
    """A layer that is neither Linear, an activation nor a reshape (Dropout, BatchNorm1d): name it first."""
    if any(not isinstance(m, (nn.Linear, nn.Flatten, nn.Unflatten, nn.Identity) + _ACTIVATIONS) for m in _leaves(net)):
        _sequence(net, expected, what, asked)


def check_make_decoder(fn: Callable) -> Callable:
    """Exercise 1.3 (notebooks/01_autoencoder.ipynb): make_decoder(latent_dim), the encoder's mirror image."""
    return _run("1.3", "make_decoder", fn, reference_make_decoder, _check_make_decoder)


def _check_make_decoder(fn: Callable) -> None:
    latent_dim, batch = 7, 5
    torch.manual_seed(13)
    net = _module(_call(fn, latent_dim, what="make_decoder(7)"), "make_decoder(7)")
    z = torch.randn(batch, latent_dim)
    x_hat = _tensor(_call(net, z, what="your decoder, run on codes (5, 7),"), "the decoder's output")
    if x_hat.shape != (batch, 1, 28, 28):
        hint = ": end with nn.Unflatten(1, (1, 28, 28))" if x_hat.shape == (batch, 784) else ""
        raise _Fail(f"the images have shape {tuple(x_hat.shape)}, expected (5, 1, 28, 28){hint}")
    _only_linear_and_activations(net, [nn.Linear, nn.ReLU, nn.Linear, nn.Sigmoid], "the decoder",
                                 "nn.Linear(latent_dim, 400), nn.ReLU(), nn.Linear(400, 784), nn.Sigmoid(), "
                                 "nn.Unflatten(1, (1, 28, 28))")
    want = latent_dim * 400 + 400 + 400 * 784 + 784
    if _n_params(net) != want:
        raise _Fail(f"{_n_params(net):,} parameters, expected {want:,} = 7*400 + 400 + 400*784 + 784 for "
                    f"Linear(latent_dim, 400) and Linear(400, 784); check the layer widths")
    lo, hi = x_hat.min().item(), x_hat.max().item()
    if lo < 0 or hi > 1:
        tanh = " (Tanh gives [-1, 1], the GANs' range)" if any(isinstance(m, nn.Tanh) for m in net.modules()) else ""
        raise _Fail(f"pixels range over [{lo:.3g}, {hi:.3g}], outside [0, 1]{tanh}: end in nn.Sigmoid() so the "
                    f"outputs are intensities like the data")
    if lo <= 0 or hi >= 1:
        raise _Fail(f"some pixels are exactly {0 if lo <= 0 else 1}: the output is clamped (Hardtanh, clamp, a ReLU), "
                    f"so those pixels get no gradient and BCE's log(x_hat) breaks; nn.Sigmoid() stays strictly "
                    f"inside (0, 1)")
    sums = x_hat.detach().flatten(1).sum(1)
    if torch.allclose(sums, torch.ones_like(sums), atol=1e-4) or torch.allclose(sums, torch.full_like(sums, 28.0)):
        raise _Fail("the pixels of each image add up to a constant: a Softmax makes them compete (each about 1/784), "
                    "so no image can be bright; nn.Sigmoid() squashes each pixel on its own")
    if lo >= 0.5:
        raise _Fail("every pixel is >= 0.5: there is a ReLU right before the Sigmoid; nothing goes between "
                    "Linear(400, 784) and nn.Sigmoid()")
    if _is_affine(net, torch.randn(batch, latent_dim), z, post=lambda t: torch.logit(t.double())):
        raise _Fail("the decoder is linear before its Sigmoid: put nn.ReLU() after Linear(latent_dim, 400)")
    _sequence(net, [nn.Linear, nn.ReLU, nn.Linear, nn.Sigmoid], "the decoder",
              "nn.Linear(latent_dim, 400), nn.ReLU(), nn.Linear(400, 784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28))")
    double = _as_float64(net)
    if _bends(lambda t: torch.logit(double(t)), z):
        raise _Fail("the decoder curves before its final Sigmoid (a Sigmoid, Tanh or GELU in the hidden layer, or a "
                    "Softmax?): the text asks for a ReLU there, and nothing but nn.Sigmoid() at the end")


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
