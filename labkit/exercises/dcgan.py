"""The exercise checks of notebook 04, the DCGAN (see labkit.exercises.checks for how a check cell uses them)."""
from __future__ import annotations

import numbers
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .harness import (_ACTIVATIONS, _Fail, _call, _close, _describe, _leaves, _module, _n_params, _run, _sequence,
                      _tensor)
from .references import _reference, reference_conv_transpose_out, reference_g_block


# ---------------------------------------------------------------------------------------------------
# Notebook 04: the DCGAN
# ---------------------------------------------------------------------------------------------------

def check_weights_init(fn: Callable) -> Callable:
    """Exercise 4.1 (notebooks/04_abstract_art_dcgan.ipynb): weights_init(m), the DCGAN initialisation."""
    return _run("4.1", "weights_init", fn, _reference("weights_init"), _check_weights_init)


def _check_weights_init(fn: Callable) -> None:
    torch.manual_seed(41)
    cfg = _reference("DCGANConfig")()
    nets = (_reference("DCGANGenerator")(cfg), _reference("DCGANDiscriminator")(cfg))
    kinds = (nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d)
    layers = [m for net in nets for m in net.modules() if isinstance(m, kinds)]
    before = [m.weight.detach().clone() for m in layers]
    _apply_weights_init(nets, fn)
    if all(torch.equal(m.weight.detach(), w0) for m, w0 in zip(layers, before)):
        raise _Fail("weights_init changed no layer: draw Conv2d and ConvTranspose2d weights from N(0, 0.02), "
                    "BatchNorm2d weights from N(1, 0.02), and set BatchNorm2d biases to 0")
    for m, w0 in zip(layers, before):
        if torch.equal(m.weight.detach(), w0):
            if isinstance(m, nn.BatchNorm2d):
                raise _Fail("the BatchNorm2d layers kept PyTorch's default scale 1: draw it from N(1, 0.02), "
                            "nn.init.normal_(m.weight, 1.0, 0.02), and set m.bias to 0")
            raise _Fail(f"the {type(m).__name__} layers kept PyTorch's default initialisation: match nn.Conv2d and "
                        f"nn.ConvTranspose2d, isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))")
    _check_conv_weights([m for m in layers if not isinstance(m, nn.BatchNorm2d)])
    _check_batchnorm([m for m in layers if isinstance(m, nn.BatchNorm2d)])
    if any(not p.requires_grad or not p.is_leaf for net in nets for p in net.parameters()):
        raise _Fail("some parameters no longer train (requires_grad False or not a leaf): change the values in place "
                    "with nn.init.normal_(m.weight, ...), keeping the parameters themselves")


def _apply_weights_init(nets, fn: Callable) -> None:
    """net.apply(fn) on each network, as the notebook calls it; a failure says what usually causes it."""
    for net in nets:
        try:  # as the notebook calls it: outside torch.no_grad
            _call(net.apply, fn, what="net.apply(weights_init)")
        except _Fail as e:
            if "'NoneType'" in str(e):
                raise _Fail(f"{e}; the DCGAN's convolutions have no bias (bias=False), so there is none to set: only "
                            f"BatchNorm2d's bias is set to 0") from None
            if "AttributeError" in str(e):
                raise _Fail(f"{e}; apply() calls it on every layer, ReLU and Sequential included: change only the "
                            f"Conv and BatchNorm layers (isinstance(m, ...))") from None
            if "leaf Variable" in str(e):
                raise _Fail(f"{e}; an in-place change of a weight needs nn.init.normal_(m.weight, ...) (or "
                            f"m.weight.data.normal_(...)), which autograd allows") from None
            raise


def _check_conv_weights(convs: list[nn.Module]) -> None:
    """The (transposed) convolutions' weights are drawn from N(0, 0.02): their mean, std and a normal's shape."""
    for m in convs:
        mean, std = m.weight.mean().item(), m.weight.std().item()
        if abs(std - 1) < 0.1 and abs(mean - 0.02) < 0.01:
            raise _Fail("conv weights have mean 0.02 and std 1: normal_'s arguments are (tensor, mean, std), "
                        "nn.init.normal_(m.weight, 0.0, 0.02)")
        if abs(std - 0.02) > 0.003 or abs(mean) > 0.003:
            raise _Fail(f"{type(m).__name__} weights have mean {mean:.3g} and std {std:.3g}, expected N(0, 0.02): "
                        f"nn.init.normal_(m.weight, 0.0, 0.02)")
    conv_w = torch.cat([m.weight.detach().flatten()[:20_000] for m in convs])
    standard = (conv_w - conv_w.mean()) / conv_w.std()
    kurtosis = (standard * standard).square().mean().item()  # 3 for a normal, 1.8 for a uniform
    if not 2.7 < kurtosis < 3.3:
        raise _Fail(f"the conv weights have the right mean and std but not a normal's shape (kurtosis "
                    f"{kurtosis:.2f}, a normal has 3): draw them from N(0, 0.02) with nn.init.normal_, not a uniform or "
                    f"constant")


