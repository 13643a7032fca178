"""DCGAN for 64x64 RGB images (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with
Deep Convolutional Generative Adversarial Networks", arXiv:1511.06434).

Introduced in notebooks/04_abstract_art_dcgan.ipynb. The architecture follows the paper and
pytorch/examples dcgan: strided (transposed) convolutions instead of pooling, BatchNorm in both nets
(except G's output and D's input layer), ReLU in G, LeakyReLU(0.2) in D, Tanh output, no biases.
The loss is the same binary cross-entropy GAN loss as notebook 03, trained with labkit.train.fit_gan.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..config import use_cuda_speedups
from .augment import POLICIES, diff_augment
from .checks import Config, UsageError
from .gan import smoothed_discriminator_loss


UPSAMPLING = ("transposed", "resize", "bilinear")  # how G doubles its feature maps (DCGANConfig.upsample)
DOWNSAMPLING = ("strided", "blur")  # how D halves them (DCGANConfig.downsample)
PADDING = ("zeros", "reflect")  # how G's resize convolutions pad (DCGANConfig.pad)


@dataclass
class DCGANConfig(Config):
    """DCGAN settings; the defaults are the paper's (section 4) and give the parameter counts below."""

    latent_dim: int = 100  # size of the latent vector z, fed to G as (latent_dim, 1, 1) (the paper's nz)
    ngf: int = 64  # G feature maps in the last hidden layer (512 = 8*ngf in the first)
    ndf: int = 64  # D feature maps in the first layer (512 = 8*ndf in the last)
    nc: int = 3  # image channels (RGB)
    lr: float = 2e-4  # Adam learning rate (paper: 0.001 was too high)
    betas: tuple[float, float] = (0.5, 0.999)  # Adam betas (paper: beta1 = 0.9 oscillated, 0.5 stabilised)
    batch_size: int = 128  # mini-batch size (paper: 128)
    num_epochs: int = 100  # full-profile epochs; the quick profile's short run: profile.art_epochs
    amp: bool | None = None  # mixed precision (autocast + GradScaler): None = on for CUDA, off elsewhere
    channels_last: bool | None = None  # NHWC memory layout for tensor cores: None = on for CUDA, off elsewhere
    upsample: str = field(default="transposed", metadata={"choices": UPSAMPLING})  # G's upsampling: "transposed"
    # (the paper's) or "resize" (nearest 2x, then a 3x3 convolution: no checkerboard; Odena, Dumoulin & Olah 2016,
    # "Deconvolution and Checkerboard Artifacts", Distill), or "bilinear" (bilinear 2x, then the same 3x3 convolution:
    # every output pixel mixes four inputs, so no phase of the 2x grid is treated apart; the same parameters as "resize")
    pad: str = field(default="zeros", metadata={"choices": PADDING})  # how G's 3x3 convolutions after "resize" or
    # "bilinear" upsampling fill the border: "zeros" (PyTorch's default) or "reflect" (the image mirrored, so the
    # edges are not marked out as places apart); a transposed convolution pads with zeros only
    downsample: str = field(default="strided", metadata={"choices": DOWNSAMPLING})  # D's: "strided" (the paper's
    # 4x4 stride-2 convolutions) or "blur" (a fixed 3x3 binomial blur before each of them, so D judges every phase of
    # its stride alike: Zhang 2019, "Making Convolutional Networks Shift-Invariant Again", ICML; Karras et al. 2020,
    # StyleGAN2, blur before D's strided convolutions too; no parameters added)
    real_label: float = 1.0  # D's target for real images (1: the paper's; 0.9: one-sided label smoothing, Salimans
    # et al. 2016, against a D that wins: models.gan.smoothed_discriminator_loss)
    augment: str = field(default="none", metadata={"choices": POLICIES})  # transformations applied to every image
    # D sees while training, real and fake alike, differentiably ("none": the paper's; "translation,cutout": DiffAugment
    # against a D that memorises a small training set; Zhao et al. 2020; models/augment.py)
    ada_target: float = 0.0  # 0: `augment` transforms every image D sees; > 0: each image with a probability p that
    # starts at 0 and adapts after every epoch, up while D's mean D(x) is above this target, down while below (ADA,
    # Karras et al. 2020; models.augment.adapt_probability): D held ahead of G, not at chance nor far ahead
    r1: float = 0.0  # gamma of the R1 penalty on D, gamma/2 * |grad_x D's logit|^2 on the real images it sees (0: off,
    # the paper's; Mescheder, Geiger & Nowozin 2018, "Which Training Methods for GANs do actually Converge?", ICML):
    # D may not sharpen around the real images, so it cannot run far ahead of G (R1Penalty)
    ema: float = field(default=0.0, metadata={"on_resume": "may change"})  # keep an exponential moving average of
    # G's weights with this decay per G update, and sample from it (0: off, the paper's; 0.999 averages about the
    # last 1,000 updates; Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training", ICLR; Karras
    # et al. 2018, "Progressive Growing of GANs"). A run may switch it on at --resume: the average starts from G.

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.pad != "zeros" and self.upsample == "transposed":
            raise UsageError(f"DCGANConfig(pad={self.pad!r}): a transposed convolution pads with zeros only; use it with "
                             f"upsample='resize' or 'bilinear'")
        if self.ada_target and (self.augment == "none" or not 0 < self.ada_target < 1):
            raise UsageError(f"DCGANConfig(ada_target={self.ada_target!r}): an adaptive augmentation needs a target D(x) "
                             f"between 0 and 1 and transformations to adapt (augment='translation,cutout', ...)")


