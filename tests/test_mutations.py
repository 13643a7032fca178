"""Mutation suite for labkit.exercises.checks: for every exercise, wrong implementations a student plausibly writes, each
asserted to FAIL with the hint that names its mistake, and equivalent right ones asserted to PASS.

The slips listed in issue 25 come first in each exercise's list (marked "issue"); the rest are further mistakes
written against what each exercise teaches (tests/test_checks.py holds an older, shorter list). A check is judged by
the property it tests, so a mutant nobody listed is caught too; the hint substring says which test caught it."""
import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labkit.exercises import checks
from labkit.exercises.checks import EXERCISES

BY_NAME = {ex.name: ex for ex in EXERCISES}


def _kl(mu, logvar):  # notebook 02's kl_divergence, as a student's global
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def _seq(*layers):
    """make_encoder / make_decoder returning nn.Sequential(*layers(latent_dim))."""
    return lambda latent_dim: nn.Sequential(*(layer(latent_dim) if callable(layer) and not isinstance(layer, nn.Module)
                                              else layer for layer in layers))


class _Functional(nn.Module):
    """An encoder or decoder written as a module of the student's own, the activations called as functions."""

    def __init__(self, n_in, n_out, hidden, out=None, flatten=False, unflatten=False):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(n_in, 400), nn.Linear(400, n_out)
        self.hidden, self.out, self.flatten, self.unflatten = hidden, out, flatten, unflatten

    def forward(self, x):
        h = self.hidden(self.fc1(x.flatten(1) if self.flatten else x))
        y = self.fc2(h)
        y = self.out(y) if self.out else y
        return y.unflatten(1, (1, 28, 28)) if self.unflatten else y


def _enc(hidden):
    return lambda L: _Functional(784, L, hidden, flatten=True)


def _dec(hidden, out=torch.sigmoid):
    return lambda L: _Functional(L, 784, hidden, out=out, unflatten=True)


def _vae(recon="sum", kl="mean", total=lambda r, k: r + k, order=lambda t, r, k: (t, r, k)):
    """vae_loss(x_hat, x, mu, logvar), right by default; each argument brings in one mistake."""
    def vae_loss(x_hat, x, mu, logvar):
        r = {"sum": lambda: F.binary_cross_entropy(x_hat, x, reduction="sum") / len(x),
             "detached": lambda: F.binary_cross_entropy(x_hat.detach(), x, reduction="sum") / len(x),
             "item": lambda: torch.tensor(F.binary_cross_entropy(x_hat, x, reduction="sum").item() / len(x)),
             "pixels": lambda: F.binary_cross_entropy(x_hat, x, reduction="sum") / x.numel(),
             "mse": lambda: F.mse_loss(x_hat, x, reduction="sum") / len(x),
             "logits": lambda: F.binary_cross_entropy_with_logits(x_hat, x, reduction="sum") / len(x),
             "fixed batch": lambda: F.binary_cross_entropy(x_hat, x, reduction="sum") / 128,
             }[recon]()
        k = {"mean": lambda: _kl(mu, logvar).mean(),
             "detached": lambda: _kl(mu.detach(), logvar.detach()).mean(),
             "sum": lambda: _kl(mu, logvar).sum(),
             "no half": lambda: 2 * _kl(mu, logvar).mean(),
             "per image": lambda: _kl(mu, logvar),
             "mu only": lambda: _kl(mu, logvar.detach()).mean(),
             }[kl]()
        return order(total(r, k), r, k)
    return vae_loss


def _d_step(loss=None, detach="copy", zero=True, steps=1, backward=1, measure="before", returns="detached"):
    """d_step(x, fake, net_D, opt_D), right by default; each argument brings in one mistake."""
    def d_step(x, fake, net_D, opt_D):
        from labkit.models.gan import discriminator_loss
        loss_of = loss or discriminator_loss
        if zero:
            opt_D.zero_grad()
        if detach == "copy":
            fake_in = fake.detach()
        elif detach == "in place":
            fake_in = fake.detach_()
        elif detach == "requires_grad":
            fake_in = fake.requires_grad_(False) if fake.is_leaf else fake.detach()
            fake.data = fake.data.clone()
        elif detach == "clamp in place":
            fake_in = fake.detach()
            fake_in.clamp_(-0.5, 0.5)  # shares the caller's storage
        else:
            fake_in = fake
        d_real, d_fake = net_D(x), net_D(fake_in)
        loss_D = loss_of(d_real, d_fake)
        for i in range(backward):
            loss_D.backward(retain_graph=i + 1 < backward)
        for _ in range(steps):
            opt_D.step()
        if measure == "after":
            with torch.no_grad():
                d_real, d_fake = net_D(x), net_D(fake_in)
        if returns == "items":
            return loss_D.item(), d_real.mean().item(), d_fake.mean().item()
        if returns == "per image":
            return loss_D.detach(), d_real.detach(), d_fake.detach()
        if returns == "swapped":
            return loss_D.detach(), d_fake.detach().mean(), d_real.detach().mean()
        return loss_D.detach(), d_real.detach().mean(), d_fake.detach().mean()
    return d_step


def _bce(p, label):
    return F.binary_cross_entropy(p, torch.full_like(p, float(label)))