def _check_batchnorm(bns: list[nn.Module]) -> None:
    """The BatchNorm2d layers' scales are drawn from N(1, 0.02) and their biases are 0."""
    bn_w = torch.cat([m.weight.detach() for m in bns])
    bn_b = torch.cat([m.bias.detach() for m in bns])
    mean, std = bn_w.mean().item(), bn_w.std().item()
    if abs(mean - 1) > 0.01:
        raise _Fail(f"BatchNorm2d weights have mean {mean:.3g}, expected 1: nn.init.normal_(m.weight, 1.0, 0.02) "
                    f"(the weight is the layer's scale; near 0 it silences the layer)")
    if abs(std - 0.02) > 0.004:
        raise _Fail(f"BatchNorm2d weights have std {std:.3g}, expected 0.02: nn.init.normal_(m.weight, 1.0, 0.02)")
    if bn_b.abs().max().item() > 0:
        raise _Fail("BatchNorm2d biases should be 0: nn.init.zeros_(m.bias)")


def check_conv_transpose_out(fn: Callable) -> Callable:
    """Exercise 4.2 (notebooks/04_abstract_art_dcgan.ipynb): conv_transpose_out(size, kernel, stride, padding)."""
    return _run("4.2", "conv_transpose_out", fn, reference_conv_transpose_out, _check_conv_transpose_out)


def _transpose_cases() -> list[tuple[int, int, int, int]]:
    """(size, kernel, stride, padding): the DCGAN's own layers first, then a grid; all with a valid output."""
    cases = [(1, 4, 1, 0), (4, 4, 2, 1), (32, 4, 2, 1)]
    cases += [(s, k, st, p) for s in (1, 2, 3, 5, 8) for k in (1, 2, 3, 4, 5) for st in (1, 2, 3) for p in (0, 1, 2)
              if (s - 1) * st - 2 * p + k > 0 and p < k]
    return cases


def _check_conv_transpose_out(fn: Callable) -> None:
    cases = _transpose_cases()
    truth = []
    for s, k, st, p in cases:  # measured: what torch's ConvTranspose2d gives (on the meta device: shapes only)
        layer = nn.ConvTranspose2d(1, 1, k, st, p, device="meta")
        truth.append(layer(torch.empty(1, 1, s, s, device="meta")).shape[-1])
    got = []
    for case in cases:
        value = _call(fn, *case, what="conv_transpose_out(size=%d, kernel=%d, stride=%d, padding=%d)" % case)
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise _Fail(f"expected a whole number (int), got {_describe(value)} for size={case[0]}, kernel="
                        f"{case[1]}, stride={case[2]}, padding={case[3]}" +
                        ("; use // or int(), sizes count pixels" if isinstance(value, float) else ""))
        got.append(int(value))
    for formula, hint in (
        (lambda s, k, st, p: (s + 2 * p - k) // st + 1,
         "that is Conv2d's formula (a convolution shrinks the image); a transposed one grows it: "
         "(size - 1)*stride - 2*padding + kernel"),
        (lambda s, k, st, p: (s - 1) * st + k, "padding is ignored: it trims the output, - 2*padding"),
        (lambda s, k, st, p: (s - 1) * st - p + k, "padding trims both sides: subtract 2*padding"),
        (lambda s, k, st, p: (s - 1) * st + 2 * p + k, "padding trims a transposed convolution's output: - 2*padding"),
        (lambda s, k, st, p: s * st - 2 * p + k, "one stride too many: (size - 1)*stride, since size pixels have "
                                                  "size - 1 gaps"),
        (lambda s, k, st, p: s * st, "size*stride holds only for kernel 4, stride 2, padding 1; in general "
                                     "(size - 1)*stride - 2*padding + kernel"),
        (lambda s, k, st, p: (s - 1) * st - 2 * p + k + 1, "one too many: (size - 1)*stride - 2*padding + kernel"),
        (lambda s, k, st, p: (s - 1) * st - 2 * p + k - 1, "one too few: (size - 1)*stride - 2*padding + kernel"),
    ):
        if got != truth and got == [formula(*case) for case in cases]:
            raise _Fail(hint)
    for case, g, t in zip(cases, got, truth):
        if g != t:
            raise _Fail(f"conv_transpose_out(size=%d, kernel=%d, stride=%d, padding=%d) returned {g}, "
                        f"nn.ConvTranspose2d gives {t}" % case)