class NearestUpsample(nn.Upsample):
    """nn.Upsample(scale_factor=2, mode="nearest"): every pixel becomes a 2x2 block of itself.

    The same numbers as PyTorch's module, forward and backward (tests/test_dcgan.py), computed in the channels-last
    layout: on a CPU PyTorch's NCHW kernel for it is several times slower than its channels-last one, and was a
    sixth of a resize-convolution DCGAN's training step (benchmarks/bench_upsample.py). An NCHW input gets an NCHW
    output, so the convolution after it sees what it saw before."""

    def __init__(self) -> None:
        super().__init__(scale_factor=2, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or not x.is_contiguous():  # already channels-last (CUDA), or another layout: as it is
            return super().forward(x)
        y = super().forward(x.contiguous(memory_format=torch.channels_last))  # (B, C, 2H, 2W), stored NHWC
        return y.contiguous()  # back to NCHW


def _up(in_ch: int, out_ch: int, how: str, pad: str = "zeros") -> nn.Module:
    """Double H and W: ConvTranspose2d(kernel 4, stride 2, padding 1), or nearest ("resize") or bilinear 2x
    upsampling then a 3x3 conv that pads its input as `pad` says."""
    if how == "transposed":
        return nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False)
    upsample = NearestUpsample() if how == "resize" else nn.Upsample(scale_factor=2, mode="bilinear")
    return nn.Sequential(upsample, nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=False, padding_mode=pad))


class Blur(nn.Module):
    """A fixed 3x3 binomial low-pass ([1, 2, 1] x [1, 2, 1] / 16) on every channel, edges reflected: the shape of
    the input is kept and nothing is learnt (Zhang 2019's anti-aliasing filter)."""

    def __init__(self, channels: int):
        super().__init__()
        k = torch.tensor([1.0, 2.0, 1.0])
        self.register_buffer("kernel", (k[:, None] * k[None, :] / 16).expand(channels, 1, 3, 3).clone(),
                             persistent=False)  # not in the state dict: a constant, like the stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
        return nn.functional.conv2d(x, self.kernel.to(x.dtype), groups=x.shape[1])


