"""The MLP GAN (labkit.models.gan) and the GAN training steps (labkit.train.d_step, g_step, fit_gan)."""
import math

import pytest
import torch
from torch import nn

from labkit.checkpoint import rng_state, set_rng_state
from labkit.config import set_seed
from labkit.metrics import count_parameters
from labkit.models.gan import Discriminator, GANConfig, Generator, discriminator_loss, generator_loss
from labkit.train import GAN_KEYS, GANLog, GANStep, d_step, fit_gan, g_step, sample_grids

torch.set_num_threads(1)


def _linear_params(n_in, n_out):
    return n_in * n_out + n_out


# --- the networks, exactly as specified ------------------------------------------------------------

def test_generator_follows_the_spec():
    net_G = Generator()
    linears = [m for m in net_G.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(100, 128), (128, 256), (256, 512), (512, 1024),
                                                                   (1024, 784)]
    assert [m.num_features for m in net_G.modules() if isinstance(m, nn.BatchNorm1d)] == [256, 512, 1024]
    slopes = [m.negative_slope for m in net_G.modules() if isinstance(m, nn.LeakyReLU)]
    assert slopes == [0.2] * 4
    assert isinstance(list(net_G.modules())[-1], nn.Tanh)
    widths = [(100, 128), (128, 256), (256, 512), (512, 1024), (1024, 784)]
    expected = sum(_linear_params(a, b) for a, b in widths) + 2 * (256 + 512 + 1024)  # BatchNorm: scale and shift
    assert count_parameters(net_G) == expected

    z = torch.randn(7, 100)
    x = net_G(z)
    assert x.shape == (7, 1, 28, 28)
    assert x.min() >= -1 and x.max() <= 1


def test_discriminator_follows_the_spec():
    net_D = Discriminator()
    linears = [m for m in net_D.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 512), (512, 256), (256, 1)]
    assert not any(isinstance(m, nn.BatchNorm1d) for m in net_D.modules())
    assert [m.negative_slope for m in net_D.modules() if isinstance(m, nn.LeakyReLU)] == [0.2, 0.2]
    assert isinstance(list(net_D.modules())[-1], nn.Sigmoid)
    assert count_parameters(net_D) == _linear_params(784, 512) + _linear_params(512, 256) + _linear_params(256, 1)

    p = net_D(torch.rand(5, 1, 28, 28) * 2 - 1)
    assert p.shape == (5,)
    assert ((p > 0) & (p < 1)).all()


def test_config_holds_the_specified_training_settings():
    cfg = GANConfig()
    assert (cfg.latent_dim, cfg.lr, cfg.betas, cfg.batch_size, cfg.num_epochs) == (100, 2e-4, (0.5, 0.999), 64, 100)


# --- the losses ---------------------------------------------------------------------------------------

def test_losses_match_their_formulas():
    d_real = torch.tensor([0.9, 0.6, 0.3])
    d_fake = torch.tensor([0.2, 0.5, 0.7])
    expected_D = -(torch.log(d_real) + torch.log(1 - d_fake)).mean() / 2
    assert discriminator_loss(d_real, d_fake).item() == pytest.approx(expected_D.item(), rel=1e-6)
    assert generator_loss(d_fake).item() == pytest.approx(-torch.log(d_fake).mean().item(), rel=1e-6)
    half = torch.full((4,), 0.5)
    assert discriminator_loss(half, half).item() == pytest.approx(math.log(2), rel=1e-6)  # the equilibrium value


# --- the steps: each network moves only when it is its turn, in the right direction --------------------

