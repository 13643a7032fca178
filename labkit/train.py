"""Plain training loops a student can read top to bottom.

Each loop takes the model(s), the data and the optimiser(s) as arguments (fit_autoencoder the device too;
fit_gan trains where its networks are) and returns a `history` dict of per-epoch numbers that labkit.plots
draws. `start_epoch`/`history` let a caller resume; on_epoch_end / callbacks(epoch, history) run after each epoch.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from tqdm import tqdm

from .data.loader import tensor_loader
from .config import device_of
from .inference import gan_samples
from .models.gan import discriminator_loss, generator_loss


# ---------------------------------------------------------------------------------------------------
# Autoencoders: notebooks/01_autoencoder.ipynb (AE) and 02_vae.ipynb (VAE, the same loop)
# ---------------------------------------------------------------------------------------------------

@torch.no_grad()
def evaluate_autoencoder(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
                         device: torch.device | str, batch_size: int = 1000) -> dict[str, float]:
    """The mean loss terms (model.losses) over all images x (and labels y, for a model that takes them), in
    eval mode and without gradients.

    For a VAE this is the training objective itself, with one z ~ q(z|x) per image: an unbiased estimate of
    -ELBO (labkit.metrics.vae_elbo computes the same under its own seed)."""
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    for batch in tensor_loader(*_with_labels(x, y), batch_size=batch_size, shuffle=False):
        batch = [b.to(device) for b in batch]
        for key, value in model.losses(*batch).items():
            sums[key] = sums.get(key, 0.0) + value * len(batch[0])
    return {key: float(total) / len(x) for key, total in sums.items()}


def _with_labels(x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
    """(x,) or (x, y): what the loader hands out and model.losses(*batch) takes."""
    return (x,) if y is None else (x, y)


def fit_autoencoder(model: nn.Module, train_x: torch.Tensor, test_x: torch.Tensor, *, opt: torch.optim.Optimizer,
                    num_epochs: int, batch_size: int, device: torch.device | str, start_epoch: int = 0,
                    history: dict | None = None, on_epoch_end=None, progress: bool = True,
                    train_y: torch.Tensor | None = None, test_y: torch.Tensor | None = None) -> dict:
    """Train an autoencoder-family model on train_x by minibatch descent on model.losses(x)["loss"]; evaluate
    on test_x every epoch. The loop knows no model: each one says what its loss is (losses() in its own file).

    Introduced in notebooks/01_autoencoder.ipynb; notebook 02 reuses it unchanged for the VAE, 06 for the CVAE.
    model:       already on `device`, with `opt` built over its parameters.
    train_x, test_x: images (N, 1, 28, 28) in [0, 1] (labkit.load_mnist).
    train_y, test_y: the digits' labels, only for a model that takes them (losses(x, y): a conditional VAE).
    num_epochs:  the total: epochs start_epoch+1 .. num_epochs run, so a resumed run passes the same number.
    history:     per-epoch train_loss, test_loss (+ train_recon, train_kl, test_recon, test_kl for a VAE),
                 all per image, and seconds; pass the previous history (and start_epoch) to resume.
    on_epoch_end(epoch, history): called after each epoch with the number of epochs completed.
    progress:    a tqdm bar over epochs with the latest losses (False: silent).
    """
    for name, x in (("train_x", train_x), ("test_x", test_x)):
        if len(x) == 0:
            raise ValueError(f"fit_autoencoder: {name} is empty; pass at least one image")
        if x.min() < 0 or x.max() > 1:
            raise ValueError(f"fit_autoencoder: {name} must hold images in [0, 1] (labkit.load_mnist), got values "
                             f"in [{x.min():.2f}, {x.max():.2f}]; undo to_gan_range with labkit.from_gan_range")
    history = {} if history is None else history
    loader = tensor_loader(*_with_labels(train_x, train_y), batch_size=batch_size, shuffle=True)
    bar = tqdm(range(start_epoch, num_epochs), desc=type(model).__name__, unit="epoch", initial=start_epoch,
               total=num_epochs, disable=not progress, file=sys.stdout)  # stdout: not a red warning in Jupyter
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        sums: dict[str, torch.Tensor] = {}
        for batch in loader:
            x, *labels = [b.to(device, non_blocking=True) for b in batch]  # x: (B, 1, 28, 28) in [0, 1]
            terms = model.losses(x, *labels)  # {"loss": ..., and the terms it is made of}, per image
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
            opt.step()
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value.detach() * len(x)  # on the device: no GPU sync per batch
        test = evaluate_autoencoder(model, test_x, test_y, device=device)
        for key in sums:
            history.setdefault(f"train_{key}", []).append(float(sums[key]) / len(train_x))
            history.setdefault(f"test_{key}", []).append(test[key])
        history.setdefault("seconds", []).append(time.perf_counter() - t0)
        bar.set_postfix(train=f"{history['train_loss'][-1]:.4g}", test=f"{history['test_loss'][-1]:.4g}")
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, history)
    return history


def loss_summary(history: dict, split: str = "train") -> str:
    """The latest epoch's loss of one split ("train" or "test") with the terms it is made of, from that same split:
    `test_loss: 115.9579 (recon 90.21 + KL 25.75)` for a VAE, `test_loss: 0.0112` for an autoencoder. Where the
    loss is not their sum (a β-VAE weighs the KL, free bits floors it) the terms are listed, not added."""
    loss = history[f"{split}_loss"][-1]
    line = f"{split}_loss: {loss:.4f}"
    if f"{split}_kl" in history:
        recon, kl = history[f"{split}_recon"][-1], history[f"{split}_kl"][-1]
        joiner = " + " if abs(recon + kl - loss) <= 1e-4 * abs(loss) else ", "
        line += f" (recon {recon:.2f}{joiner}KL {kl:.2f})"
    return line


# ---------------------------------------------------------------------------------------------------
# GANs: notebooks/03_mnist_gan.ipynb (MLP GAN) and 04_abstract_art_dcgan.ipynb (DCGAN, same steps)
# ---------------------------------------------------------------------------------------------------

GAN_KEYS = ("Loss_D", "Loss_G", "D_x", "D_G_z1", "D_G_z2")
"""Per-epoch batch means in a GAN history, as in pytorch/examples/dcgan: D_x and D_G_z1 are D's outputs in D's
step (before D's update); D_G_z2 is D(G(z)) for the same fakes in G's step, after D's update and before G's."""


def _backward_step(loss: torch.Tensor, opt: torch.optim.Optimizer, scaler=None) -> None:
    """loss.backward(); opt.step() -- through an AMP GradScaler when one is given (CUDA mixed precision).
    Backward computes opt's gradients only: G's step computes none for D's weights (the same numbers, less work)."""
    params = [p for group in opt.param_groups for p in group["params"] if p.requires_grad] or None
    if scaler is None:
        loss.backward(inputs=params)
        opt.step()
    else:
        scaler.scale(loss).backward(inputs=params)  # scale the loss up so float16 gradients do not underflow to 0
        scaler.step(opt)  # unscale, then step -- or skip the step if a gradient is inf/NaN
        scaler.update()  # adapt the scale for next time


def d_step(x: torch.Tensor, fake: torch.Tensor, net_D: nn.Module, opt_D: torch.optim.Optimizer, *,
           loss_fn=discriminator_loss, penalty=None, scaler=None,
           amp: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(1) Update D: maximise log D(x) + log(1 - D(G(z))), i.e. minimise loss_fn(D(x), D(G(z))).

    x: a batch of real images; fake: G(z) for a batch of noise. The fakes are detached, so this step
    changes D only (no gradient flows into G). Returns detached batch means (loss_D, D(x), D(G(z))),
    where D(G(z)) is "D_G_z1", measured before D's update. Introduced in notebooks/03_mnist_gan.ipynb.
    loss_fn:  D's loss of (D(x), D(G(z))); the seed's BCE pair by default. Notebook 06 passes the WGAN critic's
              E[D(G(z))] - E[D(x)] or the hinge loss, whose D outputs are scores rather than probabilities.
    penalty:  an extra term penalty(net_D, x, fake) added to the loss (WGAN-GP's gradient penalty), in float32.
    """
    opt_D.zero_grad(set_to_none=True)
    fake = fake.detach()  # no gradient into G
    with torch.autocast(x.device.type, enabled=amp):
        d_real = net_D(x)  # (B,) how real each real image looks to D
        d_fake = net_D(fake)  # (B,) ... and each fake
    loss_D = loss_fn(d_real.float(), d_fake.float())  # in float32, outside autocast
    if penalty is not None:
        loss_D = loss_D + penalty(net_D, x.float(), fake.float())
    _backward_step(loss_D, opt_D, scaler)
    return loss_D.detach(), d_real.detach().float().mean(), d_fake.detach().float().mean()


def g_step(fake: torch.Tensor, net_D: nn.Module, opt_G: torch.optim.Optimizer, *, loss_fn=generator_loss,
           scaler=None, amp: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(2) Update G: maximise log D(G(z)), i.e. minimise loss_fn(D(G(z))) (the non-saturating loss by default).

    fake: G(z), still attached to G's graph. D was just updated, so D(G(z)) here is "D_G_z2": the same fakes
    judged by the updated D, before G's update.
    Only opt_G steps, and only G's gradients are computed: D's weights are constants here.
    Returns detached batch means (loss_G, D(G(z))). Introduced in notebooks/03_mnist_gan.ipynb.
    """
    opt_G.zero_grad(set_to_none=True)
    with torch.autocast(fake.device.type, enabled=amp):
        d_fake = net_D(fake)  # (B,)
    loss_G = loss_fn(d_fake.float())
    _backward_step(loss_G, opt_G, scaler)
    return loss_G.detach(), d_fake.detach().float().mean()


def format_gan_losses(loss_D: float, loss_G: float, D_x: float, D_G_z1: float, D_G_z2: float) -> str:
    """"Loss_D: 0.2073  Loss_G: 6.2444  D(x): 0.9555  D(G(z)): 0.1280/0.0026", pytorch/examples' log line.

    The two D(G(z)) are the same fakes judged before and after D's update (the second is what G's step sees).
    """
    return (f"Loss_D: {loss_D:.4f}  Loss_G: {loss_G:.4f}  D(x): {D_x:.4f}  "
            f"D(G(z)): {D_G_z1:.4f}/{D_G_z2:.4f}")


@dataclass(frozen=True)
class GANStep:
    """How each batch updates the two networks: the losses d_step and g_step use and how often G steps.
    A registry entry's train_options(cfg) gives the fields that differ from the seed's: GANStep(**options)."""

    d_loss: Callable = discriminator_loss  # D's loss of (D(x), D(G(z))): the seed's BCE pair by default
    g_loss: Callable = generator_loss  # G's loss of D(G(z)): the non-saturating loss by default
    penalty: Callable | None = None  # an extra term penalty(net_D, x, fake) on D's loss (WGAN-GP's gradient penalty)
    d_steps: int = 1  # D steps per G step (WGAN-GP: 5); each D step sees a fresh batch and fresh fakes
    amp: bool = False  # mixed precision: float16 + GradScaler on CUDA, bfloat16 on a CPU; ignored elsewhere


def sample_grids(net_G: nn.Module, fixed_noise: torch.Tensor):
    """A callback that appends G(fixed_noise) to history["samples"] after every epoch (uint8, see gan_samples):
    one noise batch for the whole run, so grids are comparable across epochs."""
    def callback(epoch: int, history: dict) -> None:
        history.setdefault("samples", []).append(gan_samples(net_G, fixed_noise.to(device_of(net_G))))
    return callback


@dataclass(frozen=True)
class GANLog:
    """What fit_gan prints: a progress bar over epochs labelled `desc`, pytorch/examples' loss line every
    `print_every` epochs (and at the last) and, with log_every, the batch losses every this many batches."""

    print_every: int = 1
    log_every: int | None = None
    desc: str = "GAN"

    def bar(self, start: int, num_epochs: int) -> tqdm:  # on stdout: not a red warning in Jupyter
        return tqdm(range(start, num_epochs), self.desc, unit="epoch", initial=start, total=num_epochs, file=sys.stdout)

    def batch(self, epoch: int, num_epochs: int, i: int, n_batches: int, batch: dict) -> None:
        if self.log_every and (i + 1) % self.log_every == 0:
            tqdm.write(f"[{epoch + 1:>3}/{num_epochs}][{i + 1:>4}/{n_batches}] "
                       + format_gan_losses(*(float(batch.get(k, float("nan"))) for k in GAN_KEYS)), file=sys.stdout)

    def epoch(self, bar: tqdm, epoch: int, num_epochs: int, history: dict) -> None:
        if epoch % self.print_every == 0 or epoch == num_epochs:
            tqdm.write(f"[{epoch:>3}/{num_epochs}] " + format_gan_losses(*(history[k][-1] for k in GAN_KEYS)),
                       file=sys.stdout)
            bar.set_postfix(Loss_D=f"{history['Loss_D'][-1]:.3f}", Loss_G=f"{history['Loss_G'][-1]:.3f}")


def fit_gan(net_G: nn.Module, net_D: nn.Module, real_x: torch.Tensor, *, opt_G: torch.optim.Optimizer,
            opt_D: torch.optim.Optimizer, num_epochs: int, batch_size: int, step: GANStep = GANStep(),
            history: dict | None = None, callbacks=(), max_batches: int | None = None,
            log: GANLog | None = GANLog()) -> dict:
    """Train a GAN with alternating d_step / g_step and return its per-epoch history.

    Introduced in notebooks/03_mnist_gan.ipynb; notebook 04 reuses it for the DCGAN.
    net_G, net_D: on the device to train on (batches of real_x and the noise go there), opt_G/opt_D over them.
    real_x:      all training images (N, C, H, W), scaled to [-1, 1] (labkit.data.to_gan_range).
    num_epochs:  the total: epochs len(history)+1 .. num_epochs run, so a resumed run passes the same number.
    step:        the losses, D steps per G step and precision (GANStep; the seed's BCE GAN by default).
    history:     Loss_D, Loss_G, D_x, D_G_z1, D_G_z2 (batch means), seconds and G's updates per epoch; pass the
                 previous history to resume (training continues after its last epoch).
    callbacks:   functions callback(epoch, history) called in order after each epoch with the number of epochs
                 completed: sample_grids(net_G, fixed_noise) keeps history["samples"], labkit.run checkpoints.
    max_batches: stop each epoch after this many batches (smoke tests, short runs).
    log:         what is printed (GANLog: bar, a loss line every print_every epochs, batch lines); None: silent.
    """
    history = {key: [] for key in (*GAN_KEYS, "seconds")} if history is None else history
    loader = tensor_loader(real_x, batch_size=batch_size, shuffle=True, drop_last=True)
    n_batches = len(loader) if max_batches is None else min(len(loader), max_batches)
    if n_batches == 0:
        raise ValueError(f"fit_gan: {len(real_x)} images is less than one batch of {batch_size}; lower batch_size")
    update, start_epoch = _GANUpdate(net_G, net_D, opt_G, opt_D, step), len(history["Loss_D"])
    net_G.train(), net_D.train()
    bar = log.bar(start_epoch, num_epochs) if log else range(start_epoch, num_epochs)
    for epoch in bar:
        t0 = time.perf_counter()
        sums, g_updates = dict.fromkeys(GAN_KEYS, 0.0), 0
        for i, (x,) in enumerate(loader):
            if i == n_batches:
                break
            batch = update(x, g_turn=(i + 1) % step.d_steps == 0)  # with d_steps = 1: G steps on every batch
            g_updates += "Loss_G" in batch
            for key, value in batch.items():
                sums[key] = sums[key] + value  # tensors on the device: no GPU sync per batch
            if log:
                log.batch(epoch, num_epochs, i, n_batches, batch)
        for key in GAN_KEYS:
            per = g_updates if key in ("Loss_G", "D_G_z2") else n_batches
            history[key].append(float(sums[key]) / max(per, 1))
        history["seconds"].append(time.perf_counter() - t0)
        history.setdefault("updates", []).append(g_updates)  # labkit release's count (older checkpoints: none)
        if log:
            log.epoch(bar, epoch + 1, num_epochs, history)
        for callback in callbacks:
            callback(epoch + 1, history)
    return history


class _GANUpdate:
    """One batch of fit_gan on G's device: fresh noise, fakes G(z), one d_step and (on G's turn) one g_step."""

    def __init__(self, net_G, net_D, opt_G, opt_D, step: GANStep) -> None:
        self.nets, self.opts, self.step, self.device = (net_G, net_D), (opt_G, opt_D), step, device_of(net_G)
        self.amp = bool(step.amp) and self.device.type in ("cuda", "cpu")
        cuda_amp = self.amp and self.device.type == "cuda"  # float16 needs a GradScaler; bfloat16 has float32's range
        self.scalers = [torch.amp.GradScaler("cuda") if cuda_amp else None for _ in range(2)]  # D's, G's: one each

    def __call__(self, x: torch.Tensor, g_turn: bool) -> dict[str, torch.Tensor]:
        (net_G, net_D), (opt_G, opt_D), step, amp = self.nets, self.opts, self.step, self.amp
        x = x.to(self.device, non_blocking=True)  # (B, C, H, W) real images in [-1, 1]
        z = torch.randn(len(x), *net_G.latent_shape, device=self.device)  # (B, nz) or (B, nz, 1, 1)
        with torch.autocast(self.device.type, enabled=amp), torch.set_grad_enabled(g_turn):
            fake = net_G(z)  # (B, C, H, W), kept attached on G's turn: the G step backpropagates through it
        loss_D, D_x, D_G_z1 = d_step(x, fake, net_D, opt_D, loss_fn=step.d_loss, penalty=step.penalty,
                                     scaler=self.scalers[0], amp=amp)
        batch = {"Loss_D": loss_D, "D_x": D_x, "D_G_z1": D_G_z1}
        if g_turn:
            batch["Loss_G"], batch["D_G_z2"] = g_step(fake, net_D, opt_G, loss_fn=step.g_loss, scaler=self.scalers[1],
                                                      amp=amp)
        return batch
