"""The DCGAN of notebook 04: architecture as specified, DCGAN initialisation, training steps, CUDA-only flags."""
from operator import itemgetter

import pytest
from hypothesis import given, settings, strategies as st
import torch
from torch import nn

from labkit import registry
from labkit.config import use_cuda_speedups
from labkit.models.dcgan import (DCGANConfig, Discriminator, Generator, build_dcgan, layer_shapes,
                                 weights_init)
from labkit.train import GANStep, d_step, fit_gan, g_step, sample_grids


def n_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(0)
    return build_dcgan(DCGANConfig(), "cpu")


def test_parameter_counts_match_the_paper_architecture(nets):
    net_G, net_D = nets
    assert n_params(net_G) == 3_576_704
    assert n_params(net_D) == 2_765_568
    assert all(m.bias is None for m in (*net_G.modules(), *net_D.modules()) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))


def test_output_shapes_and_ranges(nets):
    net_G, net_D = nets
    z = torch.randn(4, 100, 1, 1)
    with torch.no_grad():
        x = net_G(z)
        p = net_D(x)
    assert x.shape == (4, 3, 64, 64)
    assert x.min() >= -1 and x.max() <= 1 and x.std() > 0  # Tanh output, not constant
    assert p.shape == (4,)
    assert ((p > 0) & (p < 1)).all()  # Sigmoid probabilities


def test_layer_shapes_follow_the_spec(nets):
    net_G, net_D = nets
    g_convs = [shape for name, shape, _ in layer_shapes(net_G, torch.randn(2, 100, 1, 1)) if "Conv" in name]
    d_convs = [shape for name, shape, _ in layer_shapes(net_D, torch.randn(2, 3, 64, 64)) if "Conv" in name]
    assert g_convs == [(512, 4, 4), (256, 8, 8), (128, 16, 16), (64, 32, 32), (3, 64, 64)]
    assert d_convs == [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4), (1, 1, 1)]
    rows = layer_shapes(net_D, torch.randn(2, 3, 64, 64))
    assert rows[-1][0] == "Sigmoid"
    assert sum(n for _, _, n in rows) == n_params(net_D)
    assert [type(m) for m in net_D.main[:3]] == [nn.Conv2d, nn.LeakyReLU, nn.Conv2d]  # no BatchNorm on D's input
    assert net_D.main[1].negative_slope == 0.2


def test_layer_shapes_leaves_batchnorm_statistics_alone(nets):
    net_G, _ = nets
    before = net_G.main[1].running_mean.clone()
    layer_shapes(net_G, torch.randn(2, 100, 1, 1))
    assert torch.equal(net_G.main[1].running_mean, before)
    assert net_G.training


def test_weights_init_statistics():
    torch.manual_seed(0)
    net_G, net_D = Generator(DCGANConfig()), Discriminator(DCGANConfig())
    net_G.apply(weights_init)
    net_D.apply(weights_init)
    conv = torch.cat([m.weight.flatten() for net in (net_G, net_D) for m in net.modules()
                      if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))])
    bn_w = torch.cat([m.weight for net in (net_G, net_D) for m in net.modules() if isinstance(m, nn.BatchNorm2d)])
    bn_b = torch.cat([m.bias for net in (net_G, net_D) for m in net.modules() if isinstance(m, nn.BatchNorm2d)])
    assert abs(conv.mean().item()) < 1e-3  # 6.3 M draws: the sample mean is within ~1e-5 of 0
    assert conv.std().item() == pytest.approx(0.02, rel=0.01)
    assert bn_w.mean().item() == pytest.approx(1.0, abs=0.005)  # 3,712 draws
    assert bn_w.std().item() == pytest.approx(0.02, rel=0.1)
    assert torch.all(bn_b == 0)


def test_weights_init_zeroes_biases_when_a_layer_has_them():
    conv = nn.Conv2d(3, 8, 4)
    weights_init(conv)
    assert torch.all(conv.bias == 0)
    assert conv.weight.std().item() == pytest.approx(0.02, rel=0.2)


