"""Notebook 03's GAN trained past its 100 epochs, measured as it goes: `labkit record-gan` (called by `make weights`)
writes weights/gan_long_run (record.json: classifier-FID and class spread every 10 epochs; samples.pt: the fixed-noise
grids of epochs 100, 200, 300, 400; manifest.json), and notebook 03 loads it. Moved here from labkit.tools.weights,
which still exports both names.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .. import course
from ..checkpoint import save_checkpoint
from ..config import machine
from .manifest import read_files, weights_dir, write_json, write_manifest


def record_gan_run(out: str | Path | None = None, *, epochs: int = 400, every: int = 10, seed: int = 0,
                   num_samples: int = 1000, commands: list[str] | None = None) -> dict:
    """Train the MLP GAN of notebook 03 (its config, the bundled digits, seed 0) for `epochs` epochs and measure,
    every `every` epochs, its classifier-FID against the test digits and how its samples spread over the ten
    classes; write them with the fixed-noise grids of a few epochs to `out` (default weights/gan_long_run).

    Notebook 03 trains 100 epochs live; this record shows what happens after that on 4,500 digits: where the GAN
    is best and how it collapses towards a few digits past it. About 7 minutes on a 2-core CPU.
    """
    from .. import metrics, registry
    from ..classifier import get_classifier
    from ..data.loader import from_gan_range, to_gan_range
    from ..data.mnist import load_mnist
    from ..train import GANLog
    from .record import Schedule, record_training

    out = Path(out) if out is not None else weights_dir("gan_long_run")
    out.mkdir(parents=True, exist_ok=True)
    x, y = load_mnist(train=True, source="subset")
    x_test, y_test = load_mnist(train=False, source="subset")
    clf, accuracy = get_classifier(x, y, x_test, y_test, device="cpu", verbose=False)
    model = course.record_models("gan_long_run")[0]  # notebook 03's GAN
    torch.manual_seed(seed)
    cfg, nets = registry.build(model)
    opts = registry.optimizers(cfg, nets)
    fixed = torch.randn(25, cfg.latent_dim)
    z_eval = torch.randn(num_samples, cfg.latent_dim, generator=torch.Generator().manual_seed(seed + 1))

    def measure(epoch: int, history: dict) -> dict:
        net_G = nets["net_G"]
        net_G.eval()
        with torch.no_grad():
            fake = from_gan_range(net_G(z_eval))
        net_G.train()
        coverage = metrics.mode_coverage(clf, fake)
        return {"epoch": epoch, "fid": round(metrics.classifier_fid(clf, fake, x_test), 2),
                "largest_share": round(coverage["largest_share"], 4), "classes_covered": coverage["classes_covered"],
                "entropy": round(coverage["entropy"], 4)}

    run = record_training(nets, opts, {"train_x": to_gan_range(x)}, schedule=Schedule(epochs, every, cfg.batch_size),
                          measure=measure, record={}, fixed={"z": fixed}, log=GANLog(print_every=every))
    record, history = run.record, run.history
    grids = {e: g for e, g in zip(record["epoch"], run.grids) if e in (100, 200, 300, 400) or e == epochs}
    write_json({**record, "Loss_D": history["Loss_D"], "Loss_G": history["Loss_G"]}, out / "record.json")
    save_checkpoint({"epochs": sorted(grids), "samples": torch.stack([grids[e] for e in sorted(grids)])},
                    out / "samples.pt")
    best = min(range(len(record["fid"])), key=record["fid"].__getitem__)
    return write_manifest(out, {
        "model": model, "commands": commands or ["labkit record-gan"], "seed": seed, "epochs": epochs,
        "measured_every": every, "samples_per_measurement": num_samples,
        "data": {"source": "bundled MNIST subset", "train_images": len(x), "test_images": len(x_test)},
        "classifier_accuracy": round(accuracy, 4), "device": machine(), "torch": torch.__version__,
        "train_seconds": round(run.seconds, 1),
        "best": {"epoch": record["epoch"][best], "fid": record["fid"][best]},
    })


def load_gan_record(folder: str | Path | None = None) -> tuple[dict, dict, dict]:
    """(record: epoch, fid, largest_share, ... every 10 epochs; {epoch: uint8 grid}; manifest) of the long GAN run
    that `make weights` recorded (record_gan_run), every file checked against the manifest first."""
    folder = folder if folder is not None else weights_dir("gan_long_run")
    manifest, files = read_files(folder, "record.json", "samples.pt")
    grids = files["samples.pt"]
    return files["record.json"], {int(e): g for e, g in zip(grids["epochs"], grids["samples"])}, manifest
