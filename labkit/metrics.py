"""Quality numbers for generative models: measured, not judged by eye.

Most metrics are introduced in notebooks/05_comparison.ipynb; a few appear earlier where a notebook first
talks about quality (02 reports the VAE test ELBO, 03 checks mode collapse with `mode_coverage`, 04 scores
the art DCGAN with `sliced_wasserstein`). Every function takes tensors and returns plain numbers (or a dict
of them), so a table is one loop over models.

Digit metrics run in the feature space of a small MNIST CNN (labkit.classifier) that labkit trains on the
run's own training data; the art metric (sliced Wasserstein distance) is in labkit.swd.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .classifier import NUM_CLASSES, MNISTClassifier, classifier_features, predict_classes
from .config import device_of
from .inference import reconstruct

# ---------------------------------------------------------------------------------------------------
# Sample quality: Fréchet distance in classifier feature space
# ---------------------------------------------------------------------------------------------------

def _sqrtm_psd(m: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix via eigh (tiny negative eigenvalues -> 0)."""
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(feats_a: torch.Tensor | np.ndarray, feats_b: torch.Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (N_a, D) and (N_b, D).

        d² = ||mu_a - mu_b||² + Tr(S_a + S_b - 2 (S_a^½ S_b S_a^½)^½)

    (Dowson & Landau 1982; as FID in Heusel et al. 2017, "GANs trained by a two time-scale update rule").
    Tr((S_a S_b)^½) is computed as Tr((S_a^½ S_b S_a^½)^½), a symmetric PSD matrix, so a symmetric
    eigendecomposition suffices and no complex parts appear. In float64. Introduced in 05_comparison.
    """
    a = np.asarray(feats_a.detach().cpu() if torch.is_tensor(feats_a) else feats_a, dtype=np.float64)
    b = np.asarray(feats_b.detach().cpu() if torch.is_tensor(feats_b) else feats_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or len(a) < 2 or len(b) < 2:
        raise ValueError(f"frechet_distance: expected two (N, D) feature sets with N >= 2 and the same D, "
                         f"got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))  # (D, D)
    root_a = _sqrtm_psd(cov_a)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0.0, None)).sum()  # Tr((S_a S_b)^½)
    d2 = ((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * cross
    return float(max(d2, 0.0))


def classifier_fid(clf: MNISTClassifier, x_a: torch.Tensor, x_b: torch.Tensor) -> float:
    """FID between two sets of [0, 1] digits (N, 1, 28, 28), in the MNIST classifier's feature space.

    Lower is better; 0 for identical sets. Only comparable between numbers computed with the same
    classifier and similar set sizes (the estimate is biased upwards for small N). Introduced in 05_comparison.
    """
    return frechet_distance(classifier_features(clf, x_a), classifier_features(clf, x_b))


# ---------------------------------------------------------------------------------------------------
# Diversity: which digits does a generator produce?
# ---------------------------------------------------------------------------------------------------

def mode_coverage(clf: MNISTClassifier, x: torch.Tensor, *, min_share: float = 0.01) -> dict:
    """Distribution of predicted classes over samples x ([0, 1], (N, 1, 28, 28)).

    Returns counts and shares per digit, the entropy H = -sum_k p_k log2 p_k in bits (log2 10 ≈ 3.32 for
    a uniform spread, 0 for a single digit), classes_covered (digits with at least `min_share` of the
    samples, so a few stray predictions do not count), coverage = classes_covered / 10, and the largest
    share. A mode-collapsed GAN (Goodfellow 2016, "NIPS tutorial", section 5.1.1) shows low entropy and a
    large largest_share. Introduced in notebooks/03_mnist_gan.ipynb.
    """
    pred = predict_classes(clf, x)
    counts = torch.bincount(pred, minlength=NUM_CLASSES)[:NUM_CLASSES]
    shares = counts.double() / max(len(pred), 1)
    nz = shares[shares > 0]
    covered = int((shares >= min_share).sum())
    return {
        "counts": counts.tolist(),
        "shares": shares.tolist(),
        "entropy": float(-(nz * nz.log2()).sum()) if len(nz) else 0.0,
        "classes_covered": covered,
        "coverage": covered / NUM_CLASSES,
        "largest_share": float(shares.max()),
    }


# ---------------------------------------------------------------------------------------------------
# Autoencoders: reconstruction and ELBO
# ---------------------------------------------------------------------------------------------------

@torch.no_grad()
def reconstruction_error(model: nn.Module, x: torch.Tensor, *, batch_size: int = 500) -> float:
    """Mean per-pixel squared error 1/(N·D) sum ||x - x_hat||² of decode(embed(x)) on [0, 1] images.

    A VAE decodes its posterior mean mu rather than a random z, so the number is deterministic (see
    labkit.inference.reconstruct). Introduced in notebooks/01_autoencoder.ipynb.
    """
    total = 0.0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        total += F.mse_loss(reconstruct(model, xb).reshape(xb.shape), xb, reduction="sum").item()
    return total / x[0].numel() / max(len(x), 1)


@torch.no_grad()
def vae_elbo(model: nn.Module, x: torch.Tensor, *, batch_size: int = 500, seed: int = 0) -> dict:
    """Test ELBO per image (nats) and its two terms, with one z ~ q(z|x) per image.

        ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z)) = -(recon + kl)      (Kingma & Welling 2014, eq. 10)

    recon and kl are the model's own loss terms (model.losses, labkit.models.vae.vae_loss), per image and
    averaged over the set; higher ELBO is better. The sampling runs under its own seed, leaving the caller's
    random stream alone. Introduced in notebooks/02_vae.ipynb.
    """
    model.eval()
    device = device_of(model)
    recon_sum = kl_sum = 0.0
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size].to(device)
            terms = model.losses(xb)
            recon_sum += float(terms["recon"]) * len(xb)
            kl_sum += float(terms["kl"]) * len(xb)
    recon, kl = recon_sum / len(x), kl_sum / len(x)
    return {"elbo": -(recon + kl), "recon": recon, "kl": kl}


# ---------------------------------------------------------------------------------------------------
# Distances between images: diversity and memorisation
# ---------------------------------------------------------------------------------------------------

def mean_pairwise_distance(x: torch.Tensor, *, max_n: int = 2000, seed: int = 0) -> float:
    """Mean Euclidean distance between all pairs of distinct images (flattened); a crude diversity score.

    A collapsed generator gives a number far below that of real data. Sets larger than max_n are
    subsampled (seeded). Introduced in notebooks/03_mnist_gan.ipynb.
    """
    if len(x) < 2:
        raise ValueError(f"mean_pairwise_distance: need at least 2 images, got {len(x)}")
    if len(x) > max_n:
        x = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:max_n]]
    flat = x.detach().float().cpu().reshape(len(x), -1)
    d = torch.cdist(flat, flat)  # (N, N), zero diagonal
    n = len(flat)
    return float(d.sum() / (n * (n - 1)))


def nearest_neighbours(queries: torch.Tensor, refs: torch.Tensor, *, k: int = 1, batch_size: int = 512,
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query image, the Euclidean distance to and index of its k nearest reference images.

    Returns (dists, idx), each (N_q,) for k=1 else (N_q, k). Used to ask "did the GAN just copy training
    digits?". Introduced in notebooks/03_mnist_gan.ipynb.
    """
    q = queries.detach().float().cpu().reshape(len(queries), -1)
    r = refs.detach().float().cpu().reshape(len(refs), -1)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"nearest_neighbours: queries {tuple(queries.shape)} and refs {tuple(refs.shape)} "
                         f"have different image sizes")
    dists, idx = [], []
    num_cand = min(k + 8, len(r))
    for i in range(0, len(q), batch_size):
        qb = q[i:i + batch_size]
        # fast candidates via |q|² + |r|² - 2 q·r, then exact distances for them (a copy is at distance 0)
        cand = torch.cdist(qb, r).topk(num_cand, dim=1, largest=False).indices  # (b, num_cand)
        exact = (qb[:, None, :] - r[cand]).norm(dim=2)  # (b, num_cand)
        d, order = exact.topk(k, dim=1, largest=False)
        dists.append(d)
        idx.append(cand.gather(1, order))
    dists, idx = torch.cat(dists), torch.cat(idx)
    return (dists[:, 0], idx[:, 0]) if k == 1 else (dists, idx)


