"""DiffAugment and ADA (labkit/models/augment.py, DCGANConfig.augment and ada_target): each transformation does what it says on random shapes,
gradients pass through to G, and D augments in training passes only."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.models.augment import POLICIES, adapt_probability, color, cutout, diff_augment, translation
from labkit.models.dcgan import DCGANConfig, build_dcgan

shapes = st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(2, 20), st.integers(2, 20))


def _shifted(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """x (C, H, W) moved dy rows and dx columns (output[i, j] = x[i + dy, j + dx]), zeros where nothing is."""
    C, H, W = x.shape
    out = torch.zeros_like(x)
    for i in range(H):
        for j in range(W):
            if 0 <= i + dy < H and 0 <= j + dx < W:
                out[:, i, j] = x[:, i + dy, j + dx]
    return out


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_translation_moves_each_image_by_whole_pixels_within_the_ratio(shape, seed):
    torch.manual_seed(seed)
    x = torch.rand(shape) + 1  # no zeros in the image, so the filled-in border is recognisable
    out = translation(x)
    B, _, H, W = shape
    sh, sw = int(H * 0.125 + 0.5), int(W * 0.125 + 0.5)
    for b in range(B):
        assert any(torch.equal(out[b], _shifted(x[b], dy, dx))
                   for dy in range(-sh, sh + 1) for dx in range(-sw, sw + 1)), f"image {b} is not a shift of its input"


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_cutout_zeroes_one_square_block_and_keeps_the_rest(shape, seed):
    torch.manual_seed(seed)
    x = torch.rand(shape) + 1
    out = cutout(x)
    B, C, H, W = shape
    ch, cw = int(H * 0.5 + 0.5), int(W * 0.5 + 0.5)
    for b in range(B):
        zero = out[b] == 0
        assert torch.equal(zero, zero[:1].expand(C, H, W)), "every channel is cut at the same pixels"
        kept = ~zero[0]
        assert torch.equal(out[b][:, kept], x[b][:, kept]), "pixels outside the block are untouched"
        rows, cols = torch.nonzero(zero[0], as_tuple=True)
        assert len(rows) > 0, "a block is cut from every image"
        assert rows.max() - rows.min() + 1 <= ch and cols.max() - cols.min() + 1 <= cw
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1), "the cut is one rectangle"


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2**16))
def test_color_is_one_affine_change_per_image(shape, seed):
    """Brightness, saturation and contrast are each affine in an image's pixels: with the same random draws, the
    average of two images comes out as the average of their outputs."""
    x1, x2 = torch.rand(shape) * 2 - 1, torch.rand(shape) * 2 - 1
    outs = []
    for x in (x1, x2, (x1 + x2) / 2):
        torch.manual_seed(seed)
        outs.append(color(x))
    assert outs[0].shape == x1.shape
    assert torch.allclose(outs[2], (outs[0] + outs[1]) / 2, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, value=st.floats(-1, 1), seed=st.integers(0, 2**16))
def test_color_moves_a_grey_image_by_its_brightness_only(shape, value, seed):
    """On a uniform grey image saturation and contrast have nothing to act on: what is left is the brightness shift,
    at most 0.5 either way, the same at every pixel."""
    torch.manual_seed(seed)
    out = color(torch.full(shape, value))
    shift = out - value
    assert torch.allclose(shift, shift[:, :1, :1, :1].expand_as(shift), atol=1e-6)
    assert shift.abs().max() <= 0.5 + 1e-6


@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_keeps_the_shape_and_passes_gradients(policy):
    torch.manual_seed(0)
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    out = diff_augment(x, policy)
    assert out.shape == x.shape
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_none_is_the_identity():
    x = torch.randn(2, 3, 8, 8)
    assert diff_augment(x, "none") is x


def test_the_discriminator_augments_in_training_only():
    torch.manual_seed(0)
    _, net_D = build_dcgan(DCGANConfig(augment="translation,cutout"))
    plain = build_dcgan(DCGANConfig())[1]
    plain.load_state_dict(net_D.state_dict())
    x = torch.rand(8, 3, 64, 64) * 2 - 1
    net_D.eval(), plain.eval()
    with torch.no_grad():
        assert torch.equal(net_D(x), plain(x)), "evaluation sees the images as they are"
        net_D.train(), plain.train()
        torch.manual_seed(1)
        augmented = net_D(x)
        torch.manual_seed(1)
        assert not torch.equal(augmented, plain(x)), "a training pass sees augmented images"


def test_the_default_is_the_papers_discriminator():
    assert DCGANConfig().augment == "none"
    with pytest.raises(ValueError, match="augment"):
        DCGANConfig(augment="rotation")


# ADA: the same transformations, each applied with a probability p that follows D's lead (DCGANConfig.ada_target)

@settings(max_examples=40, deadline=None)
@given(p=st.floats(0, 1), d_x=st.floats(0, 1), target=st.floats(0.01, 0.99))
def test_adapt_probability_moves_p_one_step_towards_holding_d_at_the_target(p, d_x, target):
    new = adapt_probability(p, d_x, target)
    assert 0 <= new <= 1
    if d_x > target:  # D ahead of its target: more augmentation
        assert new == pytest.approx(min(1.0, p + 0.05))
    else:
        assert new == pytest.approx(max(0.0, p - 0.05))


@settings(max_examples=20, deadline=None)
@given(p=st.floats(0.05, 0.95), seed=st.integers(0, 2**16))
def test_each_image_is_transformed_with_probability_p(p, seed):
    torch.manual_seed(seed)
    x = torch.rand(2000, 1, 4, 4) + 1  # no zeros: any cutout shows
    out = diff_augment(x, "cutout", torch.tensor(p))
    changed = (out != x).flatten(1).any(1).float()
    kept = ~changed.bool()
    assert torch.equal(out[kept], x[kept])  # an image not drawn is passed through untouched
    assert abs(changed.mean().item() - p) < 0.05  # 2,000 draws: 4.5 standard deviations at p = 0.5
    assert torch.equal(diff_augment(x, "translation,cutout", torch.tensor(0.0)), x)


def test_ada_needs_transformations_and_a_target_between_0_and_1():
    for bad in (dict(ada_target=0.6), dict(augment="translation,cutout", ada_target=1.0),
                dict(augment="translation,cutout", ada_target=-0.1)):
        with pytest.raises(ValueError, match="ada_target"):
            DCGANConfig(**bad)
    assert "augment_p" not in build_dcgan(DCGANConfig(augment="translation,cutout"))[1].state_dict()


def test_a_run_with_ada_moves_p_after_every_epoch_keeps_it_in_the_checkpoint_and_resumes_it(tmp_path):
    from labkit.checkpoint import load_checkpoint, prepare_out
    from labkit.config import get_profile
    from labkit.run import train_model

    cfg = DCGANConfig(augment="translation,cutout", ada_target=0.01, ngf=4, ndf=4, latent_dim=8)  # D(x) above
    # 0.01 from the start: p rises every epoch

    def train(out, epochs, resume=False):
        return train_model("dcgan", out=out, profile=get_profile("quick"), device=torch.device("cpu"), epochs=epochs,
                           max_batches=2, progress=False, resume=resume, cfg=cfg)
    whole = prepare_out(tmp_path / "whole")
    nets, history = train(whole, 3)
    assert history["augment_p"] == pytest.approx([0.05, 0.10, 0.15])
    assert float(nets["net_D"].augment_p) == pytest.approx(0.15)
    assert float(load_checkpoint(whole / "dcgan.pt")["nets"]["net_D"]["augment_p"]) == pytest.approx(0.15)
    broken = prepare_out(tmp_path / "broken")
    train(broken, 2)
    nets, history = train(broken, 3, resume=True)
    assert history["augment_p"] == pytest.approx([0.05, 0.10, 0.15])
