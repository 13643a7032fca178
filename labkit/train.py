"""Plain training loops a student can read top to bottom.

Each loop takes the model(s), the data, the optimiser(s) and the device as arguments and returns a
`history` dict of per-epoch numbers that labkit.plots draws. `start_epoch`/`history` let a caller
resume, and `on_epoch_end(epoch, history)` is the one hook (checkpoints, image grids).
"""
from __future__ import annotations

import sys
import time

import torch
from torch import nn
from tqdm import tqdm

from .data import tensor_loader
from .models.ae import ae_loss
from .models.gan import discriminator_loss, generator_loss
from .models.vae import VAE, vae_loss


# ---------------------------------------------------------------------------------------------------
# Autoencoders: notebooks/01_autoencoder.ipynb (AE) and 02_vae.ipynb (VAE, the same loop)
# ---------------------------------------------------------------------------------------------------

def autoencoder_losses(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The loss terms of one batch, per image: {"loss"} (MSE) for an AE; {"loss", "recon", "kl"} for a VAE,
    where loss = -ELBO = recon (BCE summed over pixels) + kl. Introduced in notebooks/01_autoencoder.ipynb."""
    if isinstance(model, VAE):
        x_logits, mu, logvar = model(x, logits=True)  # one z ~ q(z|x) per image; x_hat = sigmoid(x_logits)
        loss, recon, kl = vae_loss(x_logits, x, mu, logvar, from_logits=True)  # same BCE, stabler and faster
        return {"loss": loss, "recon": recon, "kl": kl}
    return {"loss": ae_loss(model(x), x)}


@torch.no_grad()
def evaluate_autoencoder(model: nn.Module, x: torch.Tensor, *, device: torch.device | str,
                         batch_size: int = 1000) -> dict[str, float]:
    """The mean loss terms (see autoencoder_losses) over all images x, in eval mode and without gradients.

    For a VAE this is the training objective itself, with one z ~ q(z|x) per image: an unbiased estimate of
    -ELBO (labkit.metrics.vae_elbo computes the same under its own seed)."""
    model.eval()
    sums: dict[str, torch.Tensor] = {}
    for (xb,) in tensor_loader(x, batch_size=batch_size, shuffle=False):
        for key, value in autoencoder_losses(model, xb.to(device)).items():
            sums[key] = sums.get(key, 0.0) + value * len(xb)
    return {key: float(total) / len(x) for key, total in sums.items()}


def fit_autoencoder(model: nn.Module, train_x: torch.Tensor, test_x: torch.Tensor, *, opt: torch.optim.Optimizer,
                    num_epochs: int, batch_size: int, device: torch.device | str, start_epoch: int = 0,
                    history: dict | None = None, on_epoch_end=None, progress: bool = True) -> dict:
    """Train an Autoencoder or a VAE on train_x by minibatch descent on its loss; evaluate on test_x every epoch.

    Introduced in notebooks/01_autoencoder.ipynb; notebook 02 reuses it unchanged for the VAE.
    model:       already on `device`, with `opt` built over its parameters.
    train_x, test_x: images (N, 1, 28, 28) in [0, 1] (labkit.load_mnist); no labels needed.
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
    loader = tensor_loader(train_x, batch_size=batch_size, shuffle=True)
    bar = tqdm(range(start_epoch, num_epochs), desc=type(model).__name__, unit="epoch", initial=start_epoch,
               total=num_epochs, disable=not progress, file=sys.stdout)  # stdout: not a red warning in Jupyter
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        sums: dict[str, torch.Tensor] = {}
        for (x,) in loader:
            x = x.to(device, non_blocking=True)  # (B, 1, 28, 28) in [0, 1]
            terms = autoencoder_losses(model, x)
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
            opt.step()
            for key, value in terms.items():
                sums[key] = sums.get(key, 0.0) + value.detach() * len(x)  # on the device: no GPU sync per batch
        test = evaluate_autoencoder(model, test_x, device=device)
        for key in sums:
            history.setdefault(f"train_{key}", []).append(float(sums[key]) / len(train_x))
            history.setdefault(f"test_{key}", []).append(test[key])
        history.setdefault("seconds", []).append(time.perf_counter() - t0)
        bar.set_postfix(train=f"{history['train_loss'][-1]:.4g}", test=f"{history['test_loss'][-1]:.4g}")
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, history)
    return history