def _init(conv=lambda w: nn.init.normal_(w, 0.0, 0.02), bn_w=lambda w: nn.init.normal_(w, 1.0, 0.02),
          bn_b=nn.init.zeros_, kinds=(nn.Conv2d, nn.ConvTranspose2d), conv_bias=False):
    def weights_init(m):
        if isinstance(m, kinds):
            conv(m.weight)
            if conv_bias:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            bn_w(m.weight)
            bn_b(m.bias)
    return weights_init


def _init_in_place_without_init(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        m.weight.normal_(0.0, 0.02)  # autograd refuses an in-place change of a parameter outside no_grad
    elif isinstance(m, nn.BatchNorm2d):
        m.weight.normal_(1.0, 0.02)
        m.bias.zero_()


def _init_detached_parameter(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        m.weight = nn.Parameter(torch.randn_like(m.weight) * 0.02, requires_grad=False)
    elif isinstance(m, nn.BatchNorm2d):
        _init()(m)


def _block(*layers):
    return lambda i, o: nn.Sequential(*(layer(i, o) for layer in layers))


CT = lambda i, o: nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False)  # noqa: E731
BN = lambda i, o: nn.BatchNorm2d(o)  # noqa: E731
RELU = lambda i, o: nn.ReLU(True)  # noqa: E731


class _BlockModule(nn.Module):
    """g_block as a module of the student's own."""

    def __init__(self, i, o, after=lambda t: t, order="cbr"):
        super().__init__()
        self.conv, self.bn, self.after, self.order = nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), \
            after, order

    def forward(self, x):
        if self.order == "crb":
            return self.bn(F.relu(self.conv(x)))
        return self.after(F.relu(self.bn(self.conv(x))))


def _penalty(eps="image", two_draws=False, norm=lambda g: g.flatten(1).norm(2, dim=1), term=lambda n: (n - 1) ** 2,
             weight=10.0, reduce=lambda t: t.mean(), x_hat_of=None, create_graph=True, in_place=False):
    """gradient_penalty(net_D, x, fake), right by default; each argument brings in one mistake."""
    def gradient_penalty(net_D, x, fake):
        shape = {"image": (len(x), 1, 1, 1), "pixel": x.shape, "batch": (1,), "channel": (len(x), x.shape[1], 1, 1),
                 "row": (len(x), 1, x.shape[2], 1)}[eps]
        e = torch.rand(shape)
        e2 = torch.rand(shape) if two_draws else e
        if in_place:
            x.requires_grad_(True)
        x_hat = x_hat_of(e, x, fake) if x_hat_of else e * x + (1 - e2) * fake
        x_hat = x_hat.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(net_D(x_hat).sum(), x_hat, create_graph=create_graph)
        return weight * reduce(term(norm(grad)))
    return gradient_penalty


