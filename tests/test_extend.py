"""Extending the lab from your own code: a hinge-loss GAN and a VQ-VAE-shaped autoencoder, both defined in this file
only, go through labkit's own training, checkpoint, resume, sampling and metrics table, with zero edits to labkit.

Each then goes through labkit.tools' recorder (measured every 2 epochs, checkpointed, resumed) and release
(written from a `labkit train` checkpoint, loaded back through its manifest).

The VQ-VAE is the awkward case on purpose: its config has no latent_dim (its codes come from a codebook, not from
N(0, I)) and a field that may be 0 (the commitment weight). Both train on a dataset object of this file's own,
so the whole module runs in seconds.
"""
import dataclasses
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labkit import classifier, compare, get_profile, load_mnist, registry
from labkit.checkpoint import load_checkpoint
from labkit.cli import main
from labkit.models.checks import Config
from labkit.run import load_or_train, train_model


# --- a dataset of our own: a slice of the bundled digits ---------------------------------------------------

class TinyDigits:
    """The first 256 training and 200 test digits of the bundled subset, in [0, 1], with labels."""

    name = "tiny_digits"
    pixel_range = (0.0, 1.0)

    def load(self, profile):
        (x, y), (xt, yt) = (load_mnist(train=t, source="subset") for t in (True, False))
        return {"train_x": x[:256], "train_y": y[:256], "test_x": xt[:200], "test_y": yt[:200]}

    def describe(self, profile):
        return "256 bundled digits (the test's own dataset)"

    def batch_settings(self, profile):
        return None, None  # the config's batch size, whole epochs

    def epochs(self, profile):
        return None  # the config's num_epochs


# --- a hinge-loss GAN: tiny MLPs, the losses of Lim & Ye 2017 (Geometric GAN) ---------------------------

@dataclass
class HingeGANConfig(Config):
    latent_dim: int = 8
    hidden: int = 32
    img_shape: tuple[int, int, int] = (1, 28, 28)
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    batch_size: int = 32
    num_epochs: int = 2


class HingeG(nn.Module):
    def __init__(self, cfg: HingeGANConfig):
        super().__init__()
        self.cfg = cfg
        self.net = nn.Sequential(nn.Linear(cfg.latent_dim, cfg.hidden), nn.ReLU(),  # (B, 8) -> (B, 32)
                                 nn.Linear(cfg.hidden, cfg.img_size), nn.Tanh())  # -> (B, 784) in [-1, 1]

    @property
    def latent_shape(self):
        return (self.cfg.latent_dim,)

    def forward(self, z):
        return self.net(z).view(len(z), *self.cfg.img_shape)  # (B, 1, 28, 28)


def hinge_critic(cfg: HingeGANConfig) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(cfg.img_size, cfg.hidden), nn.LeakyReLU(0.2),
                         nn.Linear(cfg.hidden, 1), nn.Flatten(0))  # (B, 1, 28, 28) -> (B,) raw scores


def hinge_d_loss(d_real, d_fake):  # E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]
    return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()


def hinge_g_loss(d_fake):  # -E[D(G(z))]
    return -d_fake.mean()


# --- a VQ-VAE-shaped autoencoder: codes from a codebook (van den Oord et al. 2017), no latent_dim -----------

@dataclass
class VQConfig(Config):
    num_codes: int = 16  # codebook size K
    positions: int = 4  # code vectors per image
    code_dim: int = 4  # size of each code vector
    commitment: float = 0.0  # beta of eq. 3 (0.25 in the paper); may be 0: no commitment term
    img_shape: tuple[int, int, int] = (1, 28, 28)
    lr: float = 1e-3
    batch_size: int = 64
    num_epochs: int = 2


