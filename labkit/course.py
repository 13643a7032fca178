"""The course's own list of notebooks: in order, which registry models each one trains, which shipped generators
(weights/<release>/) it loads and which recorded studies (weights/<record>/) it reads, with the models in them.

Outside labkit/models/ and labkit/registry.py this is the one place that names the lab's models: the tools read it
(the lab's time estimate, the long GAN record, the GAN-loss comparison, the default release, the README's weights
block, `labkit train --model both`), so a notebook that starts using another model changes a line here, not a tool.
tests/test_names.py fails on a model's name written anywhere else in labkit/.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Run:
    """Training a notebook does live (labkit.tools.estimate times it): `runs` runs of one registry model."""

    model: str  # a labkit.registry name
    runs: int = 1  # how many such runs (other configs of the same model count as the model)
    epochs: int | None = None  # per run; None: the profile's epochs for the model (labkit.run.num_epochs)
    max_batches: int | None = None  # batches per epoch, where the notebook caps them; None: the profile's


@dataclass(frozen=True)
class Notebook:
    """One notebook of the course, notebooks/<name>.ipynb, and what of labkit it uses."""

    name: str  # the file's stem: "03_mnist_gan"
    trains: tuple[Run, ...] = ()  # what it trains live, on a first run (nothing in runs/ yet)
    releases: dict[str, str] = field(default_factory=dict)  # weights/<release>/ it loads -> the model released
    records: dict[str, tuple[str, ...]] = field(default_factory=dict)  # weights/<record>/ it reads -> its models


NOTEBOOKS = (
    Notebook("00_setup"),
    Notebook("01_autoencoder", trains=(Run("ae", runs=2),)),  # the 32-D AE and the 2-D AE
    Notebook("02_vae", trains=(Run("vae", runs=2),)),  # the VAE and the 2-D VAE (01's two AEs are loaded)
    Notebook("03_mnist_gan", trains=(Run("gan"), Run("gan", epochs=4, max_batches=20)),  # + the frozen-G run
             records={"gan_long_run": ("gan",)}),  # the same GAN trained to 400 epochs (record_gan_run)
    Notebook("04_abstract_art_dcgan", trains=(Run("dcgan"),),
             releases={"dcgan": "dcgan", "dcgan_reflect_ema": "dcgan", "dcgan_ada": "dcgan"},  # the seed's recipe,
             # the study's reflection padding + G's moving average, and that with ADA in batches of 32 (+ average)
             records={"dcgan_study": ("dcgan",), "dcgan_augment_ema": ("dcgan",),  # the study; full runs measured
                      "dcgan_reflect_b32_tried": ("dcgan",), "dcgan_reflect_tc_b32_tried": ("dcgan",),  # and not
                      "dcgan_ada_60_tried": ("dcgan",), "dcgan_ada_r1_tried": ("dcgan",)}),  # shipped (release
             # --record-only; the DiffAugment release, retired with release --retire; the ADA run continued past the
             # epoch that ships; ADA with R1)
    Notebook("05_comparison"),  # the models 01-04 left in runs/, and 04's release meeting most targets (best_release)
    Notebook("06_extensions", trains=(Run("vae", runs=8, epochs=10), Run("wgan_gp", epochs=3)),  # 6 beta-VAEs +
             records={"gan_variants": ("gan", "wgan_gp", "sngan")}),  # 2 CVAEs, quick epochs; the GAN losses compared
)

BOTH = ("gan", "vae")  # `labkit train --model both`: the seed's two command-line models, the GAN first


def notebook(name: str) -> Notebook:
    """The notebook called `name` ("03_mnist_gan"); ValueError (one line listing them) if the course has none."""
    for nb in NOTEBOOKS:
        if nb.name == name:
            return nb
    raise ValueError(f"no notebook {name!r} in the course: use one of {', '.join(nb.name for nb in NOTEBOOKS)}")


def releases() -> dict[str, str]:
    """{release folder: model} of every shipped generator the notebooks load, in the order they first do: the first
    is what labkit.tools.weights.load_release loads by default."""
    return {folder: model for nb in NOTEBOOKS for folder, model in nb.releases.items()}


def default_release() -> tuple[str, str]:
    """(folder, model) of the release labkit.tools.weights.load_release loads when given no folder: the first the
    notebooks load."""
    return next(iter(releases().items()))


def record_models(record: str) -> tuple[str, ...]:
    """The registry models of the recorded study weights/<record>/ ("gan_variants"), as the notebook that reads it
    lists them; ValueError (one line) for a record no notebook reads."""
    for nb in NOTEBOOKS:
        if record in nb.records:
            return nb.records[record]
    known = [name for nb in NOTEBOOKS for name in nb.records]
    raise ValueError(f"no notebook reads a record {record!r}: use one of {', '.join(known)}")