# ---------------------------------------------------------------------------------------------------
# Latent structure and training stability
# ---------------------------------------------------------------------------------------------------

@torch.no_grad()
def latent_smoothness(decode: Callable[[torch.Tensor], torch.Tensor], z_a: torch.Tensor, z_b: torch.Tensor, *,
                      steps: int = 10) -> dict:
    """How evenly the decoded image changes along straight lines z(t) = (1 - t) z_a + t z_b, t in [0, 1].

    For each pair and each of the `steps` equal steps, the image change is the RMS pixel difference
    d_i = ||x(t_{i+1}) - x(t_i)|| / sqrt(D). Returned:
      step_change      mean d_i (how far one step moves the image),
      per_unit_latent  mean d_i / ||z(t_{i+1}) - z(t_i)|| (image change per unit latent distance; depends on
                       the latent scale of each model, so compare it only between similar latents),
      variation        the coefficient of variation std_i(d_i) / mean_i(d_i) along a path, averaged over
                       pairs: 0 for a perfectly even morph, large when the image jumps at one step
                       (holes or cliffs in the latent space). Scale-free, so it compares across models.
    Introduced in notebooks/05_comparison.ipynb.
    """
    if z_a.shape != z_b.shape or z_a.dim() < 2 or steps < 2:
        raise ValueError(f"latent_smoothness: z_a and z_b must be equal-shaped batches (B, ...) and steps >= 2, "
                         f"got {tuple(z_a.shape)}, {tuple(z_b.shape)}, steps={steps}")
    t = torch.linspace(0, 1, steps + 1, device=z_a.device)
    path = [decode((1 - ti) * z_a + ti * z_b).float() for ti in t]  # steps+1 batches (B, C, H, W)
    imgs = torch.stack(path, dim=1).flatten(2)  # (B, steps+1, D)
    d = (imgs[:, 1:] - imgs[:, :-1]).norm(dim=2) / math.sqrt(imgs.shape[2])  # (B, steps)
    dz = ((z_b - z_a).flatten(1).norm(dim=1) / steps).clamp_min(1e-12)  # (B,) length of one latent step
    cv = d.std(dim=1) / d.mean(dim=1).clamp_min(1e-12)  # (B,)
    return {
        "step_change": d.mean().item(),
        "per_unit_latent": (d / dz[:, None]).mean().item(),
        "variation": cv.mean().item(),
    }


