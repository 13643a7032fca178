"""The reports notebook 06 prints, moved out of its cells: the β sweep, a CVAE's use of its label, and the record of
GAN variants (seed spread, whether D's number tracks the FID)."""
from operator import itemgetter

import pytest
import torch

from labkit import claims, collapse
from labkit.classifier import MNISTClassifier
from labkit.models.cvae import CVAE, CVAEConfig
from labkit.models.wgan_gp import critic_estimate
from labkit.tools import variant_report


def _run(recon, kl, count, dims=4):
    kl_per_dim = torch.tensor([kl] + [0.0] * (dims - 1))
    return {"recon": recon, "kl": kl, "kl_per_dim": kl_per_dim, "count": count, "active": torch.arange(dims) < count}


def test_sweep_report_names_the_collapse_and_the_remedy():
    stats = {"β=1": _run(90.0, 25.0, 4), "β=32": _run(200.0, 0.5, 0), "β=32 + free bits": _run(120.0, 2.0, 3),
             "β=8": _run(150.0, 0.8, 6)}
    text = collapse.sweep_report(stats, (1.0, 32.0), collapsed="β=32", healthy="β=1", remedy="β=32 + free bits",
                                 free_bits=0.5)
    lines = text.splitlines()
    assert lines[1].split()[:4] == ["β=1", "90.0", "25.00", "4"]
    assert "as β goes 1 -> 32, recon 90 -> 200 nats and KL 25.0 -> 0.50" in text
    assert "collapse at β=32: 0 active units" in text
    assert "β=8: 6 units pass Burda's 0.01 bar" in text and "β=1: 4 units pass" not in text
    assert lines[-1] == "free bits (λ = 0.5) at the same β: 3 active units, KL 2.0 nats, recon 120 (without: 200)"


def test_label_use_measures_a_cvae_against_the_classifier():
    torch.manual_seed(0)
    net, clf = CVAE(CVAEConfig(latent_dim=2, hidden=8)), MNISTClassifier()
    test_x, test_y = torch.rand(20, 1, 28, 28), torch.arange(20) % 10
    stats = claims.label_use(net, clf, test_x, test_y, num_samples=50)
    assert list(stats) == ["accuracy", "same_digit", "per_class", "mean_z_correct", "kl"]
    assert 0 <= stats["accuracy"] <= 1 and len(stats["per_class"]) == 10 and 0 <= stats["mean_z_correct"] <= 10
    assert stats["same_digit"] >= 0.1  # the commonest digit of 10 decodings holds at least 1 of them
    assert stats["kl"] > 0


def _record():
    def curve(fid, loss_d, d_x):
        return {"g_updates": [100, 200, 300, 400, 500, 600], "fid": fid, "Loss_D": loss_d, "D_x": d_x,
                "D_G_z1": [0.0] * 6, "classes_covered": [10] * 6, "largest_share": [0.2, 0.15, 0.12, 0.11, 0.1, 0.1]}
    loss_d = [1.0, 1.05, 1.1, 1.2, 1.25, 1.3]  # rises while the FID falls
    runs = {"bce": {s: {"curve": curve([90, 70, 60, 45, 35, 30 + int(s)], loss_d, [0.5] * 6)} for s in "012"},
            "critic": {s: {"curve": curve([80, 60, 50, 40, 35, 30.5], [0.0] * 6, [6.0, 5.0, 4.0, 3.0, 2.0, 1.0])}
                       for s in "012"}}
    return {"models": ["bce", "critic"], "labels": {"bce": "GAN", "critic": "WGAN"}, "seeds": [0, 1, 2],
            "updates": 600, "runs": runs}


def test_seed_spread_judges_the_claim_three_ways():
    text, spread = variant_report.seed_spread(_record(), model="critic", baseline="bce", claim="WGAN varies less")
    assert spread["absolute"] is True  # every WGAN seed ends at 30.5, the GAN's at 30, 31, 32
    assert spread["relative"]["critic"] == 0 and spread["relative"]["bce"] == pytest.approx(1 / 31)
    assert "  GAN      FID   30.0   31.0   32.0   mean   31.0, std   1.0, range   2.0" in text
    assert "'WGAN varies less', measured on this budget:" in text
    assert "matched quality: WGAN at 600 updates" in text


def test_d_tracking_tells_a_tracking_critic_from_a_loss():
    reports = {"bce": ("BCE loss L_D", itemgetter("Loss_D")), "critic": ("critic estimate", critic_estimate)}
    text, tracking = variant_report.d_tracking(_record(), reports, critic="critic", loss="bce")
    assert tracking["half"] == 3
    assert tracking["tracks"]["critic", 0] and not tracking["tracks"]["bce", 0]
    assert tracking["tracks"]["critic", 3] and not tracking["tracks"]["bce", 3]
    assert "over the whole run: holds" in text
    assert "WGAN critic estimate, mean over seeds: 6.00 at 100 updates" in text


def test_compare_spread_has_a_25_percent_margin():
    assert [variant_report.compare_spread(a, 1.0) for a in (0.7, 1.0, 1.3, 1.4)] == \
        ["smaller", "about the same", "about the same", "larger"]