@torch.no_grad()
def latent_codes(model: nn.Module, x: torch.Tensor, *, batch_size: int = 1000) -> torch.Tensor:
    """Where images x land in latent space, (N, latent_dim) on the CPU: the AE's code z, or the VAE's mean mu.

    Used for latent scatters and interpolations. Introduced in notebooks/01_autoencoder.ipynb.
    """
    model.eval()
    device = next(model.parameters()).device
    codes = []
    for i in range(0, len(x), batch_size):
        out = model.encode(x[i:i + batch_size].to(device))
        codes.append((out[0] if isinstance(model, VAE) else out).cpu())  # VAE: (mu, logvar) -> mu
    return torch.cat(codes)


@torch.no_grad()
def reconstruct(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """decode(encode(x)) on the CPU; a VAE decodes its mean mu, so the picture is deterministic."""
    model.eval()
    device = next(model.parameters()).device
    return model.decode(latent_codes(model, x).to(device)).cpu()


@torch.no_grad()
def latent_interpolation(model: nn.Module, x_a: torch.Tensor, x_b: torch.Tensor, *, steps: int = 10) -> torch.Tensor:
    """Decode `steps` evenly spaced points z(t) = (1 - t) z_a + t z_b, t = 0 .. 1, between the codes of two images.

    x_a, x_b: single images (1, 28, 28). Returns (steps, 1, 28, 28) on the CPU. Introduced in notebooks/02_vae.ipynb.
    """
    z = latent_codes(model, torch.stack([x_a, x_b]))  # (2, latent_dim)
    t = torch.linspace(0, 1, steps).unsqueeze(1)  # (steps, 1)
    path = (1 - t) * z[0] + t * z[1]  # (steps, latent_dim)
    model.eval()
    return model.decode(path.to(next(model.parameters()).device)).cpu()


# ---------------------------------------------------------------------------------------------------
# GANs: notebooks/03_mnist_gan.ipynb (MLP GAN) and 04_abstract_art_dcgan.ipynb (DCGAN, same steps)
# ---------------------------------------------------------------------------------------------------

GAN_KEYS = ("Loss_D", "Loss_G", "D_x", "D_G_z1", "D_G_z2")
"""Per-epoch batch means in a GAN history, as in pytorch/examples/dcgan: D_x and D_G_z1 are D's outputs in D's
step (before D's update); D_G_z2 is D(G(z)) for the same fakes in G's step, after D's update and before G's."""


def _backward_step(loss: torch.Tensor, opt: torch.optim.Optimizer, scaler=None) -> None:
    """loss.backward(); opt.step() -- through an AMP GradScaler when one is given (CUDA mixed precision)."""
    if scaler is None:
        loss.backward()
        opt.step()
    else:
        scaler.scale(loss).backward()  # scale the loss up so float16 gradients do not underflow to 0
        scaler.step(opt)  # unscale, then step -- or skip the step if a gradient is inf/NaN
        scaler.update()  # adapt the scale for next time


def d_step(x: torch.Tensor, fake: torch.Tensor, net_D: nn.Module, opt_D: torch.optim.Optimizer, *,
           scaler=None, amp: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(1) Update D: maximise log D(x) + log(1 - D(G(z))), i.e. minimise discriminator_loss.

    x: a batch of real images; fake: G(z) for a batch of noise. The fakes are detached, so this step
    changes D only (no gradient flows into G). Returns detached batch means (loss_D, D(x), D(G(z))),
    where D(G(z)) is "D_G_z1", measured before D's update. Introduced in notebooks/03_mnist_gan.ipynb.
    """
    opt_D.zero_grad(set_to_none=True)
    with torch.autocast(x.device.type, enabled=amp):
        d_real = net_D(x)  # (B,) probability that each real image is real
        d_fake = net_D(fake.detach())  # (B,) ... that each fake is real; detach: no gradient into G
    loss_D = discriminator_loss(d_real.float(), d_fake.float())  # BCE in float32, outside autocast
    _backward_step(loss_D, opt_D, scaler)
    return loss_D.detach(), d_real.detach().float().mean(), d_fake.detach().float().mean()


def g_step(fake: torch.Tensor, net_D: nn.Module, opt_G: torch.optim.Optimizer, *,
           scaler=None, amp: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(2) Update G: maximise log D(G(z)), i.e. minimise generator_loss (the non-saturating loss).

    fake: G(z), still attached to G's graph. D was just updated, so D(G(z)) here is "D_G_z2": the same fakes
    judged by the updated D, before G's update.
    Only opt_G steps; the gradients this leaves on D are cleared by the next d_step.
    Returns detached batch means (loss_G, D(G(z))). Introduced in notebooks/03_mnist_gan.ipynb.
    """
    opt_G.zero_grad(set_to_none=True)
    with torch.autocast(fake.device.type, enabled=amp):
        d_fake = net_D(fake)  # (B,)
    loss_G = generator_loss(d_fake.float())
    _backward_step(loss_G, opt_G, scaler)
    return loss_G.detach(), d_fake.detach().float().mean()


@torch.no_grad()
def gan_samples(net_G: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """G(z) in eval mode (BatchNorm uses its running statistics and is not updated), as uint8 images
    on the CPU (0 = -1, 255 = +1): a hundred epochs of fixed-noise grids stay a few MB."""
    was_training = net_G.training
    net_G.eval()
    x = net_G(z).float()  # (B, C, H, W) in [-1, 1]
    net_G.train(was_training)
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def format_gan_losses(loss_D: float, loss_G: float, D_x: float, D_G_z1: float, D_G_z2: float) -> str:
    """"Loss_D: 0.2073  Loss_G: 6.2444  D(x): 0.9555  D(G(z)): 0.1280/0.0026", pytorch/examples' log line.

    The two D(G(z)) are the same fakes judged before and after D's update (the second is what G's step sees).
    """
    return (f"Loss_D: {loss_D:.4f}  Loss_G: {loss_G:.4f}  D(x): {D_x:.4f}  "
            f"D(G(z)): {D_G_z1:.4f}/{D_G_z2:.4f}")


def fit_gan(net_G: nn.Module, net_D: nn.Module, real_x: torch.Tensor, *, opt_G: torch.optim.Optimizer,
            opt_D: torch.optim.Optimizer, num_epochs: int, batch_size: int, device: torch.device | str,
            fixed_noise: torch.Tensor, start_epoch: int = 0, history: dict | None = None, on_epoch_end=None,
            log_every: int | None = None, progress: bool = True, amp: bool = False,
            max_batches: int | None = None, print_every: int = 1) -> dict:
    """Train a GAN with alternating d_step / g_step and return its per-epoch history.

    Introduced in notebooks/03_mnist_gan.ipynb; notebook 04 reuses it for the DCGAN.
    real_x:      all training images (N, C, H, W), scaled to [-1, 1] (labkit.data.to_gan_range).
    num_epochs:  the total: epochs start_epoch+1 .. num_epochs run, so a resumed run passes the same number.
    fixed_noise: one noise batch for the whole run; after every epoch G(fixed_noise) is appended to
                 history["samples"] (uint8, see gan_samples), so grids are comparable across epochs.
                 New noise is drawn with the same shape per sample: (nz,) for the MLP, (nz, 1, 1) for DCGAN.
    history:     Loss_D, Loss_G, D_x, D_G_z1, D_G_z2 (batch means), seconds, samples; pass the previous
                 history (and start_epoch) to resume.
    on_epoch_end(epoch, history): called after each epoch with the number of epochs completed.
    log_every:   also print the batch losses every this many batches.
    progress:    a progress bar over epochs and a summary line every `print_every` epochs (False: silent).
    amp:         mixed precision: float16 autocast + GradScaler on CUDA; bfloat16 autocast on a CPU (fast only
                 on CPUs with bfloat16 instructions, e.g. AVX-512-BF16 or AMX; no scaler needed); ignored elsewhere.
    max_batches: stop each epoch after this many batches (smoke tests, short runs).
    """
    device = torch.device(device)
    amp = bool(amp) and device.type in ("cuda", "cpu")
    cuda_amp = amp and device.type == "cuda"  # float16 needs a GradScaler; bfloat16 has float32's range
    scaler_D = torch.amp.GradScaler("cuda") if cuda_amp else None  # one per network: they step independently
    scaler_G = torch.amp.GradScaler("cuda") if cuda_amp else None
    if history is None:
        history = {key: [] for key in (*GAN_KEYS, "seconds", "samples")}
    fixed_noise = fixed_noise.to(device)
    loader = tensor_loader(real_x, batch_size=batch_size, shuffle=True, drop_last=True)
    n_batches = len(loader) if max_batches is None else min(len(loader), max_batches)
    if n_batches == 0:
        raise ValueError(f"fit_gan: {len(real_x)} images is less than one batch of {batch_size}; "
                         f"lower batch_size or use more data")

    net_G.train()
    net_D.train()
    bar = tqdm(range(start_epoch, num_epochs), desc="GAN", unit="epoch", initial=start_epoch, total=num_epochs,
               disable=not progress, file=sys.stdout)  # stdout: not a red warning in Jupyter
    for epoch in bar:
        t0 = time.perf_counter()
        sums = dict.fromkeys(GAN_KEYS, 0.0)
        for i, (x,) in enumerate(loader):
            if i == n_batches:
                break
            x = x.to(device, non_blocking=True)  # (B, C, H, W) real images in [-1, 1]
            z = torch.randn(len(x), *fixed_noise.shape[1:], device=device)  # (B, nz) or (B, nz, 1, 1)
            with torch.autocast(device.type, enabled=amp):
                fake = net_G(z)  # (B, C, H, W), kept attached: the G step backpropagates through it
            loss_D, D_x, D_G_z1 = d_step(x, fake, net_D, opt_D, scaler=scaler_D, amp=amp)
            loss_G, D_G_z2 = g_step(fake, net_D, opt_G, scaler=scaler_G, amp=amp)
            batch = dict(zip(GAN_KEYS, (loss_D, loss_G, D_x, D_G_z1, D_G_z2)))
            for key in GAN_KEYS:
                sums[key] = sums[key] + batch[key]  # tensors on the device: no GPU sync per batch
            if log_every and (i + 1) % log_every == 0:
                tqdm.write(f"[{epoch + 1:>3}/{num_epochs}][{i + 1:>4}/{n_batches}] "
                           + format_gan_losses(*(float(v) for v in batch.values())), file=sys.stdout)
        for key in GAN_KEYS:
            history[key].append(float(sums[key]) / n_batches)
        history["samples"].append(gan_samples(net_G, fixed_noise))
        history["seconds"].append(time.perf_counter() - t0)
        if progress and ((epoch + 1) % print_every == 0 or epoch + 1 == num_epochs):
            tqdm.write(f"[{epoch + 1:>3}/{num_epochs}] " + format_gan_losses(*(history[k][-1] for k in GAN_KEYS)),
                       file=sys.stdout)
            bar.set_postfix(Loss_D=f"{history['Loss_D'][-1]:.3f}", Loss_G=f"{history['Loss_G'][-1]:.3f}")
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1, history)
    return history