def check_g_block(fn: Callable) -> Callable:
    """Exercise 4.3 (notebooks/04_abstract_art_dcgan.ipynb): g_block(in_ch, out_ch), one DCGAN generator block."""
    return _run("4.3", "g_block", fn, reference_g_block, _check_g_block)


def _check_g_block(fn: Callable) -> None:
    in_ch, out_ch = 6, 3
    torch.manual_seed(43)
    net = _module(_call(fn, in_ch, out_ch, what="g_block(6, 3)"), "g_block(6, 3)")
    leaves = _leaves(net)
    if not any(isinstance(m, nn.ConvTranspose2d) for m in leaves):
        conv = " nn.Conv2d shrinks the image;" if any(isinstance(m, nn.Conv2d) for m in leaves) else ""
        raise _Fail(f"no nn.ConvTranspose2d:{conv} the generator grows the image with "
                    f"nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False)")
    x = torch.randn(2, in_ch, 5, 5)
    norm1d = "images need nn.BatchNorm2d(out_ch)" if any(isinstance(m, nn.BatchNorm1d) for m in leaves) else ""
    out = _tensor(_call(net, x, what="your block, run on (2, 6, 5, 5),", hint=norm1d), "the block's output")
    if out.shape != (2, out_ch, 10, 10):
        raise _Fail(f"from (2, 6, 5, 5) it gives {tuple(out.shape)}, expected (2, 3, 10, 10): kernel_size=4, "
                    f"stride=2, padding=1 doubles the height and width; out_ch channels")
    if any(isinstance(m, nn.ConvTranspose2d) and m.bias is not None for m in leaves):
        raise _Fail("the transposed convolution has a bias: use bias=False, the BatchNorm right after it removes "
                    "any constant shift (and adds its own)")
    if not any(isinstance(m, nn.BatchNorm2d) for m in leaves):
        raise _Fail("no nn.BatchNorm2d(out_ch) after the transposed convolution (DCGAN normalises every hidden "
                    "layer of G)")
    if any(isinstance(m, nn.LeakyReLU) for m in leaves):
        raise _Fail("LeakyReLU is the discriminator's activation; the DCGAN generator uses nn.ReLU(True)")
    if isinstance(net, nn.Sequential) and not any(isinstance(m, _ACTIVATIONS + (nn.ReLU6, nn.ELU, nn.Hardtanh))
                                                  for m in leaves):
        raise _Fail("no activation: end the block with nn.ReLU(True)")
    _sequence(net, [nn.ConvTranspose2d, nn.BatchNorm2d, nn.ReLU], "the block",
              "nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(True)")
    want = in_ch * out_ch * 4 * 4 + 2 * out_ch
    if _n_params(net) != want:
        raise _Fail(f"{_n_params(net)} parameters, expected {want} = 6*3*4*4 (a 4x4 kernel, no bias) + 2*3 "
                    f"(BatchNorm's scale and shift); kernel_size=4")
    conv = next(m for m in leaves if isinstance(m, nn.ConvTranspose2d))
    bn = next((m for m in leaves if isinstance(m, nn.BatchNorm2d)), None)
    with torch.no_grad():  # what the block should compute with its own weights (BatchNorm in training mode)
        y = F.conv_transpose2d(x, conv.weight, None, stride=2, padding=1)
        want_out = F.relu(F.batch_norm(y, None, None, bn.weight if bn is not None else None,
                                       bn.bias if bn is not None else None, training=True, eps=1e-5))
    if not _close(out, want_out, rtol=1e-3, atol=1e-4):
        if bool((out < 0).any()):
            raise _Fail("some outputs are negative: the block must end in its ReLU, ConvTranspose2d -> BatchNorm2d "
                        "-> ReLU")
        raise _Fail("the block's output is not ReLU(BatchNorm(ConvTranspose(x))): something changes it after the ReLU "
                    "(or the layers run in another order); the block is exactly those three layers")
