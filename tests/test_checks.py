"""labkit.exercises.checks: every check passes labkit's reference, names the mistake in realistic wrong answers, says
"not done yet" for a stub, survives garbage, and leaves the caller's random state alone."""
import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from labkit.exercises import checks
from labkit.exercises.checks import EXERCISES

# --- labkit's reference for each exercise, called the way the notebook calls it ------------------------------


def _references():
    from labkit.exercises.references import answers

    return answers()


def _run(exercise, fn, capsys):
    """(the one printed line, what the check returned)."""
    returned = exercise.check(fn)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1, lines
    return lines[0], returned


BY_NAME = {ex.name: ex for ex in EXERCISES}


def test_the_table_has_enough_exercises_in_every_teaching_notebook():
    assert len(EXERCISES) >= 11
    assert len({ex.id for ex in EXERCISES}) == len(EXERCISES)
    for notebook in ("01_autoencoder", "02_vae", "03_mnist_gan", "04_abstract_art_dcgan", "06_extensions"):
        ids = [ex.id for ex in EXERCISES if ex.notebook == notebook]
        assert 2 <= len(ids) <= 4 and all(i.startswith(notebook[1] + ".") for i in ids)
    assert set(_references()) == set(BY_NAME)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda ex: f"{ex.id}-{ex.name}")
def test_the_reference_passes_and_is_returned(exercise, capsys):
    fn = _references()[exercise.name]
    line, returned = _run(exercise, fn, capsys)
    assert line == f"exercise {exercise.id} {exercise.name}: PASS"
    assert returned is fn


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda ex: f"{ex.id}-{ex.name}")
def test_a_stub_is_not_done_yet_and_gets_the_reference(exercise, capsys):
    def stub(*args):
        raise NotImplementedError(f"exercise {exercise.id}: write it")

    line, returned = _run(exercise, stub, capsys)
    assert line == f"exercise {exercise.id} {exercise.name}: not done yet; using labkit's reference so you can go on"
    assert returned is not stub and callable(returned)
    # the reference it returns is labkit's, and passes its own check
    assert _run(exercise, returned, capsys)[0].endswith(": PASS")


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda ex: f"{ex.id}-{ex.name}")
def test_checks_keep_the_callers_random_state(exercise, capsys):
    torch.manual_seed(123)
    random.seed(7)
    np = pytest.importorskip("numpy")
    np.random.seed(5)
    torch_state, py_state, np_state = torch.random.get_rng_state(), random.getstate(), np.random.get_state()

    def draws_everywhere(*args):
        torch.randn(3), random.random(), np.random.rand()
        return _references()[exercise.name](*args)

    _run(exercise, draws_everywhere, capsys)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert random.getstate() == py_state
    assert all((a == b).all() if hasattr(a, "all") else a == b for a, b in zip(np.random.get_state(), np_state))


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda ex: f"{ex.id}-{ex.name}")
@pytest.mark.parametrize("garbage, says", [
    (lambda *a: None, "None"),
    (lambda *a: "hello", "str"),
    (lambda *a: (torch.zeros(2), torch.zeros(3)), "tuple of 2"),
    (lambda *a: torch.zeros(7, 7), "shape"),
    (lambda *a: 1 / 0, "ZeroDivisionError: division by zero"),
])
def test_garbage_fails_in_one_line_without_crashing(exercise, garbage, says, capsys):
    line, returned = _run(exercise, garbage, capsys)
    assert line.startswith(f"exercise {exercise.id} {exercise.name}: FAIL - ")
    assert returned is not garbage and callable(returned)
    if exercise.name not in ("weights_init", "d_step"):  # these are judged by what they do to the networks first
        assert says in line or "could not use" in line or "expected" in line, line


def test_a_value_that_is_not_a_function_fails(capsys):
    line, returned = _run(BY_NAME["kl_divergence"], None, capsys)
    assert "FAIL - expected a function, got None" in line and callable(returned)


# --- realistic wrong answers: each must FAIL with the hint that teaches the fix ----------------------------------

