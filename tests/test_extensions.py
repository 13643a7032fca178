"""The notebook 06 extensions: conditional VAE (labkit.models.cvae), WGAN-GP (labkit.models.wgan_gp) and
SN-GAN (labkit.models.sngan): architectures and parameter counts, each loss against a hand computation, one
optimiser step lowering each loss, and the properties each method relies on (gradient penalty, spectral norm)."""
import pytest
import torch
from torch import nn

from labkit import registry
from labkit.metrics import count_parameters
from labkit.models.cvae import CVAE, CVAEConfig
from labkit.models.gan import Discriminator, GANConfig
from labkit.models.sngan import SNDiscriminator, SNGANConfig, hinge_d_loss, hinge_g_loss
from labkit.models.vae import kl_divergence
from labkit.models.wgan_gp import Critic, Generator, WGANGPConfig, critic_loss, generator_loss, gradient_penalty

torch.set_num_threads(1)


def linear_params(*widths: int) -> int:
    """Weights and biases of a chain of Linear layers widths[0] -> widths[1] -> ..."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(widths[:-1], widths[1:]))


def linear_shapes(net: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)]


def digits(n: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed batch of fake 'digits' in [0, 1] (n, 1, 28, 28) and labels (n,)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, 28, 28, generator=gen), torch.randint(0, 10, (n,), generator=gen)


def registry_gan(name: str):
    """(cfg, net_G, net_D, opt_G, opt_D, x, z, fake) for one training step of GAN `name` as labkit trains it
    (the registry's networks and Adams): 32 real images in [-1, 1], their noise z and detached fakes G(z)."""
    torch.manual_seed(0)
    cfg, nets = registry.build(name)
    opts = registry.optimizers(cfg, nets)
    x = digits(32)[0] * 2 - 1
    z = torch.randn(32, cfg.latent_dim)
    return cfg, nets["net_G"], nets["net_D"], opts["opt_G"], opts["opt_D"], x, z, nets["net_G"](z).detach()


def step(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    opt.zero_grad()
    loss.backward()
    opt.step()


# --- CVAE -----------------------------------------------------------------------------------------

def test_cvae_architecture_and_parameter_count():
    model = CVAE()
    assert linear_shapes(model) == [(784 + 10, 400), (400, 20), (400, 20), (20 + 10, 400), (400, 784)]
    expected = linear_params(794, 400) + 2 * linear_params(400, 20) + linear_params(30, 400, 784)
    print(f"CVAE: {count_parameters(model):,} parameters")
    assert count_parameters(model) == expected == 660_824


def test_cvae_shapes():
    model = CVAE()
    x, y = digits(6)
    mu, logvar = model.encode(x, y)
    assert mu.shape == logvar.shape == (6, 20)
    assert model.embed(x, y).shape == (6, 20)
    assert torch.equal(model.embed(x, y), mu)
    x_hat, _, _ = model(x, y)
    assert x_hat.shape == (6, 1, 28, 28)
    assert ((x_hat > 0) & (x_hat < 1)).all()
    logits, _, _ = model(x, y, logits=True)
    assert logits.shape == (6, 1, 28, 28)
    assert model.decode(mu, y).shape == (6, 1, 28, 28)
    assert torch.allclose(model.decode(mu, y), torch.sigmoid(model.decode_logits(mu, y)))


def test_cvae_losses_are_recon_plus_beta_kl():
    model = CVAE(CVAEConfig(beta=0.5))
    x, y = digits(8)
    torch.manual_seed(1)
    terms = model.losses(x, y)
    assert set(terms) == {"loss", "recon", "kl"}
    assert all(t.dim() == 0 for t in terms.values())
    # by hand: the same eps (same seed), BCE summed over pixels and KL in closed form, both averaged over images
    torch.manual_seed(1)
    mu, logvar = model.encode(x, y)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    x_hat = model.decode(z, y)
    recon = -(x * x_hat.log() + (1 - x) * (1 - x_hat).log()).sum() / len(x)
    kl = (-0.5 * (1 + logvar - mu ** 2 - logvar.exp()).sum(dim=1)).mean()
    assert torch.allclose(terms["recon"], recon, rtol=1e-4)
    assert torch.allclose(terms["kl"], kl, rtol=1e-4)
    assert torch.allclose(terms["kl"], kl_divergence(mu, logvar).mean(), rtol=1e-5)
    assert torch.allclose(terms["loss"], terms["recon"] + 0.5 * terms["kl"])


def test_cvae_sample_and_conditioning():
    model = CVAE()
    gen = torch.Generator().manual_seed(0)
    s = model.sample(12, generator=gen)
    assert s.shape == (12, 1, 28, 28) and not s.requires_grad
    y = torch.full((5,), 7)
    assert model.sample(5, y=y).shape == (5, 1, 28, 28)
    # the same generator seed gives the same digits
    a = model.sample(4, generator=torch.Generator().manual_seed(3), y=torch.tensor([1, 2, 3, 4]))
    b = model.sample(4, generator=torch.Generator().manual_seed(3), y=torch.tensor([1, 2, 3, 4]))
    assert torch.equal(a, b)
    # the default labels cycle through the classes: the same as asking for them
    c = model.sample(12, generator=torch.Generator().manual_seed(0), y=torch.arange(12) % 10)
    assert torch.equal(s, c)
    # the label changes the image for the same z
    z = torch.randn(1, 20).repeat(2, 1)
    two = model.decode(z, torch.tensor([3, 8]))
    assert (two[0] - two[1]).abs().max() > 1e-4
    with pytest.raises(ValueError, match="n labels"):
        model.sample(3, y=torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="LongTensor"):
        model.decode(z, torch.tensor([3.0, 8.0]))


def test_cvae_one_step_lowers_the_loss():
    torch.manual_seed(0)
    model = CVAE()
    x, y = digits(32)
    opt = torch.optim.Adam(model.parameters(), lr=model.cfg.lr)
    torch.manual_seed(1)
    loss0 = model.losses(x, y)["loss"]
    step(opt, loss0)
    torch.manual_seed(1)  # the same eps, so only the step changed
    loss1 = model.losses(x, y)["loss"]
    assert loss1 < loss0


def test_cvae_config_checks():
    cfg = CVAEConfig()
    assert (cfg.latent_dim, cfg.hidden, cfg.num_classes, cfg.img_shape) == (20, 400, 10, (1, 28, 28))
    assert (cfg.lr, cfg.batch_size, cfg.num_epochs, cfg.beta, cfg.img_size) == (1e-3, 128, 50, 1.0, 784)
    with pytest.raises(ValueError, match="beta"):
        CVAEConfig(beta=-1.0)


# --- WGAN-GP --------------------------------------------------------------------------------------

def test_wgan_gp_config():
    cfg = WGANGPConfig()
    assert (cfg.latent_dim, cfg.img_shape, cfg.g_hidden, cfg.d_hidden, cfg.negative_slope) == \
        (100, (1, 28, 28), (128, 256, 512, 1024), (512, 256), 0.2)
    assert (cfg.lr, cfg.betas, cfg.batch_size, cfg.num_epochs, cfg.d_steps, cfg.gp_weight, cfg.img_size) == \
        (1e-4, (0.0, 0.9), 64, 100, 5, 10.0, 784)
    with pytest.raises(ValueError, match="d_steps"):
        WGANGPConfig(d_steps=0)


def test_wgan_gp_networks():
    cfg = WGANGPConfig()
    net_G, net_D = Generator(cfg), Critic(cfg)
    assert linear_shapes(net_D) == [(784, 512), (512, 256), (256, 1)]
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.Sigmoid)) for m in net_D.modules())
    expected_D = linear_params(784, 512, 256, 1)
    expected_G = linear_params(100, 128, 256, 512, 1024, 784) + 2 * (256 + 512 + 1024)  # BatchNorm scale and shift
    print(f"WGAN-GP: G {count_parameters(net_G):,}, critic {count_parameters(net_D):,} parameters")
    assert count_parameters(net_D) == expected_D == 533_505
    assert count_parameters(net_G) == expected_G == 1_510_032
    x = net_G(torch.randn(5, 100))
    assert x.shape == (5, 1, 28, 28)
    scores = net_D(x)
    assert scores.shape == (5,)
    assert (scores.abs() > 0).all()  # raw scores, not probabilities
    assert net_D(torch.full((3, 1, 28, 28), 50.0)).abs().max() > 1  # unbounded: no sigmoid