def _penalty_at_normalised_eps(net_D, x, fake):  # eps squashed towards 0.5: still on the segment, not uniform
    e = torch.sigmoid(torch.randn(len(x), 1, 1, 1))
    x_hat = (e * x + (1 - e) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(net_D(x_hat).sum(), x_hat, create_graph=True)
    return 10 * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


MUTANTS = {
    "ae_loss": [
        ("sum-over-pixels-x784", lambda x_hat, x: F.mse_loss(x_hat, x) * 784, "summed over the 784 pixels"),
        ("norm", lambda x_hat, x: (x_hat - x).norm(), "that is the norm ||x_hat - x||"),
        ("mean-pixels-sum-images", lambda x_hat, x: ((x_hat - x) ** 2).mean(dim=(1, 2, 3)).sum(),
         "averaged over pixels but summed over images"),
        ("reduction-none", lambda x_hat, x: F.mse_loss(x_hat, x, reduction="none"), "has shape (8, 1, 28, 28)"),
        ("mean-over-batch-only", lambda x_hat, x: ((x_hat - x) ** 2).mean(0), "has shape (1, 28, 28)"),
        ("smooth-l1", lambda x_hat, x: F.smooth_l1_loss(x_hat, x), "half the mean squared error"),
        ("l1", lambda x_hat, x: F.l1_loss(x_hat, x), "mean absolute error (L1)"),
        ("no-square", lambda x_hat, x: (x_hat - x).mean(), "the differences are not squared"),
        ("half", lambda x_hat, x: F.mse_loss(x_hat, x) / 2, "drop the 1/2"),
        ("grad-cut", lambda x_hat, x: F.mse_loss(x_hat, x).detach() + 0 * x_hat.sum(), "not the right gradient"),
        ("clamps-x-in-place", lambda x_hat, x: F.mse_loss(x_hat, x.clamp_(0.1, 0.9)),
         "changed the values of the caller's x"),
        ("numpy", lambda x_hat, x: torch.tensor(((x_hat.detach().numpy() - x.numpy()) ** 2).mean()), "cut off"),
    ],
    "make_encoder": [
        ("issue: sigmoid-hidden", _seq(nn.Flatten(), nn.Linear(784, 400), nn.Sigmoid(), lambda L: nn.Linear(400, L)),
         "has Sigmoid where the text asks for ReLU"),
        ("issue: tanh-hidden", _seq(nn.Flatten(), nn.Linear(784, 400), nn.Tanh(), lambda L: nn.Linear(400, L)),
         "has Tanh where the text asks for ReLU"),
        ("issue: functional-sigmoid", _enc(torch.sigmoid), "hidden activation is curved"),
        ("functional-tanh", _enc(torch.tanh), "hidden activation is curved"),
        ("functional-gelu", _enc(F.gelu), "hidden activation is curved"),
        ("leaky-relu", _seq(nn.Flatten(), nn.Linear(784, 400), nn.LeakyReLU(0.2), lambda L: nn.Linear(400, L)),
         "has LeakyReLU where the text asks for ReLU"),
        ("dropout", _seq(nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.Dropout(0.2), lambda L: nn.Linear(400, L)),
         "an extra Dropout after its ReLU"),
        ("batchnorm", _seq(nn.Flatten(), nn.Linear(784, 400), nn.BatchNorm1d(400), nn.ReLU(),
                           lambda L: nn.Linear(400, L)), "an extra BatchNorm1d after its Linear"),
        ("two-relus", _seq(nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.ReLU(), lambda L: nn.Linear(400, L)),
         "an extra ReLU after its ReLU"),
        ("tanh-on-code", _seq(nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), lambda L: nn.Linear(400, L), nn.Tanh()),
         "ends in Tanh"),
        ("hidden-256", _seq(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), lambda L: nn.Linear(256, L)),
         "check the layer widths"),
        ("no-flatten-view", lambda L: nn.Sequential(nn.Linear(28, 400), nn.ReLU(), nn.Linear(400, L)),
         "codes have shape"),
        ("softplus-hidden", _seq(nn.Flatten(), nn.Linear(784, 400), nn.Softplus(), lambda L: nn.Linear(400, L)),
         "has Softplus where the text asks for ReLU"),
    ],
    "make_decoder": [
        ("issue: softmax", _seq(lambda L: nn.Linear(L, 400), nn.ReLU(), nn.Linear(400, 784), nn.Softmax(dim=1),
                                nn.Unflatten(1, (1, 28, 28))), "a Softmax makes them compete"),
        ("issue: hardtanh", _seq(lambda L: nn.Linear(L, 400), nn.ReLU(), nn.Linear(400, 784), nn.Hardtanh(0, 1),
                                 nn.Unflatten(1, (1, 28, 28))), "some pixels are exactly 0"),
        ("issue: sigmoid-hidden", _seq(lambda L: nn.Linear(L, 400), nn.Sigmoid(), nn.Linear(400, 784), nn.Sigmoid(),
                                       nn.Unflatten(1, (1, 28, 28))), "has Sigmoid where the text asks for ReLU"),
        ("issue: tanh-hidden", _seq(lambda L: nn.Linear(L, 400), nn.Tanh(), nn.Linear(400, 784), nn.Sigmoid(),
                                    nn.Unflatten(1, (1, 28, 28))), "has Tanh where the text asks for ReLU"),
        ("functional-tanh-hidden", _dec(torch.tanh), "the decoder curves before its final Sigmoid"),
        ("functional-softmax", _dec(F.relu, out=lambda t: F.softmax(t, dim=1)), "a Softmax makes them compete"),
        ("softmax-per-row", lambda L: nn.Sequential(nn.Linear(L, 400), nn.ReLU(), nn.Linear(400, 784),
                                                    nn.Unflatten(1, (1, 28, 28)), nn.Softmax(dim=-1)),
         "add up to a constant"),
        ("clamp", _dec(F.relu, out=lambda t: t.clamp(0, 1)), "some pixels are exactly 0"),
        ("relu-output", _seq(lambda L: nn.Linear(L, 400), nn.ReLU(), nn.Linear(400, 784), nn.ReLU(),
                             nn.Unflatten(1, (1, 28, 28))), "some pixels are exactly 0"),
        ("double-sigmoid", _seq(lambda L: nn.Linear(L, 400), nn.ReLU(), nn.Linear(400, 784), nn.Sigmoid(),
                                nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28))), "every pixel is >= 0.5"),
        ("gelu-hidden", _seq(lambda L: nn.Linear(L, 400), nn.GELU(), nn.Linear(400, 784), nn.Sigmoid(),
                             nn.Unflatten(1, (1, 28, 28))), "has GELU where the text asks for ReLU"),
        ("dropout", _seq(lambda L: nn.Linear(L, 400), nn.ReLU(), nn.Dropout(0.1), nn.Linear(400, 784), nn.Sigmoid(),
                         nn.Unflatten(1, (1, 28, 28))), "an extra Dropout after its ReLU"),
        ("hardsigmoid", _seq(lambda L: nn.Linear(L, 400), nn.ReLU(), nn.Linear(400, 784), nn.Hardsigmoid(),
                             nn.Unflatten(1, (1, 28, 28))), "has Hardsigmoid where the text asks for Sigmoid"),
        ("tanh-rescaled", _dec(F.relu, out=lambda t: (torch.tanh(t) + 1) / 2 * 0.999 + 0.0005),
         "the decoder curves before its final Sigmoid"),
    ],
    "reparameterize": [
        ("issue: one-eps-per-image", lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn(len(mu), 1),
         "correlated"),
        ("one-eps-per-dim", lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn(1, mu.shape[1]),
         "every sample got the same noise"),
        ("fixed-seed", lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn(
            mu.shape, generator=torch.Generator().manual_seed(0)), "two calls gave the same z"),
        ("eps-from-logvar", lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) * (1 + 0 * logvar),
         None),  # equivalent: eps * 1 still has no gradient path of its own
        ("eps-times-logvar-sign", lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
         * torch.sign(logvar + 10), None),  # equivalent: sign(...) is 1 with zero gradient
        ("variance", lambda mu, logvar: mu + logvar.exp() * torch.randn_like(mu), "the variance"),
        ("half-outside", lambda mu, logvar: mu + 0.5 * logvar.exp() * torch.randn_like(mu), "the 1/2 goes inside"),
        ("minus", lambda mu, logvar: mu - torch.exp(0.5 * logvar) * torch.randn_like(mu), None),  # equivalent in law
        ("mu-times", lambda mu, logvar: mu * torch.exp(0.5 * logvar) * torch.randn_like(mu), "expected mu"),
        ("sigma-plus", lambda mu, logvar: mu + torch.exp(0.5 * logvar) + torch.randn_like(mu), "expected mu"),
        ("std-of-logvar-abs", lambda mu, logvar: mu + logvar.abs() * torch.randn_like(mu), "logvar used as sigma"),
        ("detached-sigma", lambda mu, logvar: mu + torch.exp(0.5 * logvar.detach()) * torch.randn_like(mu),
         "no gradient reaches logvar"),
        ("eps-depends-on-sigma", lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
         * torch.exp(0.5 * logvar).detach() / torch.exp(0.5 * logvar).detach(), None),
        ("detached-mu", lambda mu, logvar: mu.detach() + torch.exp(0.5 * logvar) * torch.randn_like(mu),
         "dz/dmu should be 1"),
        ("in-place-exp", lambda mu, logvar: mu + logvar.mul_(0.5).exp_() * torch.randn_like(mu), "raised RuntimeError"),
    ],
    "kl_divergence": [
        ("issue: exp-2-logvar", lambda mu, logvar: -0.5 * torch.sum(1 + logvar - mu.pow(2) - torch.exp(2 * logvar), 1),
         "not exp(2 * logvar)"),
        ("logvar-as-log-sigma", lambda mu, logvar: -0.5 * torch.sum(1 + 2 * logvar - mu.pow(2) - torch.exp(2 * logvar),
                                                                    1), "logvar read as log sigma"),
        ("log-sigma", lambda mu, logvar: -0.5 * torch.sum(1 + 0.5 * logvar - mu.pow(2) - logvar.exp(), 1),
         "log sigma where log sigma^2"),
        ("abs-mu", lambda mu, logvar: -0.5 * torch.sum(1 + logvar - mu.abs() - logvar.exp(), 1), "|mu| where mu^2"),
        ("minus-logvar", lambda mu, logvar: -0.5 * torch.sum(1 - logvar - mu.pow(2) - logvar.exp(), 1),
         "the sign of logvar is flipped"),
        ("plus-mu2", lambda mu, logvar: -0.5 * torch.sum(1 + logvar + mu.pow(2) - logvar.exp(), 1),
         "the sign of mu^2 is flipped"),
        ("plus-var", lambda mu, logvar: -0.5 * torch.sum(1 + logvar - mu.pow(2) + logvar.exp(), 1),
         "the sign of exp(logvar) is flipped"),
        ("sum-dim0", lambda mu, logvar: -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), 0),
         "summed over the batch (dim=0)"),
        ("keepdim", lambda mu, logvar: -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), 1, keepdim=True),
         "has shape (5, 1), expected shape (5,)"),
        ("detached-mu", lambda mu, logvar: -0.5 * torch.sum(1 + logvar - mu.detach().pow(2) - logvar.exp(), 1),
         "not the right gradient w.r.t. mu"),
        ("sigma-for-var", lambda mu, logvar: -0.5 * torch.sum(1 + logvar - mu.pow(2) - (0.5 * logvar).exp(), 1),
         "sigma used where sigma^2"),
        ("no-one", lambda mu, logvar: -0.5 * torch.sum(logvar - mu.pow(2) - logvar.exp(), 1), "the 1 inside"),
    ],
    "vae_loss": [
        ("issue: recon-detached", _vae(recon="detached"), "no gradient of total reaches x_hat"),
        ("issue: kl-detached", _vae(kl="detached"), "no gradient of total reaches mu"),
        ("issue: total-omits-kl", _vae(total=lambda r, k: r), "total leaves out the KL"),
        ("recon-item", _vae(recon="item"), "no gradient of total reaches x_hat"),
        ("kl-mu-only", _vae(kl="mu only"), "no gradient of total reaches logvar"),
        ("total-omits-recon", _vae(total=lambda r, k: k), "total leaves out the reconstruction"),
        ("kl-twice", _vae(total=lambda r, k: r + 2 * k), "total counts the KL twice"),
        ("order-recon-kl-total", _vae(order=lambda t, r, k: (r, k, t)), "in the order (total, recon, kl)"),
        ("order-total-kl-recon", _vae(order=lambda t, r, k: (t, k, r)), "in the order (total, recon, kl)"),
        ("recon-per-pixel-and-image", _vae(recon="pixels"), "BCE averaged over pixels"),
        ("kl-no-half", _vae(kl="no half"), "kl is twice labkit's"),
        ("kl-per-image", _vae(kl="per image"), "kl has one value per image"),
        ("recon-logits", _vae(recon="logits"), "recon is"),
        ("fixed-batch-size", _vae(recon="fixed batch"), "recon is"),
        ("dict", lambda x_hat, x, mu, logvar: {"total": 0, "recon": 0, "kl": 0}, "expected three values"),
    ],
    "discriminator_loss": [
        ("logits", lambda d_real, d_fake: (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real)) +
                                           F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))) / 2,
         "binary_cross_entropy_with_logits"),
        ("log-of-mean", lambda d_real, d_fake: -(d_real.mean().log() + (1 - d_fake.mean()).log()) / 2,
         "the log of the batch mean"),
        ("quarter", lambda d_real, d_fake: (_bce(d_real, 1) + _bce(d_fake, 0)) / 4, "half labkit's value"),
        ("reals-labelled-0", lambda d_real, d_fake: (_bce(d_real, 0) + _bce(d_fake, 0)) / 2,
         "the real images get label 0"),
        ("fake-half-detached", lambda d_real, d_fake: (_bce(d_real, 1) + _bce(d_fake.detach(), 0)) / 2,
         "not the right gradient w.r.t. d_fake"),
        ("real-half-item", lambda d_real, d_fake: (_bce(d_real, 1).item() + _bce(d_fake, 0)) / 2,
         "not the right gradient w.r.t. d_real"),
        ("sum-of-halves", lambda d_real, d_fake: (_bce(d_real, 1) + _bce(d_fake, 0)), "average the two halves"),
        ("only-fake", lambda d_real, d_fake: _bce(d_fake, 0), "only the fake half"),
        ("label-smoothing", lambda d_real, d_fake: (_bce(d_real, 0.9) + _bce(d_fake, 0)) / 2, "expected"),
        ("mse", lambda d_real, d_fake: (F.mse_loss(d_real, torch.ones_like(d_real)) + (d_fake ** 2).mean()) / 2,
         "least-squares"),
        ("returns-both", lambda d_real, d_fake: (_bce(d_real, 1), _bce(d_fake, 0)), "should be a tensor"),
    ],
    "generator_loss": [
        ("logits", lambda d_fake: F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake)),
         "binary_cross_entropy_with_logits"),
        ("log-of-mean", lambda d_fake: -torch.log(d_fake.mean()), "the log of the batch mean"),
        ("half", lambda d_fake: -torch.log(d_fake).mean() / 2, "half labkit's value"),
        ("wasserstein", lambda d_fake: -d_fake.mean(), "the Wasserstein generator's loss"),
        ("no-log", lambda d_fake: (1 - d_fake).mean(), "1 - D(G(z)) has no log"),
        ("detached", lambda d_fake: -torch.log(d_fake.detach()).mean() + 0 * d_fake.sum(), "not the right gradient w.r.t. d_fake"),
        ("label-0", lambda d_fake: _bce(d_fake, 0), "label 0 teaches G"),
        ("saturating", lambda d_fake: torch.log(1 - d_fake).mean(), "saturating loss"),
        ("sum", lambda d_fake: -torch.log(d_fake).sum(), "summed over the batch"),
        ("mse", lambda d_fake: F.mse_loss(d_fake, torch.ones_like(d_fake)), "least-squares"),
        ("item", lambda d_fake: _bce(d_fake, 1).item(), ".item() gives a Python number"),
    ],
    "d_step": [
        ("issue: detach-in-place", _d_step(detach="in place"), "changed the caller's fake in place"),
        ("issue: swapped-arguments", _d_step(loss=lambda r, f: __import__("labkit.models.gan", fromlist=["x"])
                                             .discriminator_loss(f, r)), "loss_D's arguments are swapped"),
        ("issue: double-step", _d_step(steps=2), "opt_D.step() ran twice"),
        ("issue: missing-half", _d_step(loss=lambda r, f: _bce(r, 1) + _bce(f, 0)), "the 1/2 is missing"),
        ("backward-twice", _d_step(backward=2), "backward() ran twice"),
        ("clamps-fakes-in-place", _d_step(detach="clamp in place"), "changed the values of the caller's fake"),
        ("reals-twice", _d_step(loss=lambda r, f: (_bce(r, 1) + _bce(r, 0)) / 2), "both halves score the real images"),
        ("only-real", _d_step(loss=lambda r, f: _bce(r, 1)), "only the real images' half"),
        ("only-fake", _d_step(loss=lambda r, f: _bce(f, 0)), "only the fakes' half"),
        ("g-loss", _d_step(loss=lambda r, f: _bce(f, 1)), "that is G's loss"),
        ("minus", _d_step(loss=lambda r, f: -(_bce(r, 1) + _bce(f, 0)) / 2), "the wrong sign"),
        ("not-detached", _d_step(detach="none"), "gradients reach G"),
        ("no-zero-grad", _d_step(zero=False), "call opt_D.zero_grad()"),
        ("per-image-means", _d_step(returns="per image"), "return the batch mean"),
        ("swapped-returns", _d_step(returns="swapped"), "D_x and D_G_z1 are swapped"),
        ("measured-after", _d_step(measure="after"), "measured after D's update"),
    ],
    "weights_init": [
        ("xavier", _init(conv=nn.init.xavier_normal_), "expected N(0, 0.02)"),
        ("kaiming", _init(conv=nn.init.kaiming_normal_), "expected N(0, 0.02)"),
        ("uniform-same-std", _init(conv=lambda w: nn.init.uniform_(w, -0.02 * 3 ** 0.5, 0.02 * 3 ** 0.5)),
         "not a normal's shape"),
        ("uniform-0.02", _init(conv=lambda w: nn.init.uniform_(w, -0.02, 0.02)), "expected N(0, 0.02)"),
        ("bn-constant-1", _init(bn_w=nn.init.ones_), "kept PyTorch's default scale 1"),
        ("bn-bias-normal", _init(bn_b=lambda b: nn.init.normal_(b, 0.0, 0.02)), "biases should be 0"),
        ("conv-bias-zeros", _init(conv_bias=True), "the DCGAN's convolutions have no bias"),
        ("in-place-without-no-grad", _init_in_place_without_init, "nn.init.normal_(m.weight, ...)"),
        ("frozen-parameter", _init_detached_parameter, "no longer train"),
        ("only-conv2d", _init(kinds=nn.Conv2d), "ConvTranspose2d layers kept PyTorch's default"),
        ("std-0.2", _init(conv=lambda w: nn.init.normal_(w, 0.0, 0.2)), "expected N(0, 0.02)"),
        ("bn-mean-0", _init(bn_w=lambda w: nn.init.normal_(w, 0.0, 0.02)), "BatchNorm2d weights have mean"),
        ("mean-std-swapped", _init(conv=lambda w: nn.init.normal_(w, 0.02, 1.0)), "(tensor, mean, std)"),
    ],
    "conv_transpose_out": [
        ("kernel-stride-swapped", lambda s, k, st, p: (s - 1) * k - 2 * p + st, "nn.ConvTranspose2d gives"),
        ("double-size", lambda s, k, st, p: 2 * s, "nn.ConvTranspose2d gives"),
        ("true-division", lambda s, k, st, p: ((s - 1) * st - 2 * p + k) / 1, "expected a whole number"),
        ("numpy-float", lambda s, k, st, p: float((s - 1) * st - 2 * p + k), "use // or int()"),
        ("tensor", lambda s, k, st, p: torch.tensor((s - 1) * st - 2 * p + k), "got a tensor"),
        ("tuple", lambda s, k, st, p: ((s - 1) * st - 2 * p + k,) * 2, "got a tuple of 2"),
        ("dcgan-table", lambda s, k, st, p: {(1, 4, 1, 0): 4, (4, 4, 2, 1): 8, (32, 4, 2, 1): 64}.get((s, k, st, p),
                                                                                                       2 * s),
         "nn.ConvTranspose2d gives"),
        ("one-less", lambda s, k, st, p: (s - 1) * st - 2 * p + k - 1, "one too few"),
        ("plus-padding", lambda s, k, st, p: (s - 1) * st + 2 * p + k, "padding trims a transposed"),
        ("conv-formula", lambda s, k, st, p: (s + 2 * p - k) // st + 1, "Conv2d's formula"),
        ("bool", lambda s, k, st, p: True, "expected a whole number"),
        ("stride-squared", lambda s, k, st, p: (s - 1) * st * st - 2 * p + k, "nn.ConvTranspose2d gives"),
    ],
    "g_block": [
        ("issue: tanh-after-relu", _block(CT, BN, RELU, lambda i, o: nn.Tanh()), "an extra Tanh after its ReLU"),
        ("issue: functional-tanh-after", lambda i, o: _BlockModule(i, o, after=torch.tanh),
         "something changes it after"),
        ("sigmoid-after-relu", _block(CT, BN, RELU, lambda i, o: nn.Sigmoid()), "an extra Sigmoid after its ReLU"),
        ("dropout-after-relu", _block(CT, BN, RELU, lambda i, o: nn.Dropout2d(0.5)),
         "an extra Dropout2d after its ReLU"),
        ("relu-twice", _block(CT, BN, RELU, RELU), "an extra ReLU after its ReLU"),
        ("module-bn-after-relu", lambda i, o: _BlockModule(i, o, order="crb"), "some outputs are negative"),
        ("instance-norm", _block(CT, lambda i, o: nn.InstanceNorm2d(o, affine=True), RELU), "no nn.BatchNorm2d"),
        ("batchnorm1d", _block(CT, lambda i, o: nn.BatchNorm1d(o), RELU), "images need nn.BatchNorm2d"),
        ("bn-in-ch", _block(CT, lambda i, o: nn.BatchNorm2d(i), RELU), "raised RuntimeError"),
        ("kernel-3-output-padding", _block(lambda i, o: nn.ConvTranspose2d(i, o, 3, 2, 1, output_padding=1, bias=False),
                                           BN, RELU), "kernel_size=4"),
        ("elu", _block(CT, BN, lambda i, o: nn.ELU()), "has ELU where the text asks for ReLU"),
        ("relu6", _block(CT, BN, lambda i, o: nn.ReLU6()), "has ReLU6 where the text asks for ReLU"),
        ("upsample-conv", _block(lambda i, o: nn.Upsample(scale_factor=2), lambda i, o: nn.Conv2d(i, o, 3, 1, 1,
                                                                                               bias=False), BN, RELU),
         "no nn.ConvTranspose2d"),
    ],
    "kl_per_dimension": [
        ("transposed", lambda mu, logvar: (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).T, "transposed"),
        ("log-sigma", lambda mu, logvar: -0.5 * (1 + 0.5 * logvar - mu.pow(2) - logvar.exp()),
         "log sigma where log sigma^2"),
        ("abs-mu", lambda mu, logvar: -0.5 * (1 + logvar - mu.abs() - logvar.exp()), "|mu| where mu^2"),
        ("minus-logvar", lambda mu, logvar: -0.5 * (1 - logvar - mu.pow(2) - logvar.exp()), "sign of logvar"),
        ("plus-mu2", lambda mu, logvar: -0.5 * (1 + logvar + mu.pow(2) - logvar.exp()), "sign of mu^2"),
        ("plus-var", lambda mu, logvar: -0.5 * (1 + logvar - mu.pow(2) + logvar.exp()), "sign of exp(logvar)"),
        ("mean-dim1", lambda mu, logvar: (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(1),
         "averaged over the latent dims"),
        ("sum-all", lambda mu, logvar: (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).sum(), "summed to one number"),
        ("detached-logvar", lambda mu, logvar: -0.5 * (1 + logvar.detach() - mu.pow(2) - logvar.detach().exp()),
         "not the right gradient w.r.t. logvar"),
        ("sigma-for-var", lambda mu, logvar: -0.5 * (1 + logvar - mu.pow(2) - (0.5 * logvar).exp()),
         "sigma used where sigma^2"),
        ("no-half", lambda mu, logvar: -(1 + logvar - mu.pow(2) - logvar.exp()), "factor 1/2"),
    ],
    "gradient_penalty": [
        ("issue: two-eps-draws", _penalty(two_draws=True), "off the line between x and fake"),
        ("eps-per-channel", _penalty(eps="channel"), None),  # one channel: the same as one eps per image
        ("eps-per-row", _penalty(eps="row"), "eps drawn per"),
        ("eps-sigmoid-normal", _penalty_at_normalised_eps, "expected 0.5 and 0.289"),
        ("eps-squared", _penalty(x_hat_of=lambda e, x, fake: e ** 2 * x + (1 - e ** 2) * fake),
         "expected 0.5 and 0.289"),
        ("extrapolated", _penalty(x_hat_of=lambda e, x, fake: 2 * e * x + (1 - 2 * e) * fake), "outside the segment"),
        ("x-plus-noise", _penalty(x_hat_of=lambda e, x, fake: x + e * fake), "off the line"),
        ("mixes-shuffled-fakes", _penalty(x_hat_of=lambda e, x, fake: e * x + (1 - e) * fake.roll(1, 0)),
         "not a mix of one real image and one fake"),
        ("requires-grad-on-callers-x", _penalty(in_place=True), "changed the caller's x in place"),
        ("no-create-graph", _penalty(create_graph=False), "create_graph=True"),
        ("norm-squared-minus-1", _penalty(term=lambda n: (n ** 2 - 1) ** 2), "uses the squared norm"),
        ("abs-not-square", _penalty(term=lambda n: (n - 1).abs()), "the difference is not squared"),
        ("weight-100", _penalty(weight=100.0), "for a critic whose gradient has norm 3"),
    ],
}

# Equivalent right answers: each must PASS and be returned as it is.
EQUIVALENT = {
    "ae_loss": [lambda x_hat, x: F.mse_loss(x, x_hat),
                lambda x_hat, x: F.mse_loss(x_hat, x, reduction="sum") / x.numel(),
                lambda x_hat, x: (x_hat - x).pow(2).flatten(1).mean(1).mean()],
    "make_encoder": [_seq(nn.Flatten(), nn.Linear(784, 400), nn.ReLU(True), lambda L: nn.Linear(400, L)),
                     _enc(F.relu), lambda L: nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(784, 400), nn.ReLU()),
                                                           nn.Linear(400, L))],
    "make_decoder": [_seq(lambda L: nn.Linear(L, 400), nn.ReLU(), nn.Linear(400, 784), nn.Sigmoid(),
                          nn.Unflatten(1, (1, 28, 28))), _dec(F.relu),
                     lambda L: nn.Sequential(nn.Linear(L, 400), nn.ReLU(), nn.Linear(400, 784),
                                             nn.Unflatten(1, (1, 28, 28)), nn.Sigmoid())],
    "reparameterize": [lambda mu, logvar: mu + torch.sqrt(logvar.exp()) * torch.randn_like(mu),
                       lambda mu, logvar: torch.distributions.Normal(mu, (0.5 * logvar).exp()).rsample(),
                       lambda mu, logvar: mu + torch.randn(mu.shape) * torch.exp(logvar / 2)]
    + [fn for _, fn, hint in MUTANTS["reparameterize"] if hint is None],
    "kl_divergence": [lambda mu, logvar: 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(-1),
                      lambda mu, logvar: torch.distributions.kl_divergence(
                          torch.distributions.Normal(mu, (0.5 * logvar).exp()),
                          torch.distributions.Normal(0, 1)).sum(1)],
    "vae_loss": [lambda x_hat, x, mu, logvar: (lambda r, k: (r + k, r, k))(
        F.binary_cross_entropy(x_hat.flatten(1), x.flatten(1), reduction="none").sum(1).mean(), _kl(mu, logvar).mean()),
        lambda x_hat, x, mu, logvar: (lambda r, k: [r + k, r, k])(
            -(x * x_hat.log() + (1 - x) * (1 - x_hat).log()).sum() / x.shape[0], _kl(mu, logvar).sum() / len(mu))],
    "discriminator_loss": [lambda d_real, d_fake: F.binary_cross_entropy(torch.cat([d_real, d_fake]), torch.cat(
        [torch.ones_like(d_real), torch.zeros_like(d_fake)])),
        lambda d_real, d_fake: -(d_real.log().mean() + (1 - d_fake).log().mean()) / 2],
    "generator_loss": [lambda d_fake: F.binary_cross_entropy(1 - d_fake, torch.zeros_like(d_fake)),
                       lambda d_fake: -torch.log(d_fake + 1e-12).mean()],
    "d_step": [_d_step(), checks.reference_d_step,
               _d_step(loss=lambda r, f: (_bce(r, 1) + _bce(f, 0)) * 0.5)],
    "weights_init": [_init(conv=lambda w: nn.init.trunc_normal_(w, 0.0, 0.02, -2.0, 2.0)),
                     _init(bn_b=lambda b: nn.init.constant_(b, 0.0))],
    "conv_transpose_out": [lambda s, k, st, p: int((s - 1) * st + k - 2 * p),
                           lambda s, k, st, p: nn.ConvTranspose2d(1, 1, k, st, p)(torch.zeros(1, 1, s, s)).shape[-1]],
    "g_block": [_block(lambda i, o: nn.ConvTranspose2d(i, o, kernel_size=4, stride=2, padding=1, bias=False), BN,
                       lambda i, o: nn.ReLU()), lambda i, o: _BlockModule(i, o)],
    "kl_per_dimension": [lambda mu, logvar: 0.5 * (mu * mu + logvar.exp() - 1 - logvar),
                         lambda mu, logvar: torch.distributions.kl_divergence(
                             torch.distributions.Normal(mu, (0.5 * logvar).exp()), torch.distributions.Normal(0, 1))],
    "gradient_penalty": [_penalty(), _penalty(x_hat_of=lambda e, x, fake: fake + e * (x - fake))]
    + [fn for _, fn, hint in MUTANTS["gradient_penalty"] if hint is None],
}

