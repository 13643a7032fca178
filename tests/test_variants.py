"""Notebook 06's measurements: active units (labkit.collapse), the GAN-variants record (labkit.tools.variants: written,
checked against its manifest, loaded; a changed or missing file is one line naming it) and the mixed-precision
helpers (labkit.tools.precision). Fast: a few generator updates on a few hundred digits."""
import json
import shutil

import pytest
import torch

from labkit.tools import variants
from labkit.classifier import MNISTClassifier
from labkit.cli import main
from labkit.collapse import ACTIVE_THRESHOLD, active_units, posterior_stats
from labkit.models.vae import VAE, VAEConfig, kl_divergence
from labkit.tools.precision import autocast_dtype, needs_grad_scaler, time_gan_steps
from labkit.tools.weights import FIX, WeightsError

torch.set_num_threads(1)


# --- active units (Burda et al. 2016) ---------------------------------------------------------------

def test_active_units_on_a_hand_made_case():
    # four images, four latent dimensions: the posterior means mu (N=4, D=4)
    mu = torch.tensor([[1.0, 3.0, 0.05, 0.2],
                       [-1.0, 3.0, -0.05, -0.2],
                       [1.0, 3.0, 0.05, 0.2],
                       [-1.0, 3.0, -0.05, -0.2]])
    result = active_units(mu)
    # Var_x(mu_u) with the population variance: 1, 0 (constant, however large), 0.0025, 0.04
    assert torch.allclose(result["activity"], torch.tensor([1.0, 0.0, 0.0025, 0.04]), atol=1e-7)
    assert result["active"].tolist() == [True, False, False, True]
    assert result["count"] == 2
    assert active_units(mu, threshold=0.001)["count"] == 3
    assert ACTIVE_THRESHOLD == 0.01


def test_active_units_wants_a_batch_of_means():
    for bad in (torch.zeros(5), torch.zeros(1, 20)):
        with pytest.raises(ValueError, match="N >= 2"):
            active_units(bad)


def test_posterior_stats_agree_with_the_vae_terms():
    torch.manual_seed(0)
    model = VAE(VAEConfig(latent_dim=6, hidden=32))
    x = torch.rand(50, 1, 28, 28)
    stats = posterior_stats(model, x, batch_size=16)  # several batches
    with torch.no_grad():
        mu, logvar = model.encode(x)
    assert stats["kl_per_dim"].shape == (6,)
    assert stats["kl"] == pytest.approx(float(kl_divergence(mu, logvar).mean()), rel=1e-5)
    assert torch.equal(stats["active"], active_units(mu)["active"])
    assert stats["count"] == active_units(mu)["count"]


# --- the GAN-variants record -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def record_dir(tmp_path_factory):
    """A tiny record: 2 models x 2 seeds, 10 generator updates on 320 digits, judged by an untrained classifier."""
    out = tmp_path_factory.mktemp("gan_variants")
    torch.manual_seed(0)
    variants.record_gan_variants(out, models=("gan", "wgan_gp"), seeds=(0, 1), updates=10, every=5, num_samples=100,
                                 num_train=320, clf=MNISTClassifier().eval(), commands=["test"], progress=False)
    return out


def test_record_round_trip(record_dir):
    record, grids, manifest = variants.load_gan_variants(record_dir)
    assert record["models"] == manifest["models"] == ["gan", "wgan_gp"] and record["seeds"] == [0, 1]
    assert manifest["generator_updates"] == record["updates"] == 10 and manifest["measured_every"] == 5
    assert manifest["batches_seen"] == {"gan": 10, "wgan_gp": 50}  # WGAN-GP: 5 critic steps per generator step
    assert set(manifest["files"]) == {"record.json", "samples.pt"} and manifest["commands"] == ["test"]
    assert manifest["data"]["train_images"] == 320 and manifest["torch"] == torch.__version__
    for name in record["models"]:
        for seed in ("0", "1"):
            run = record["runs"][name][seed]
            assert run["curve"]["g_updates"] == [5, 10]  # the same updates for every model
            assert set(run["curve"]) == set(variants.CURVE_KEYS)
            assert all(len(values) == 2 for values in run["curve"].values())
        assert grids[name].shape == (2, 25, 1, 28, 28) and grids[name].dtype == torch.uint8
    assert record["runs"]["gan"]["0"]["updates_per_epoch"] == 5 and record["runs"]["wgan_gp"]["0"]["updates_per_epoch"] == 1
    assert manifest["final_fid"]["gan"]["per_seed"] == [record["runs"]["gan"][s]["curve"]["fid"][-1] for s in ("0", "1")]
    assert record["runs"]["gan"]["0"]["curve"]["fid"] != record["runs"]["gan"]["1"]["curve"]["fid"]  # seeds differ


