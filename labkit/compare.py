"""The four models side by side, as notebooks 01-04 left them (labkit.run.load_or_train), then measured.

Introduced in notebooks/05_comparison.ipynb. Models come from labkit.run.load_or_train, the same code and
checkpoints as `labkit train`, so the notebooks and the command line share their models; every number comes from
labkit.metrics. What a sample, a latent path and the training loss are for each kind of model, the model's family
says (labkit.families); the functions here ask it.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from . import metrics
from . import registry
from .inference import generate


def mnist_models() -> tuple[str, ...]:
    """The digit models the notebooks build before notebook 05, in the registry's order (the tables' order)."""
    return registry.names(dataset="mnist", before="05_comparison")


MNIST_MODELS = mnist_models()  # ("ae", "vae", "gan") as the registry holds them at import; notebook 05 loops over it


def label(name: str) -> str:
    """How tables and plots call model `name` ("AE", "VAE", "GAN", ...)."""
    return registry.get(name).label


# ---------------------------------------------------------------------------------------------------
# What "a sample", "a latent path" and "the training loss" mean for each family of models
# ---------------------------------------------------------------------------------------------------

def sample_digits(name: str, nets: dict[str, nn.Module], n: int, *, seed: int = 0,
                  train_x: torch.Tensor | None = None) -> torch.Tensor:
    """n new digits (n, 1, 28, 28) in [0, 1], with noise from a generator seeded with `seed`.

    VAE: z ~ N(0, I), the prior. GAN: z ~ N(0, I), then [-1, 1] -> [0, 1]. AE: it has no prior, so z is drawn
    from a Gaussian fitted to the codes of train_x (mean and full covariance), the usual way to sample one.
    (labkit.registry.samples; each model's own sample method says how.)
    """
    return registry.samples(name, nets, n, seed=seed, data=train_x)


@torch.no_grad()
def latent_path_ends(name: str, nets: dict[str, nn.Module], test_x: torch.Tensor, n: int, *, seed: int = 0):
    """(decode, z_a, z_b): n pairs of latent points to interpolate between, and the map from z to [0, 1] digits.

    Autoencoders: the codes (VAE: the means mu) of n random pairs of test digits. GANs: pairs of prior draws.
    """
    g = torch.Generator().manual_seed(seed)
    return registry.get(name).family.latent_path_ends(nets, test_x, n, generator=g)


def training_loss_key(name: str) -> str:
    """The per-epoch loss whose spread `loss_stability` reports: an autoencoder's training loss, a GAN's Loss_G."""
    return registry.get(name).family.loss_key


# ---------------------------------------------------------------------------------------------------
# The comparison tables
# ---------------------------------------------------------------------------------------------------

def measure_mnist_model(name: str, nets: dict[str, nn.Module], history: dict, *, clf: nn.Module,
                        train_x: torch.Tensor, test_x: torch.Tensor, num_samples: int, seed: int = 0,
                        num_paths: int = 64, last: int = 5) -> dict:
    """Every number of the AE / VAE / GAN table for one model, as a flat dict (None where it does not apply: the
    columns of the other family, recon_mse for autoencoders and params_G for GANs)."""
    family = registry.get(name).family
    samples = sample_digits(name, nets, num_samples, seed=seed, train_x=train_x)
    coverage = metrics.mode_coverage(clf, samples)
    decode, z_a, z_b = latent_path_ends(name, nets, test_x, num_paths, seed=seed)
    smooth = metrics.latent_smoothness(decode, z_a, z_b, steps=10)
    key = training_loss_key(name)
    stability = metrics.loss_stability(history, key, last=last)
    own = family.table_columns(nets, test_x)  # this family's columns
    row = {
        "model": label(name),
        "recon_mse": None,
        "fid": metrics.classifier_fid(clf, samples, test_x),
        "entropy": coverage["entropy"],
        "classes_covered": coverage["classes_covered"],
        "largest_share": coverage["largest_share"],
        "pairwise_dist": metrics.mean_pairwise_distance(samples),
        "interp_variation": smooth["variation"],
        "interp_step": smooth["step_change"],
        "stability_key": key,
        "loss_rel_std": stability["rel_std"],
        "loss_wobble": stability["wobble"],
        "params": sum(metrics.count_parameters(net) for net in nets.values()),
        "sec_per_epoch": sum(history["seconds"]) / len(history["seconds"]),
        "epochs": len(history["seconds"]),
    }
    row.update(own)
    return row


def reference_rows(clf: nn.Module, train_x: torch.Tensor, test_x: torch.Tensor, *, num_samples: int,
                   seed: int = 0) -> list[dict]:
    """Sanity rows that give the scale meaning: real training digits, and uniform noise, against the test set."""
    g = torch.Generator().manual_seed(seed)
    real = train_x[torch.randperm(len(train_x), generator=g)[:num_samples]]
    noise = torch.rand(num_samples, *test_x.shape[1:], generator=g)
    rows = []
    for label, x in (("real (train)", real), ("noise", noise)):
        cov = metrics.mode_coverage(clf, x)
        rows.append({"model": label, "fid": metrics.classifier_fid(clf, x, test_x), "entropy": cov["entropy"],
                     "classes_covered": cov["classes_covered"], "largest_share": cov["largest_share"],
                     "pairwise_dist": metrics.mean_pairwise_distance(x)})
    return rows


def measure_art(net_G: nn.Module, real: torch.Tensor, held_out: torch.Tensor, *, num_samples: int,
                seed: int = 0, **swd_kwargs) -> list[dict]:
    """SWD of DCGAN samples, of other real images and of uniform noise, each against held-out real art ([-1, 1])."""
    g = torch.Generator().manual_seed(seed)
    fake = generate(net_G, num_samples, generator=g)  # (N, 3, 64, 64) in [-1, 1], 256 at a time
    sets = {"DCGAN samples": fake, "real (train)": real[torch.randperm(len(real), generator=g)[:num_samples]],
            "noise": torch.rand(num_samples, *real.shape[1:], generator=g) * 2 - 1}
    rows = []
    for label, x in sets.items():
        out = metrics.sliced_wasserstein(x, held_out, return_levels=True, seed=seed, **swd_kwargs)
        rows.append({"images": label, **{f"swd_{size}px": v for size, v in out["levels"].items()},
                     "swd_mean": out["mean"]})
    return rows


def format_table(rows: list[dict], columns: dict[str, str], *, digits: int = 3) -> str:
    """A plain-text table: one line per row, `columns` maps keys to headers; numbers to `digits` significant
    digits (whole numbers from 10^(digits-1) up: 112, never 1.1e+02), "-" where a row has no value."""
    def cell(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            if v == 0 or not math.isfinite(v):
                return f"{v:g}"
            return f"{v:.0f}" if abs(v) >= 10 ** (digits - 1) else f"{v:.{digits}g}"  # 112, not 1.1e+02
        return str(v)

    table = [[header for header in columns.values()]] + [[cell(r.get(k)) for k in columns] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    return "\n".join("  ".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(line, widths)))
                     for line in table)