def _vae_kl(mu, logvar):
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)


def _net(layers):
    """make_encoder / make_decoder returning nn.Sequential(*layers(latent_dim))."""
    return lambda latent_dim: nn.Sequential(*layers(latent_dim))


def _d_step_without_detach(x, fake, net_D, opt_D):
    from labkit.models.gan import discriminator_loss
    opt_D.zero_grad()
    d_real, d_fake = net_D(x), net_D(fake)  # no detach
    loss = discriminator_loss(d_real, d_fake)
    loss.backward()
    opt_D.step()
    return loss.detach(), d_real.detach().mean(), d_fake.detach().mean()


def _d_step_without_zero_grad(x, fake, net_D, opt_D):
    from labkit.models.gan import discriminator_loss
    d_real, d_fake = net_D(x), net_D(fake.detach())
    loss = discriminator_loss(d_real, d_fake)
    loss.backward()
    opt_D.step()
    return loss.detach(), d_real.detach().mean(), d_fake.detach().mean()


def _d_step_without_step(x, fake, net_D, opt_D):
    from labkit.models.gan import discriminator_loss
    opt_D.zero_grad()
    d_real, d_fake = net_D(x), net_D(fake.detach())
    loss = discriminator_loss(d_real, d_fake)
    loss.backward()
    return loss.detach(), d_real.detach().mean(), d_fake.detach().mean()


def _d_step_with_swapped_labels(x, fake, net_D, opt_D):
    opt_D.zero_grad()
    d_real, d_fake = net_D(x), net_D(fake.detach())
    loss = (F.binary_cross_entropy(d_real, torch.zeros_like(d_real)) +
            F.binary_cross_entropy(d_fake, torch.ones_like(d_fake))) / 2
    loss.backward()
    opt_D.step()
    return loss.detach(), d_real.detach().mean(), d_fake.detach().mean()


def _d_step_measuring_after(x, fake, net_D, opt_D):
    from labkit.models.gan import discriminator_loss
    opt_D.zero_grad()
    loss = discriminator_loss(net_D(x), net_D(fake.detach()))
    loss.backward()
    opt_D.step()
    with torch.no_grad():
        return loss.detach(), net_D(x).mean(), net_D(fake).mean()


def _d_step_not_detached_outputs(x, fake, net_D, opt_D):
    from labkit.models.gan import discriminator_loss
    opt_D.zero_grad()
    d_real, d_fake = net_D(x), net_D(fake.detach())
    loss = discriminator_loss(d_real, d_fake)
    loss.backward()
    opt_D.step()
    return loss, d_real.mean(), d_fake.mean()


def _d_step_items(x, fake, net_D, opt_D):
    loss, d_x, d_g_z = checks.reference_d_step(x, fake, net_D, opt_D)
    return loss.item(), d_x.item(), d_g_z.item()


def _init(conv_std=0.02, bn_mean=1.0, bn=True, convs=(nn.Conv2d, nn.ConvTranspose2d), bn_bias=0.0):
    def weights_init(m):
        if isinstance(m, convs):
            nn.init.normal_(m.weight, 0.0, conv_std)
        elif bn and isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, bn_mean, 0.02)
            nn.init.constant_(m.bias, bn_bias)
    return weights_init


def _init_by_classname_without_zero_bias(m):  # pytorch/examples' weights_init: correct for the DCGAN
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


def _init_on_every_module(m):
    nn.init.normal_(m.weight, 0.0, 0.02)


