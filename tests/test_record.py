"""The one train-and-measure recorder (labkit.tools.record), the one manifest reader (labkit.tools.manifest) and the
release of any registered GAN (labkit.tools.weights.release), on tiny models from test code."""
import json
from dataclasses import dataclass

import pytest
import torch

from labkit import registry
from labkit.checkpoint import TrainError, load_checkpoint, prepare_out, save_checkpoint, saved_config
from labkit.config import get_profile
from labkit.models import gan
from labkit.run import train_model
from labkit.tools.manifest import WeightsError, read_files
from labkit.tools.record import Schedule, record_training
from labkit.tools.weights import load_release, release
from labkit.train import GANStep


@dataclass
class TinyGANConfig(gan.GANConfig):
    latent_dim: int = 8
    g_hidden: tuple[int, ...] = (16, 32)
    d_hidden: tuple[int, ...] = (16,)
    batch_size: int = 16
    num_epochs: int = 1


def _tiny(seed=0):
    torch.manual_seed(seed)
    cfg = TinyGANConfig()
    nets = {"net_G": gan.Generator(cfg), "net_D": gan.Discriminator(cfg)}
    return nets, registry.optimizers(cfg, nets), torch.randn(4, cfg.latent_dim)


def _record(epochs, path=None, resume=False):
    nets, opts, fixed = _tiny()
    real_x = torch.rand(48, 1, 28, 28) * 2 - 1
    measure = lambda epoch, history: {"epoch": epoch, "D_x": history["D_x"][-1]}  # noqa: E731
    run = record_training(nets, opts, {"train_x": real_x}, schedule=Schedule(epochs, every=2, batch_size=16),
                          measure=measure, record={"epoch": []}, fixed={"z": fixed}, step=GANStep(), checkpoint=path,
                          resume=resume, extra={"note": "kept"})
    return run, nets


def test_the_recorder_measures_every_k_epochs_and_at_the_last():
    run, _ = _record(3)
    assert run.record["epoch"] == [2, 3] and len(run.record["D_x"]) == 2
    assert run.record["D_x"] == [run.history["D_x"][1], run.history["D_x"][2]]
    assert len(run.grids) == 2 and torch.equal(run.grids[-1], run.history["samples"][-1])
    assert run.grids[0].dtype == torch.uint8 and run.grids[0].shape == (4, 1, 28, 28)


def test_the_recorder_resumes_bit_for_bit(tmp_path):
    unbroken, unbroken_nets = _record(3)
    path = tmp_path / "run.pt"
    _record(2, path)
    with pytest.raises(TrainError, match="--resume"):
        _record(3, path)
    resumed, resumed_nets = _record(3, path, resume=True)
    assert resumed.record == unbroken.record
    assert all(torch.equal(a, b) for a, b in zip(resumed.grids, unbroken.grids))
    for key in unbroken_nets:
        for a, b in zip(unbroken_nets[key].state_dict().values(), resumed_nets[key].state_dict().values()):
            assert torch.equal(a, b)
    state = load_checkpoint(path)
    assert state["epoch"] == 3 and state["note"] == "kept" and state["history"]["samples"] == []
    again, _ = _record(3, path, resume=True)  # already done: nothing trains, the record comes back
    assert again.record == unbroken.record


def test_saved_configs_take_renamed_fields_under_their_new_names():
    assert saved_config({"nz": 100, "betas": [0.5, 0.999]}) == {"latent_dim": 100, "betas": (0.5, 0.999)}


@pytest.fixture
def tiny_gan(monkeypatch):
    """A GAN registered from test code only (registry.MODELS is restored afterwards)."""
    entry = registry.Entry("tiny_gan", "Tiny GAN", "gan", TinyGANConfig,
                           lambda cfg: {"net_G": gan.Generator(cfg), "net_D": gan.Discriminator(cfg)})
    monkeypatch.setitem(registry.MODELS, "tiny_gan", entry)
    return entry


def test_any_registered_gan_is_released_and_loads_back_through_the_manifest(tiny_gan, tmp_path):
    out = prepare_out(tmp_path / "runs")
    nets, _ = train_model("tiny_gan", out=out, profile=get_profile("quick"), device=torch.device("cpu"), epochs=1,
                          max_batches=2, progress=False)
    state = load_checkpoint(out / "tiny_gan.pt")
    assert state["machine"] and state["precision"] == "fp32"  # new checkpoints say where and in what they trained
    save_checkpoint({**state, "machine": "the training machine"}, out / "tiny_gan.pt")
    manifest = release(out / "tiny_gan.pt", tmp_path / "release", commands=["test"])
    assert manifest["model"] == "tiny_gan" and manifest["device"] == "the training machine"  # ... and the release too
    assert manifest["precision"] == "fp32"  # `--precision auto`: as the checkpoint recorded it
    assert manifest["epochs"] == 1 and "figures" not in manifest  # figures of art only
    assert manifest["generator_updates"] == 1 * 2  # the batches this run made (max_batches=2), not the profile's
    assert manifest["config"]["latent_dim"] == 8 and set(manifest["files"]) >= {"generator.pt", "samples.pt"}
    net_G, grids, history, loaded = load_release(tmp_path / "release")
    assert isinstance(net_G, gan.Generator) and not net_G.training
    assert loaded == json.loads(json.dumps(manifest))  # the manifest written is the one returned
    assert list(grids) == [1] and grids[1].shape == (25, 1, 28, 28) and history["Loss_D"] == state["history"]["Loss_D"]
    z = torch.randn(3, 8)
    with torch.no_grad():
        assert (net_G(z) - nets["net_G"].eval()(z)).abs().max() < 1e-2  # float16 weights: close, not equal
    (tmp_path / "release" / "history.json").write_text(json.dumps({"changed": True}))
    with pytest.raises(WeightsError, match="history.json"):
        load_release(tmp_path / "release")


def test_the_manifest_reader_names_a_listed_file_that_does_not_read(tmp_path):
    from labkit.tools.manifest import write_manifest

    (tmp_path / "record.json").write_text("{not json")
    write_manifest(tmp_path, {"model": "x"})
    with pytest.raises(WeightsError, match="make weights"):
        read_files(tmp_path, "record.json")


@pytest.mark.parametrize("model", ["dcgan", "gan", "vae"])
@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("precision", ["auto", "fp32", "mixed"])
def test_the_precision_a_run_trains_in_is_what_its_family_says(model, device, precision):
    """precision_used, which fit trains in and the checkpoint records: "fp32" and "mixed" as asked for a GAN,
    "auto" mixed only on CUDA for a config that asks for it (the DCGAN's); an autoencoder always float32."""
    entry = registry.get(model)
    used = entry.family.precision_used(entry.config(), device, precision)
    if entry.family.name == "autoencoder":
        assert used == "fp32"
    elif precision != "auto":
        assert used == precision
    else:
        assert used == ("mixed" if device == "cuda" and model == "dcgan" else "fp32")
