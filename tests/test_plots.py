"""The multi-panel figures the notebooks used to draw by hand: each returns a Figure with its panels and titles."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from labkit import gan_plots, latent_plots, plots
from labkit.collapse import ACTIVE_THRESHOLD
from labkit.models.ae import AEConfig, Autoencoder
from labkit.models.cvae import CVAE, CVAEConfig
from labkit.models.wgan_gp import critic_estimate


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def titles(fig):
    return [ax.get_title() for ax in fig.axes]


def test_show_image_panels_one_titled_grid_per_panel():
    panels = {"real": torch.rand(6, 1, 28, 28), "model": torch.rand(6, 1, 28, 28) * 2 - 1}
    fig = plots.show_image_panels(panels, nrow=3, value_range=(-1, 1), figsize=(6, 3))
    assert titles(fig) == ["real", "model"]
    assert tuple(fig.get_size_inches()) == (6, 3)


def test_plot_relative_losses_ends_every_curve_at_one():
    fig = plots.plot_relative_losses({"AE (loss)": [4.0, 2.0, 1.0], "GAN (Loss_G)": [3.0, 6.0]})
    (ax,) = fig.axes
    assert [line.get_label() for line in ax.lines] == ["AE (loss)", "GAN (Loss_G)"]
    assert [line.get_ydata()[-1] for line in ax.lines] == [1.0, 1.0]
    assert list(ax.lines[0].get_ydata()) == [4.0, 2.0, 1.0]


def test_plot_latent_map_scatter_beside_decoder_grid():
    torch.manual_seed(0)
    codes, labels = torch.randn(40, 2), torch.arange(40) % 10
    fig = latent_plots.plot_latent_map(Autoencoder(AEConfig(latent_dim=2, hidden=(8,))), codes, labels, n=4)
    assert titles(fig) == ["codes of the test digits", "decoder output on a 4 x 4 grid"]
    lo, hi = codes.min(0).values, codes.max(0).values
    assert fig.axes[0].get_xlim() == pytest.approx((lo[0].item(), hi[0].item()))
    assert fig.axes[1].images[0].get_extent() == pytest.approx([lo[0].item(), hi[0].item(), lo[1].item(), hi[1].item()])


def test_plot_vae_loss_terms_three_panels_train_and_test():
    history = {f"{split}_{term}": [3.0, 2.0] for split in ("train", "test") for term in ("loss", "recon", "kl")}
    fig = latent_plots.plot_vae_loss_terms(history)
    assert titles(fig) == ["total: -ELBO", "reconstruction (BCE)", "KL to N(0, I)"]
    assert [line.get_label() for line in fig.axes[2].lines] == ["train_kl", "test_kl"]


def _posterior(latent_dim, scale):
    return {"recon": 100 / scale, "kl": scale, "kl_per_dim": torch.linspace(0, scale, latent_dim),
            "activity": torch.linspace(0, scale, latent_dim)}


def test_plot_beta_sweep_marks_the_remedy_and_the_activity_bar():
    stats = {"β=1": _posterior(5, 10.0), "β=4": _posterior(5, 2.0), "β=4 + free bits": _posterior(5, 3.0)}
    fig = latent_plots.plot_beta_sweep(stats, (1.0, 4.0), remedy="β=4 + free bits", free_bits=0.5)
    assert titles(fig) == ["β trades reconstruction for KL", "KL per latent dimension", "active units"]
    assert fig.axes[0].lines[2].get_label() == "free bits λ=0.5"
    assert [line.get_ls() for line in fig.axes[1].lines] == ["-", "-", "--"]
    assert fig.axes[2].lines[-1].get_ydata()[0] == ACTIVE_THRESHOLD


def test_plot_label_style_grids_one_10x10_grid_per_cvae():
    nets = {"20-d z": CVAE(CVAEConfig(hidden=8)), "2-d z": CVAE(CVAEConfig(latent_dim=2, hidden=8))}
    fig = latent_plots.plot_label_style_grids(nets, {"20-d z": 0.5, "2-d z": 0.9})
    assert len(fig.axes) == 2
    assert titles(fig)[1] == "2-d z: digit c (rows 0-9) x style z (columns)\n90% of 1,000 samples read as asked"
    assert fig.axes[0].images[0].get_array().shape[:2] == (10 * 30 + 2, 10 * 30 + 2)  # 10 x 10 digits, 2 px padding


def test_plot_mode_coverage_one_bar_chart_per_set():
    coverage = {"real": {"shares": [0.1] * 10, "entropy": 3.32}, "GAN": {"shares": [1.0] + [0.0] * 9, "entropy": 0.0}}
    fig = gan_plots.plot_mode_coverage(coverage)
    assert titles(fig) == ["real: 3.32 bits", "GAN: 0.00 bits"]
    assert [bar.get_height() for bar in fig.axes[1].patches][:2] == [1.0, 0.0]


def _record(models=("gan", "wgan_gp"), seeds=(0, 1)):
    curve = {"g_updates": [10, 20, 30], "fid": [90.0, 50.0, 30.0], "largest_share": [0.5, 0.2, 0.12],
             "Loss_D": [1.0, 1.2, 1.3], "D_x": [0.5, 2.0, 1.0], "D_G_z1": [0.1, -1.0, 0.5]}
    return {"models": list(models), "labels": {m: m.upper() for m in models}, "seeds": list(seeds), "updates": 30,
            "runs": {m: {str(s): {"curve": curve} for s in seeds} for m in models}}


def test_plot_variant_curves_fid_and_share_panels_one_legend_entry_per_model():
    fig = gan_plots.plot_variant_curves(_record())
    assert titles(fig) == ["sample quality, three seeds per model", "mode coverage (0.1 = even)"]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["GAN", "WGAN_GP"]


def test_plot_variant_d_numbers_plots_what_each_d_reports():
    reports = {"gan": ("BCE loss L_D", lambda c: c["Loss_D"]), "wgan_gp": ("critic estimate", critic_estimate)}
    fig = gan_plots.plot_variant_d_numbers(_record(), reports)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["GAN", "WGAN_GP"]
    assert panels[1].get_ylabel() == "critic estimate"
    assert list(panels[1].lines[0].get_ydata()) == pytest.approx([0.4, 3.0, 0.5])
    assert len(fig.axes) == 4  # each panel has its FID twin


def test_plot_variant_samples_grid_of_models_by_seeds():
    record = _record()
    grids = {m: [torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8)] * 2 for m in record["models"]}
    fig = gan_plots.plot_variant_samples(record, grids)
    assert len(fig.axes) == 4
    assert titles(fig)[3] == "WGAN_GP, seed 1: FID 30"
    assert fig._suptitle.get_text() == "after 30 generator updates (fixed noise)"


def test_plot_critic_live_curve_beside_last_samples():
    fig = gan_plots.plot_critic_live([0.5, 0.3, 0.2], torch.randint(0, 256, (25, 1, 28, 28), dtype=torch.uint8))
    assert titles(fig) == ["the critic's estimate, live", "G(fixed noise) after epoch 3"]
    assert list(fig.axes[0].get_xticks()) == [1, 2, 3]


def test_critic_estimate_is_the_difference_of_mean_scores():
    assert critic_estimate({"D_x": [1.0, 2.5], "D_G_z1": [0.25, -1.0]}) == [0.75, 3.5]
