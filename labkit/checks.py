"""Automatic checks for the lab's exercises: each runs a student's function next to labkit's own.

Introduced in notebooks/01_autoencoder.ipynb; notebooks 01-04 hold the exercises listed in EXERCISES at the
bottom. A check cell rebinds the name, so the rest of the notebook uses whatever the check returns:

    kl_divergence = checks.check_kl_divergence(kl_divergence)

and the check prints exactly one line:

    exercise 2.2 kl_divergence: PASS
    exercise 2.2 kl_divergence: FAIL - twice labkit's value: the closed form starts with a factor 1/2 ...
    exercise 2.2 kl_divergence: not done yet; using labkit's reference so you can go on

It returns the student's function on PASS and labkit's reference otherwise (a FAIL, or a stub that still
raises NotImplementedError), so a student who skips an exercise can run the rest of the notebook.

Every check runs on small seeded inputs, takes well under a second on a CPU, and leaves the caller's random
state (torch, random, numpy) as it was. Whatever the student's code returns or raises becomes one line:
a wrong shape says expected vs got, a known mistake (a missing 1/2, BCE averaged instead of summed, gradients
reaching G in the D step, ...) says which one, and an exception names its type and message.
"""
from __future__ import annotations

import copy
import numbers
import random
import sys
from dataclasses import dataclass
from importlib import import_module
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

# labkit's reference implementations, imported lazily as "module:attribute". labkit is being reorganised:
# when one of these moves, update this table and nothing else (tests/test_checks.py runs every reference).
REFERENCES = {
    "ae_loss": "labkit.models.ae:ae_loss",
    "Autoencoder": "labkit.models.ae:Autoencoder",
    "AEConfig": "labkit.models.ae:AEConfig",
    "VAE": "labkit.models.vae:VAE",  # VAE.reparameterize
    "kl_divergence": "labkit.models.vae:kl_divergence",
    "vae_loss": "labkit.models.vae:vae_loss",
    "discriminator_loss": "labkit.models.gan:discriminator_loss",
    "generator_loss": "labkit.models.gan:generator_loss",
    "d_step": "labkit.train:d_step",  # called as d_step(x, fake, net_D, opt_D): see reference_d_step
    "DCGANConfig": "labkit.models.dcgan:DCGANConfig",
    "DCGANGenerator": "labkit.models.dcgan:Generator",
    "DCGANDiscriminator": "labkit.models.dcgan:Discriminator",
    "weights_init": "labkit.models.dcgan:weights_init",
}


def _reference(name: str):
    """The object REFERENCES[name] names, imported now."""
    module, attr = REFERENCES[name].split(":")
    return getattr(import_module(module), attr)


# ---------------------------------------------------------------------------------------------------
# labkit's reference in each exercise's signature (what a check returns when the student's is not ready)
# ---------------------------------------------------------------------------------------------------

def reference_make_encoder(latent_dim: int) -> nn.Sequential:
    """labkit's AE encoder: Flatten, Linear(784, 400), ReLU, Linear(400, latent_dim); no activation on z."""
    return _reference("Autoencoder")(_reference("AEConfig")(latent_dim=latent_dim)).encoder


def reference_make_decoder(latent_dim: int) -> nn.Sequential:
    """labkit's AE decoder: Linear(latent_dim, 400), ReLU, Linear(400, 784), Sigmoid, Unflatten to (1, 28, 28)."""
    return _reference("Autoencoder")(_reference("AEConfig")(latent_dim=latent_dim)).decoder


def reference_reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """labkit's VAE.reparameterize: z = mu + exp(0.5 * logvar) * eps, eps ~ N(0, I)."""
    return _reference("VAE").reparameterize(None, mu, logvar)  # the method does not use self


def reference_d_step(x: torch.Tensor, fake: torch.Tensor, net_D: nn.Module, opt_D: torch.optim.Optimizer):
    """labkit's D step: (loss_D, D_x, D_G_z1), detached; D's update only, the fakes detached."""
    return _reference("d_step")(x, fake, net_D, opt_D)


def reference_conv_transpose_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """Side of a ConvTranspose2d's output: (size - 1) * stride - 2 * padding + kernel."""
    return (size - 1) * stride - 2 * padding + kernel


def reference_g_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """One DCGAN generator block: (B, in_ch, H, W) -> (B, out_ch, 2H, 2W)."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False),  # kernel 4, stride 2, padding 1 doubles H and W
        nn.BatchNorm2d(out_ch),
        nn.ReLU(True),
    )


# ---------------------------------------------------------------------------------------------------
# Running a check: one printed line, the caller's random state kept, anything the student's code does caught
# ---------------------------------------------------------------------------------------------------

class _NotDone(Exception):
    """The student's function still raises NotImplementedError (the stub)."""