def test_one_step_changes_both_networks():
    torch.manual_seed(0)
    cfg = DCGANConfig()
    net_G, net_D = build_dcgan(cfg, "cpu")
    opt_G, opt_D = itemgetter("opt_G", "opt_D")(registry.optimizers(cfg, {"net_G": net_G, "net_D": net_D}))
    assert opt_G.param_groups[0]["lr"] == 2e-4 and opt_G.param_groups[0]["betas"] == (0.5, 0.999)
    G0 = [p.detach().clone() for p in net_G.parameters()]
    D0 = [p.detach().clone() for p in net_D.parameters()]
    x = torch.rand(8, 3, 64, 64) * 2 - 1
    fake = net_G(torch.randn(8, 100, 1, 1))

    loss_D, D_x, D_G_z1 = d_step(x, fake, net_D, opt_D)
    assert torch.isfinite(loss_D) and 0 < D_x < 1 and 0 < D_G_z1 < 1
    assert all(torch.equal(a, b) for a, b in zip(G0, net_G.parameters()))  # D's step leaves G alone
    assert all(not torch.equal(a, b) for a, b in zip(D0, net_D.parameters()))  # ... and moves every D tensor

    D1 = [p.detach().clone() for p in net_D.parameters()]
    loss_G, D_G_z2 = g_step(fake, net_D, opt_G)
    assert torch.isfinite(loss_G) and 0 < D_G_z2 < 1
    assert all(not torch.equal(a, b) for a, b in zip(G0, net_G.parameters()))  # G's step moves every G tensor
    assert all(torch.equal(a, b) for a, b in zip(D1, net_D.parameters()))  # ... and leaves D alone


def test_fit_gan_trains_the_dcgan_for_an_epoch():
    torch.manual_seed(0)
    cfg = DCGANConfig(batch_size=4)
    net_G, net_D = build_dcgan(cfg, "cpu")
    opt_G, opt_D = itemgetter("opt_G", "opt_D")(registry.optimizers(cfg, {"net_G": net_G, "net_D": net_D}))
    fixed_noise = torch.randn(3, cfg.latent_dim, 1, 1)
    history = fit_gan(net_G, net_D, torch.rand(12, 3, 64, 64) * 2 - 1, opt_G=opt_G, opt_D=opt_D, num_epochs=1,
                      batch_size=4, callbacks=[sample_grids(net_G, fixed_noise)], log=None,
                      max_batches=2)
    assert len(history["Loss_D"]) == 1 and history["samples"][0].shape == (3, 3, 64, 64)


def test_cuda_only_flags_are_off_on_cpu():
    cpu = torch.device("cpu")
    cfg = DCGANConfig()
    assert cfg.amp is None and cfg.channels_last is None  # "auto" by default
    assert not use_cuda_speedups(None, cpu)
    assert not use_cuda_speedups(True, cpu)  # asked for, but CPU stays plain float32
    assert use_cuda_speedups(None, "cuda") and use_cuda_speedups(True, "cuda:0")
    assert not use_cuda_speedups(False, "cuda")
    net_G, net_D = build_dcgan(DCGANConfig(channels_last=True), cpu)
    for net in (net_G, net_D):
        for p in net.parameters():
            assert p.is_contiguous() and p.dtype == torch.float32
    w = net_D.main[2].weight  # (128, 64, 4, 4): its NCHW and NHWC strides differ
    assert not w.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_defaults_to_channels_last_and_mixed_precision():
    torch.manual_seed(0)
    cfg = DCGANConfig(batch_size=8)
    net_G, net_D = build_dcgan(cfg, "cuda")
    assert net_D.main[2].weight.is_contiguous(memory_format=torch.channels_last)
    opt_G, opt_D = itemgetter("opt_G", "opt_D")(registry.optimizers(cfg, {"net_G": net_G, "net_D": net_D}))
    history = fit_gan(net_G, net_D, torch.rand(16, 3, 64, 64) * 2 - 1, opt_G=opt_G, opt_D=opt_D, num_epochs=1,
                      batch_size=8, log=None, step=GANStep(amp=use_cuda_speedups(cfg.amp, "cuda")))
    assert all(torch.isfinite(torch.tensor(history[k])).all() for k in ("Loss_D", "Loss_G"))
    with torch.autocast("cuda"):
        assert net_G(torch.randn(2, cfg.latent_dim, 1, 1, device="cuda")).dtype == torch.float16
        assert net_D(torch.zeros(2, 3, 64, 64, device="cuda")).dtype == torch.float32  # D(x) kept in float32