class TinyVQVAE(nn.Module):
    """encode (B, 1, 28, 28) -> (B, 4, 4) vectors, snapped to the nearest of 16 codebook vectors, decoded back."""

    def __init__(self, cfg: VQConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(cfg.img_size, cfg.positions * cfg.code_dim))
        self.codebook = nn.Embedding(cfg.num_codes, cfg.code_dim)
        self.decoder = nn.Linear(cfg.positions * cfg.code_dim, cfg.img_size)

    def quantize(self, z_e):  # (B, P, D) -> nearest codebook vectors (B, P, D)
        dist = (z_e.unsqueeze(2) - self.codebook.weight).pow(2).sum(-1)  # (B, P, K)
        return self.codebook(dist.argmin(-1))

    def decode(self, z):  # (B, P*D) -> (B, 1, 28, 28) in (0, 1)
        return torch.sigmoid(self.decoder(z)).view(len(z), *self.cfg.img_shape)

    def losses(self, x):
        z_e = self.encoder(x).view(len(x), self.cfg.positions, self.cfg.code_dim)
        z_q = self.quantize(z_e)
        x_hat = self.decode((z_e + (z_q - z_e).detach()).flatten(1))  # straight-through gradient to the encoder
        recon, codebook = F.mse_loss(x_hat, x), F.mse_loss(z_q, z_e.detach())
        commit = F.mse_loss(z_e, z_q.detach())
        return {"loss": recon + codebook + self.cfg.commitment * commit, "recon": recon, "codebook": codebook}

    def embed(self, x):  # the quantised code, flattened (B, P*D)
        return self.quantize(self.encoder(x).view(len(x), self.cfg.positions, self.cfg.code_dim)).flatten(1)

    @torch.no_grad()
    def sample(self, n, *, generator=None, data=None):
        """Uniformly drawn codes (the paper fits a PixelCNN prior over them; uniform is the simplest stand-in)."""
        idx = torch.randint(self.cfg.num_codes, (n, self.cfg.positions), generator=generator)
        z = self.codebook(idx.to(self.codebook.weight.device)).flatten(1)
        return self.decode(z).cpu()


# --- fixtures ----------------------------------------------------------------------------------------------

NAMES = ["hinge_gan", "tiny_vqvae"]


@pytest.fixture()
def extended():
    """Register the two models (and nothing in labkit changes); put the registry back as it was afterwards."""
    before = dict(registry.MODELS)
    registry.register(registry.Entry(
        "hinge_gan", "hinge GAN", "gan", HingeGANConfig,
        lambda cfg: {"net_G": HingeG(cfg), "net_D": hinge_critic(cfg)}, dataset=TinyDigits(),
        train_options=lambda cfg: {"d_loss": hinge_d_loss, "g_loss": hinge_g_loss}))
    registry.register(registry.Entry("tiny_vqvae", "tiny VQ-VAE", "autoencoder", VQConfig,
                                     lambda cfg: {"net": TinyVQVAE(cfg)}, dataset=TinyDigits()))
    yield
    registry.MODELS.clear()
    registry.MODELS.update(before)


@pytest.fixture(scope="module")
def profile():
    return get_profile("quick")  # every model at its config's num_epochs (its dataset names no epochs)


@pytest.fixture(scope="module")
def digits():
    data = TinyDigits().load(None)
    return data["train_x"], data["test_x"]


def _same_weights(a, b) -> bool:
    return all(torch.equal(p, q) for key in a for p, q in zip(a[key].state_dict().values(), b[key].state_dict().values()))