class _Fail(Exception):
    """A problem with the student's function; the message is the one line the student reads."""


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _call(fn: Callable, *args, what: str = "your code", hint: str = ""):
    """fn(*args) with the student's exceptions turned into _NotDone (NotImplementedError) or a _Fail line."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise _NotDone from None
    except Exception as e:
        raise _Fail(f"{what} raised {type(e).__name__}: {_one_line(e)}" + (f"; {hint}" if hint else "")) from None


def _run(ex_id: str, name: str, fn, reference: Callable, check: Callable) -> Callable:
    """Run check(fn), print the one line, return fn on PASS and `reference` otherwise."""
    label = f"exercise {ex_id} {name}"
    py_state = random.getstate()
    np_random = sys.modules["numpy"].random if "numpy" in sys.modules else None
    np_state = np_random.get_state() if np_random is not None else None
    try:
        if not callable(fn):
            raise _Fail(f"expected a function, got {_describe(fn)}; run the cell that defines {name} first")
        with torch.random.fork_rng(devices=[]), torch.enable_grad():
            check(fn)
    except _NotDone:
        print(f"{label}: not done yet; using labkit's reference so you can go on", flush=True)
        return reference
    except _Fail as e:
        print(f"{label}: FAIL - {e}", flush=True)
        return reference
    except Exception as e:  # the check could not make sense of what the function returned
        print(f"{label}: FAIL - could not use what {name} returned ({type(e).__name__}: {_one_line(e)})", flush=True)
        return reference
    finally:
        random.setstate(py_state)
        if np_state is not None:
            np_random.set_state(np_state)
    print(f"{label}: PASS", flush=True)
    return fn


def _describe(obj) -> str:
    """What a value is, for "expected ..., got ..." lines."""
    if obj is None:
        return "None (is a return statement missing?)"
    if isinstance(obj, torch.Tensor):
        return f"a tensor of shape {tuple(obj.shape)}"
    if isinstance(obj, bool):
        return f"a bool ({obj})"
    if isinstance(obj, numbers.Number):
        text = repr(obj) if len(repr(obj)) <= 10 else f"{obj:.4g}"
        return f"a Python {type(obj).__name__} ({text})"
    if isinstance(obj, (tuple, list)):
        return f"a {type(obj).__name__} of {len(obj)}"
    return f"a {type(obj).__name__}"


def _show(t: torch.Tensor) -> str:
    """A tensor's values, short: "0.8123" or "[0.812, 1.53, 0.27, ...]"."""
    t = t.detach().flatten().float()
    if t.numel() == 1:
        return f"{t.item():.4g}"
    return "[" + ", ".join(f"{v:.3g}" for v in t[:3].tolist()) + (", ...]" if t.numel() > 3 else "]")


def _shape(shape) -> str:
    return "one number (shape ())" if tuple(shape) == () else f"shape {tuple(shape)}"


def _tensor(got, what: str, hint: str = "") -> torch.Tensor:
    """got, if it is a tensor; else a _Fail saying what it is instead."""
    if isinstance(got, torch.Tensor):
        return got
    extra = hint or (" (.item() gives a Python number: keep the tensor so .backward() can run)"
                     if isinstance(got, float) else "")
    raise _Fail(f"{what} should be a tensor, got {_describe(got)}{extra}")


