"""The exercise checks of notebook 03, the MLP GAN (see labkit.exercises.checks for how a check cell uses them)."""
from __future__ import annotations

import copy
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .harness import (_Fail, _call, _close, _describe, _expect, _gradients_like, _known_mistake, _needs_grad, _run,
                      _shape, _snapshot, _tensor, _untouched)
from .references import _reference, reference_d_step


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
    inputs = (d_real.clone().requires_grad_(), d_fake.clone().requires_grad_())
    got = _tensor(_call(fn, *inputs), "the loss")
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
        ((F.binary_cross_entropy_with_logits(d_real, ones) + F.binary_cross_entropy_with_logits(d_fake, zeros)) / 2,
         _LOGITS),
        (-(d_real.mean().log() + (1 - d_fake.mean()).log()) / 2, "the log of the batch mean: take the log of each "
                                                                 "image's probability first, then the mean"),
        (want / 2, "half labkit's value: each half is a mean BCE, and L_D is their average, (real + fake) / 2"),
        ((bce(d_real, zeros) + bce(d_fake, zeros)) / 2, "the real images get label 0: real is 1, fake is 0"),
    ])
    _expect(got, want, "the loss", "L_D = [BCE(d_real, 1) + BCE(d_fake, 0)] / 2")
    _needs_grad(got, "the loss")
    _gradients_like(got, inputs, _reference("discriminator_loss"), (d_real, d_fake), ("d_real", "d_fake"), "the loss")


_LOGITS = ("binary_cross_entropy_with_logits applies a sigmoid first: D's outputs are already probabilities, so use "
           "F.binary_cross_entropy")


def check_generator_loss(fn: Callable) -> Callable:
    """Exercise 3.2 (notebooks/03_mnist_gan.ipynb): generator_loss(d_fake), the non-saturating -log D(G(z))."""
    return _run("3.2", "generator_loss", fn, _reference("generator_loss"), _check_generator_loss)


def _check_generator_loss(fn: Callable) -> None:
    torch.manual_seed(32)
    d_fake = torch.sigmoid(torch.randn(8) - 1)  # (B,) D's probabilities on fakes
    inputs = (d_fake.clone().requires_grad_(),)
    got = _tensor(_call(fn, *inputs), "the loss")
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
        (F.binary_cross_entropy_with_logits(d_fake, torch.ones(8)), _LOGITS),
        (-torch.log(d_fake.mean()), "the log of the batch mean: take the log of each fake's probability first, then "
                                    "the mean, -mean(log D(G(z)))"),
        (-log_d.mean() / 2, "half labkit's value: G's loss is the whole BCE(d_fake, 1), no 1/2 (that belongs to D's "
                            "average of two halves)"),
        (-d_fake.mean(), "that is the Wasserstein generator's loss, -D(G(z)); this GAN's D gives probabilities and G "
                         "minimises -log D(G(z))"),
        ((1 - d_fake).mean(), "1 - D(G(z)) has no log: G minimises -log D(G(z)), whose gradient is large while D "
                              "rejects the fakes"),
    ])
    _expect(got, want, "the loss", "L_G = BCE(d_fake, 1) = -mean(log d_fake)")
    _needs_grad(got, "the loss")
    _gradients_like(got, inputs, _reference("generator_loss"), (d_fake,), ("d_fake",), "the loss")


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

    def sgd(net):  # with momentum, so a second step differs from a doubled gradient
        return torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)

    start = [p.detach().clone() for p in net_D.parameters()]
    pristine = copy.deepcopy(net_D)
    with torch.no_grad():
        d_real, d_fake = net_D(x), net_D(net_G(z))
    ref_D = copy.deepcopy(net_D)
    ref_loss, ref_dx, ref_dgz = reference_d_step(x, net_G(z), ref_D, sgd(ref_D))
    after = [p.detach() for p in ref_D.parameters()]

    for p in net_D.parameters():
        p.grad = torch.full_like(p, stale)
    fake = net_G(z)  # attached to G, as in fit_gan
    before = _snapshot(x=x, fake=fake)
    got = _call(fn, x, fake, net_D, sgd(net_D))
    if any(p.grad is not None for p in net_G.parameters()):
        raise _Fail("gradients reach G in the D step: score the fakes with net_D(fake.detach()), so D's loss "
                    "changes D only")
    _untouched(before, "d_step")
    _check_d_update(net_D, start, after, lr, stale, lambda: _d_step_mistakes(pristine, x, fake.detach(), sgd))
    _check_d_step_values(got, net_D, x, fake, (ref_loss, ref_dx, ref_dgz), (d_real.mean(), d_fake.mean()))


