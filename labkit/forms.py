"""Does a painting show forms? A detector that knows the synthetic gallery's shapes, and the figures it gives.

Introduced in notebooks/04_abstract_art_dcgan.ipynb. labkit.image_stats' six figures measure patches, spectra and
distances, and none of them sees a circle: a generator can meet all six while painting colour fields. The synthetic
gallery knows what it drew (labkit.data.synth.synthetic_art_with_forms says which kinds of shape each painting
shows), so a small CNN learns to say which of the six kinds -- circle, rectangle, blob, ring, stripes, line -- a
64x64 painting shows. Looked at through it, a set of images gets three figures:

    shapes_per_image  how many shapes an image shows, as the detector counts them, averaged over the images
    shape_ratio       shapes_per_image of the samples / that of held-out art: near 1 when the samples show as many
                      forms as paintings do (near 0 for the colour fields it learnt from)
    form_fd_ratio     Frechet distance of the detector's features to the training art's, samples over held-out art
                      (1: as close to the gallery's forms as paintings the detector never saw)

Which kind a shape is, the detector learns little of (held-out accuracy near the base rates: circles, blobs and
rings blur into each other at 64x64), so the figures use its count and its features; the per-kind head stays as a
second task that helps it learn them. It learns from synthetic paintings of seeds no model trains on (TRAIN_SEED,
CHECK_SEED) and from images that show no shape (the painter's background and texture alone, colour fields). The
count is still a learned judge that images unlike its lessons can fool (notebook 04: it counts more shapes in the
seed recipe's grid-covered colour fields than in paintings); the form distance is the figure to read, against art
blurred by a few pixels (blurred). A yardstick for the synthetic gallery; on the Kaggle paintings a rough guide.
`labkit train-forms` trains it and writes weights/form_detector (load_form_detector checks it).
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .data.synth import SHAPES, synthetic_art_with_forms
from .metrics import frechet_distance

TRAIN_SEED, CHECK_SEED = 10, 11  # the gallery uses seeds 0 (training art), 1 and 2 (held-out art)
FOLDER = "form_detector"


class FormDetector(nn.Module):
    """Four conv layers and a linear head (0.3M parameters): (B, 3, 64, 64) in [-1, 1] -> (B, 7): a logit per kind
    in SHAPES (does the painting show one?) and the log of how many shapes it shows. `features(x)` is the pooled
    128-d layer form_fd_ratio compares."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1), nn.LeakyReLU(0.2),  # 64x64 => 32x32
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),  # => 16x16
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.BatchNorm2d(4 * width), nn.LeakyReLU(0.2),  # => 8x8
            nn.Conv2d(4 * width, 4 * width, 3, 1, 1), nn.BatchNorm2d(4 * width), nn.LeakyReLU(0.2),  # 8x8
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # (B, 4w): the features
        )
        self.head = nn.Linear(4 * width, len(SHAPES) + 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def colour_fields(n: int, *, seed: int, size: int = 64) -> torch.Tensor:
    """n images with no form at all, (n, 3, size, size) in [-1, 1]: smooth random colour fields (noise at 2 to 16
    cells across, upsampled) and, for a quarter of them, pixel noise on top: what a generator that paints no
    shapes makes."""
    g = torch.Generator().manual_seed(seed)
    out = torch.empty(n, 3, size, size)
    for i, cells in enumerate(torch.tensor([2, 4, 8, 16])[torch.randint(4, (n,), generator=g)].tolist()):
        field = F.interpolate(torch.randn(1, 3, cells, cells, generator=g), size=(size, size), mode="bicubic",
                              align_corners=False)
        out[i] = torch.tanh(field[0] * (0.2 + torch.rand((), generator=g)) + 0.6 * torch.randn(3, 1, 1, generator=g))
    noisy = torch.rand(n, generator=g) < 0.25
    out[noisy] += 0.3 * torch.rand(int(noisy.sum()), 1, 1, 1, generator=g) * torch.randn(int(noisy.sum()), 3, size,
                                                                                          size, generator=g)
    return out.clamp_(-1, 1)


def training_set(num_images: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The detector's lessons: num_images images as uint8 and (num_images, 7) targets (each kind shown or not, the
    number of shapes). Three quarters paintings of `seed`, and, as images with no shapes, an eighth the same
    painter's background and texture alone and an eighth colour fields (colour_fields)."""
    n_art, n_plain = num_images * 3 // 4, num_images // 8
    art, counts = synthetic_art_with_forms(n_art, seed=seed)
    plain, _ = synthetic_art_with_forms(n_plain, seed=seed + 1000, num_layers=0)
    fields = colour_fields(num_images - n_art - n_plain, seed=seed + 2000)
    images = to_uint8(torch.cat([art, plain, fields]))
    counts = torch.cat([counts, torch.zeros(num_images - n_art, len(SHAPES), dtype=counts.dtype)])
    return images, torch.cat([(counts > 0).float(), counts.sum(1, keepdim=True).float()], 1)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float images -> uint8, a quarter of the memory for the training set."""
    return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def from_uint8(x: torch.Tensor) -> torch.Tensor:
    return x.float() / 127.5 - 1


def detector_loss(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy for each kind shown, Poisson likelihood for the number of shapes (out[:, -1] its log)."""
    return (F.binary_cross_entropy_with_logits(out[:, :-1], target[:, :-1])
            + F.poisson_nll_loss(out[:, -1], target[:, -1]))


def train_form_detector(num_images: int = 16_000, *, epochs: int = 10, batch_size: int = 64, lr: float = 2e-3,
                        seed: int = 0, progress: bool = True, check_images: int = 1000) -> tuple[FormDetector, dict]:
    """A plain supervised loop: Adam with a one-cycle learning rate on detector_loss, over training_set(num_images,
    TRAIN_SEED), each batch flipped left-right half the time (a flipped shape is the same kind). Returns the
    detector in eval mode and its check on images it never saw (check_detector)."""
    images, targets = training_set(num_images, TRAIN_SEED)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        det = FormDetector()
        opt = torch.optim.Adam(det.parameters(), lr=lr)
        steps = epochs * -(-num_images // batch_size)
        schedule = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps)
        gen = torch.Generator().manual_seed(seed)
        start = time.perf_counter()
        for epoch in range(1, epochs + 1):
            det.train()
            order, total = torch.randperm(num_images, generator=gen), 0.0
            for i in range(0, num_images, batch_size):
                idx = order[i:i + batch_size]
                x = from_uint8(images[idx])
                if torch.rand((), generator=gen) < 0.5:
                    x = x.flip(-1)
                loss = detector_loss(det(x), targets[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                schedule.step()
                total += loss.item() * len(idx)
            if progress:
                print(f"labkit: form detector epoch {epoch}/{epochs}: loss {total / num_images:.4f} "
                      f"({time.perf_counter() - start:.0f} s)", flush=True)
    return det.eval(), check_detector(det.eval(), check_images)


@torch.no_grad()
def features(det: FormDetector, x: torch.Tensor, *, batch_size: int = 500) -> torch.Tensor:
    """(N, 128) pooled features of x: (N, 3, 64, 64) in [-1, 1], in batches."""
    det.eval()
    return torch.cat([det.features(x[i:i + batch_size].float()) for i in range(0, len(x), batch_size)])


@torch.no_grad()
def read_out(det: FormDetector, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """From features: (N, 6) probability that each image shows each kind in SHAPES, and (N,) how many shapes."""
    out = det.head(feats)
    return torch.sigmoid(out[:, :-1]), out[:, -1].exp()


def detect(det: FormDetector, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """read_out of x's features: what the detector says of images (N, 3, 64, 64) in [-1, 1]."""
    return read_out(det, features(det, x))


def check_detector(det: FormDetector, num_images: int = 1000) -> dict:
    """How well the detector sees images it never saw: on paintings of CHECK_SEED, per kind the share it gets right
    at p > 0.5 (and the share that show it), the shapes per image it counts and truly, and the correlation of the two;
    and the shapes it counts on images with none (the painter's background and texture alone; colour fields)."""
    images, counts = synthetic_art_with_forms(num_images, seed=CHECK_SEED)
    truth, true_count = counts > 0, counts.sum(1).float()
    p, count = detect(det, images)
    plain = synthetic_art_with_forms(num_images // 4, seed=CHECK_SEED + 1000, num_layers=0)[0]
    fields = colour_fields(num_images // 4, seed=CHECK_SEED + 2000)
    return {"images": num_images, "seed": CHECK_SEED,
            "accuracy": {kind: round(float(((p[:, k] > 0.5) == truth[:, k]).float().mean()), 3)
                         for k, kind in enumerate(SHAPES)},
            "shown": {kind: round(float(truth[:, k].float().mean()), 3) for k, kind in enumerate(SHAPES)},
            "shapes_per_image": round(float(true_count.mean()), 3),
            "detected_shapes_per_image": round(float(count.mean()), 3),
            "count_correlation": round(float(torch.corrcoef(torch.stack([count, true_count]))[0, 1]), 3),
            "detected_on_background_alone": round(float(detect(det, plain)[1].mean()), 3),
            "detected_on_colour_fields": round(float(detect(det, fields)[1].mean()), 3)}


def blurred(x: torch.Tensor, pixels: int) -> torch.Tensor:
    """x with each pixel the mean of the `pixels` x `pixels` square around it (odd; edges mirrored): art whose
    shapes keep their place and colour but lose their edges, the yardstick form_fd_ratio is read against."""
    pad = pixels // 2
    return F.avg_pool2d(F.pad(x, (pad, pad, pad, pad), mode="reflect"), pixels, stride=1)


def form_figures(det: FormDetector, sets: dict[str, torch.Tensor], train: torch.Tensor,
                 held_out: torch.Tensor) -> dict[str, dict]:
    """{name: the module docstring's figures} for each set of images in `sets`, against the training art `train`
    and `held_out` art, all (N, 3, 64, 64) in [-1, 1] (the training art's features are computed once). Compare
    form_fd_ratio only between sets of the same size (the Frechet distance's bias depends on N)."""
    f_train, f_art = features(det, train), features(det, held_out)  # each set goes through the network once
    art_count, fd_art = read_out(det, f_art)[1].mean(), frechet_distance(f_art, f_train)
    out = {}
    for name, x in sets.items():
        f = features(det, x)
        count = read_out(det, f)[1].mean()
        out[name] = {"shapes_per_image": float(count), "art_shapes_per_image": float(art_count),
                     "shape_ratio": float(count / art_count),
                     "form_fd_ratio": float(frechet_distance(f, f_train) / fd_art)}
    return out


def write_form_detector(out: str | Path | None, *, images: int, epochs: int, commands: list[str]) -> dict:
    """Train the detector (train_form_detector) and write it to `out` (default weights/form_detector): detector.pt
    and a manifest with the command, the data, the training time and its check."""
    from .checkpoint import save_checkpoint
    from .tools.manifest import weights_dir, write_manifest

    folder = Path(out) if out is not None else weights_dir(FOLDER)
    start = time.perf_counter()
    det, check = train_form_detector(images, epochs=epochs)
    seconds = time.perf_counter() - start
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint({"state_dict": det.state_dict()}, folder / "detector.pt")
    return write_manifest(folder, {
        "model": "form_detector", "commands": commands, "epochs": epochs, "torch": torch.__version__,
        "data": f"{images} images: 3/4 synthetic paintings (seed {TRAIN_SEED}), 1/8 their background and texture "
                f"alone, 1/8 colour fields", "train_seconds": round(seconds, 1),
        "parameters": sum(p.numel() for p in det.parameters()), "check": check})


def load_form_detector(folder: str | Path | None = None) -> tuple[FormDetector, dict]:
    """(the shipped detector in eval mode, its manifest), every file checked against the manifest first and loaded
    weights_only (labkit.tools.manifest). WeightsError (one line, with the fix) if it is missing or changed."""
    from .checkpoint import load_weights
    from .tools.manifest import read_files, weights_dir

    folder = Path(folder) if folder is not None else weights_dir(FOLDER)
    manifest, files = read_files(folder, "detector.pt")
    with torch.random.fork_rng(devices=[]):  # the random init is overwritten; keep the caller's RNG
        det = FormDetector()
    load_weights(det, files["detector.pt"]["state_dict"], name="form detector", path=folder / "detector.pt")
    return det.eval(), manifest