def _close(got, want: torch.Tensor, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    return (isinstance(got, torch.Tensor) and got.shape == want.shape
            and torch.allclose(got.detach().float(), want.detach().float(), rtol=rtol, atol=atol))


def _known_mistake(got: torch.Tensor, mistakes: list[tuple[torch.Tensor, str]]) -> None:
    """_Fail with the hint of the first mistake whose result matches got (same shape and values)."""
    for want, hint in mistakes:
        if _close(got, want):
            raise _Fail(hint)


def _expect(got: torch.Tensor, want: torch.Tensor, what: str, formula: str) -> None:
    """_Fail unless got has want's shape and values: expected vs got, and the formula to compare with."""
    if got.shape != want.shape:
        raise _Fail(f"{what} has {_shape(got.shape)}, expected {_shape(want.shape)}")
    if torch.isnan(got).any():
        raise _Fail(f"{what} contains NaN; look for log or sqrt of a negative number, or a division by 0")
    if not _close(got, want):
        raise _Fail(f"{what} is {_show(got)}, expected {_show(want)}; {formula}")


def _needs_grad(got: torch.Tensor, what: str) -> None:
    if not got.requires_grad:
        raise _Fail(f"{what} is cut off from the inputs' graph (.item(), .detach(), .data, torch.no_grad or NumPy): "
                    f"use torch operations so .backward() reaches the network")


def _n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _leaves(net: nn.Module) -> list[nn.Module]:
    """The layers without sub-layers, in registration order (for a Sequential: call order)."""
    return [m for m in net.modules() if not list(m.children())]


def _module(got, what: str) -> nn.Module:
    if not isinstance(got, nn.Module):
        raise _Fail(f"{what} should return an nn.Module (e.g. nn.Sequential(...)), got {_describe(got)}")
    return got


def _is_affine(net: nn.Module, a: torch.Tensor, b: torch.Tensor, post=lambda t: t) -> bool:
    """Does post(net(.)) map the midpoint of a and b to the midpoint of their images (no nonlinearity)?"""
    with torch.no_grad():
        fa, fb, fm = (post(net(t)) for t in (a, b, (a + b) / 2))
    return torch.allclose(fm, (fa + fb) / 2, atol=1e-4, rtol=1e-3)


_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.ELU, nn.GELU, nn.SiLU, nn.Softplus, nn.Softmax)


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
    got = _tensor(_call(fn, x_hat, x), "the loss")
    want = _reference("ae_loss")(x_hat, x)
    err = (x_hat - x).detach()
    _known_mistake(got, [
        ((err ** 2).flatten(1).sum(1).mean(), "summed over the 784 pixels: average over pixels too, "
                                              "F.mse_loss(x_hat, x) (or ((x_hat - x) ** 2).mean())"),
        ((err ** 2).sum(), "summed instead of averaged: F.mse_loss(x_hat, x) averages over pixels and images, "
                           "so the loss does not grow with the batch"),
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
    want = latent_dim * 400 + 400 + 400 * 784 + 784
    if _n_params(net) != want:
        raise _Fail(f"{_n_params(net):,} parameters, expected {want:,} = 7*400 + 400 + 400*784 + 784 for "
                    f"Linear(latent_dim, 400) and Linear(400, 784); check the layer widths")
    lo, hi = x_hat.min().item(), x_hat.max().item()
    if lo < 0 or hi > 1:
        tanh = " (Tanh gives [-1, 1], the GANs' range)" if any(isinstance(m, nn.Tanh) for m in net.modules()) else ""
        raise _Fail(f"pixels range over [{lo:.3g}, {hi:.3g}], outside [0, 1]{tanh}: end in nn.Sigmoid() so the "
                    f"outputs are intensities like the data")
    if lo >= 0.5:
        raise _Fail("every pixel is >= 0.5: there is a ReLU right before the Sigmoid; nothing goes between "
                    "Linear(400, 784) and nn.Sigmoid()")
    if _is_affine(net, torch.randn(batch, latent_dim), z, post=lambda t: torch.logit(t.double())):
        raise _Fail("the decoder is linear before its Sigmoid: put nn.ReLU() after Linear(latent_dim, 400)")


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
    torch.manual_seed(210)
    z = _tensor(_call(fn, mu_g, logvar_g), "z")
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
    if not z.requires_grad:
        raise _Fail("z is cut off from mu and logvar (torch.no_grad, .detach() or Normal(...).sample()): "
                    "z = mu + sigma * eps lets the gradients reach the encoder")
    z.sum().backward()
    if logvar_g.grad is None or not logvar_g.grad.abs().sum() > 0:
        raise _Fail("no gradient reaches logvar: write z = mu + sigma * eps with sigma = torch.exp(0.5 * logvar) "
                    "(torch.normal gives sigma no gradient; so do .detach() and .data)")
    if mu_g.grad is None or not torch.allclose(mu_g.grad, torch.ones_like(mu)):
        raise _Fail("dz/dmu should be 1: z = mu + sigma * eps, with mu added as it is")


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


def check_kl_divergence(fn: Callable) -> Callable:
    """Exercise 2.2 (notebooks/02_vae.ipynb): kl_divergence(mu, logvar) -> (B,), KL(N(mu, sigma^2) || N(0, I))."""
    return _run("2.2", "kl_divergence", fn, _reference("kl_divergence"), _check_kl_divergence)


def _check_kl_divergence(fn: Callable) -> None:
    torch.manual_seed(22)
    mu, logvar = torch.randn(5, 3), 0.8 * torch.randn(5, 3)  # (B, latent_dim)
    got = _tensor(_call(fn, mu.clone().requires_grad_(), logvar.clone().requires_grad_()), "the KL")
    want = _reference("kl_divergence")(mu, logvar)  # (5,)
    terms = -0.5 * (1 + logvar - mu ** 2 - logvar.exp())  # (5, 3), one per latent dim
    sigma = torch.exp(0.5 * logvar)
    formula = "KL = -1/2 * sum over dim 1 of (1 + logvar - mu^2 - exp(logvar))"
    _known_mistake(got, [
        (2 * want, "twice labkit's value: the closed form has a factor 1/2 in front, KL = -0.5 * sum(...)"),
        (-want, "the KL came out negative: a sign is flipped; KL = -0.5 * sum(1 + logvar - mu^2 - exp(logvar)) >= 0"),
        (want / 3, "averaged over the latent dims: sum over them instead (dim=1); the KL of independent dims adds up"),
        (want.sum(), "summed over the batch to one number: return one KL per image, shape (B,), summing over "
                     "dim=1 only"),
        (want.mean(), "averaged over the batch to one number: return one KL per image, shape (B,) (vae_loss takes "
                      "the mean over images)"),
        (terms, "one value per latent dimension, shape (5, 3): sum over the latent dims, dim=1, to get (B,)"),
        (-0.5 * (1 + sigma - mu ** 2 - logvar.exp()).sum(1), "sigma used where log sigma^2 is expected: the second "
                                                             "term is logvar itself"),
        (-0.5 * (1 + torch.log(logvar ** 2) - mu ** 2 - logvar ** 2).sum(1),
         "logvar treated as sigma: it holds log sigma^2, so log sigma^2 = logvar and sigma^2 = exp(logvar)"),
        (-0.5 * (1 + logvar - mu ** 2 - logvar ** 2).sum(1), "sigma^2 is exp(logvar), not logvar^2"),
        (-0.5 * (1 + logvar - mu ** 2 - sigma).sum(1), "sigma used where sigma^2 is expected: the last term is "
                                                       "sigma^2 = exp(logvar), not exp(0.5 * logvar)"),
        (-0.5 * (1 + logvar - mu - logvar.exp()).sum(1), "mu where mu^2 is expected: the term is mu.pow(2)"),
        (-0.5 * (logvar - mu ** 2 - logvar.exp()).sum(1), "the 1 inside the sum is missing: 1 + logvar - mu^2 - "
                                                          "exp(logvar)"),
    ])
    if torch.isnan(got).any():
        raise _Fail("the KL contains NaN: logvar = log sigma^2 can be negative, so log(logvar) or sqrt(logvar) "
                    "fail; sigma^2 = logvar.exp()")
    _expect(got, want, "the KL", formula)
    _needs_grad(got, "the KL")


def check_vae_loss(fn: Callable) -> Callable:
    """Exercise 2.3 (notebooks/02_vae.ipynb): vae_loss(x_hat, x, mu, logvar) -> (total, recon, kl), per image."""
    return _run("2.3", "vae_loss", fn, _reference("vae_loss"), _check_vae_loss)


def _check_vae_loss(fn: Callable) -> None:
    torch.manual_seed(23)
    batch = 4
    x = torch.rand(batch, 1, 28, 28)  # (B, 1, 28, 28) in [0, 1]
    x_hat = torch.sigmoid(torch.randn(batch, 1, 28, 28))  # decoder output in (0, 1)
    mu, logvar = torch.randn(batch, 3), 0.8 * torch.randn(batch, 3)
    got = _call(fn, x_hat.clone().requires_grad_(), x, mu.clone().requires_grad_(), logvar.clone().requires_grad_())
    if not (isinstance(got, (tuple, list)) and len(got) == 3):
        raise _Fail(f"expected three values (total, recon, kl), got {_describe(got)}")
    total, recon, kl = (_tensor(v, name) for v, name in zip(got, ("total", "recon", "kl")))
    w_total, w_recon, w_kl = _reference("vae_loss")(x_hat, x, mu, logvar)
    wants = (w_total, w_recon, w_kl)
    for i, (value, name) in enumerate(zip((total, recon, kl), ("total", "recon", "kl"))):
        if not _close(value, wants[i]) and any(_close(value, w) for j, w in enumerate(wants) if j != i):
            raise _Fail(f"{name} holds another term's value: return them in the order (total, recon, kl)")
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
        ((w_recon + w_kl) / 2, "total is the average of the two terms: add them, total = recon + kl"),
    ])
    _expect(total, w_total, "total", "total = recon + kl")
    _needs_grad(total, "total")