# --- the tests ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_a_model_of_your_own_trains_resumes_samples_and_is_measured(name, extended, profile, digits, tmp_path):
    x, x_test = digits
    cpu = torch.device("cpu")
    # training: two epochs, a checkpoint and the epoch's images on disk
    _, history = train_model(name, out=tmp_path, profile=profile, device=cpu, progress=False, image_every=1)
    state = load_checkpoint(tmp_path / f"{name}.pt")
    assert state["model"] == name and state["epoch"] == 2 and len(history["seconds"]) == 2
    images = sorted(p.name for p in (tmp_path / f"{name}_images").iterdir())
    assert images == (["epoch_1.png", "epoch_2.png"] if name == "hinge_gan" else
                      ["reconstruction_epoch_1.png", "reconstruction_epoch_2.png"])  # no prior: no sample grid
    # resume to a third epoch: the first two are kept, and the end matches an unbroken three-epoch run
    nets, resumed = train_model(name, out=tmp_path, profile=profile, device=cpu, progress=False, epochs=3,
                                resume=True)
    key = compare.training_loss_key(name)
    assert len(resumed["seconds"]) == 3 and resumed[key][:2] == history[key][:2]
    (tmp_path / "unbroken").mkdir()
    unbroken, _ = train_model(name, out=tmp_path / "unbroken", profile=profile, device=cpu, progress=False, epochs=3)
    assert _same_weights(nets, unbroken)
    # the notebooks' way in: a finished checkpoint is loaded, not trained again
    loaded, again = load_or_train(name, profile=profile, device=cpu, out=tmp_path, epochs=3, progress=False)
    assert again["seconds"] == resumed["seconds"] and _same_weights(loaded, nets)
    # sampling: seeded, [0, 1] digits
    samples = registry.samples(name, loaded, 16, seed=1, data=x)
    assert samples.shape == (16, 1, 28, 28) and 0 <= samples.min() and samples.max() <= 1
    assert torch.equal(samples, registry.samples(name, loaded, 16, seed=1, data=x))
    # the metrics table of notebook 05
    torch.manual_seed(0)
    clf = classifier.MNISTClassifier().eval()  # untrained: enough for the plumbing
    row = compare.measure_mnist_model(name, loaded, again, clf=clf, train_x=x, test_x=x_test, num_samples=64,
                                      num_paths=4, last=3)
    assert row["model"] == registry.get(name).label and row["epochs"] == 3 and row["stability_key"] == key
    assert all(isinstance(row[k], float) and row[k] == row[k] for k in ("fid", "entropy", "pairwise_dist"))
    if name == "hinge_gan":
        assert row["recon_mse"] is None and row["params_G"] == sum(p.numel() for p in loaded["net_G"].parameters())
    else:
        assert 0 < row["recon_mse"] < 1 and "params_G" not in row
    table = compare.format_table([row], {"model": "model", "fid": "FID", "recon_mse": "recon"})
    assert registry.get(name).label in table
    # ... and on through the record and the release: test_a_gan_of_your_own_is_recorded_and_released and
    # test_an_autoencoder_of_your_own_is_recorded_and_released


@pytest.mark.parametrize("name", NAMES)
def test_labkit_train_runs_a_model_of_your_own_and_names_its_dataset(name, extended, tmp_path, capsys):
    code = main(["train", "--model", name, "--epochs", "1", "--max-batches", "2", "--out", str(tmp_path),
                 "--profile", "quick", "--device", "cpu"])
    assert code == 0 and (tmp_path / f"{name}.pt").is_file()
    assert "data: 256 bundled digits (the test's own dataset)" in capsys.readouterr().out


def test_a_commitment_of_zero_and_no_latent_dim_are_a_valid_vq_config():
    assert VQConfig(commitment=0.0).commitment == 0.0 and not hasattr(VQConfig(), "latent_dim")
    with pytest.raises(ValueError, match=r"VQConfig\(commitment=-1.0\)"):
        VQConfig(commitment=-1.0)  # labkit's config checks still hold for a config of your own


def test_models_of_your_own_stay_out_of_the_courses_lists(extended):
    assert registry.get("hinge_gan").family.name == "gan" and registry.get("tiny_vqvae").dataset.name == "tiny_digits"
    assert "hinge_gan" in registry.names(family="gan") and "tiny_vqvae" in registry.names(dataset="tiny_digits")
    assert compare.mnist_models() == compare.MNIST_MODELS  # notebook 05 still compares the course's digit models