def test_wgan_losses_by_hand():
    d_real, d_fake = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([-1.0, 0.5])
    assert critic_loss(d_real, d_fake).item() == pytest.approx((-1 + 0.5) / 2 - (1 + 2 + 3) / 3)  # -2.25
    assert generator_loss(d_fake).item() == pytest.approx(0.25)


class LinearCritic(nn.Module):
    """D(x) = <x.flatten(), w>: its gradient is w everywhere, so its Lipschitz constant is ||w||."""

    def __init__(self, norm: float):
        super().__init__()
        w = torch.randn(784, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        self.w = nn.Parameter((w / w.norm() * norm).float())

    def forward(self, x):
        return x.flatten(1) @ self.w  # (B, 784) -> (B,)


def test_gradient_penalty_vanishes_for_a_1_lipschitz_critic():
    x, _ = digits(16)
    fake = torch.rand(16, 1, 28, 28) * 2 - 1
    gp = gradient_penalty(LinearCritic(1.0), x, fake, weight=10.0)
    assert gp.dim() == 0
    assert gp.item() < 1e-6


def test_gradient_penalty_by_hand_and_it_trains_the_critic():
    x, _ = digits(16)
    fake = torch.rand(16, 1, 28, 28) * 2 - 1
    net_D = LinearCritic(3.0)
    gp = gradient_penalty(net_D, x, fake, weight=10.0)
    assert gp.item() == pytest.approx(10.0 * (3 - 1) ** 2, rel=1e-5)  # 40: ||grad|| = ||w|| = 3 at every x̂
    gp.backward()  # create_graph=True: the penalty has a gradient w.r.t. the critic's weights
    w = net_D.w.detach()
    expected = 10.0 * 2 * (w.norm() - 1) * w / w.norm()  # d/dw of 10 (||w|| - 1)^2
    assert torch.allclose(net_D.w.grad, expected, rtol=1e-4, atol=1e-6)
    assert gradient_penalty(LinearCritic(3.0), x, fake, weight=1.0).item() == pytest.approx(4.0, rel=1e-5)


def test_gradient_penalty_is_per_sample_at_interpolates():
    """A critic D(x) = ||x||^2 / 2 has gradient x̂, so the penalty reveals where x̂ was taken: between x and fake."""
    class Quadratic(nn.Module):
        def forward(self, x):
            return 0.5 * x.flatten(1).pow(2).sum(1)

    x = torch.ones(64, 1, 2, 2)  # ||x|| = 2
    fake = torch.zeros(64, 1, 2, 2)
    torch.manual_seed(0)
    eps = torch.rand(64, 1, 1, 1)
    torch.manual_seed(0)
    gp = gradient_penalty(Quadratic(), x, fake, weight=1.0)  # x̂ = eps * x: ||grad|| = 2 eps
    assert gp.item() == pytest.approx(((2 * eps.view(-1) - 1) ** 2).mean().item(), rel=1e-5)


def test_wgan_gp_one_critic_step_and_one_generator_step_lower_their_losses():
    cfg, net_G, net_D, opt_G, opt_D, x, z, fake = registry_gan("wgan_gp")

    def loss_D():
        torch.manual_seed(1)  # the same interpolation eps each time
        return critic_loss(net_D(x), net_D(fake)) + gradient_penalty(net_D, x, fake, weight=cfg.gp_weight)

    before = loss_D()
    step(opt_D, before)
    assert loss_D() < before

    before = generator_loss(net_D(net_G(z)))
    step(opt_G, before)
    assert generator_loss(net_D(net_G(z))) < before


# --- SN-GAN ---------------------------------------------------------------------------------------

def test_sngan_config():
    cfg = SNGANConfig()
    assert (cfg.latent_dim, cfg.img_shape, cfg.g_hidden, cfg.d_hidden, cfg.negative_slope) == \
        (100, (1, 28, 28), (128, 256, 512, 1024), (512, 256), 0.2)
    assert (cfg.lr, cfg.betas, cfg.batch_size, cfg.num_epochs, cfg.d_steps, cfg.img_size) == \
        (2e-4, (0.5, 0.999), 64, 100, 1, 784)


def test_sn_discriminator_architecture():
    cfg = SNGANConfig()
    net_D = SNDiscriminator(cfg)
    assert linear_shapes(net_D) == [(784, 512), (512, 256), (256, 1)]
    linears = [m for m in net_D.modules() if isinstance(m, nn.Linear)]
    assert all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in linears)
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.Sigmoid)) for m in net_D.modules())
    # spectral norm adds buffers (u, v), not parameters: the same count as the GAN's discriminator
    print(f"SN-GAN: G {count_parameters(Generator(cfg)):,}, D {count_parameters(net_D):,} parameters")
    assert count_parameters(net_D) == linear_params(784, 512, 256, 1) == count_parameters(Discriminator(GANConfig()))
    scores = net_D(torch.rand(4, 1, 28, 28) * 2 - 1)
    assert scores.shape == (4,)


