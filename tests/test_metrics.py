"""labkit.metrics: the formulas on cases with known answers, and the classifier on the bundled subset."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from labkit import load_mnist, metrics
from labkit.classifier import classifier_features, get_classifier


# --- Fréchet distance --------------------------------------------------------------------------------

def test_frechet_distance_of_a_set_with_itself_is_zero():
    feats = torch.randn(300, 16, generator=torch.Generator().manual_seed(0))
    assert metrics.frechet_distance(feats, feats) < 1e-8


def test_frechet_distance_in_1d_is_the_closed_form():
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 2.0, (500, 1)), rng.normal(-0.5, 0.5, (400, 1))
    expected = (a.mean() - b.mean()) ** 2 + (a.std(ddof=1) - b.std(ddof=1)) ** 2  # (mu_a-mu_b)² + (s_a-s_b)²
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_frechet_distance_grows_with_a_shift_and_is_symmetric():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(400, 8, generator=g), torch.randn(400, 8, generator=g)
    d = [metrics.frechet_distance(a, b + s) for s in (0.0, 0.5, 1.0, 2.0)]
    assert d == sorted(d) and d[-1] > 10 * d[0]
    assert metrics.frechet_distance(a, b + 2.0) == pytest.approx(d[-1], rel=1e-6)  # ||shift||² = 8 * 4 dominates
    assert metrics.frechet_distance(b, a) == pytest.approx(metrics.frechet_distance(a, b), rel=1e-6)


def test_frechet_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match="same D"):
        metrics.frechet_distance(torch.zeros(10, 3), torch.zeros(10, 4))


# --- the MNIST classifier and the digit metrics ------------------------------------------------------

@pytest.fixture(scope="module")
def mnist():
    x, y = load_mnist(train=True, source="subset")
    x_test, y_test = load_mnist(train=False, source="subset")
    return x, y, x_test, y_test


@pytest.fixture(scope="module")
def classifier(mnist, tmp_path_factory):
    x, y, x_test, y_test = mnist
    path = tmp_path_factory.mktemp("clf") / "mnist_cnn.pt"
    clf, acc = get_classifier(x, y, x_test, y_test, path=path, num_epochs=2, device="cpu")
    return clf, acc, path


def test_classifier_trains_to_a_sane_accuracy(classifier):
    clf, acc, _ = classifier
    assert acc > 0.88, f"2 epochs on 4,500 digits should reach ~92% test accuracy, got {acc:.3f}"
    assert classifier_features(clf, torch.zeros(3, 1, 28, 28)).shape == (3, 128)


def test_classifier_is_cached_and_keyed_on_the_data(mnist, classifier):
    x, y, x_test, y_test = mnist
    clf, acc, path = classifier
    rng_before = torch.get_rng_state()
    again, acc_again = get_classifier(x, y, x_test, y_test, path=path, num_epochs=2, device="cpu")
    assert torch.equal(torch.get_rng_state(), rng_before), "loading the classifier must not touch the global RNG"
    assert acc_again == acc
    assert all(torch.equal(p, q) for p, q in zip(clf.parameters(), again.parameters()))
    # other training data -> another key -> the stale checkpoint at `path` is not reused
    other, _ = get_classifier(x[:300], y[:300], x_test, y_test, path=path, num_epochs=1, device="cpu")
    assert not torch.equal(other.head.weight, clf.head.weight)


def test_training_the_classifier_leaves_the_global_rng_alone(mnist, tmp_path):
    x, y, x_test, y_test = mnist
    torch.manual_seed(123)
    get_classifier(x[:200], y[:200], x_test, y_test, path=tmp_path / "c.pt", num_epochs=1, device="cpu")
    after = torch.rand(3)
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), after)


def test_classifier_fid_sanity(mnist, classifier):
    x, _, x_test, _ = mnist
    clf = classifier[0]
    train = x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:500]]
    noise = torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert metrics.classifier_fid(clf, x_test, x_test) < 1e-6
    real = metrics.classifier_fid(clf, train, x_test)
    shifted = [metrics.classifier_fid(clf, (x_test + s).clamp(0, 1), x_test) for s in (0.1, 0.3, 0.6)]
    assert shifted == sorted(shifted) and shifted[0] > 0
    assert real < 0.1 * metrics.classifier_fid(clf, noise, x_test)


def test_digit_metrics_ask_for_unit_range_images(classifier):
    with pytest.raises(ValueError, match="from_gan_range"):
        classifier_features(classifier[0], torch.full((2, 1, 28, 28), -1.0))


def test_mode_coverage_of_real_digits(mnist, classifier):
    _, _, x_test, y_test = mnist
    clf = classifier[0]
    cov = metrics.mode_coverage(clf, x_test)
    assert cov["classes_covered"] == 10 and cov["entropy"] > 3.2 and cov["largest_share"] < 0.15
    ones = metrics.mode_coverage(clf, x_test[y_test == 1])
    assert ones["largest_share"] > 0.9 and np.argmax(ones["counts"]) == 1


class _PixelCodeClassifier(nn.Module):
    """A stand-in classifier: the predicted class is the brightest of the first 10 pixels of row 0."""

    def forward(self, x):
        return x[:, 0, 0, :10]


def _coded_digits(labels):
    x = torch.zeros(len(labels), 1, 28, 28)
    x[torch.arange(len(labels)), 0, 0, torch.as_tensor(labels)] = 1.0
    return x


def test_mode_coverage_of_a_one_class_set_is_one_tenth():
    cov = metrics.mode_coverage(_PixelCodeClassifier(), _coded_digits([3] * 50))
    assert cov["classes_covered"] == 1 and cov["coverage"] == pytest.approx(0.1)
    assert cov["entropy"] == 0.0 and cov["largest_share"] == 1.0 and cov["counts"][3] == 50


def test_mode_coverage_of_a_uniform_set_has_maximal_entropy():
    cov = metrics.mode_coverage(_PixelCodeClassifier(), _coded_digits(list(range(10)) * 7))
    assert cov["coverage"] == 1.0 and cov["entropy"] == pytest.approx(math.log2(10))
    assert sum(cov["shares"]) == pytest.approx(1.0) and cov["largest_share"] == pytest.approx(0.1)


def test_mode_coverage_ignores_stray_predictions_below_min_share():
    cov = metrics.mode_coverage(_PixelCodeClassifier(), _coded_digits([3] * 199 + [7]))
    assert cov["classes_covered"] == 1 and cov["counts"][7] == 1


# --- sliced Wasserstein distance ---------------------------------------------------------------------

def _art(n, seed):
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(n, 3, 1, 1, generator=g) * 2 - 1  # one colour per image
    return (base + 0.1 * torch.randn(n, 3, 32, 32, generator=g)).clamp(-1, 1)


def test_swd_is_zero_for_identical_sets_and_symmetric():
    a, b = _art(64, 0), _art(80, 1)
    kw = dict(num_patches=1024, num_projections=64)
    assert metrics.sliced_wasserstein(a, a, **kw) == 0.0
    assert metrics.sliced_wasserstein(a, b, **kw) == metrics.sliced_wasserstein(b, a, **kw)


def test_swd_separates_real_from_noise_and_grows_with_a_shift():
    a, b = _art(128, 0), _art(128, 1)
    noise = torch.rand(128, 3, 32, 32, generator=torch.Generator().manual_seed(2)) * 2 - 1
    kw = dict(num_patches=2048, num_projections=64)
    real = metrics.sliced_wasserstein(a, b, **kw)
    assert real < 0.5 * metrics.sliced_wasserstein(a, noise, **kw)
    shifted = [metrics.sliced_wasserstein(a, (a + s).clamp(-1, 1), **kw) for s in (0.1, 0.3, 0.6)]
    assert shifted == sorted(shifted) and shifted[0] > 0


@settings(max_examples=15, deadline=None, database=None)
@given(seed=st.integers(0, 2 ** 16), n=st.integers(2, 24), side=st.sampled_from([16, 24, 32]),
       ties=st.booleans())
def test_swd_is_the_torch_sort_formula_to_the_bit(seed, n, side, ties):
    """sliced_wasserstein sorts with NumPy for speed; sorting is exact, so every level's distance is the number the
    formula gives with torch.sort, ties included (quantised images: many equal projections)."""
    from labkit import swd

    g = torch.Generator().manual_seed(seed)
    a, b = (torch.rand(n, 3, side, side, generator=g) * 2 - 1 for _ in range(2))
    if ties:
        a, b = (torch.round(x * 2) / 2 for x in (a, b))  # five grey levels: equal projections everywhere
    kw = dict(num_patches=512, num_projections=16, seed=seed)
    got = swd.sliced_wasserstein(a, b, return_levels=True, **kw)["levels"]
    pyr_a, pyr_b = swd.laplacian_pyramid(a), swd.laplacian_pyramid(b)
    for i, (la, lb) in enumerate(zip(pyr_a, pyr_b)):
        da = swd._patches(la, patch_size=7, num=512, seed=seed + i)
        db = swd._patches(lb, patch_size=7, num=512, seed=seed + i)
        mean = (da.mean(0) + db.mean(0)) / 2
        std = ((da.pow(2).mean(0) + db.pow(2).mean(0)) / 2 - mean.pow(2)).clamp_min(0).sqrt().clamp_min(1e-8)
        dirs = torch.randn(da.shape[1], 16, generator=torch.Generator().manual_seed(seed + 1000 + i))
        dirs = dirs / dirs.norm(dim=0, keepdim=True)
        pa, _ = (((da - mean) / std) @ dirs).sort(dim=0)
        pb, _ = (((db - mean) / std) @ dirs).sort(dim=0)
        assert got[la.shape[-1]] == (pa - pb).abs().mean().item()


def test_swd_levels_follow_the_pyramid():
    out = metrics.sliced_wasserstein(_art(16, 0), _art(16, 1), num_patches=256, num_projections=16,
                                     return_levels=True)
    assert list(out["levels"]) == [32, 16] and out["mean"] == pytest.approx(np.mean(list(out["levels"].values())))
    with pytest.raises(ValueError, match="same image shape"):
        metrics.sliced_wasserstein(_art(4, 0), torch.zeros(4, 1, 32, 32))


def test_laplacian_pyramid_reconstructs_the_image():
    x = _art(2, 0)
    levels = metrics.laplacian_pyramid(x, min_size=8)
    assert [lvl.shape[-1] for lvl in levels] == [32, 16, 8]
    rec = levels[-1]
    for lvl in reversed(levels[:-1]):
        rec = lvl + nn.functional.interpolate(rec, size=lvl.shape[-2:], mode="bilinear", align_corners=False)
    assert torch.allclose(rec, x, atol=1e-5)


# --- reconstruction, ELBO --------------------------------------------------------------------------

class _Codes(nn.Module):
    """An autoencoder-family toy: embed = flatten (times w), decode = unflatten (times `scale`)."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.w, self.scale = nn.Parameter(torch.ones(())), scale

    def embed(self, x):
        return x.flatten(1) * self.w

    def decode(self, z):
        return (z * self.scale).view(len(z), 1, 28, 28)