def test_an_autoencoder_with_a_prior_needs_a_latent_dim(extended, profile, tmp_path):
    registry.register(dataclasses.replace(registry.get("tiny_vqvae"), name="vq_prior", prior=True))
    with pytest.raises(ValueError, match=r"Entry\('vq_prior', prior=True\).*give VQConfig a latent_dim"):
        train_model("vq_prior", out=tmp_path, profile=profile, device=torch.device("cpu"), progress=False)


def test_an_unknown_family_or_dataset_is_one_line_naming_the_known_ones():
    with pytest.raises(ValueError, match=r"Entry\('x'\): family must be one of \('autoencoder', 'gan'\)"):
        registry.Entry("x", "X", "diffusion", HingeGANConfig, lambda cfg: {})
    with pytest.raises(ValueError, match=r"Entry\('x'\): dataset must be one of \('mnist', 'art'\)"):
        registry.Entry("x", "X", "gan", HingeGANConfig, lambda cfg: {}, dataset="cifar")



def test_a_gan_of_your_own_is_recorded_and_released(extended, profile, digits, tmp_path):
    """The recorder (labkit.tools.record) and the release (labkit.tools.weights) take the hinge GAN as they take
    the lab's own: its losses from its entry, its dataset's description in the manifest, its generator loaded back
    through the manifest."""
    from labkit.tools.record import Schedule, record_training
    from labkit.tools.weights import WeightsError, load_release, release
    from labkit.train import GANStep

    x, _ = digits
    entry = registry.get("hinge_gan")
    torch.manual_seed(0)
    cfg, nets = registry.build("hinge_gan")
    fixed = torch.randn(4, cfg.latent_dim)
    measure = lambda epoch, history: {"epoch": epoch, "Loss_D": history["Loss_D"][-1]}  # noqa: E731
    run = record_training(nets, registry.optimizers(cfg, nets), {"train_x": x * 2 - 1},
                          schedule=Schedule(3, every=2, batch_size=cfg.batch_size), measure=measure,
                          record={"epoch": []}, fixed={"z": fixed}, step=GANStep(**entry.train_options(cfg)),
                          checkpoint=tmp_path / "record.pt")
    assert run.record["epoch"] == [2, 3] and run.record["Loss_D"] == run.history["Loss_D"][1:]
    assert len(run.grids) == 2 and run.grids[-1].shape == (4, 1, 28, 28) and run.grids[-1].dtype == torch.uint8
    # the release: a finished `labkit train` run of the hinge GAN, exported and loaded back
    trained, history = train_model("hinge_gan", out=tmp_path, profile=profile, device=torch.device("cpu"),
                                   progress=False)
    manifest = release(tmp_path / "hinge_gan.pt", tmp_path / "release", commands=["test"])
    assert manifest["model"] == "hinge_gan" and manifest["epochs"] == 2 and "figures" not in manifest
    assert manifest["data"]["source"] == TinyDigits().describe(profile) and manifest["data"]["images"] == 256
    assert manifest["generator_updates"] == 2 * (256 // cfg.batch_size)
    net_G, grids, shipped_history, _ = load_release(tmp_path / "release")
    assert isinstance(net_G, HingeG) and list(grids) == [1, 2] and shipped_history["Loss_D"] == history["Loss_D"]
    z = torch.randn(5, cfg.latent_dim)
    with torch.no_grad():
        assert (net_G(z).float() - trained["net_G"].eval()(z)).abs().max() < 1e-2  # float16 weights: close
    (tmp_path / "release" / "generator.pt").write_bytes(b"changed")
    with pytest.raises(WeightsError, match="generator.pt"):
        load_release(tmp_path / "release")


def test_an_autoencoder_of_your_own_is_recorded_and_released(extended, profile, digits, tmp_path, capsys):
    """The same recorder and release take the VQ-VAE: its family runs fit_autoencoder and draws its reconstructions
    (it has no prior to decode), and the release ships the whole model (sampling needs the codebook and decoder)."""
    from labkit.tools.record import Schedule, record_training
    from labkit.tools.weights import WeightsError, load_release, release

    x, x_test = digits
    family = registry.get("tiny_vqvae").family

    def recorded(epochs, path=None, resume=False):
        torch.manual_seed(0)
        cfg, nets = registry.build("tiny_vqvae")
        measure = lambda epoch, history: {"epoch": epoch, "test_loss": history["test_loss"][-1]}  # noqa: E731
        run = record_training(nets, registry.optimizers(cfg, nets), {"train_x": x, "test_x": x_test},
                              schedule=Schedule(epochs, every=2, batch_size=cfg.batch_size), measure=measure,
                              record={"epoch": []}, fixed={"x": x_test[:4]}, family=family, checkpoint=path,
                              resume=resume)
        return run, nets

    unbroken, unbroken_nets = recorded(3)
    assert unbroken.record["epoch"] == [2, 3] and unbroken.record["test_loss"] == unbroken.history["test_loss"][1:]
    assert len(unbroken.grids) == 2 and unbroken.grids[-1].shape == (8, 1, 28, 28)
    assert torch.equal(unbroken.grids[-1][:4], (x_test[:4] * 255).round().to(torch.uint8))  # originals above
    assert not torch.equal(unbroken.grids[0][4:], unbroken.grids[1][4:])  # ... reconstructions that changed
    recorded(2, tmp_path / "record.pt")
    resumed, resumed_nets = recorded(3, tmp_path / "record.pt", resume=True)
    assert resumed.record == unbroken.record and _same_weights(resumed_nets, unbroken_nets)
    assert all(torch.equal(a, b) for a, b in zip(resumed.grids, unbroken.grids))
    # the release: a finished `labkit train` run of the VQ-VAE, exported and loaded back
    trained, history = train_model("tiny_vqvae", out=tmp_path, profile=profile, device=torch.device("cpu"),
                                   progress=False)
    manifest = release(tmp_path / "tiny_vqvae.pt", tmp_path / "release", commands=["test"])
    assert manifest["model"] == "tiny_vqvae" and manifest["epochs"] == 2 and manifest["network"] == "net"
    assert manifest["updates"] == 2 * (256 // 64) and manifest["config"]["commitment"] == 0.0
    assert manifest["data"]["source"] == TinyDigits().describe(profile) and "figures" not in manifest
    assert set(manifest["files"]) == {"model.pt", "samples.pt", "history.json"}
    net, grids, shipped_history, _ = load_release(tmp_path / "release")
    assert isinstance(net, TinyVQVAE) and not net.training and _same_weights({"net": net}, trained)  # float32: equal
    fixed_x = load_checkpoint(tmp_path / "tiny_vqvae.pt")["fixed"]["x"]  # 8 test digits spread over the test set
    assert list(grids) == [2] and grids[2].shape == (16, 1, 28, 28) and shipped_history == history
    assert torch.equal(grids[2][:8], (fixed_x * 255).round().to(torch.uint8))
    samples = registry.samples("tiny_vqvae", {"net": net}, 9, seed=1)  # sampling from the loaded model
    assert samples.shape == (9, 1, 28, 28) and torch.equal(samples, registry.samples("tiny_vqvae", trained, 9, seed=1))
    assert main(["release", "--run", str(tmp_path / "tiny_vqvae.pt"), "--out", str(tmp_path / "cli")]) == 0
    assert load_release(tmp_path / "cli")[3]["files"]["model.pt"] == manifest["files"]["model.pt"]  # the command too
    assert "labkit: released tiny_vqvae (2 epochs)\n" in capsys.readouterr().out
    (tmp_path / "release" / "model.pt").write_bytes(b"changed")
    with pytest.raises(WeightsError, match="model.pt"):
        load_release(tmp_path / "release")
