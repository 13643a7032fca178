"""The lab's datasets as objects the registry holds: each entry names its dataset, and the runner asks the dataset
for its images, its one-line description and its batch settings, never "which dataset is this?".

A dataset is any object with:
    name          what Entry(dataset=...) may give instead of the object ("mnist", "art")
    pixel_range   (low, high) of the images load() returns: (0, 1) for digits, (-1, 1) for art
    art_figures   whether labkit.image_stats' painting figures (SWD, spectrum, artefact index) measure its samples
    load(profile) {"train_x", "train_y", "test_x", "test_y"}: whole tensors; None where there are none
    describe(profile)        one line for `labkit train`'s header ("the bundled MNIST subset")
    epochs(profile)          epochs of a run on it, None where the config's num_epochs holds (labkit.run.num_epochs)
    batch_settings(profile)  (batch size, batches per epoch cap), None where the config's own value holds

Adding a dataset is one such object, passed as Entry(..., dataset=YourDataset()).
"""
from __future__ import annotations

import torch

from .mnist import load_mnist


class Digits:
    """MNIST: 28x28 grey digits with their labels, a training and a test set (the profile picks the bundled
    5,000-digit subset or full MNIST)."""

    name = "mnist"
    pixel_range = (0.0, 1.0)
    art_figures = False  # digits are scored by the classifier (labkit.metrics), not as paintings

    def load(self, profile) -> dict[str, torch.Tensor | None]:
        (train_x, train_y), (test_x, test_y) = (load_mnist(train=t, source=profile.mnist) for t in (True, False))
        return {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}

    def describe(self, profile) -> str:
        return {"subset": "the bundled MNIST subset", "full": "full MNIST (torchvision)"}[profile.mnist]

    def epochs(self, profile) -> int | None:
        return None  # the config's: digits train at the seed's epochs in every profile

    def batch_settings(self, profile) -> tuple[int | None, int | None]:
        return None, None  # the config's batch size, whole epochs


class Art:
    """64x64 colour abstract art: the Kaggle set, or synthetic paintings offline; no labels, no test set."""

    name = "art"
    pixel_range = (-1.0, 1.0)
    art_figures = True  # a release of a model trained on it is measured by labkit.image_stats

    def load(self, profile) -> dict[str, torch.Tensor | None]:
        from .art import load_abstract_art  # the Kaggle machinery loads only when art is asked for

        x = load_abstract_art(source=profile.art, n_synthetic=profile.art_images)  # (N, 3, 64, 64) in [-1, 1]
        return {"train_x": x, "train_y": None, "test_x": None, "test_y": None}

    def describe(self, profile) -> str:
        return {"synthetic": "synthetic abstract art",
                "kaggle": "the Kaggle Abstract Art Gallery (synthetic art without a token)"}[profile.art]

    def epochs(self, profile) -> int | None:
        return profile.art_epochs  # the quick profile: a short live run; full: the config's

    def batch_settings(self, profile) -> tuple[int | None, int | None]:
        return profile.art_batch_size, profile.art_max_batches  # the quick profile: more, smaller batches


MNIST = Digits()
ART = Art()
DATASETS = {dataset.name: dataset for dataset in (MNIST, ART)}