def _down(in_ch: int, out_ch: int, how: str) -> nn.Module:
    """Halve H and W: Conv2d(kernel 4, stride 2, padding 1), after a Blur when how == "blur"."""
    conv = nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=False)
    return conv if how == "strided" else nn.Sequential(Blur(in_ch), conv)


class Generator(nn.Module):
    """z (B, latent_dim, 1, 1) -> image (B, nc, 64, 64) in [-1, 1]. 3,576,704 parameters with the defaults."""

    def __init__(self, cfg: DCGANConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or DCGANConfig()
        nz, ngf, nc, up, pad = cfg.latent_dim, cfg.ngf, cfg.nc, cfg.upsample, cfg.pad
        self.main = nn.Sequential(
            # kernel 4, stride 1, padding 0 turns 1x1 into 4x4; afterwards stride 2, padding 1 doubles the size
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),  # (B, ngf*8, 4, 4)
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            _up(ngf * 8, ngf * 4, up, pad),  # (B, ngf*4, 8, 8)
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            _up(ngf * 4, ngf * 2, up, pad),  # (B, ngf*2, 16, 16)
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            _up(ngf * 2, ngf, up, pad),  # (B, ngf, 32, 32)
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            _up(ngf, nc, up, pad),  # (B, nc, 64, 64)
            nn.Tanh(),  # pixel values in [-1, 1], like the data after to_gan_range
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)  # (B, latent_dim, 1, 1) -> (B, nc, 64, 64)

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """The shape of one z (labkit.inference.generate draws z ~ N(0, I) of this shape): (latent_dim, 1, 1), a 1x1 image with latent_dim channels."""
        return (self.cfg.latent_dim, 1, 1)