# ---------------------------------------------------------------------------------------------------
# Notebook 03: the MLP GAN
# ---------------------------------------------------------------------------------------------------

def check_discriminator_loss(fn: Callable) -> Callable:
    """Exercise 3.1 (notebooks/03_mnist_gan.ipynb): discriminator_loss(d_real, d_fake), the mean of two BCEs."""
    return _run("3.1", "discriminator_loss", fn, _reference("discriminator_loss"), _check_discriminator_loss)


def _check_discriminator_loss(fn: Callable) -> None:
    torch.manual_seed(31)
    d_real = torch.sigmoid(torch.randn(8) + 1)  # (B,) D's probabilities on real images
    d_fake = torch.sigmoid(torch.randn(8) - 1)  # (B,) ... on fakes
    got = _tensor(_call(fn, d_real.clone().requires_grad_(), d_fake.clone().requires_grad_()), "the loss")
    want = _reference("discriminator_loss")(d_real, d_fake)
    bce, ones, zeros = F.binary_cross_entropy, torch.ones(8), torch.zeros(8)
    real, fake = bce(d_real, ones), bce(d_fake, zeros)
    _known_mistake(got, [
        ((bce(d_real, zeros) + bce(d_fake, ones)) / 2, "the labels are swapped: real images get label 1 "
                                                       "(torch.ones_like(d_real)), fakes label 0"),
        (real + fake, "twice labkit's value: average the two halves, (loss_real + loss_fake) / 2, so the loss at "
                      "the equilibrium D = 1/2 is log 2"),
        (-want, "the sign: that is D's objective [log D(x) + log(1 - D(G(z)))] / 2, which D maximises; the loss to "
                "minimise is its negative"),
        (-2 * want, "the sign: log D(x) + log(1 - D(G(z))) is what D maximises; the loss is its negative, "
                    "averaged: [BCE(D(x), 1) + BCE(D(G(z)), 0)] / 2"),
        ((real + bce(d_fake, ones)) / 2, "the fakes get label 1, as in G's loss: D should call them fake, "
                                         "torch.zeros_like(d_fake)"),
        (real, "only the real half: add the fakes' BCE(D(G(z)), 0) and average the two"),
        (fake, "only the fake half: add the real images' BCE(D(x), 1) and average the two"),
        ((bce(d_real, ones, reduction="sum") + bce(d_fake, zeros, reduction="sum")) / 2,
         "summed over the batch: take the mean over images (the BCE's default), so the loss does not grow with it"),
        ((((d_real - 1) ** 2).mean() + (d_fake ** 2).mean()) / 2, "that is a least-squares loss; this GAN's D uses "
                                                                  "binary cross-entropy, F.binary_cross_entropy"),
    ])
    _expect(got, want, "the loss", "L_D = [BCE(d_real, 1) + BCE(d_fake, 0)] / 2")
    _needs_grad(got, "the loss")


