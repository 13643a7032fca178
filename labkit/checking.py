"""How the exercise checks of labkit.checks run: labkit's reference in each exercise's signature, and the
machinery that turns whatever a student's function returns or raises into one printed line.

Introduced in notebooks/01_autoencoder.ipynb (through labkit.checks).
"""
from __future__ import annotations

import numbers
import random
import sys
from importlib import import_module
from typing import Callable

import torch
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
    "kl_per_dimension": "labkit.models.vae:kl_per_dimension",
    "gradient_penalty": "labkit.models.wgan_gp:gradient_penalty",  # its default weight, 10
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