class Discriminator(nn.Module):
    """image (B, nc, 64, 64) -> D(x) (B,), the probability that x is real. 2,765,568 parameters."""

    def __init__(self, cfg: DCGANConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or DCGANConfig()
        nc, ndf, down = cfg.nc, cfg.ndf, cfg.downsample
        self.main = nn.Sequential(
            _down(nc, ndf, down),  # (B, ndf, 32, 32); no BatchNorm on the input layer
            nn.LeakyReLU(0.2, inplace=True),
            _down(ndf, ndf * 2, down),  # (B, ndf*2, 16, 16)
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            _down(ndf * 2, ndf * 4, down),  # (B, ndf*4, 8, 8)
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            _down(ndf * 4, ndf * 8, down),  # (B, ndf*8, 4, 4)
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),  # (B, 1, 1, 1): one logit per image
        )
        self.sigmoid = nn.Sigmoid()
        # ADA's probability (cfg.ada_target), moved by models.augment.adaptive_augment; None (no buffer) without it
        self.register_buffer("augment_p", torch.zeros(()) if cfg.ada_target else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sigmoid(self.logit(x)).view(-1)  # (B, 1, 1, 1) -> (B,)

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        """D's logit (B, 1, 1, 1), log D(x) / (1 - D(x)), in float32 even under autocast (so that D(x) near 0 or 1
        keeps its precision). A training pass augments x first (cfg.augment, "none" by default; with ADA's
        probability where cfg.ada_target asks for it); evaluation never does."""
        if self.training:
            x = diff_augment(x, self.cfg.augment, self.augment_p)
        return self.main(x).float()


class R1Penalty:
    """gamma/2 * the mean over real images x of |grad_x logit D(x)|^2 (R1, Mescheder et al. 2018), a `penalty` for
    labkit.train.d_step: it flattens D around the real images, where a D that wins sharpens (`fake` is not used).
    D's logit rather than D(x): the sigmoid's slope vanishes exactly where D is sure. Lazily (StyleGAN2, Karras et
    al. 2020): on every `every`-th D step only, weighted by `every`, since its double backward in float32 costs
    more than a whole bfloat16 D step; 0 on the other steps."""

    def __init__(self, gamma: float, every: int = 16):
        self.gamma, self.every, self.calls = gamma, every, 0

    def __call__(self, net_D: Discriminator, x: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls % self.every:
            return torch.zeros((), device=x.device)
        x = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(net_D.logit(x).sum(), x, create_graph=True)
        return self.every * self.gamma / 2 * grad.square().sum(dim=[1, 2, 3]).mean()


def train_options(cfg: DCGANConfig) -> dict:
    """labkit.train.GANStep's fields that differ from the seed's for this config: D's loss with one-sided label
    smoothing where real_label < 1, R1 where r1 > 0; {} for the paper's DCGAN."""
    options = {} if cfg.real_label == 1 else {"d_loss": smoothed_discriminator_loss(cfg.real_label)}
    return options | ({"penalty": R1Penalty(cfg.r1)} if cfg.r1 else {})


def weights_init(m: nn.Module) -> None:
    """DCGAN initialisation (paper, section 4): conv weights ~ N(0, 0.02), BatchNorm scale ~ N(1, 0.02),
    biases 0. Apply once with `net.apply(weights_init)`."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def build_dcgan(cfg: DCGANConfig, device: torch.device | str = "cpu") -> tuple[Generator, Discriminator]:
    """net_G and net_D with `weights_init` applied, on `device`, channels-last when enabled for CUDA."""
    net_G, net_D = Generator(cfg), Discriminator(cfg)
    net_G.apply(weights_init)
    net_D.apply(weights_init)
    memory_format = torch.channels_last if use_cuda_speedups(cfg.channels_last, device) else torch.contiguous_format
    return net_G.to(device, memory_format=memory_format), net_D.to(device, memory_format=memory_format)


def layer_shapes(net: nn.Module, x: torch.Tensor) -> list[tuple[str, tuple[int, ...], int]]:
    """Run `x` through `net` and list, for each layer in call order, (layer, output shape without the
    batch dimension, its parameter count).

    Used for the architecture tables in notebook 04: the shapes are measured, not written down.
    """
    rows, hooks = [], []
    for layer in net.modules():
        if not list(layer.children()):  # leaf layers only (Conv, BatchNorm, ReLU, ...)
            hooks.append(layer.register_forward_hook(
                lambda mod, inp, out: rows.append((_describe(mod), tuple(out.shape[1:]), sum(p.numel() for p in mod.parameters())))))
    was_training = net.training
    try:
        net.eval()  # BatchNorm uses its running statistics, which this probe must not update
        with torch.no_grad():
            net(x)
    finally:
        net.train(was_training)
        for h in hooks:
            h.remove()
    return rows


def architecture_table(net: nn.Module, x: torch.Tensor) -> str:
    """layer_shapes as aligned text: one row per layer (name, output shape, parameters), then the input and
    the total. Introduced in notebooks/04_abstract_art_dcgan.ipynb."""
    rows = layer_shapes(net, x)
    width = max(len(name) for name, _, _ in rows)
    lines = [f"{'layer':<{width}}  {'output shape':<14} {'parameters':>10}",
             f"{'input':<{width}}  {str(tuple(x.shape[1:])):<14} {'':>10}"]
    lines += [f"{name:<{width}}  {str(shape):<14} {n:>10,}" for name, shape, n in rows]
    lines.append(f"{'total':<{width}}  {'':<14} {sum(n for _, _, n in rows):>10,}")
    return "\n".join(line.rstrip() for line in lines)


def _describe(layer: nn.Module) -> str:
    """A short name for a layer: "ConvTranspose2d(100 -> 512, k4 s1 p0)", "BatchNorm2d(512)", "ReLU"."""
    if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
        return (f"{type(layer).__name__}({layer.in_channels} -> {layer.out_channels}, "
                f"k{layer.kernel_size[0]} s{layer.stride[0]} p{layer.padding[0]})")
    if isinstance(layer, nn.BatchNorm2d):
        return f"BatchNorm2d({layer.num_features})"
    if isinstance(layer, nn.LeakyReLU):
        return f"LeakyReLU({layer.negative_slope})"
    return type(layer).__name__