def _penalty(eps="image", norm=lambda g: g.flatten(1).norm(2, dim=1), term=lambda n: (n - 1) ** 2, weight=10.0,
             scores=lambda s: s.sum(), create_graph=True, requires_grad=True, reduce=lambda t: t.mean(),
             at=lambda e, x, fake: e * x + (1 - e) * fake, backward=False):
    """gradient_penalty(net_D, x, fake), right by default; each argument brings in one mistake (or another
    right way)."""
    def gradient_penalty(net_D, x, fake):
        if eps in ("numpy", "numpy normal"):  # another generator, so not labkit's draws under the same seed
            np = pytest.importorskip("numpy")
            draw = np.random.rand if eps == "numpy" else np.random.randn
            e = torch.from_numpy(draw(len(x), 1, 1, 1)).float()
        else:
            e = torch.rand({"image": (len(x), 1, 1, 1), "pixel": x.shape, "batch": (1,), "flat": (len(x),)}[eps])
        x_hat = at(e, x, fake)
        if requires_grad:
            x_hat.requires_grad_(True)
        if backward:
            scores(net_D(x_hat)).backward()
            grad = x_hat.grad
        else:
            (grad,) = torch.autograd.grad(scores(net_D(x_hat)), x_hat, create_graph=create_graph)
        return weight * reduce(term(norm(grad)))
    return gradient_penalty


def _penalty_with_grad_outputs(net_D, x, fake):  # the common published form: grad_outputs, norm of a view
    eps = torch.rand(x.size(0), 1, 1, 1).expand_as(x)
    interpolates = (eps * x + (1 - eps) * fake).requires_grad_(True)
    scores = net_D(interpolates)
    grad = torch.autograd.grad(outputs=scores, inputs=interpolates, grad_outputs=torch.ones_like(scores),
                               create_graph=True, retain_graph=True, only_inputs=True)[0]
    return ((grad.view(grad.size(0), -1).norm(2, dim=1) - 1) ** 2).mean() * 10