def check_generator_loss(fn: Callable) -> Callable:
    """Exercise 3.2 (notebooks/03_mnist_gan.ipynb): generator_loss(d_fake), the non-saturating -log D(G(z))."""
    return _run("3.2", "generator_loss", fn, _reference("generator_loss"), _check_generator_loss)


def _check_generator_loss(fn: Callable) -> None:
    torch.manual_seed(32)
    d_fake = torch.sigmoid(torch.randn(8) - 1)  # (B,) D's probabilities on fakes
    got = _tensor(_call(fn, d_fake.clone().requires_grad_()), "the loss")
    want = _reference("generator_loss")(d_fake)
    log_d, log_1md = torch.log(d_fake), torch.log(1 - d_fake)
    _known_mistake(got, [
        (log_1md.mean(), "that is the saturating loss log(1 - D(G(z))): its gradient vanishes while D rejects the "
                         "fakes; minimise -log D(G(z)) = BCE(d_fake, 1) instead"),
        (-log_1md.mean(), "label 0 teaches G to make fakes that D calls fake: G wants D(G(z)) -> 1, "
                          "BCE(d_fake, torch.ones_like(d_fake))"),
        (log_d.mean(), "the sign: minimise -log D(G(z)) (maximise log D(G(z))), i.e. BCE(d_fake, 1)"),
        (-log_d.sum(), "summed over the batch: take the mean (the BCE's default), so the loss does not grow with it"),
        (-log_d, "one loss per image, shape (8,): take the mean over the batch"),
        (((d_fake - 1) ** 2).mean(), "that is a least-squares loss; this GAN's G uses binary cross-entropy, "
                                     "BCE(d_fake, 1)"),
    ])
    _expect(got, want, "the loss", "L_G = BCE(d_fake, 1) = -mean(log d_fake)")
    _needs_grad(got, "the loss")


def check_d_step(fn: Callable) -> Callable:
    """Exercise 3.3 (notebooks/03_mnist_gan.ipynb): d_step(x, fake, net_D, opt_D) -> (loss_D, D_x, D_G_z1)."""
    return _run("3.3", "d_step", fn, reference_d_step, _check_d_step)


def _tiny_gan() -> tuple[nn.Module, nn.Module]:
    """net_G: z (B, 4) -> (B, 6); net_D: (B, 6) -> probability (B,). Small enough to compare exactly."""
    net_G = nn.Sequential(nn.Linear(4, 6), nn.Tanh())
    net_D = nn.Sequential(nn.Linear(6, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1), nn.Sigmoid(), nn.Flatten(0))
    return net_G, net_D