def _nets_and_opts(seed=0):
    set_seed(seed)
    net_G, net_D = Generator(), Discriminator()
    opt_G = torch.optim.Adam(net_G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(net_D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    return net_G, net_D, opt_G, opt_D


def _snapshot(net):
    return [p.detach().clone() for p in net.parameters()]


def _changed(net, before):
    return any(not torch.equal(p, q) for p, q in zip(net.parameters(), before))


def test_d_step_updates_only_D_and_raises_its_objective():
    net_G, net_D, opt_G, opt_D = _nets_and_opts()
    x = torch.rand(32, 1, 28, 28) * 2 - 1
    fake = net_G(torch.randn(32, 100))
    g_before = _snapshot(net_G)
    losses = []
    for _ in range(15):
        loss_D, D_x, D_G_z1 = d_step(x, fake, net_D, opt_D)
        losses.append(loss_D.item())
        assert 0 < D_x.item() < 1 and 0 < D_G_z1.item() < 1
    assert not _changed(net_G, g_before)
    assert all(p.grad is None for p in net_G.parameters())  # the fakes were detached
    assert losses[-1] < losses[0] - 0.1  # D got better at telling these reals from these fakes
    with torch.no_grad():
        assert net_D(x).mean() > net_D(fake).mean()


def test_g_step_updates_only_G_and_fools_D_more():
    net_G, net_D, opt_G, opt_D = _nets_and_opts()
    z = torch.randn(32, 100)
    d_before = _snapshot(net_D)
    with torch.no_grad():
        start = net_D(net_G(z)).mean().item()
    for _ in range(15):
        loss_G, D_G_z2 = g_step(net_G(z), net_D, opt_G)
        assert loss_G.item() == pytest.approx(-math.log(D_G_z2.item()), abs=0.2)  # -log of the mean, roughly
    assert not _changed(net_D, d_before)  # D did not step
    assert all(p.grad is None for p in net_D.parameters())  # ... and no gradient was computed for it
    with torch.no_grad():
        assert net_D(net_G(z)).mean().item() > start + 0.05


def test_g_step_gives_G_the_gradients_of_a_full_backward():
    """g_step's backward stops at G's parameters; G's gradients are bit for bit those of loss_G.backward()."""
    net_G, net_D, _, _ = _nets_and_opts()
    z = torch.randn(32, 100)
    net_G.eval()  # BatchNorm with running statistics: both passes below see the same G
    g_step(net_G(z), net_D, torch.optim.SGD(net_G.parameters(), lr=0.0))  # lr 0: the gradients stay, G does not move
    restricted = [p.grad.clone() for p in net_G.parameters()]
    net_G.zero_grad(set_to_none=True)
    generator_loss(net_D(net_G(z))).backward()  # every gradient, D's too
    assert all(torch.equal(p.grad, g) for p, g in zip(net_G.parameters(), restricted))
    assert all(p.grad is not None for p in net_D.parameters())


# --- fit_gan -------------------------------------------------------------------------------------------

def _fit(num_epochs, real_x, *, history=None, state=None, callbacks=(), **kw):
    net_G, net_D, opt_G, opt_D = _nets_and_opts()
    fixed_noise = torch.randn(25, 100)
    if state is not None:
        net_G.load_state_dict(state["G"]), net_D.load_state_dict(state["D"])
        opt_G.load_state_dict(state["oG"]), opt_D.load_state_dict(state["oD"])
        set_rng_state(state["rng"])
    history = fit_gan(net_G, net_D, real_x, opt_G=opt_G, opt_D=opt_D, num_epochs=num_epochs, batch_size=32,
                      history=history, callbacks=[sample_grids(net_G, fixed_noise), *callbacks],
                      log=None, **kw)
    state = {"G": net_G.state_dict(), "D": net_D.state_dict(), "oG": opt_G.state_dict(), "oD": opt_D.state_dict(),
             "rng": rng_state()}
    return history, state


def test_fit_gan_history_samples_and_hook():
    real_x = torch.rand(200, 1, 28, 28) * 2 - 1
    seen = []
    history, _ = _fit(3, real_x, max_batches=2,
                      callbacks=[lambda epoch, h: seen.append((epoch, len(h["Loss_D"]), len(h["samples"])))])
    assert seen == [(1, 1, 1), (2, 2, 2), (3, 3, 3)]  # called in order: the grid is there when the next one runs
    for key in (*GAN_KEYS, "seconds", "samples"):
        assert len(history[key]) == 3, key
    assert all(0 < v < 1 for key in ("D_x", "D_G_z1", "D_G_z2") for v in history[key])
    assert all(s.dtype == torch.uint8 and s.shape == (25, 1, 28, 28) for s in history["samples"])
    assert not torch.equal(history["samples"][0], history["samples"][-1])  # G moved between epochs


def test_fit_gan_resumed_equals_unbroken():
    real_x = torch.rand(160, 1, 28, 28) * 2 - 1
    unbroken, _ = _fit(2, real_x, max_batches=3)
    first, state = _fit(1, real_x, max_batches=3)
    resumed, _ = _fit(2, real_x, history=first, state=state, max_batches=3)  # continues after first's epoch
    for key in GAN_KEYS:
        assert resumed[key] == pytest.approx(unbroken[key], rel=1e-5), key
    assert torch.equal(resumed["samples"][-1], unbroken["samples"][-1])


def test_fit_gan_prints_one_summary_line_per_epoch(capsys):
    real_x = torch.rand(64, 1, 28, 28) * 2 - 1
    net_G, net_D, opt_G, opt_D = _nets_and_opts()
    fit_gan(net_G, net_D, real_x, opt_G=opt_G, opt_D=opt_D, num_epochs=2, batch_size=32,
            log=GANLog(log_every=1), step=GANStep(amp=True))  # amp is ignored on the CPU
    lines = capsys.readouterr().out.splitlines()
    summaries = [line for line in lines if line.startswith("[  ") and "][" not in line]
    assert len(summaries) == 2 and summaries[0].startswith("[  1/2] Loss_D: ")
    assert "D(G(z)): " in summaries[0] and "/" in summaries[0].split("D(G(z)): ")[1]
    assert sum("][" in line for line in lines) == 4  # log_every=1: 2 batches x 2 epochs


def test_fit_gan_needs_a_full_batch():
    net_G, net_D, opt_G, opt_D = _nets_and_opts()
    with pytest.raises(ValueError, match="less than one batch"):
        fit_gan(net_G, net_D, torch.zeros(10, 1, 28, 28), opt_G=opt_G, opt_D=opt_D, num_epochs=1, batch_size=64,
                log=None)


def test_fit_gan_default_call_trains_without_grids(capsys):
    """The simple call: no callbacks, the default log. No grids are drawn unless sample_grids is asked for."""
    net_G, net_D, opt_G, opt_D = _nets_and_opts()
    history = fit_gan(net_G, net_D, torch.rand(64, 1, 28, 28) * 2 - 1, opt_G=opt_G, opt_D=opt_D, num_epochs=1,
                      batch_size=32)
    assert list(history) == [*GAN_KEYS, "seconds", "updates"] and history["updates"] == [2]  # 64 images, batch 32
    assert "[  1/1] Loss_D: " in capsys.readouterr().out


def test_sample_grids_leaves_the_random_state_and_g_mode_alone():
    net_G, *_ = _nets_and_opts()
    net_G.train()
    grids = sample_grids(net_G, torch.randn(4, 100))
    before = torch.get_rng_state()
    history = {}
    grids(1, history)
    grids(2, history)
    assert torch.equal(torch.get_rng_state(), before) and net_G.training
    assert len(history["samples"]) == 2 and history["samples"][0].dtype == torch.uint8
    assert torch.equal(history["samples"][0], history["samples"][1])  # the same noise, the same G