def _one_line(error, *fragments):
    message = str(error.value)
    assert "\n" not in message and FIX in message, message
    for fragment in fragments:
        assert fragment in message, message


@pytest.fixture
def copy(record_dir, tmp_path):
    target = tmp_path / "gan_variants"
    shutil.copytree(record_dir, target)
    return target


def test_a_changed_record_is_caught(copy):
    record = json.loads((copy / "record.json").read_text())
    record["runs"]["gan"]["0"]["curve"]["fid"][-1] = 1.0  # a better-looking number, same file size or not
    (copy / "record.json").write_text(json.dumps(record, indent=1) + "\n")
    with pytest.raises(WeightsError) as e:
        variants.load_gan_variants(copy)
    _one_line(e, "record.json")


def test_a_flipped_byte_is_caught(copy):
    data = bytearray((copy / "samples.pt").read_bytes())
    data[-100] ^= 1
    (copy / "samples.pt").write_bytes(bytes(data))
    with pytest.raises(WeightsError) as e:
        variants.load_gan_variants(copy)
    _one_line(e, "samples.pt", "checksum mismatch")


@pytest.mark.parametrize("name", ["record.json", "samples.pt", "manifest.json"])
def test_a_missing_file_names_it(copy, name):
    (copy / name).unlink()
    with pytest.raises(WeightsError) as e:
        variants.load_gan_variants(copy)
    _one_line(e, name, "missing")


def test_a_schedule_off_the_epoch_ends_is_one_line():
    with pytest.raises(ValueError, match=r"a multiple of 70, .*gan 70, wgan_gp 14.*--updates 2100 --every 210") as e:
        variants.check_schedule(("gan", "wgan_gp"), 4500, updates=2100, every=100)
    assert "\n" not in str(e.value)
    # 70 batches of 64 per epoch: 70 generator updates for the GAN, 14 for WGAN-GP (5 critic steps each)
    assert variants.check_schedule(variants.MODELS, 4500, updates=2100, every=210) == {"gan": 70, "wgan_gp": 14,
                                                                                        "sngan": 70}
    with pytest.raises(ValueError, match="too few"):
        variants.check_schedule(("wgan_gp",), 64 * 4, updates=10, every=5)


def test_cli_rejects_a_bad_schedule_before_training(capsys, tmp_path):
    assert main(["record-gan-variants", "--every", "100", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--every" in err
    assert not (tmp_path / "out").exists()


def test_rank_correlation():
    assert variants.rank_correlation([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)
    assert variants.rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert variants.rank_correlation([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        variants.rank_correlation([1, 2], [1, 2])


def test_final_spread_by_hand():
    record = {"models": ["a"], "runs": {"a": {"0": {"curve": {"fid": [50.0, 10.0]}},
                                              "1": {"curve": {"fid": [60.0, 20.0]}},
                                              "2": {"curve": {"fid": [70.0, 30.0]}}}}}
    spread = variants.final_spread(record)["a"]
    assert spread["per_seed"] == [10.0, 20.0, 30.0] and spread["mean"] == 20.0
    assert spread["std"] == pytest.approx(10.0) and spread["range"] == 20.0
    assert variants.final_spread(record, last=2)["a"]["per_seed"] == [30.0, 40.0, 50.0]


# --- mixed precision ---------------------------------------------------------------------------------

def test_autocast_formats():
    assert autocast_dtype("cpu") == torch.bfloat16 and not needs_grad_scaler("cpu")
    assert autocast_dtype("cuda") == torch.float16 and needs_grad_scaler("cuda")
    assert autocast_dtype("mps") is None


@pytest.mark.parametrize("amp", [False, True])
def test_time_gan_steps(amp):
    result = time_gan_steps("gan", amp=amp, batches=2, batch_size=8)
    assert result["finite"] and result["seconds_per_batch"] > 0