def test_gan_balance_reads_who_is_winning():
    from labkit.metrics import gan_balance

    def history(d_x, d_g_z):
        return {"D_x": d_x, "D_G_z1": d_g_z, "Loss_D": [0.5] * len(d_x), "Loss_G": [1.0] * len(d_x)}

    assert gan_balance(history([0.6, 0.95, 0.97, 0.96], [0.3, 0.05, 0.04, 0.02]))["verdict"] == "D dominates"
    assert gan_balance(history([0.7] * 4, [0.3] * 4))["verdict"] == "balanced"
    assert gan_balance(history([0.7, 0.4], [0.3, 0.6]), last=1)["verdict"] == "G fools D"
    out = gan_balance(history([0.0] * 6 + [0.8, 0.6], [0.2] * 8))  # last quarter = the last 2 epochs
    assert out["epochs"] == 2 and out["D_x"] == pytest.approx(0.7)
    with pytest.raises(ValueError, match="no epochs"):
        gan_balance({"D_x": []})


def test_stage_epochs_are_distinct_increasing_and_end_on_the_last():
    from labkit.plots import stage_epochs

    assert stage_epochs(100) == [1, 10, 25, 50, 100]
    assert stage_epochs(10) == [1, 2, 3, 5, 10]
    assert stage_epochs(3) == [1, 2, 3]
    assert stage_epochs(1) == [1]
    for n in range(1, 40):
        e = stage_epochs(n)
        assert e == sorted(set(e)) and e[-1] == n and e[0] == 1 and len(e) == min(n, 5)


def test_epoch_grid_slider_steps_over_every_saved_grid():
    pytest.importorskip("ipywidgets")
    import matplotlib

    matplotlib.use("Agg")
    from labkit.plots import show_epoch_grids
    from labkit.widgets import epoch_grid_slider

    samples = [torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8) for _ in range(3)]
    slider, image = epoch_grid_slider(samples).children
    assert (slider.min, slider.max, slider.value) == (1, 3, 3)
    last = bytes(image.value)
    assert last.startswith(b"\x89PNG")
    slider.value = 1  # moving the slider redraws the picture
    assert bytes(image.value) != last and bytes(image.value).startswith(b"\x89PNG")
    fig = show_epoch_grids(samples, [1, 3], titles=["early", "final"], num_images=4, nrow=2)
    assert [ax.get_title() for ax in fig.axes] == ["early\nepoch 1", "final\nepoch 3"]
    with pytest.raises(ValueError, match="no sample grids"):
        epoch_grid_slider([])


@settings(max_examples=40, deadline=None, database=None)
@given(shape=st.tuples(st.integers(1, 4), st.integers(1, 5), st.integers(1, 9), st.integers(1, 9)),
       channels_last=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_nearest_upsample_is_pytorchs_upsample(shape, channels_last, seed):
    """NearestUpsample (the resize generator's) gives nn.Upsample(scale_factor=2)'s numbers in either layout, keeps a
    channels-last input channels-last, and passes back the same gradient (each input pixel: its 2x2 block's sum):
    a resize run trains to the same numbers with either module."""
    from labkit.models.dcgan import NearestUpsample

    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    y, y_ref = NearestUpsample()(ours), nn.Upsample(scale_factor=2, mode="nearest")(theirs)
    assert torch.equal(y, y_ref) and y.shape == (shape[0], shape[1], 2 * shape[2], 2 * shape[3])
    assert y.is_contiguous(memory_format=torch.channels_last) == y_ref.is_contiguous(memory_format=torch.channels_last)
    g = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed + 1))
    y.backward(g), y_ref.backward(g)
    assert torch.equal(ours.grad, theirs.grad)


def test_resize_generator_uses_nearest_upsample_and_keeps_its_state_dict():
    """The resize generator's upsampling layers are NearestUpsample (no parameters), so a state dict saved with
    nn.Upsample in their place (weights/dcgan_augment_ema) loads unchanged; bilinear keeps PyTorch's module."""
    from labkit.models.dcgan import NearestUpsample

    resize = Generator(DCGANConfig(upsample="resize"))
    assert sum(isinstance(m, NearestUpsample) for m in resize.modules()) == 4
    bilinear = Generator(DCGANConfig(upsample="bilinear"))
    assert not any(isinstance(m, NearestUpsample) for m in bilinear.modules())
    assert list(resize.state_dict()) == list(bilinear.state_dict())