def test_sn_discriminator_layers_have_unit_spectral_norm():
    torch.manual_seed(0)
    net_D = SNDiscriminator()
    linears = [m for m in net_D.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():  # make the raw weights far from 1-Lipschitz first
        for m in linears:
            m.parametrizations.weight.original.mul_(7.0)
    net_D.train()
    x = torch.rand(8, 1, 28, 28) * 2 - 1
    for _ in range(5):
        net_D(x)  # each training forward pass does one step of power iteration
    net_D.eval()
    with torch.no_grad():
        raw = [torch.linalg.matrix_norm(m.parametrizations.weight.original, ord=2).item() for m in linears]
        sigmas = [torch.linalg.matrix_norm(m.weight, ord=2).item() for m in linears]
    print("raw sigma", [round(s, 3) for s in raw], "normalised sigma", [round(s, 4) for s in sigmas])
    assert min(raw) > 3
    assert all(s == pytest.approx(1.0, rel=0.05) for s in sigmas)


def test_hinge_losses_by_hand():
    d_real, d_fake = torch.tensor([0.5, 2.0]), torch.tensor([-2.0, 0.5, 0.0])
    # reals: max(0, 1 - 0.5) = 0.5, max(0, 1 - 2) = 0 -> 0.25; fakes: 0, 1.5, 1 -> 2.5 / 3
    assert hinge_d_loss(d_real, d_fake).item() == pytest.approx(0.25 + 2.5 / 3)
    assert hinge_g_loss(d_fake).item() == pytest.approx(-(-2.0 + 0.5 + 0.0) / 3)  # 0.5
    assert hinge_d_loss(torch.tensor([1.0, 5.0]), torch.tensor([-1.0, -9.0])).item() == 0  # past the margins


def test_sngan_one_step_lowers_each_loss():
    cfg, net_G, net_D, opt_G, opt_D, x, z, fake = registry_gan("sngan")
    for _ in range(10):
        net_D(x)  # let the power iteration settle, so the step is what changes D

    before = hinge_d_loss(net_D(x), net_D(fake))
    step(opt_D, before)
    net_D.eval()  # measure with the same u, v: no further power iteration
    assert hinge_d_loss(net_D(x), net_D(fake)) < before

    before = hinge_g_loss(net_D(net_G(z)))
    step(opt_G, before)
    assert hinge_g_loss(net_D(net_G(z))) < before