def _check_d_step(fn: Callable) -> None:
    torch.manual_seed(33)
    net_G, net_D = _tiny_gan()
    x, z = torch.randn(5, 6), torch.randn(5, 4)  # real batch (B, 6), noise (B, 4)
    lr, stale = 0.1, 0.5  # stale: gradients left over from an earlier step
    start = [p.detach().clone() for p in net_D.parameters()]

    ref_D = copy.deepcopy(net_D)
    with torch.no_grad():
        d_real, d_fake = ref_D(x), ref_D(net_G(z))
    ref_loss, ref_dx, ref_dgz = reference_d_step(x, net_G(z), ref_D, torch.optim.SGD(ref_D.parameters(), lr=lr))
    after = [p.detach() for p in ref_D.parameters()]
    grads = [(p0 - p1) / lr for p0, p1 in zip(start, after)]  # what the right step's gradient was

    for p in net_D.parameters():
        p.grad = torch.full_like(p, stale)
    fake = net_G(z)  # attached to G, as in fit_gan
    got = _call(fn, x, fake, net_D, torch.optim.SGD(net_D.parameters(), lr=lr))
    if any(p.grad is not None for p in net_G.parameters()):
        raise _Fail("gradients reach G in the D step: score the fakes with net_D(fake.detach()), so D's loss "
                    "changes D only")
    now = [p.detach() for p in net_D.parameters()]

    def params_are(expected):
        return all(torch.allclose(a, b, atol=1e-6) for a, b in zip(now, expected))

    if not params_are(after):
        if params_are(start):
            if all(p.grad is not None and bool((p.grad == stale).all()) for p in net_D.parameters()):
                raise _Fail("D did not change and no gradient was computed: opt_D.zero_grad(), then "
                            "loss_D.backward(), then opt_D.step()")
            raise _Fail("D's parameters did not change: after loss_D.backward(), call opt_D.step()")
        if params_are([p0 - lr * (g + stale) for p0, g in zip(start, grads)]):
            raise _Fail("the gradients of the previous step were added to this one: call opt_D.zero_grad() "
                        "before loss_D.backward()")
        if params_are([p0 - lr * stale for p0 in start]):
            raise _Fail("D stepped on old gradients: call opt_D.zero_grad(), then loss_D.backward(), then "
                        "opt_D.step()")
        raise _Fail("D's update differs from labkit's: loss_D should be discriminator_loss(net_D(x), "
                    "net_D(fake.detach())), followed by one backward() and one opt_D.step()")

    if not (isinstance(got, (tuple, list)) and len(got) == 3):
        raise _Fail(f"expected three values (loss_D, D_x, D_G_z1), got {_describe(got)}")
    item = " (keep tensors, detached: .item() waits for the GPU at every batch)"
    loss, dx, dgz = (_tensor(v, name, item if isinstance(v, float) else "")
                     for v, name in zip(got, ("loss_D", "D_x", "D_G_z1")))
    with torch.no_grad():
        dx_after, dgz_after = net_D(x).mean(), net_D(fake).mean()
    for value, name, want, late in ((dx, "D_x", ref_dx, dx_after), (dgz, "D_G_z1", ref_dgz, dgz_after)):
        if value.numel() != 1:
            raise _Fail(f"{name} has {_shape(value.shape)}: return the batch mean, one number (.mean())")
        if _close(value.reshape(()), late) and not _close(value.reshape(()), want):
            raise _Fail(f"{name} was measured after D's update: return the mean of D's outputs from the forward "
                        f"pass before the step")
    if _close(dx.reshape(()), ref_dgz) and _close(dgz.reshape(()), ref_dx):
        raise _Fail("D_x and D_G_z1 are swapped: return (loss_D, D(x).mean(), D(G(z)).mean())")
    for value, name, want in ((loss, "loss_D", ref_loss), (dx, "D_x", d_real.mean()), (dgz, "D_G_z1", d_fake.mean())):
        _expect(value.reshape(()), want, name, "return (loss_D, D(x).mean(), D(G(z)).mean()) from before the step")
        if value.requires_grad:
            raise _Fail(f"{name} still holds the graph: return it detached, {name}.detach(), so it does not keep "
                        f"the batch's activations alive")


# ---------------------------------------------------------------------------------------------------
# Notebook 04: the DCGAN
# ---------------------------------------------------------------------------------------------------

def check_weights_init(fn: Callable) -> Callable:
    """Exercise 4.1 (notebooks/04_abstract_art_dcgan.ipynb): weights_init(m), the DCGAN initialisation."""
    return _run("4.1", "weights_init", fn, _reference("weights_init"), _check_weights_init)


