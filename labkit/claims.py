"""Claims a notebook makes about its own run, measured and printed with their verdict.

A sentence such as "most samples are readable digits" is a claim about one run; written in markdown it stays
true or false whatever the run printed. So the notebooks make such claims in code, one line each:

    verdict("most prior samples are readable digits", readable["share"] > 0.5)
    # prints: most prior samples are readable digits: holds      (or: ...: does not hold)

`tests/test_prose.py` reads the committed notebooks and checks that every cell calling `verdict` printed its
lines, and that markdown never asserts a claim whose printed verdict is "does not hold". The measurements
behind the usual qualitative claims live here too: readable share (the metrics classifier's confidence),
collapse (the class shares), memorisation (nearest-neighbour distances to training vs held-out digits), and
`machine()`, the line that says where a number was measured.
"""
from __future__ import annotations

import platform

import torch

from .classifier import MNISTClassifier, check_unit_images, predict_classes
from .collapse import posterior_stats
from .config import device_of
from .metrics import nearest_neighbours

HOLDS, FAILS = "holds", "does not hold"
READABLE_CONFIDENCE = 0.9  # a sample is "readable" when the classifier gives one digit at least this probability
COLLAPSE_MIN_CLASSES, COLLAPSE_MAX_SHARE = 8, 0.3  # notebook 03's rule: fewer classes, or one class above this share


def verdict(claim: str, holds: bool) -> None:
    """Print `claim: holds` or `claim: does not hold`, the form tests/test_prose.py reads. (Returns nothing, so a
    notebook cell that ends with it shows only the line.)"""
    print(f"{claim}: {HOLDS if holds else FAILS}")


def machine() -> str:
    """Where this process measures: CPU architecture and capability (or the GPU's name) and the thread count."""
    cpu = f"{platform.machine()} CPU ({torch.backends.cpu.get_cpu_capability()}), {torch.get_num_threads()} threads"
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)}; {cpu}"
    return cpu


@torch.no_grad()
def readable_share(clf: MNISTClassifier, x: torch.Tensor, *, confidence: float = READABLE_CONFIDENCE) -> dict:
    """How many images the metrics classifier reads as one digit with at least `confidence` probability.

    x: (N, 1, 28, 28) in [0, 1]. Returns {"share": readable fraction, "count", "total", "confidence"}. A blend
    of two digits or a smudge gets its probability spread over classes and does not count.
    """
    check_unit_images(x, "readable_share: x")
    device = next(clf.parameters()).device
    probs = torch.cat([clf(xb.to(device)).softmax(dim=1).cpu() for xb in x.split(1000)])  # (N, 10)
    count = int((probs.max(dim=1).values >= confidence).sum())
    return {"share": count / len(x), "count": count, "total": len(x), "confidence": confidence}


def collapsed(classes_covered: int, largest_share: float) -> bool:
    """Notebook 03's mode-collapse rule: fewer than 8 of the 10 digits among the samples, or one above 30%."""
    return classes_covered < COLLAPSE_MIN_CLASSES or largest_share > COLLAPSE_MAX_SHARE


def memorisation(samples: dict, train_x: torch.Tensor, held_out_x: torch.Tensor) -> dict:
    """Are generated images closer to the training digits than real digits the model never saw are?

    samples: {name: (N, 1, 28, 28) images in [0, 1]}, e.g. one grid per epoch. A generator that memorises its
    training set draws near-copies of training digits: each sample's nearest training digit is much closer than a
    fresh real digit's nearest training digit. So the samples and the held-out digits are measured against the same
    full training set (flattened pixels). Returns {name: {"to_train": the samples' mean nearest-training-digit
    distance, "held_out_to_train": the same for the held-out digits, "ratio": to_train / held_out_to_train (about 1
    or above: no sign of copying; well below 1: the samples hug the training set), "near_copies": share of samples
    closer to a training digit than 95% of the held-out digits are (about 0.05 when nothing is copied)}}.
    """
    real = nearest_neighbours(held_out_x, train_x)[0]  # (M,)
    close = torch.quantile(real, 0.05)
    names = list(samples)
    dists = nearest_neighbours(torch.cat([samples[n] for n in names]), train_x)[0].split([len(samples[n]) for n in names])
    return {n: {"to_train": d.mean().item(), "held_out_to_train": real.mean().item(),
                "ratio": (d.mean() / real.mean()).item(), "near_copies": (d < close).float().mean().item()}
            for n, d in zip(names, dists)}


@torch.no_grad()
def label_use(net: torch.nn.Module, clf: MNISTClassifier, test_x: torch.Tensor, test_y: torch.Tensor, *,
              num_samples: int = 1000) -> dict:
    """Does a conditional VAE draw the digit it is asked for? From `num_samples` samples, the same number of each
    digit: "accuracy" and "per_class" (shares read as asked by the classifier); "mean_z_correct" (labels for which
    z = 0, the prior's mean, decodes the right digit); "same_digit" (for 100 styles z, each decoded with all 10
    labels, how often a label gives the z's most common digit: high means the class follows z, not the label);
    "kl" (nats per test digit, labkit.collapse.posterior_stats). Introduced in notebooks/06_extensions.ipynb."""
    device = device_of(net)
    asked = torch.arange(num_samples) % 10  # num_samples / 10 samples of each digit
    read = predict_classes(clf, net.sample(num_samples, generator=torch.Generator().manual_seed(0), y=asked))
    mean_read = predict_classes(clf, net.decode(torch.zeros(10, net.cfg.latent_dim, device=device),
                                                torch.arange(10, device=device)).cpu())  # z = 0 with each label
    z = torch.randn(100, net.cfg.latent_dim, generator=torch.Generator().manual_seed(2)).to(device)  # 100 styles
    per_z = predict_classes(clf, net.decode(z.repeat_interleave(10, 0), torch.arange(10, device=device).repeat(100))
                            .cpu()).view(100, 10)  # (style, label)
    return {"accuracy": (read == asked).float().mean().item(),
            "same_digit": (per_z.mode(dim=1).values[:, None] == per_z).float().mean().item(),
            "per_class": [(read[asked == c] == c).float().mean().item() for c in range(10)],
            "mean_z_correct": int((mean_read == torch.arange(10)).sum()),
            "kl": posterior_stats(net, test_x, test_y)["kl"]}