def loss_stability(history: dict, key: str, *, last: int = 5) -> dict:
    """Spread of history[key] over the last `last` epochs: a flat curve means a settled run.

    Returns mean, std, var, rel_std = std / |mean| (scale-free, so an AE's MSE and a GAN's cross-entropy can
    sit in one table), and wobble: the std of what is left after fitting a straight line (ddof=2), over
    |mean|. A loss still falling steadily has a large rel_std but a small wobble; an oscillating one has both.
    Introduced in notebooks/05_comparison.ipynb.
    """
    if key not in history:
        raise KeyError(f"loss_stability: history has no {key!r}; it has {sorted(history)}")
    values = [float(v) for v in history[key]][-last:]
    if len(values) < 3:
        raise ValueError(f"loss_stability: need at least 3 epochs of {key!r}, got {len(values)}")
    arr = np.asarray(values)
    mean, std = float(arr.mean()), float(arr.std(ddof=1))
    t = np.arange(len(arr))
    residual = arr - np.polyval(np.polyfit(t, arr, 1), t)  # what a linear trend does not explain
    scale = max(abs(mean), 1e-12)
    return {"mean": mean, "std": std, "var": std ** 2, "rel_std": std / scale,
            "wobble": float(np.sqrt((residual ** 2).sum() / max(len(arr) - 2, 1))) / scale}


def count_parameters(model: nn.Module, *, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of a model. Introduced in notebooks/05_comparison.ipynb."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def gan_balance(history: dict, *, last: int | None = None, healthy_d_x: tuple[float, float] = (0.5, 0.9),
                healthy_d_g_z: tuple[float, float] = (0.1, 0.5)) -> dict:
    """Who is winning at the end of a GAN run, read from labkit.train.fit_gan's history.

    Means over the last `last` epochs (default: the last quarter of the run) of D(x), D(G(z)) (D_G_z1, the
    fakes as D saw them before its step), Loss_D and Loss_G, and a verdict:
      "D dominates"  D(x) above and D(G(z)) below their healthy ranges: D tells real from fake almost
                     perfectly and G learns from a saturated critic (Arjovsky & Bottou 2017);
      "G fools D"    D(G(z)) above its range or D(x) below it: D no longer separates the two;
      "balanced"     otherwise.
    The ranges are rules of thumb (labkit.gan_plots.HEALTHY_D_X / HEALTHY_D_G_Z draw the same bands).
    Introduced in notebooks/04_abstract_art_dcgan.ipynb.
    """
    n = len(history.get("D_x", []))
    if n == 0:
        raise ValueError("gan_balance: the history has no epochs; train with labkit.train.fit_gan first")
    last = max(1, n // 4) if last is None else min(max(1, last), n)
    out = {key: float(np.mean(history[key][-last:])) for key in ("D_x", "D_G_z1", "Loss_D", "Loss_G")}
    if out["D_x"] > healthy_d_x[1] and out["D_G_z1"] < healthy_d_g_z[0]:
        verdict = "D dominates"
    elif out["D_G_z1"] > healthy_d_g_z[1] or out["D_x"] < healthy_d_x[0]:
        verdict = "G fools D"
    else:
        verdict = "balanced"
    return {**out, "epochs": last, "verdict": verdict}


# The art DCGAN's metric lives in labkit/swd.py; reached through labkit.metrics as every other quality number
from .swd import laplacian_pyramid, sliced_wasserstein  # noqa: E402,F401