CASES = [pytest.param(name, fn, hint, id=f"{BY_NAME[name].id}-{label}")
         for name, mutants in MUTANTS.items() for label, fn, hint in mutants if hint is not None]


def _line(name, fn, capsys):
    returned = BY_NAME[name].check(fn)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    return lines[0], returned


def test_every_exercise_has_the_listed_slips_and_eight_more():
    assert set(MUTANTS) == set(BY_NAME) == set(EQUIVALENT)
    for name, mutants in MUTANTS.items():
        own = [label for label, _, hint in mutants if hint is not None and not label.startswith("issue:")]
        assert len(own) >= 8, name


@pytest.mark.parametrize("name, fn, hint", CASES)
def test_a_mutant_fails_with_its_hint(name, fn, hint, capsys):
    line, returned = _line(name, fn, capsys)
    assert line.startswith(f"exercise {BY_NAME[name].id} {name}: FAIL - "), line
    assert hint in line, line
    assert returned is not fn


@pytest.mark.parametrize("name, fn", [pytest.param(name, fn, id=f"{BY_NAME[name].id}-{i}")
                                      for name, fns in EQUIVALENT.items() for i, fn in enumerate(fns)])
def test_an_equivalent_answer_passes(name, fn, capsys):
    line, returned = _line(name, fn, capsys)
    assert line.endswith(": PASS"), line
    assert returned is fn


