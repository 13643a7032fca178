"""The two families of the lab's models, each an object the registry holds: what differs between an autoencoder and
a GAN when labkit trains, samples and measures one. labkit.run and labkit.compare ask the entry's family; they never
ask which family it is, so a new family is a new object here, not a new `if` there.

Each family says:
    name, pixel_range        "autoencoder" / "gan"; the range its images live in: (0, 1) / (-1, 1)
    nets(entry, cfg)         the networks of one run (a GAN's: G, D and, where the config asks, G's moving average)
    drop_last                whether its loop drops the last partial batch of an epoch
    loss_key                 the per-epoch loss whose spread labkit.metrics.loss_stability reports
    data(entry, profile)     the entry's dataset in that range; labels and a test set where the family uses them
    cap(data, batch_size, max_batches)    the data a run with a batches-per-epoch cap trains on
    fixed_inputs(...)        what every image grid of a run is made from (kept in the checkpoint)
    fit(...)                 the training loop: labkit.train.fit_autoencoder or fit_gan with entry.train_options
    precision_used(cfg, device, precision)   "fp32" or "mixed": what fit trains in (the checkpoint records it)
    save_images(...)         the PNGs of one epoch (labkit.run's module docstring lists them)
    sample(nets, n, generator=, data=)     n new images in [0, 1] on the CPU
    latent_path_ends(nets, test_x, n, generator=)   (decode, z_a, z_b): where notebook 05 interpolates
    table_columns(nets, test_x)           the columns of notebook 05's table only this family has
    grid(nets, fixed), loop(...)          a uint8 picture of the run now; the plain loop labkit.tools.record runs
    release_file, shipped_key, shipped_net, prepare, ship, release_fields, release_grids, save_grid
                                          what `labkit release` (labkit.tools.weights.release) ships of a run

Whether an autoencoder takes labels (entry.labels) or has a prior (entry.prior) is read here and nowhere else.
One file per family (autoencoder.py, gan.py); common.py holds what they share (grid sizes, the PNG writer).
"""
from .autoencoder import AutoencoderFamily
from .common import NUM_RECONSTRUCTIONS, NUM_SAMPLES  # noqa: F401
from .gan import GANFamily, ema_update, standing_statistics  # noqa: F401

AUTOENCODER = AutoencoderFamily()
GAN = GANFamily()
FAMILIES = {family.name: family for family in (AUTOENCODER, GAN)}
