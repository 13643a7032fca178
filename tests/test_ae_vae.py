"""The autoencoder and the VAE (notebooks 01 and 02): shapes, loss terms, the reparameterisation trick,
the shared training loop, and the plots and widgets built on them."""
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.distributions import Normal, kl_divergence as torch_kl  # noqa: E402

import labkit  # noqa: E402
from labkit import plots  # noqa: E402
from labkit.models.ae import AEConfig, Autoencoder, ae_loss  # noqa: E402
from labkit.models.vae import VAE, VAEConfig, kl_divergence, vae_loss  # noqa: E402
from labkit.inference import latent_codes, latent_interpolation, reconstruct  # noqa: E402
from labkit.train import evaluate_autoencoder, fit_autoencoder  # noqa: E402


def linear_params(*widths: int) -> int:
    """Weights and biases of a chain of Linear layers widths[0] -> widths[1] -> ..."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(widths[:-1], widths[1:]))


@pytest.fixture(scope="module")
def digits():
    """A small class-balanced slice of the bundled subset: 600 train and 100 test digits."""
    x, y = labkit.load_mnist(train=True, source="subset")
    xt, yt = labkit.load_mnist(train=False, source="subset")
    gen = torch.Generator().manual_seed(0)
    i, j = torch.randperm(len(x), generator=gen)[:600], torch.randperm(len(xt), generator=gen)[:100]
    return x[i], y[i], xt[j], yt[j]


# --- shapes and sizes -----------------------------------------------------------------------------

@pytest.mark.parametrize("latent_dim", [32, 2])
def test_ae_shapes(latent_dim):
    model = Autoencoder(AEConfig(latent_dim=latent_dim))
    x = torch.rand(5, 1, 28, 28)
    z = model.encode(x)
    assert z.shape == (5, latent_dim)
    x_hat = model.decode(z)
    assert x_hat.shape == (5, 1, 28, 28)
    assert 0 <= x_hat.min() and x_hat.max() <= 1  # sigmoid output
    assert torch.equal(model(x), x_hat)


@pytest.mark.parametrize("latent_dim", [20, 2])
def test_vae_shapes(latent_dim):
    model = VAE(VAEConfig(latent_dim=latent_dim))
    x = torch.rand(5, 1, 28, 28)
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (5, latent_dim)
    x_hat, mu, logvar = model(x)
    assert x_hat.shape == (5, 1, 28, 28) and mu.shape == (5, latent_dim)
    assert 0 <= x_hat.min() and x_hat.max() <= 1
    x_logits, _, _ = model(x, logits=True)
    assert x_logits.shape == (5, 1, 28, 28) and x_logits.min() < 0 < x_logits.max()
    assert model.sample(7).shape == (7, 1, 28, 28)


def test_parameter_counts():
    # AE: 784 -> 400 -> 32 and back, as stated in notebooks/01_autoencoder.ipynb
    ae = Autoencoder(AEConfig())
    expected = linear_params(784, 400, 32) + linear_params(32, 400, 784)
    assert sum(p.numel() for p in ae.parameters()) == expected == 654_416
    deeper = Autoencoder(AEConfig(hidden=(256, 64), latent_dim=2))
    assert sum(p.numel() for p in deeper.parameters()) == linear_params(784, 256, 64, 2) + linear_params(2, 64, 256, 784)
    # VAE: 784 -> 400 -> (20, 20); 20 -> 400 -> 784, as in Kingma & Welling / pytorch/examples
    vae = VAE(VAEConfig())
    expected = linear_params(784, 400) + 2 * linear_params(400, 20) + linear_params(20, 400, 784)
    assert sum(p.numel() for p in vae.parameters()) == expected == 652_824


# --- loss terms -----------------------------------------------------------------------------------

def test_kl_of_known_gaussians():
    # q = N(0, I) is the prior itself: KL = 0
    assert kl_divergence(torch.zeros(3, 20), torch.zeros(3, 20)).abs().max() < 1e-6
    # mu = 1, sigma = 1 in each of 20 dims: KL = 20 * mu^2 / 2 = 10
    assert torch.allclose(kl_divergence(torch.ones(2, 20), torch.zeros(2, 20)), torch.full((2,), 10.0))
    # sigma^2 = e, mu = 0 in one dim: KL = -1/2 (1 + 1 - e)
    assert math.isclose(kl_divergence(torch.zeros(1, 1), torch.ones(1, 1)).item(), -0.5 * (2 - math.e), rel_tol=1e-6)
    # random Gaussians: matches torch.distributions summed over dimensions
    gen = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(4, 20, generator=gen), torch.randn(4, 20, generator=gen)
    reference = torch_kl(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(dim=1)
    assert torch.allclose(kl_divergence(mu, logvar), reference, atol=1e-5)


def test_vae_loss_is_summed_bce_plus_kl_per_image():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 28, 28, generator=gen)
    logits = torch.randn(6, 1, 28, 28, generator=gen)
    x_hat = torch.sigmoid(logits)
    mu, logvar = torch.randn(6, 20, generator=gen), torch.randn(6, 20, generator=gen)
    total, recon, kl = vae_loss(x_hat, x, mu, logvar)
    bce_by_hand = -(x * x_hat.log() + (1 - x) * (1 - x_hat).log()).sum() / 6  # summed over pixels, mean over images
    assert torch.allclose(recon, bce_by_hand, rtol=1e-5)
    assert recon > 784 * 0.5  # a sum over 784 pixels, not a mean (a mean would be below 5 here)
    assert torch.allclose(kl, kl_divergence(mu, logvar).mean())
    assert torch.allclose(total, recon + kl)
    # the training loop's logits form gives the same three numbers
    for a, b in zip(vae_loss(logits, x, mu, logvar, from_logits=True), (total, recon, kl)):
        assert torch.allclose(a, b, rtol=1e-5)


def test_ae_loss_is_mse_per_pixel():
    x, x_hat = torch.zeros(2, 1, 28, 28), torch.full((2, 1, 28, 28), 0.5)
    assert ae_loss(x_hat, x).item() == pytest.approx(0.25)


# --- the reparameterisation trick -----------------------------------------------------------------

def test_reparameterize_gradient_reaches_mu_and_logvar():
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=3))
    mu = torch.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, 1.0, -2.0]], requires_grad=True)
    z = model.reparameterize(mu, logvar)
    z.sum().backward()
    eps = ((z - mu) / (0.5 * logvar).exp()).detach()
    assert torch.allclose(mu.grad, torch.ones(1, 3))  # dz/dmu = 1
    assert torch.allclose(logvar.grad, 0.5 * eps * (0.5 * logvar.detach()).exp())  # dz/dlogvar = eps sigma / 2
    assert logvar.grad.abs().min() > 0


def test_reparameterize_samples_have_mean_mu_and_std_sigma():
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=2))
    mu, logvar = torch.tensor([1.5, -2.0]), torch.tensor([0.5, -1.0])
    z = model.reparameterize(mu.expand(100_000, 2), logvar.expand(100_000, 2))
    assert torch.allclose(z.mean(0), mu, atol=0.02)
    assert torch.allclose(z.std(0), (0.5 * logvar).exp(), atol=0.02)


# --- the training loop ----------------------------------------------------------------------------

@pytest.mark.parametrize("make", [lambda: Autoencoder(AEConfig()), lambda: VAE(VAEConfig())], ids=["ae", "vae"])
def test_short_training_lowers_the_test_loss(make, digits):
    x, _, xt, _ = digits
    labkit.set_seed(0)
    model = make()
    before = evaluate_autoencoder(model, xt, device="cpu")["loss"]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = fit_autoencoder(model, x, xt, opt=opt, num_epochs=3, batch_size=128, device="cpu", progress=False)
    assert len(history["test_loss"]) == len(history["train_loss"]) == len(history["seconds"]) == 3
    assert history["test_loss"][-1] < 0.8 * before
    assert history["train_loss"][-1] < history["train_loss"][0]
    if isinstance(model, VAE):
        for split in ("train", "test"):
            total = history[f"{split}_loss"][-1]
            assert total == pytest.approx(history[f"{split}_recon"][-1] + history[f"{split}_kl"][-1], rel=1e-4)
            assert history[f"{split}_kl"][-1] > 0
    else:
        assert "train_kl" not in history


def test_resumed_training_matches_an_unbroken_run(digits):
    x, _, xt, _ = digits

    def run(splits):
        labkit.set_seed(1)
        model = VAE(VAEConfig(latent_dim=2))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        history, seen, start = None, [], 0
        for stop in splits:
            history = fit_autoencoder(model, x, xt, opt=opt, num_epochs=stop, batch_size=128, device="cpu",
                                      start_epoch=start, history=history, progress=False,
                                      on_epoch_end=lambda epoch, h: seen.append(epoch))
            start = stop
        return history, seen

    unbroken, seen = run([3])
    resumed, seen_resumed = run([2, 3])
    assert seen == seen_resumed == [1, 2, 3]
    assert unbroken["test_loss"] == resumed["test_loss"]


def test_fit_autoencoder_rejects_gan_range_images(digits):
    x, _, xt, _ = digits
    model = Autoencoder(AEConfig())
    opt = torch.optim.Adam(model.parameters())
    with pytest.raises(ValueError, match="train_x must hold images in \\[0, 1\\]"):
        fit_autoencoder(model, labkit.to_gan_range(x), xt, opt=opt, num_epochs=1, batch_size=64, device="cpu",
                        progress=False)
    with pytest.raises(ValueError, match="test_x is empty"):
        fit_autoencoder(model, x, xt[:0], opt=opt, num_epochs=1, batch_size=64, device="cpu", progress=False)


def test_latent_helpers():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 28, 28)
    ae, vae = Autoencoder(AEConfig(latent_dim=2)), VAE(VAEConfig(latent_dim=2))
    assert torch.allclose(latent_codes(ae, x), ae.encode(x))
    assert torch.allclose(latent_codes(vae, x), vae.encode(x)[0])  # the VAE's mean, not a sample
    assert torch.allclose(reconstruct(vae, x), vae.decode(vae.encode(x)[0]))
    path = latent_interpolation(ae, x[0], x[1], steps=5)
    assert path.shape == (5, 1, 28, 28)
    assert torch.allclose(path[0], reconstruct(ae, x[:1])[0], atol=1e-6)
    assert torch.allclose(path[-1], reconstruct(ae, x[1:2])[0], atol=1e-6)


# --- plots and widgets ----------------------------------------------------------------------------

def test_plots_and_widgets_draw(tmp_path, monkeypatch):
    monkeypatch.setenv("LABKIT_FIGURES", str(tmp_path))
    torch.manual_seed(0)
    x, y = torch.rand(30, 1, 28, 28), torch.arange(30) % 10
    ae, vae = Autoencoder(AEConfig(latent_dim=2)), VAE(VAEConfig(latent_dim=2))
    codes = latent_codes(vae, x)
    figures = [
        plots.plot_pixel_stats(x),
        plots.plot_latent_scatter(codes, y),
        plots.plot_latent_scatters({"AE": latent_codes(ae, x), "VAE": codes}, y),
        plots.plot_latent_manifold(vae, lim=2.0, n=4),
        plots.plot_latent_point(vae, (0.5, -0.5), codes=codes, labels=y),
        plots.plot_interpolation_at({"AE": ae, "VAE": vae}, x[0], x[1], 0.25),
    ]
    assert all(isinstance(fig, plt.Figure) for fig in figures)
    assert plots.save_figure(figures[0], "test_pixels").is_file()
    # a scatter on shared axes uses one scale for both panels
    axes = figures[2].axes[:2]
    assert axes[0].get_xlim() == axes[1].get_xlim()
    with pytest.raises(ValueError, match="latent_dim=2"):
        plots.plot_latent_manifold(Autoencoder(AEConfig()))
    plt.close("all")

    pytest.importorskip("ipywidgets")
    from labkit.widgets import interpolation_slider, latent_explorer

    explorer = latent_explorer(vae, codes=codes, labels=y, lim=2.0)
    assert [w.description for w in explorer.children[:2]] == ["z1", "z2"]
    slider = interpolation_slider({"AE": ae, "VAE": vae}, x[0], x[1])
    assert slider.children[0].value == 0.5
    plt.close("all")
