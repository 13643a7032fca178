"""The exercise checks of notebook 01, the autoencoder (see labkit.exercises.checks for how a check cell uses them)."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .harness import (_ACTIVATIONS, _Fail, _as_float64, _bends, _call, _close, _expect, _is_affine, _known_mistake,
                      _leaves, _module, _n_params, _needs_grad, _run, _sequence, _snapshot, _tensor, _untouched)
from .references import _reference, reference_make_decoder, reference_make_encoder


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
    # A pixel exactly at 0 or 1 is a clamp whatever the other pixels do, so this comes before the range: a ReLU
    # output's largest pixel sits near 1 with these weights and lands either side of it with the CPU's rounding.
    if lo == 0 or hi == 1:
        raise _Fail(f"some pixels are exactly {0 if lo == 0 else 1}: the output is clamped (Hardtanh, clamp, a ReLU), "
                    f"so those pixels get no gradient and BCE's log(x_hat) breaks; nn.Sigmoid() stays strictly "
                    f"inside (0, 1)")
    if lo < 0 or hi > 1:
        tanh = " (Tanh gives [-1, 1], the GANs' range)" if any(isinstance(m, nn.Tanh) for m in net.modules()) else ""
        raise _Fail(f"pixels range over [{lo:.3g}, {hi:.3g}], outside [0, 1]{tanh}: end in nn.Sigmoid() so the "
                    f"outputs are intensities like the data")
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


# notebook 02's checks lived here: importable from here as before
from .vae import check_kl_divergence, check_reparameterize, check_vae_loss  # noqa: E402,F401
