"""ipywidgets explorers: sliders that redraw a picture. ipywidgets is imported inside each function, so
`import labkit` works without it.

Each explorer redraws a labkit.plots figure; call that plot function once yourself to get a static picture
of the initial state (for GitHub's viewer, nbval and editors without the widget extension).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from torch import nn

from .plots import plot_interpolation_at, plot_latent_point


def latent_explorer(model: nn.Module, *, codes: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                    lim: float = 3.0, step: float = 0.05, start: tuple[float, float] = (0.0, 0.0)):
    """Two sliders z1, z2 -> the digit that a 2-D-latent model (AE or VAE) decodes at z = (z1, z2).

    codes, labels: test-set codes (N, 2) and digits to draw behind the point (labkit.train.latent_codes).
    Static picture of the initial state: labkit.plots.plot_latent_point(model, start, ...).
    Introduced in notebooks/02_vae.ipynb.
    """
    import ipywidgets as widgets

    def draw(z1: float, z2: float) -> None:
        plot_latent_point(model, (z1, z2), codes=codes, labels=labels, lim=lim)
        plt.show()

    def slider(name: str, value: float):
        return widgets.FloatSlider(value=value, min=-lim, max=lim, step=step, description=name,
                                   continuous_update=False, readout_format=".2f")

    return widgets.interactive(draw, z1=slider("z1", start[0]), z2=slider("z2", start[1]))


def interpolation_slider(models: dict[str, nn.Module], x_a: torch.Tensor, x_b: torch.Tensor, *,
                         start: float = 0.5, step: float = 0.05):
    """One slider t in [0, 1] -> each model's decoding of (1 - t) z_a + t z_b between two digits x_a, x_b.

    models: e.g. {"AE": ae, "VAE": vae}; x_a, x_b: single images (1, 28, 28).
    Static picture of the initial state: labkit.plots.plot_interpolation_at(models, x_a, x_b, start).
    Introduced in notebooks/02_vae.ipynb.
    """
    import ipywidgets as widgets

    def draw(t: float) -> None:
        plot_interpolation_at(models, x_a, x_b, t)
        plt.show()

    t = widgets.FloatSlider(value=start, min=0.0, max=1.0, step=step, description="t", continuous_update=False,
                            readout_format=".2f")
    return widgets.interactive(draw, t=t)


def epoch_grid_slider(samples: list[torch.Tensor], *, start: int | None = None, num_images: int = 64, nrow: int = 8,
                      size: float = 5.0):
    """One slider over epochs -> the fixed-noise sample grid G(fixed_noise) saved after that epoch.

    samples: history["samples"] from labkit.train.fit_gan (samples[e - 1] is the uint8 batch after epoch e).
    Starts at `start` (default: the last epoch). Static picture of that state:
    labkit.plots.show_epoch_grids(samples, [start], num_images=num_images, nrow=nrow, size=size).
    Introduced in notebooks/04_abstract_art_dcgan.ipynb.
    """
    import ipywidgets as widgets

    from .plots import show_epoch_grids

    if not samples:
        raise ValueError("epoch_grid_slider: no sample grids; train with labkit.train.fit_gan first")
    start = len(samples) if start is None else start

    def draw(epoch: int) -> None:
        show_epoch_grids(samples, [epoch], num_images=num_images, nrow=nrow, size=size)
        plt.show()

    epoch = widgets.IntSlider(value=start, min=1, max=len(samples), step=1, description="epoch",
                              continuous_update=False)
    return widgets.interactive(draw, epoch=epoch)