def test_under_nbgrader_a_fail_goes_to_stderr_and_a_pass_to_stdout(monkeypatch, capsys):
    """nbgrader's autograder scores a test cell 0 when it writes to stderr: a FAIL or "not done yet" line goes there
    (with its hint, which the feedback shows), a PASS stays on stdout; the name is rebound either way."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    ex = BY_NAME["kl_divergence"]
    wrong = MUTANTS["kl_divergence"][0][1]
    assert ex.check(wrong) is not wrong
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("exercise 2.2 kl_divergence: FAIL - ") and "exp(2 * logvar)" in err

    def stub(mu, logvar):
        raise NotImplementedError("exercise 2.2: write it")

    ex.check(stub)
    out, err = capsys.readouterr()
    assert out == "" and "not done yet" in err
    right = EQUIVALENT["kl_divergence"][0]
    assert ex.check(right) is right
    assert capsys.readouterr() == ("exercise 2.2 kl_divergence: PASS\n", "")


def test_a_check_leaves_the_callers_networks_alone(capsys):
    """d_step's check runs the student's step on a network of its own: the caller's objects are not involved, and
    a mutant's damage does not leak into the next check."""
    wrong = MUTANTS["d_step"][0][1]
    before = copy.deepcopy(checks.reference_d_step)
    assert _line("d_step", wrong, capsys)[0].startswith("exercise 3.3 d_step: FAIL")
    assert _line("d_step", before, capsys)[0].endswith(": PASS")


@pytest.mark.parametrize("gain", [0.25, 0.5, 1.0, 2.0, 4.0, 16.0])
@pytest.mark.parametrize("last", [nn.ReLU, lambda: nn.Hardtanh(0, 1)])
def test_a_clamped_decoder_gets_the_clamp_hint_wherever_its_largest_pixel_lands(gain, last, capsys):
    """A ReLU or Hardtanh at the decoder's end leaves pixels at exactly 0 whether the largest pixel lands below 1 or
    above it; which side it lands on moves with the weights and the CPU's rounding, so the hint must not depend on
    it (CI once printed "outside [0, 1]" for a ReLU output whose largest pixel was 1.0004)."""
    def make_decoder(latent_dim):
        net = nn.Sequential(nn.Linear(latent_dim, 400), nn.ReLU(), nn.Linear(400, 784), last(),
                            nn.Unflatten(1, (1, 28, 28)))
        with torch.no_grad():
            net[2].weight.mul_(gain)
        return net

    line, _ = _line("make_decoder", make_decoder, capsys)
    assert "some pixels are exactly 0" in line, line