def _check_d_update(net_D: nn.Module, start: list, after: list, lr: float, stale: float, mistakes: Callable) -> None:
    """D's parameters after the student's step must be `after` (labkit's step from `start`); otherwise say which
    usual mistake (no step, stale or accumulated gradients, one of `mistakes()`) gives what they are."""
    now = [p.detach() for p in net_D.parameters()]

    def params_are(expected):
        return all(torch.allclose(a, b, atol=1e-6) for a, b in zip(now, expected))

    if params_are(after):
        return
    if params_are(start):
        if all(p.grad is not None and bool((p.grad == stale).all()) for p in net_D.parameters()):
            raise _Fail("D did not change and no gradient was computed: opt_D.zero_grad(), then "
                        "loss_D.backward(), then opt_D.step()")
        raise _Fail("D's parameters did not change: after loss_D.backward(), call opt_D.step()")
    grads = [(p0 - p1) / lr for p0, p1 in zip(start, after)]  # the right step's gradient (first SGD step)
    if params_are([p0 - lr * (g + stale) for p0, g in zip(start, grads)]):
        raise _Fail("the gradients of the previous step were added to this one: call opt_D.zero_grad() "
                    "before loss_D.backward()")
    if params_are([p0 - lr * stale for p0 in start]):
        raise _Fail("D stepped on old gradients: call opt_D.zero_grad(), then loss_D.backward(), then "
                    "opt_D.step()")
    for hint, update in mistakes():
        if params_are(update):
            raise _Fail(hint)
    raise _Fail("D's update differs from labkit's: loss_D should be discriminator_loss(net_D(x), "
                "net_D(fake.detach())), followed by one backward() and one opt_D.step()")


def _check_d_step_values(got, net_D: nn.Module, x: torch.Tensor, fake: torch.Tensor, ref: tuple,
                         before: tuple) -> None:
    """The three returned values: (loss_D, D_x, D_G_z1) as labkit's `ref` and D's mean outputs `before` the step,
    detached."""
    ref_loss, ref_dx, ref_dgz = ref
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
    for value, name, want in ((loss, "loss_D", ref_loss), (dx, "D_x", before[0]), (dgz, "D_G_z1", before[1])):
        _expect(value.reshape(()), want, name, "return (loss_D, D(x).mean(), D(G(z)).mean()) from before the step")
        if value.requires_grad:
            raise _Fail(f"{name} still holds the graph: return it detached, {name}.detach(), so it does not keep "
                        f"the batch's activations alive")


def _d_step_mistakes(net_D: nn.Module, x: torch.Tensor, fake: torch.Tensor, make_opt: Callable):
    """(hint, D's parameters after the step) for the usual ways a D step goes wrong, each from net_D as it is."""
    loss_of = _reference("discriminator_loss")
    bce = F.binary_cross_entropy
    wrong = [
        ("loss_D's arguments are swapped: discriminator_loss(d_real, d_fake), the real images' scores first (real "
         "has label 1)", lambda r, f: loss_of(f, r), 1),
        ("D's gradient is twice labkit's: the two BCEs are summed, not averaged (the 1/2 is missing), or backward() "
         "ran twice", lambda r, f: 2 * loss_of(r, f), 1),
        ("opt_D.step() ran twice: one backward(), one step per batch", loss_of, 2),
        ("both halves score the real images: d_fake = net_D(fake.detach())", lambda r, f: loss_of(r, r), 1),
        ("both halves score the fakes: d_real = net_D(x)", lambda r, f: loss_of(f, f), 1),
        ("loss_D has only the real images' half: discriminator_loss(d_real, d_fake) takes both",
         lambda r, f: bce(r, torch.ones_like(r)), 1),
        ("loss_D has only the fakes' half: discriminator_loss(d_real, d_fake) takes both",
         lambda r, f: bce(f, torch.zeros_like(f)), 1),
        ("that is G's loss (fakes labelled real): D's step minimises discriminator_loss(d_real, d_fake)",
         lambda r, f: bce(f, torch.ones_like(f)), 1),
        ("the loss has the wrong sign: D minimises discriminator_loss, so loss_D.backward() as it is, no minus",
         lambda r, f: -loss_of(r, f), 1),
    ]
    for hint, loss_fn, steps in wrong:
        net = copy.deepcopy(net_D)
        opt = make_opt(net)
        opt.zero_grad()
        loss_fn(net(x), net(fake)).backward()
        for _ in range(steps):
            opt.step()
        yield hint, [p.detach() for p in net.parameters()]


# notebook 04's checks lived here: importable from here as before
from .dcgan import check_conv_transpose_out, check_g_block, check_weights_init  # noqa: E402,F401