WRONG = {
    "ae_loss": [
        (lambda x_hat, x: ((x_hat - x) ** 2).sum(), "summed instead of averaged"),
        (lambda x_hat, x: ((x_hat - x) ** 2).sum(dim=(1, 2, 3)).mean(), "summed over the 784 pixels"),
        (lambda x_hat, x: ((x_hat - x) ** 2).mean(dim=(1, 2, 3)), "one loss per image"),
        (lambda x_hat, x: (x_hat - x).abs().mean(), "mean absolute error (L1)"),
        (lambda x_hat, x: torch.sqrt(F.mse_loss(x_hat, x)), "drop the square root"),
        (lambda x_hat, x: F.binary_cross_entropy(x_hat, x), "binary cross-entropy"),
        (lambda x_hat, x: F.mse_loss(x_hat, x).item(), ".item() gives a Python number"),
        (lambda x_hat, x: F.mse_loss(x_hat.detach(), x), "cut off"),
    ],
    "make_encoder": [
        (_net(lambda L: [nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, L)]), "start with nn.Flatten()"),
        (_net(lambda L: [nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, L), nn.ReLU()]),
         "ends in ReLU: leave z without an activation"),
        (_net(lambda L: [nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, L), nn.Sigmoid()]),
         "ends in Sigmoid"),
        (_net(lambda L: [nn.Flatten(), nn.Linear(784, 400), nn.Linear(400, L)]), "the encoder is linear"),
        (_net(lambda L: [nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, L)]),
         "expected 316,807 = 784*400 + 400 + 400*7 + 7"),
        (_net(lambda L: [nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 32)]),
         "use the latent_dim argument"),
        (_net(lambda L: [nn.Flatten(), nn.Linear(784, 400), nn.ReLU()]), "end with nn.Linear(400, latent_dim)"),
        (lambda latent_dim: [nn.Flatten(), nn.Linear(784, 400)], "should return an nn.Module"),
    ],
    "make_decoder": [
        (_net(lambda L: [nn.Linear(L, 400), nn.ReLU(), nn.Linear(400, 784), nn.Sigmoid()]),
         "end with nn.Unflatten(1, (1, 28, 28))"),
        (_net(lambda L: [nn.Linear(L, 400), nn.ReLU(), nn.Linear(400, 784), nn.Tanh(), nn.Unflatten(1, (1, 28, 28))]),
         "Tanh gives [-1, 1]"),
        (_net(lambda L: [nn.Linear(L, 400), nn.ReLU(), nn.Linear(400, 784), nn.Unflatten(1, (1, 28, 28))]),
         "end in nn.Sigmoid()"),
        (_net(lambda L: [nn.Linear(L, 400), nn.ReLU(), nn.Linear(400, 784), nn.ReLU(), nn.Sigmoid(),
                             nn.Unflatten(1, (1, 28, 28))]), "a ReLU right before the Sigmoid"),
        (_net(lambda L: [nn.Linear(L, 400), nn.Linear(400, 784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28))]),
         "linear before its Sigmoid"),
        (_net(lambda L: [nn.Linear(L, 512), nn.ReLU(), nn.Linear(512, 784), nn.Sigmoid(),
                             nn.Unflatten(1, (1, 28, 28))]), "check the layer widths"),
        (_net(lambda L: [nn.Linear(32, 400), nn.ReLU(), nn.Linear(400, 784), nn.Sigmoid(),
                             nn.Unflatten(1, (1, 28, 28))]), "mat1 and mat2"),
    ],
    "reparameterize": [
        (lambda mu, logvar: mu + torch.exp(logvar) * torch.randn_like(mu), "the variance"),
        (lambda mu, logvar: mu + logvar * torch.randn_like(mu), "logvar used as sigma"),
        (lambda mu, logvar: mu, "there is no noise"),
        (lambda mu, logvar: mu + torch.sqrt(logvar) * torch.randn_like(mu), "NaN"),
        (lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.rand_like(mu), "uniform"),
        (lambda mu, logvar: (mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)).detach(), "cut off"),
        (lambda mu, logvar: torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).sample(), "cut off"),
        (lambda mu, logvar: mu + torch.exp(0.5 * logvar).detach() * torch.randn_like(mu),
         "no gradient reaches logvar"),
        (lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.randn(1), "the same noise"),
        (lambda mu, logvar: torch.normal(mu, torch.exp(0.5 * logvar)), "torch.normal gives sigma no gradient"),
        (lambda mu, logvar: mu + torch.exp(-0.5 * logvar) * torch.randn_like(mu), "wrong sign"),
    ],
    "kl_divergence": [
        (lambda mu, logvar: -torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1), "factor 1/2"),
        (lambda mu, logvar: -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp(), dim=1),
         "averaged over the latent dims"),
        (lambda mu, logvar: -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()), "summed over the batch"),
        (lambda mu, logvar: 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1), "sign"),
        (lambda mu, logvar: -0.5 * torch.sum(1 + torch.exp(0.5 * logvar) - mu.pow(2) - logvar.exp(), dim=1),
         "sigma used where log sigma^2 is expected"),
        (lambda mu, logvar: -0.5 * torch.sum(1 + torch.log(logvar ** 2) - mu.pow(2) - logvar ** 2, dim=1),
         "logvar treated as sigma"),
        (lambda mu, logvar: -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar ** 2, dim=1), "not logvar^2"),
        (lambda mu, logvar: -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()), "shape (5, 3)"),
        (lambda mu, logvar: _vae_kl(mu, logvar).mean(), "averaged over the batch"),
        (lambda mu, logvar: -0.5 * torch.sum(1 + torch.log(logvar) - mu.pow(2) - logvar, dim=1), "NaN"),
    ],
    "vae_loss": [
        (lambda x_hat, x, mu, logvar: (lambda r, k: (r + k, r, k))(
            F.binary_cross_entropy(x_hat, x), _vae_kl(mu, logvar).mean()), "BCE averaged over pixels"),
        (lambda x_hat, x, mu, logvar: (lambda r, k: (r + k, r, k))(
            F.mse_loss(x_hat, x, reduction="sum") / len(x), _vae_kl(mu, logvar).mean()), "squared error"),
        (lambda x_hat, x, mu, logvar: (lambda r, k: (r + k, r, k))(
            F.binary_cross_entropy(x_hat, x, reduction="sum") / len(x), _vae_kl(mu, logvar).sum()),
         "kl is summed over the batch"),
        (lambda x_hat, x, mu, logvar: (lambda r, k: (r + k, r, k))(
            F.binary_cross_entropy(x_hat, x, reduction="sum"), _vae_kl(mu, logvar).mean()),
         "recon is summed over the batch"),
        (lambda x_hat, x, mu, logvar: (lambda r, k: (r + k, r, k))(
            F.binary_cross_entropy(x, x_hat, reduction="sum") / len(x), _vae_kl(mu, logvar).mean()), "swapped"),
        (lambda x_hat, x, mu, logvar: (lambda r, k: (r - k, r, k))(
            F.binary_cross_entropy(x_hat, x, reduction="sum") / len(x), _vae_kl(mu, logvar).mean()),
         "total = recon + kl"),
        (lambda x_hat, x, mu, logvar: (lambda r, k: (r, k, r + k))(
            F.binary_cross_entropy(x_hat, x, reduction="sum") / len(x), _vae_kl(mu, logvar).mean()),
         "in the order (total, recon, kl)"),
        (lambda x_hat, x, mu, logvar: F.binary_cross_entropy(x_hat, x, reduction="sum") / len(x),
         "expected three values (total, recon, kl)"),
    ],
    "discriminator_loss": [
        (lambda d_real, d_fake: (F.binary_cross_entropy(d_real, torch.zeros_like(d_real)) +
                                 F.binary_cross_entropy(d_fake, torch.ones_like(d_fake))) / 2, "labels are swapped"),
        (lambda d_real, d_fake: F.binary_cross_entropy(d_real, torch.ones_like(d_real)) +
         F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake)), "average the two halves"),
        (lambda d_real, d_fake: (torch.log(d_real).mean() + torch.log(1 - d_fake).mean()) / 2, "the sign"),
        (lambda d_real, d_fake: torch.log(d_real).mean() + torch.log(1 - d_fake).mean(), "the sign"),
        (lambda d_real, d_fake: (F.binary_cross_entropy(d_real, torch.ones_like(d_real)) +
                                 F.binary_cross_entropy(d_fake, torch.ones_like(d_fake))) / 2, "the fakes get label 1"),
        (lambda d_real, d_fake: F.binary_cross_entropy(d_real, torch.ones_like(d_real)), "only the real half"),
        (lambda d_real, d_fake: -(torch.log(d_real).sum() + torch.log(1 - d_fake).sum()) / 2, "summed over the batch"),
        (lambda d_real, d_fake: (F.mse_loss(d_real, torch.ones_like(d_real)) + (d_fake ** 2).mean()) / 2,
         "least-squares"),
    ],
    "generator_loss": [
        (lambda d_fake: torch.log(1 - d_fake).mean(), "saturating loss"),
        (lambda d_fake: F.binary_cross_entropy(d_fake, torch.zeros_like(d_fake)), "label 0"),
        (lambda d_fake: -torch.log(d_fake).sum(), "summed over the batch"),
        (lambda d_fake: torch.log(d_fake).mean(), "the sign"),
        (lambda d_fake: -torch.log(d_fake), "one loss per image"),
        (lambda d_fake: F.binary_cross_entropy(d_fake.detach(), torch.ones_like(d_fake)), "cut off"),
    ],
    "d_step": [
        (_d_step_without_detach, "gradients reach G in the D step"),
        (_d_step_without_zero_grad, "call opt_D.zero_grad()"),
        (_d_step_without_step, "call opt_D.step()"),
        (_d_step_with_swapped_labels, "loss_D's arguments are swapped"),
        (_d_step_measuring_after, "measured after D's update"),
        (_d_step_not_detached_outputs, "loss_D still holds the graph"),
        (_d_step_items, "keep tensors"),
    ],
    "weights_init": [
        (_init(conv_std=0.2), "std 0.2"),
        (_init(bn_mean=0.0), "BatchNorm2d weights have mean"),
        (_init(bn=False), "BatchNorm2d layers kept PyTorch's default scale 1"),
        (_init(convs=nn.Conv2d), "ConvTranspose2d layers kept PyTorch's default"),
        (_init(convs=nn.ConvTranspose2d), "Conv2d layers kept PyTorch's default"),
        (_init(bn_bias=1.0), "biases should be 0"),
        (lambda m: nn.init.normal_(m.weight, 0.02) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))
         else _init()(m), "(tensor, mean, std)"),
        (_init_on_every_module, "AttributeError"),
    ],
    "conv_transpose_out": [
        (lambda size, kernel, stride, padding: (size + 2 * padding - kernel) // stride + 1, "Conv2d's formula"),
        (lambda size, kernel, stride, padding: (size - 1) * stride + kernel, "padding is ignored"),
        (lambda size, kernel, stride, padding: (size - 1) * stride - padding + kernel, "trims both sides"),
        (lambda size, kernel, stride, padding: size * stride - 2 * padding + kernel, "one stride too many"),
        (lambda size, kernel, stride, padding: size * stride, "size*stride holds only"),
        (lambda size, kernel, stride, padding: (size - 1) * stride - 2 * padding + kernel + 1, "one too many"),
        (lambda size, kernel, stride, padding: float((size - 1) * stride - 2 * padding + kernel), "whole number"),
        (lambda size, kernel, stride, padding: 0 if (size, kernel, stride, padding) == (5, 3, 2, 1)
         else (size - 1) * stride - 2 * padding + kernel, "padding=1) returned 0, nn.ConvTranspose2d gives 9"),
    ],
    "g_block": [
        (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1), nn.BatchNorm2d(o), nn.ReLU(True)), "bias=False"),
        (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.ReLU(True)), "no nn.BatchNorm2d"),
        (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o),
                                    nn.LeakyReLU(0.2, True)), "LeakyReLU is the discriminator's"),
        (lambda i, o: nn.Sequential(nn.Conv2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)),
         "nn.Conv2d shrinks the image"),
        (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 1, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)),
         "expected (2, 3, 10, 10)"),
        (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 2, 2, 0, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)),
         "kernel_size=4"),
        (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.ReLU(True), nn.BatchNorm2d(o)),
         "out of order"),
        (lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, 4, 2, 1, bias=False), nn.BatchNorm2d(o)),
         "no activation"),
    ],
    "kl_per_dimension": [
        (lambda mu, logvar: -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1),
         "got shape (5,), expected (5, 3)"),
        (lambda mu, logvar: -(1 + logvar - mu.pow(2) - logvar.exp()), "factor 1/2"),
        (lambda mu, logvar: 0.5 * (1 + logvar - mu.pow(2) - logvar.exp()), "sign"),
        (lambda mu, logvar: -0.5 * (1 + 2 * logvar - mu.pow(2) - torch.exp(2 * logvar)), "logvar read as log sigma"),
        (lambda mu, logvar: -0.5 * (1 + logvar - mu.pow(2) - torch.exp(2 * logvar)), "not exp(2 * logvar)"),
        (lambda mu, logvar: -0.5 * (1 + logvar - mu.pow(2) - logvar ** 2), "not logvar^2"),
        (lambda mu, logvar: -0.5 * (1 + torch.exp(0.5 * logvar) - mu.pow(2) - logvar.exp()),
         "sigma used where log sigma^2 is expected"),
        (lambda mu, logvar: (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(0),
         "averaged over the batch: got shape (3,), expected (5, 3)"),
        (lambda mu, logvar: -0.5 * (1 + logvar - mu - logvar.exp()), "mu where mu^2"),
        (lambda mu, logvar: -0.5 * (1 + torch.log(logvar) - mu.pow(2) - logvar), "NaN"),
        (lambda mu, logvar: (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).detach(), "cut off"),
    ],
    "gradient_penalty": [
        (_penalty(create_graph=False), "use create_graph=True"),
        (_penalty(norm=lambda g: g.norm(2)), "one norm over the whole batch's gradient"),
        (_penalty(norm=lambda g: g.norm(2, dim=1)), "one per pixel (dim 1 is the channel)"),
        (_penalty(norm=lambda g: g.flatten(1).pow(2).mean(1).sqrt()), "not of their mean"),
        (_penalty(term=lambda n: n ** 2), "that penalises ||grad||^2"),
        (_penalty(term=lambda n: (n ** 2 - 1) ** 2), "uses the squared norm"),
        (_penalty(term=lambda n: torch.clamp(n - 1, min=0) ** 2), "one-sided"),
        (_penalty(term=lambda n: n - 1), "not squared"),
        (_penalty(weight=1.0), "the weight 10 is missing"),
        (_penalty(reduce=lambda t: t), "one penalty per image"),
        (_penalty(reduce=lambda t: t.sum()), "summed over the batch"),
        (_penalty(scores=lambda s: s.mean()), "divides each image's gradient by the batch size"),
        (_penalty(eps="pixel"), "eps drawn per pixel"),
        (_penalty(eps="batch"), "one eps for the whole batch"),
        (_penalty(eps="flat"), "eps needs shape (B, 1, 1, 1)"),
        (_penalty(requires_grad=False), "x_hat.requires_grad_(True)"),
        (_penalty(backward=True), "the penalty filled net_D's .grad"),
        (lambda net_D, x, fake: _penalty()(net_D, x, fake).item(), ".item() gives a Python number"),
        (_penalty(at=lambda e, x, fake: x.clone()), "the penalty is taken at the real images"),
        (_penalty(at=lambda e, x, fake: (x + fake) / 2), "x_hat is the midpoint of x and fake"),
        (_penalty(eps="numpy normal"), "eps outside [0, 1]"),
    ],
}

