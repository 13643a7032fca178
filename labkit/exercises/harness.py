"""How the exercise checks of labkit.exercises.checks run: labkit's reference in each exercise's signature, and the
machinery that turns whatever a student's function returns or raises into one printed line.

Introduced in notebooks/01_autoencoder.ipynb (through labkit.exercises.checks).
"""
from __future__ import annotations

import copy
import numbers
import os
import random
import sys
import warnings
from typing import Callable

import torch
from torch import nn


from .references import (REFERENCES, _reference, reference_conv_transpose_out, reference_d_step,  # noqa: F401
                         reference_g_block, reference_make_decoder, reference_make_encoder, reference_reparameterize)


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


def _autograding() -> bool:
    """Is nbgrader running the notebook (autograde or validate)? It sets NBGRADER_EXECUTION for its kernel."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def _run(ex_id: str, name: str, fn, reference: Callable, check: Callable) -> Callable:
    """Run check(fn), print the one line, return fn on PASS and `reference` otherwise.

    Under nbgrader's autograder a FAIL or "not done yet" line goes to stderr, which nbgrader scores as a failed
    test cell (0 points, the line in the feedback); the name is still rebound, so the notebook runs on."""
    label = f"exercise {ex_id} {name}"
    py_state = random.getstate()
    np_random = sys.modules["numpy"].random if "numpy" in sys.modules else None
    np_state = np_random.get_state() if np_random is not None else None
    try:
        if not callable(fn):
            raise _Fail(f"expected a function, got {_describe(fn)}; run the cell that defines {name} first")
        with torch.random.fork_rng(devices=[]), torch.enable_grad(), warnings.catch_warnings():
            if _autograding():
                warnings.simplefilter("ignore")  # a warning on stderr would cost the student the cell's points
            check(fn)
        line, result = f"{label}: PASS", fn
    except _NotDone:
        line, result = f"{label}: not done yet; using labkit's reference so you can go on", reference
    except _Fail as e:
        line, result = f"{label}: FAIL - {e}", reference
    except Exception as e:  # the check could not make sense of what the function returned
        line = f"{label}: FAIL - could not use what {name} returned ({type(e).__name__}: {_one_line(e)})"
        result = reference
    finally:
        random.setstate(py_state)
        if np_state is not None:
            np_random.set_state(np_state)
    print(line, file=sys.stderr if result is not fn and _autograding() else sys.stdout, flush=True)
    return result


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


_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.ELU, nn.GELU, nn.SiLU, nn.Softplus, nn.Softmax,
                nn.Hardtanh, nn.Hardsigmoid, nn.PReLU, nn.LogSigmoid)

_RESHAPES = (nn.Flatten, nn.Unflatten, nn.Identity)


def _sequence(net: nn.Module, expected: list[type], what: str, asked: str) -> None:
    """For an nn.Sequential: _Fail unless its layers, reshapes aside, are exactly `expected`, in this order.

    The hint names the first difference: a layer of another kind, an extra layer, or a missing one."""
    if not isinstance(net, nn.Sequential):
        return  # a module of the student's own: judged by what it computes
    kinds = [type(m) for m in _leaves(net) if not isinstance(m, _RESHAPES)]
    if kinds == expected:
        return
    same = next((i for i, (a, b) in enumerate(zip(kinds, expected)) if a is not b), min(len(kinds), len(expected)))
    if len(kinds) == len(expected):
        if sorted(k.__name__ for k in kinds) == sorted(k.__name__ for k in expected):
            raise _Fail(f"{what}'s layers are out of order: {asked}")
        raise _Fail(f"{what} has {kinds[same].__name__} where the text asks for {expected[same].__name__}: {asked}")
    if len(kinds) > len(expected):
        after = f"after its {kinds[same - 1].__name__}" if same else "at the start"
        raise _Fail(f"{what} has an extra {kinds[same].__name__} {after}: the text asks for exactly {asked}")
    raise _Fail(f"{what} lacks a {expected[same].__name__}: the text asks for {asked}")


def _bends(f: Callable, x: torch.Tensor, h: float = 1e-4, tries: int = 6) -> bool | None:
    """Does f (a network and what follows it, run in float64) curve along short random lines through x?

    A ReLU network is piecewise linear: along a short line its second difference is 0 unless a unit switches on
    or off, which few lines meet. A Sigmoid, Tanh, GELU or Softmax curves everywhere. None if f cannot run in
    float64 (a module of the student's own that makes float32 tensors)."""
    g = torch.Generator().manual_seed(0)
    straight = 0
    try:
        with torch.no_grad():
            for i in range(tries):
                x0 = x[i % len(x)].unsqueeze(0).double()
                d = torch.randn(x0.shape, generator=g, dtype=torch.float64)
                f0, fp, fm = f(x0), f(x0 + h * d), f(x0 - h * d)
                second, first = (fp - 2 * f0 + fm).abs().max(), (fp - fm).abs().max()
                straight += bool(second <= 1e-8 * first + 1e-13)
    except (RuntimeError, TypeError):
        return None
    return straight < tries // 2


def _as_float64(net: nn.Module) -> nn.Module:
    return copy.deepcopy(net).double()


def _snapshot(**tensors: torch.Tensor) -> dict[str, tuple]:
    """Each tensor with a copy of its values, its requires_grad and its grad_fn, for _untouched afterwards."""
    return {name: (t, t.detach().clone(), t.requires_grad, t.grad_fn) for name, t in tensors.items()}


def _untouched(snapshot: dict[str, tuple], fn_name: str) -> None:
    """_Fail if the student's function changed a tensor the caller passed in (its values, graph or requires_grad)."""
    for name, (t, values, requires_grad, grad_fn) in snapshot.items():
        if t.requires_grad != requires_grad or t.grad_fn is not grad_fn:
            raise _Fail(f"{fn_name} changed the caller's {name} in place ({name}.detach_() or "
                        f"{name}.requires_grad_()): the caller uses {name} again afterwards; {name}.detach() makes "
                        f"a new tensor and leaves {name} as it was")
        if not torch.equal(t.detach(), values):
            raise _Fail(f"{fn_name} changed the values of the caller's {name} in place (an operation ending in _ "
                        f"or an assignment into {name}): work on a copy and leave {name} as it was")


def _kl_mistakes(mu: torch.Tensor, logvar: torch.Tensor) -> list[tuple[torch.Tensor, str]]:
    """The closed-form KL per image and latent dimension, (B, D), with one of its usual mistakes each, and the hint.

    Shared by exercises 2.2 (which sums over dim 1) and 6.1 (which does not), so both name a mistake alike."""
    sigma, var = torch.exp(0.5 * logvar), logvar.exp()

    def kl(log_var, variance, mean_term=mu ** 2, one=1.0):  # the closed form with one term replaced
        return -0.5 * (one + log_var - mean_term - variance)

    want = kl(logvar, var)
    return [
        (2 * want, "twice labkit's value: the closed form has a factor 1/2 in front, -1/2 * (1 + logvar - mu^2 - "
                   "exp(logvar))"),
        (-want, "a sign is flipped (a KL is never negative): -1/2 * (1 + logvar - mu^2 - exp(logvar))"),
        (kl(2 * logvar, torch.exp(2 * logvar)), "logvar read as log sigma: it holds log sigma^2, so the second term "
                                                "is logvar itself and sigma^2 = exp(logvar), not exp(2 * logvar)"),
        (kl(logvar, torch.exp(2 * logvar)), "sigma^2 is exp(logvar), not exp(2 * logvar): logvar already holds "
                                            "log sigma^2"),
        (kl(0.5 * logvar, var), "log sigma where log sigma^2 is expected: the second term is logvar itself, not "
                                "logvar / 2"),
        (kl(logvar, logvar ** 2), "sigma^2 is exp(logvar), not logvar^2"),
        (kl(torch.log(logvar ** 2), logvar ** 2), "logvar treated as sigma: it holds log sigma^2, so log sigma^2 = "
                                                  "logvar and sigma^2 = exp(logvar)"),
        (kl(sigma, var), "sigma used where log sigma^2 is expected: the second term is logvar itself"),
        (kl(logvar, sigma), "sigma used where sigma^2 is expected: the last term is exp(logvar), not "
                            "exp(0.5 * logvar)"),
        (kl(logvar, var, mean_term=mu), "mu where mu^2 is expected: the term is mu.pow(2)"),
        (kl(logvar, var, mean_term=mu.abs()), "|mu| where mu^2 is expected: the term is mu.pow(2)"),
        (kl(logvar, var, one=0.0), "the 1 inside the bracket is missing: 1 + logvar - mu^2 - exp(logvar)"),
        (kl(-logvar, var), "the sign of logvar is flipped: the bracket is 1 + logvar - mu^2 - exp(logvar)"),
        (kl(logvar, var, mean_term=-mu ** 2), "the sign of mu^2 is flipped: 1 + logvar - mu^2 - exp(logvar), so a "
                                              "mean far from 0 costs more"),
        (kl(logvar, -var), "the sign of exp(logvar) is flipped: 1 + logvar - mu^2 - exp(logvar)"),
    ]


def _gradients_like(got: torch.Tensor, inputs, reference: Callable, plain, names, what: str) -> None:
    """_Fail unless got.sum()'s gradient w.r.t. each input equals that of labkit's reference on the same values.

    A value can be right while part of it is cut off from the graph (.detach(), .item(), .data, NumPy); then that
    input's gradient is missing or wrong, and whatever produced it would not learn."""
    leaves = [t.clone().requires_grad_() for t in plain]
    want = torch.autograd.grad(reference(*leaves).sum(), leaves)
    grads = torch.autograd.grad(got.sum(), inputs, allow_unused=True)
    for g, w, name in zip(grads, want, names):
        if g is None or not torch.allclose(g, w, rtol=1e-3, atol=1e-6):
            raise _Fail(f"{what} has the right value but not the right gradient w.r.t. {name}: part of it is cut off "
                        f"from {name} (.detach(), .item(), .data or NumPy), so training would not move {name} as it "
                        f"should")
