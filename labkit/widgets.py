"""ipywidgets explorers: sliders that redraw a picture. ipywidgets is imported inside each function, so
`import labkit` works without it.

Each explorer draws a labkit.plots figure to PNG bytes and shows them in a `widgets.Image`; moving a slider
calls an `observe` callback that draws the new picture and swaps the bytes. There is no `widgets.Output`
(and no `interactive`, which uses one): an Output widget captures the kernel's display messages and, when a
notebook runs headless (nbclient, `labkit lab`), a large captured figure could leave the executor waiting
for ever (nbclient issue #312). An Image is one plain state update, in JupyterLab and headless alike.

Call the plot function once yourself for a static picture of the initial state (for GitHub's viewer, nbval
and editors without the widget extension).
"""
from __future__ import annotations

import io
from typing import Callable

import matplotlib.pyplot as plt
import torch
from torch import nn

from .plots import plot_interpolation_at, plot_latent_point, show_epoch_grids


def figure_png(fig: plt.Figure) -> bytes:
    """The figure as PNG bytes; the figure is closed, so it is not also shown below the cell."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def picture_explorer(draw: Callable[..., plt.Figure], sliders: dict, *, cache: bool = False):
    """A VBox of `sliders` above an Image of draw(**slider values), redrawn whenever a slider moves.

    draw: returns a matplotlib Figure for the given keyword values; sliders: {keyword: ipywidgets slider}.
    cache: keep each picture once drawn (for a few discrete values, like epochs).
    """
    import ipywidgets as widgets

    pngs: dict[tuple, bytes] = {}

    def png() -> bytes:
        key = tuple(s.value for s in sliders.values())
        if key in pngs:
            return pngs[key]
        data = figure_png(draw(**{name: s.value for name, s in sliders.items()}))
        if cache:
            pngs[key] = data
        return data

    image = widgets.Image(value=png(), format="png")

    def redraw(change) -> None:
        image.value = png()

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    return widgets.VBox([*sliders.values(), image])


def latent_explorer(model: nn.Module, *, codes: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                    lim: float = 3.0, step: float = 0.05, start: tuple[float, float] = (0.0, 0.0)):
    """Two sliders z1, z2 -> the digit that a 2-D-latent model (AE or VAE) decodes at z = (z1, z2).

    codes, labels: test-set codes (N, 2) and digits to draw behind the point (labkit.train.latent_codes).
    Static picture of the initial state: labkit.plots.plot_latent_point(model, start, ...).
    Introduced in notebooks/02_vae.ipynb.
    """
    import ipywidgets as widgets

    def slider(name: str, value: float):
        return widgets.FloatSlider(value=value, min=-lim, max=lim, step=step, description=name,
                                   continuous_update=False, readout_format=".2f")

    def draw(z1: float, z2: float) -> plt.Figure:
        return plot_latent_point(model, (z1, z2), codes=codes, labels=labels, lim=lim)

    return picture_explorer(draw, {"z1": slider("z1", start[0]), "z2": slider("z2", start[1])})


def interpolation_slider(models: dict[str, nn.Module], x_a: torch.Tensor, x_b: torch.Tensor, *,
                         start: float = 0.5, step: float = 0.05):
    """One slider t in [0, 1] -> each model's decoding of (1 - t) z_a + t z_b between two digits x_a, x_b.

    models: e.g. {"AE": ae, "VAE": vae}; x_a, x_b: single images (1, 28, 28).
    Static picture of the initial state: labkit.plots.plot_interpolation_at(models, x_a, x_b, start).
    Introduced in notebooks/02_vae.ipynb.
    """
    import ipywidgets as widgets

    t = widgets.FloatSlider(value=start, min=0.0, max=1.0, step=step, description="t", continuous_update=False,
                            readout_format=".2f")
    return picture_explorer(lambda t: plot_interpolation_at(models, x_a, x_b, t), {"t": t})


def epoch_grid_slider(samples: list[torch.Tensor] | dict[int, torch.Tensor], *, start: int | None = None,
                      num_images: int = 64, nrow: int = 8, size: float = 5.0):
    """One slider over epochs -> the fixed-noise sample grid G(fixed_noise) saved after that epoch.

    samples: history["samples"] from labkit.train.fit_gan (samples[e - 1] is the uint8 batch after epoch e), or a
    dict {epoch: batch} (a shipped model's grids, labkit.tools.weights), whose epochs the slider steps through.
    Starts at `start` (default: the last epoch). Static picture of that state:
    labkit.plots.show_epoch_grids(samples, [start], num_images=num_images, nrow=nrow, size=size).
    Each grid is drawn once, when the slider first reaches it.
    Introduced in notebooks/04_abstract_art_dcgan.ipynb.
    """
    import ipywidgets as widgets

    if not len(samples):
        raise ValueError("epoch_grid_slider: no sample grids; train with labkit.train.fit_gan first")
    epochs = sorted(samples) if isinstance(samples, dict) else list(range(1, len(samples) + 1))
    start = epochs[-1] if start is None else start
    if start not in epochs:
        raise ValueError(f"epoch_grid_slider: start={start} is not an epoch with a grid; use one of "
                         f"{epochs[0]}..{epochs[-1]}")
    if isinstance(samples, dict):
        epoch = widgets.SelectionSlider(options=epochs, value=start, description="epoch", continuous_update=False)
    else:
        epoch = widgets.IntSlider(value=start, min=1, max=len(samples), step=1, description="epoch",
                                  continuous_update=False)

    def draw(epoch: int) -> plt.Figure:
        return show_epoch_grids(samples, [epoch], num_images=num_images, nrow=nrow, size=size)

    return picture_explorer(draw, {"epoch": epoch}, cache=True)