def _check_weights_init(fn: Callable) -> None:
    torch.manual_seed(41)
    cfg = _reference("DCGANConfig")()
    nets = (_reference("DCGANGenerator")(cfg), _reference("DCGANDiscriminator")(cfg))
    kinds = (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d)
    layers = [m for net in nets for m in net.modules() if isinstance(m, kinds)]
    before = [m.weight.detach().clone() for m in layers]
    for net in nets:
        try:
            with torch.no_grad():
                _call(net.apply, fn, what="net.apply(weights_init)")
        except _Fail as e:
            if "AttributeError" not in str(e):
                raise
            raise _Fail(f"{e}; apply() calls it on every layer, ReLU and Sequential included: change only the Conv "
                        f"and BatchNorm layers (isinstance(m, ...))") from None
    if all(torch.equal(m.weight.detach(), w0) for m, w0 in zip(layers, before)):
        raise _Fail("weights_init changed no layer: draw Conv2d and ConvTranspose2d weights from N(0, 0.02), "
                    "BatchNorm2d weights from N(1, 0.02), and set BatchNorm2d biases to 0")
    for m, w0 in zip(layers, before):
        if torch.equal(m.weight.detach(), w0):
            if isinstance(m, nn.BatchNorm2d):
                raise _Fail("the BatchNorm2d layers kept PyTorch's default scale 1: draw it from N(1, 0.02), "
                            "nn.init.normal_(m.weight, 1.0, 0.02), and set m.bias to 0")
            raise _Fail(f"the {type(m).__name__} layers kept PyTorch's default initialisation: match nn.Conv2d and "
                        f"nn.ConvTranspose2d, isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))")
    for m in layers:
        if isinstance(m, nn.BatchNorm2d):
            continue
        mean, std = m.weight.mean().item(), m.weight.std().item()
        if abs(std - 1) < 0.1 and abs(mean - 0.02) < 0.01:
            raise _Fail("conv weights have mean 0.02 and std 1: normal_'s arguments are (tensor, mean, std), "
                        "nn.init.normal_(m.weight, 0.0, 0.02)")
        if abs(std - 0.02) > 0.003 or abs(mean) > 0.003:
            raise _Fail(f"{type(m).__name__} weights have mean {mean:.3g} and std {std:.3g}, expected N(0, 0.02): "
                        f"nn.init.normal_(m.weight, 0.0, 0.02)")
    bns = [m for m in layers if isinstance(m, nn.BatchNorm2d)]
    bn_w = torch.cat([m.weight.detach() for m in bns])
    bn_b = torch.cat([m.bias.detach() for m in bns])
    mean, std = bn_w.mean().item(), bn_w.std().item()
    if abs(mean - 1) > 0.01:
        raise _Fail(f"BatchNorm2d weights have mean {mean:.3g}, expected 1: nn.init.normal_(m.weight, 1.0, 0.02) "
                    f"(the weight is the layer's scale; near 0 it silences the layer)")
    if abs(std - 0.02) > 0.004:
        raise _Fail(f"BatchNorm2d weights have std {std:.3g}, expected 0.02: nn.init.normal_(m.weight, 1.0, 0.02)")
    if bn_b.abs().max().item() > 0:
        raise _Fail("BatchNorm2d biases should be 0: nn.init.zeros_(m.bias)")


def check_conv_transpose_out(fn: Callable) -> Callable:
    """Exercise 4.2 (notebooks/04_abstract_art_dcgan.ipynb): conv_transpose_out(size, kernel, stride, padding)."""
    return _run("4.2", "conv_transpose_out", fn, reference_conv_transpose_out, _check_conv_transpose_out)


def _transpose_cases() -> list[tuple[int, int, int, int]]:
    """(size, kernel, stride, padding): the DCGAN's own layers first, then a grid; all with a valid output."""
    cases = [(1, 4, 1, 0), (4, 4, 2, 1), (32, 4, 2, 1)]
    cases += [(s, k, st, p) for s in (1, 2, 3, 5, 8) for k in (1, 2, 3, 4, 5) for st in (1, 2, 3) for p in (0, 1, 2)
              if (s - 1) * st - 2 * p + k > 0 and p < k]
    return cases


def _check_conv_transpose_out(fn: Callable) -> None:
    cases = _transpose_cases()
    truth = []
    for s, k, st, p in cases:  # measured: what torch's ConvTranspose2d gives (on the meta device: shapes only)
        layer = nn.ConvTranspose2d(1, 1, k, st, p, device="meta")
        truth.append(layer(torch.empty(1, 1, s, s, device="meta")).shape[-1])
    got = []
    for case in cases:
        value = _call(fn, *case, what="conv_transpose_out(size=%d, kernel=%d, stride=%d, padding=%d)" % case)
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise _Fail(f"expected a whole number (int), got {_describe(value)} for size={case[0]}, kernel="
                        f"{case[1]}, stride={case[2]}, padding={case[3]}" +
                        ("; use // or int(), sizes count pixels" if isinstance(value, float) else ""))
        got.append(int(value))
    for formula, hint in (
        (lambda s, k, st, p: (s + 2 * p - k) // st + 1,
         "that is Conv2d's formula (a convolution shrinks the image); a transposed one grows it: "
         "(size - 1)*stride - 2*padding + kernel"),
        (lambda s, k, st, p: (s - 1) * st + k, "padding is ignored: it trims the output, - 2*padding"),
        (lambda s, k, st, p: (s - 1) * st - p + k, "padding trims both sides: subtract 2*padding"),
        (lambda s, k, st, p: (s - 1) * st + 2 * p + k, "padding trims a transposed convolution's output: - 2*padding"),
        (lambda s, k, st, p: s * st - 2 * p + k, "one stride too many: (size - 1)*stride, since size pixels have "
                                                  "size - 1 gaps"),
        (lambda s, k, st, p: s * st, "size*stride holds only for kernel 4, stride 2, padding 1; in general "
                                     "(size - 1)*stride - 2*padding + kernel"),
        (lambda s, k, st, p: (s - 1) * st - 2 * p + k + 1, "one too many: (size - 1)*stride - 2*padding + kernel"),
        (lambda s, k, st, p: (s - 1) * st - 2 * p + k - 1, "one too few: (size - 1)*stride - 2*padding + kernel"),
    ):
        if got != truth and got == [formula(*case) for case in cases]:
            raise _Fail(hint)
    for case, g, t in zip(cases, got, truth):
        if g != t:
            raise _Fail(f"conv_transpose_out(size=%d, kernel=%d, stride=%d, padding=%d) returned {g}, "
                        f"nn.ConvTranspose2d gives {t}" % case)