def test_reconstruction_error():
    x = torch.rand(10, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert metrics.reconstruction_error(_Codes(), x) == 0.0
    assert metrics.reconstruction_error(_Codes(0.0), x, batch_size=3) == pytest.approx(x.pow(2).mean().item(), rel=1e-5)
    vae_mod = pytest.importorskip("labkit.models.vae")
    torch.manual_seed(0)
    vae = vae_mod.VAE(vae_mod.VAEConfig()).eval()
    with torch.no_grad():
        expected = (vae.decode(vae.encode(x)[0]) - x).pow(2).mean().item()  # decode(mu), not a random z
    assert metrics.reconstruction_error(vae, x) == pytest.approx(expected, rel=1e-5)
    assert metrics.reconstruction_error(vae, x) == metrics.reconstruction_error(vae, x)


def test_vae_elbo_is_minus_recon_plus_kl_and_reproducible():
    vae_mod = pytest.importorskip("labkit.models.vae")
    torch.manual_seed(0)
    model = vae_mod.VAE(vae_mod.VAEConfig())
    x = torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    rng_before = torch.get_rng_state()
    out = metrics.vae_elbo(model, x, batch_size=16)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert out["elbo"] == pytest.approx(-(out["recon"] + out["kl"]))
    assert out["kl"] >= 0 and out["recon"] > 0
    assert metrics.vae_elbo(model, x, batch_size=16) == out  # same seed, same z


# --- distances, latent smoothness, stability ---------------------------------------------------------

def test_mean_pairwise_distance():
    x = torch.zeros(3, 1, 2, 2)
    x[1, 0, 0, 0] = 3.0  # d(0,1) = 3, d(0,2) = 0, d(1,2) = 3
    assert metrics.mean_pairwise_distance(x) == pytest.approx(2.0)
    assert metrics.mean_pairwise_distance(torch.ones(5, 1, 4, 4)) == 0.0


def test_nearest_neighbours_finds_copies():
    refs = torch.rand(50, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    pick = torch.tensor([7, 3, 42])
    dists, idx = metrics.nearest_neighbours(refs[pick], refs, batch_size=2)
    assert torch.equal(idx, pick) and torch.allclose(dists, torch.zeros(3), atol=1e-3)
    dists, idx = metrics.nearest_neighbours(refs[pick] + 0.01, refs, k=3)
    assert idx.shape == (3, 3) and torch.equal(idx[:, 0], pick) and bool((dists[:, 1:] >= dists[:, :1]).all())


def test_latent_smoothness_even_versus_jumpy_decoders():
    z_a, z_b = torch.zeros(4, 2), torch.ones(4, 2)
    linear = metrics.latent_smoothness(lambda z: z.sum(1).view(-1, 1, 1, 1).expand(-1, 1, 4, 4), z_a, z_b, steps=8)
    assert linear["variation"] == pytest.approx(0.0, abs=1e-5)
    assert linear["step_change"] == pytest.approx(2 / 8)  # the image goes 0 -> 2 in 8 equal steps
    assert linear["per_unit_latent"] == pytest.approx((2 / 8) / (math.sqrt(2) / 8))
    step = metrics.latent_smoothness(lambda z: (z.sum(1) > 1).float().view(-1, 1, 1, 1), z_a, z_b, steps=8)
    assert step["variation"] > 2.0  # all the change happens in one of the 8 steps


def test_loss_stability():
    out = metrics.loss_stability({"Loss_D": [9.0, 9.0, 1.0, 2.0, 3.0]}, "Loss_D", last=3)
    assert out["mean"] == pytest.approx(2.0) and out["std"] == pytest.approx(1.0) and out["var"] == pytest.approx(1.0)
    assert out["rel_std"] == pytest.approx(0.5)
    assert out["wobble"] == pytest.approx(0.0, abs=1e-9)  # 1, 2, 3 is a straight line: a trend, no wobble
    zigzag = metrics.loss_stability({"Loss_G": [1.0, 3.0, 1.0, 3.0, 1.0]}, "Loss_G")
    assert zigzag["wobble"] > 0.5
    with pytest.raises(KeyError, match="Loss_G"):
        metrics.loss_stability({"Loss_D": [1.0, 2.0, 3.0]}, "Loss_G")


def test_count_parameters():
    assert metrics.count_parameters(nn.Linear(3, 2)) == 8