CASES = [(name, i, fn, hint) for name, wrongs in WRONG.items() for i, (fn, hint) in enumerate(wrongs)]


def test_every_exercise_has_at_least_three_wrong_answers():
    assert set(WRONG) == set(BY_NAME)
    assert all(len(wrongs) >= 3 for wrongs in WRONG.values())


@pytest.mark.parametrize("name, i, fn, hint", CASES, ids=[f"{name}-{i}" for name, i, _, _ in CASES])
def test_a_wrong_answer_fails_with_the_hint(name, i, fn, hint, capsys):
    exercise = BY_NAME[name]
    line, returned = _run(exercise, fn, capsys)
    assert line.startswith(f"exercise {exercise.id} {name}: FAIL - "), line
    assert hint in line, line
    assert returned is not fn and callable(returned)


@pytest.mark.parametrize("name, fn", [
    ("reparameterize", lambda mu, logvar: torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).rsample()),
    ("reparameterize", lambda mu, logvar: mu + torch.randn(mu.shape) * (0.5 * logvar).exp()),
    ("kl_divergence", lambda mu, logvar: 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(-1)),
    ("discriminator_loss", lambda d_real, d_fake: -(torch.log(d_real) + torch.log(1 - d_fake)).mean() / 2),
    ("generator_loss", lambda d_fake: -torch.log(d_fake).mean()),
    ("weights_init", _init_by_classname_without_zero_bias),  # pytorch/examples' version
    ("conv_transpose_out", lambda s, k, st, p: st * (s - 1) + k - 2 * p),
    ("make_encoder", lambda L: nn.Sequential(nn.Flatten(), nn.Linear(784, 400), nn.ReLU(True), nn.Linear(400, L))),
    ("g_block", lambda i, o: nn.Sequential(nn.ConvTranspose2d(i, o, kernel_size=4, stride=2, padding=1, bias=False),
                                           nn.BatchNorm2d(o), nn.ReLU())),
    ("kl_per_dimension", lambda mu, logvar: 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)),
    ("gradient_penalty", _penalty(at=lambda e, x, fake: (1 - e) * x + e * fake)),  # the same points, eps ~ 1 - eps
    ("gradient_penalty", _penalty(eps="numpy")),  # eps from another random generator
    ("gradient_penalty", _penalty_with_grad_outputs),
])
def test_other_right_answers_pass(name, fn, capsys):
    line, returned = _run(BY_NAME[name], fn, capsys)
    assert line.endswith(": PASS"), line
    assert returned is fn