def check_g_block(fn: Callable) -> Callable:
    """Exercise 4.3 (notebooks/04_abstract_art_dcgan.ipynb): g_block(in_ch, out_ch), one DCGAN generator block."""
    return _run("4.3", "g_block", fn, reference_g_block, _check_g_block)


def _check_g_block(fn: Callable) -> None:
    in_ch, out_ch = 6, 3
    torch.manual_seed(43)
    net = _module(_call(fn, in_ch, out_ch, what="g_block(6, 3)"), "g_block(6, 3)")
    leaves = _leaves(net)
    if not any(isinstance(m, nn.ConvTranspose2d) for m in leaves):
        conv = " nn.Conv2d shrinks the image;" if any(isinstance(m, nn.Conv2d) for m in leaves) else ""
        raise _Fail(f"no nn.ConvTranspose2d:{conv} the generator grows the image with "
                    f"nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False)")
    x = torch.randn(2, in_ch, 5, 5)
    out = _tensor(_call(net, x, what="your block, run on (2, 6, 5, 5),"), "the block's output")
    if out.shape != (2, out_ch, 10, 10):
        raise _Fail(f"from (2, 6, 5, 5) it gives {tuple(out.shape)}, expected (2, 3, 10, 10): kernel_size=4, "
                    f"stride=2, padding=1 doubles the height and width; out_ch channels")
    if any(isinstance(m, nn.ConvTranspose2d) and m.bias is not None for m in leaves):
        raise _Fail("the transposed convolution has a bias: use bias=False, the BatchNorm right after it removes "
                    "any constant shift (and adds its own)")
    if not any(isinstance(m, nn.BatchNorm2d) for m in leaves):
        raise _Fail("no nn.BatchNorm2d(out_ch) after the transposed convolution (DCGAN normalises every hidden "
                    "layer of G)")
    if any(isinstance(m, nn.LeakyReLU) for m in leaves):
        raise _Fail("LeakyReLU is the discriminator's activation; the DCGAN generator uses nn.ReLU(True)")
    if not any(isinstance(m, nn.ReLU) for m in leaves):
        raise _Fail("no activation: end the block with nn.ReLU(True)")
    want = in_ch * out_ch * 4 * 4 + 2 * out_ch
    if _n_params(net) != want:
        raise _Fail(f"{_n_params(net)} parameters, expected {want} = 6*3*4*4 (a 4x4 kernel, no bias) + 2*3 "
                    f"(BatchNorm's scale and shift); kernel_size=4")
    kinds = [type(m) for m in leaves if isinstance(m, (nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU))]
    if kinds != [nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU] or bool((out < 0).any()):
        raise _Fail("the layers are out of order: ConvTranspose2d -> BatchNorm2d -> ReLU")


# ---------------------------------------------------------------------------------------------------
# The exercises, in notebook order
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exercise:
    id: str  # "2.2": notebook 02, second exercise; the stub's NotImplementedError names it
    name: str  # the function the student writes
    notebook: str  # notebooks/<notebook>.ipynb
    check: Callable  # check(fn) prints one line and returns fn (PASS) or labkit's reference


EXERCISES = (
    Exercise("1.1", "ae_loss", "01_autoencoder", check_ae_loss),
    Exercise("1.2", "make_encoder", "01_autoencoder", check_make_encoder),
    Exercise("1.3", "make_decoder", "01_autoencoder", check_make_decoder),
    Exercise("2.1", "reparameterize", "02_vae", check_reparameterize),
    Exercise("2.2", "kl_divergence", "02_vae", check_kl_divergence),
    Exercise("2.3", "vae_loss", "02_vae", check_vae_loss),
    Exercise("3.1", "discriminator_loss", "03_mnist_gan", check_discriminator_loss),
    Exercise("3.2", "generator_loss", "03_mnist_gan", check_generator_loss),
    Exercise("3.3", "d_step", "03_mnist_gan", check_d_step),
    Exercise("4.1", "weights_init", "04_abstract_art_dcgan", check_weights_init),
    Exercise("4.2", "conv_transpose_out", "04_abstract_art_dcgan", check_conv_transpose_out),
    Exercise("4.3", "g_block", "04_abstract_art_dcgan", check_g_block),
)
