"""One place to add a model: toy models defined here, in the test file only, go through labkit.registry and are
trained, checkpointed, reloaded, sampled and measured by labkit's own code, with no change to labkit."""
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labkit import classifier, compare, get_profile, load_mnist, registry
from labkit.models.checks import Config
from labkit.run import load_or_train


# --- a toy autoencoder: one linear layer each way ---------------------------------------------------

@dataclass
class ToyAEConfig(Config):
    latent_dim: int = 3
    img_shape: tuple[int, int, int] = (1, 28, 28)
    lr: float = 1e-2
    batch_size: int = 256
    num_epochs: int = 3


class ToyAE(nn.Module):
    def __init__(self, cfg: ToyAEConfig):
        super().__init__()
        self.cfg = cfg
        self.enc, self.dec = nn.Linear(cfg.img_size, cfg.latent_dim), nn.Linear(cfg.latent_dim, cfg.img_size)

    def embed(self, x):
        return self.enc(x.flatten(1))

    def decode(self, z):
        return torch.sigmoid(self.dec(z)).view(len(z), *self.cfg.img_shape)

    def losses(self, x):
        return {"loss": F.mse_loss(self.decode(self.embed(x)), x)}

    @torch.no_grad()
    def sample(self, n, *, generator=None, data=None):
        return self.decode(torch.randn(n, self.cfg.latent_dim, generator=generator)).cpu()


# --- a toy GAN with a least-squares loss: the loop takes the losses it is given --------------------

@dataclass
class ToyGANConfig(Config):
    latent_dim: int = 4
    img_shape: tuple[int, int, int] = (1, 28, 28)
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.999)
    batch_size: int = 256
    num_epochs: int = 3
    d_steps: int = 2


class ToyG(nn.Module):
    def __init__(self, cfg: ToyGANConfig):
        super().__init__()
        self.cfg, self.net = cfg, nn.Linear(cfg.latent_dim, cfg.img_size)

    @property
    def latent_shape(self):
        return (self.cfg.latent_dim,)

    def forward(self, z):
        return torch.tanh(self.net(z)).view(len(z), *self.cfg.img_shape)


def lsgan_d_loss(d_real, d_fake):  # Mao et al. 2017
    return ((d_real - 1) ** 2).mean() / 2 + (d_fake ** 2).mean() / 2


def lsgan_g_loss(d_fake):
    return ((d_fake - 1) ** 2).mean() / 2


@pytest.fixture()
def toys():
    ae = registry.register(registry.Entry("toy_ae", "toy AE", "autoencoder", ToyAEConfig, lambda cfg: {"net": ToyAE(cfg)},
                                          prior=True))
    gan = registry.register(registry.Entry(
        "toy_gan", "toy GAN", "gan", ToyGANConfig,
        lambda cfg: {"net_G": ToyG(cfg), "net_D": nn.Sequential(nn.Flatten(), nn.Linear(cfg.img_size, 1), nn.Flatten(0))},
        train_options=lambda cfg: {"d_loss": lsgan_d_loss, "g_loss": lsgan_g_loss, "d_steps": cfg.d_steps}))
    yield ae, gan
    del registry.MODELS["toy_ae"], registry.MODELS["toy_gan"]


@pytest.fixture(scope="module")
def tiny_profile():
    return get_profile("quick")  # digits: each config's num_epochs (labkit.data.datasets)


@pytest.mark.parametrize("name", ["toy_ae", "toy_gan"])
def test_a_toy_model_trains_checkpoints_reloads_samples_and_is_measured(name, toys, tiny_profile, tmp_path):
    x, _ = load_mnist(train=True, source="subset")
    x_test, _ = load_mnist(train=False, source="subset")
    nets, history = load_or_train(name, profile=tiny_profile, device="cpu", out=tmp_path, progress=False)
    assert (tmp_path / f"{name}.pt").is_file() and len(history["seconds"]) == 3  # the config's 3 epochs
    assert (tmp_path / f"{name}_images").is_dir()
    loss = history["train_loss"] if name == "toy_ae" else history["Loss_D"]
    assert all(torch.isfinite(torch.tensor(loss)))

    again, history_again = load_or_train(name, profile=tiny_profile, device="cpu", out=tmp_path, progress=False)
    assert history_again["seconds"] == history["seconds"]  # loaded from the checkpoint, not retrained
    for key in nets:
        assert all(torch.equal(p, q) for p, q in zip(nets[key].parameters(), again[key].parameters()))

    samples = registry.samples(name, nets, 16, seed=1, data=x[:100])
    assert samples.shape == (16, 1, 28, 28) and 0 <= samples.min() and samples.max() <= 1
    assert torch.equal(samples, registry.samples(name, nets, 16, seed=1, data=x[:100]))

    torch.manual_seed(0)
    clf = classifier.MNISTClassifier().eval()  # untrained: enough for the plumbing
    row = compare.measure_mnist_model(name, nets, history, clf=clf, train_x=x, test_x=x_test, num_samples=64,
                                      num_paths=4, last=3)
    assert row["model"] in ("toy AE", "toy GAN") and isinstance(row["fid"], float)
    assert (row["recon_mse"] is None) == (name == "toy_gan")


def test_the_toy_gan_takes_two_D_steps_per_G_step(toys, tiny_profile, tmp_path):
    """d_steps=2: G steps on every second batch, so Loss_G is a mean over half as many batches (still finite)."""
    _, history = load_or_train("toy_gan", profile=tiny_profile, device="cpu", out=tmp_path, progress=False)
    assert len(history["Loss_G"]) == 3 and all(v == v for v in history["Loss_G"])


def test_a_gans_progress_bar_carries_its_label(toys, tiny_profile, tmp_path, capsys):
    load_or_train("toy_gan", profile=tiny_profile, device="cpu", out=tmp_path, progress=True)
    out = capsys.readouterr().out
    assert "toy GAN: 100%" in out and "GAN:" not in out.replace("toy GAN:", "")


def test_an_unknown_model_is_one_line_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown model 'nope': use one of ae, vae, gan, dcgan"):
        registry.get("nope")


def test_a_run_of_another_config_is_not_loaded_as_this_one(toys, tiny_profile, tmp_path):
    """run_name picks the checkpoint; a checkpoint made with other loss settings is one line, not a silent load."""
    from labkit.checkpoint import CheckpointError

    load_or_train("toy_ae", profile=tiny_profile, device="cpu", out=tmp_path, progress=False)
    other = ToyAEConfig(batch_size=128)  # same shapes, so only the config check can tell
    with pytest.raises(CheckpointError, match="was trained with batch_size=256, not 128; give this configuration its"):
        load_or_train("toy_ae", cfg=other, profile=tiny_profile, device="cpu", out=tmp_path, progress=False)
    nets, _ = load_or_train("toy_ae", cfg=other, run_name="toy_ae_b128", profile=tiny_profile, device="cpu",
                            out=tmp_path, progress=False)
    assert nets["net"].cfg.batch_size == 128 and (tmp_path / "toy_ae_b128.pt").is_file()
