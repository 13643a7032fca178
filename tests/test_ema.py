"""A GAN's moving average of G (DCGANConfig.ema): labkit.train.ema_update, the GAN family's ema_G, its checkpoint,
resume and release."""
import copy

import pytest
import torch
from hypothesis import given, settings, strategies as st

from labkit import registry
from labkit.checkpoint import load_checkpoint, prepare_out, save_checkpoint
from labkit.config import get_profile
from labkit.errors import UsageError
from labkit.inference import gan_samples
from labkit.models.dcgan import DCGANConfig
from labkit.run import train_model
from labkit.tools.weights import load_release, release
from labkit.families import ema_update, standing_statistics

SMALL = dict(ngf=4, ndf=4, latent_dim=8)


@settings(max_examples=20, deadline=None)
@given(decay=st.floats(0.0, 0.999), steps=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_the_average_moves_a_fraction_towards_g_after_every_g_update(decay, steps, seed):
    torch.manual_seed(seed)
    net_G = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    ema_G = copy.deepcopy(net_G).requires_grad_(False)
    opt = torch.optim.SGD(net_G.parameters(), lr=0.1)
    handle = opt.register_step_post_hook(ema_update(ema_G, net_G, decay))
    expected = [p.detach().clone() for p in ema_G.parameters()]
    for _ in range(steps):
        opt.zero_grad()
        net_G(torch.randn(5, 3)).square().mean().backward()
        opt.step()
        expected = [decay * e + (1 - decay) * p.detach() for e, p in zip(expected, net_G.parameters())]
    handle.remove()
    for average, want in zip(ema_G.parameters(), expected):
        torch.testing.assert_close(average, want)
    for average, buffer in zip(ema_G.buffers(), net_G.buffers()):  # BatchNorm's statistics: G's own, copied
        assert torch.equal(average, buffer)


def test_an_ema_field_out_of_range_is_one_line_naming_it():
    with pytest.raises(UsageError, match="ema"):
        DCGANConfig(ema=1.0)


def _train(out, epochs, *, ema=0.9, resume=False):
    return train_model("dcgan", out=out, profile=get_profile("quick"), device=torch.device("cpu"), epochs=epochs,
                       max_batches=2, progress=False, resume=resume, cfg=DCGANConfig(ema=ema, **SMALL))


def test_a_run_with_ema_keeps_the_average_and_draws_its_grids_from_it(tmp_path):
    out = prepare_out(tmp_path / "runs")
    nets, history = _train(out, 2)
    assert set(nets) == {"net_G", "net_D", "ema_G"}
    assert set(registry.optimizers(DCGANConfig(ema=0.9), nets)) == {"opt_G", "opt_D"}  # the average is not trained
    assert not any(p.requires_grad for p in nets["ema_G"].parameters())
    assert any(not torch.equal(a, b) for a, b in zip(nets["ema_G"].parameters(), nets["net_G"].parameters()))
    state = load_checkpoint(out / "dcgan.pt")
    for key, value in nets["ema_G"].state_dict().items():  # checkpointed with its own BatchNorm statistics ...
        assert torch.equal(state["nets"]["ema_G"][key], value)
    means = [m.running_mean.clone() for m in nets["ema_G"].modules() if isinstance(m, torch.nn.BatchNorm2d)]
    g_means = [m.running_mean for m in nets["net_G"].modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert means and not any(torch.equal(a, b) for a, b in zip(means, g_means))  # ... not G's
    standing_statistics(nets["ema_G"])(2, {})  # recomputed the same way: the same statistics
    again = [m.running_mean for m in nets["ema_G"].modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.allclose(a, b) for a, b in zip(means, again))
    fixed_z = state["fixed"]["z"]
    assert torch.equal(history["samples"][-1], gan_samples(nets["ema_G"], fixed_z))
    assert torch.equal(registry.samples("dcgan", nets, 3, seed=1),
                       registry.samples("dcgan", {"net_G": nets["ema_G"], "net_D": nets["net_D"]}, 3, seed=1))
    with pytest.raises(AssertionError):  # ... and not G's own pictures
        torch.testing.assert_close(registry.samples("dcgan", nets, 3, seed=1),
                                   registry.samples("dcgan", {"net_G": nets["net_G"]}, 3, seed=1))


def test_resuming_keeps_the_average_and_a_run_without_one_starts_it_from_g(tmp_path):
    out = prepare_out(tmp_path / "runs")
    unbroken, _ = _train(out, 3)
    out2 = prepare_out(tmp_path / "broken")
    _train(out2, 2)
    resumed, _ = _train(out2, 3, resume=True)
    for a, b in zip(unbroken["ema_G"].state_dict().values(), resumed["ema_G"].state_dict().values()):
        assert torch.equal(a, b)
    out3 = prepare_out(tmp_path / "plain")
    _train(out3, 1, ema=0.0)
    state = load_checkpoint(out3 / "dcgan.pt")
    assert "ema_G" not in state["nets"]
    save_checkpoint({**state, "config": {k: v for k, v in state["config"].items() if k != "ema"}}, out3 / "dcgan.pt")
    nets, _ = _train(out3, 1, resume=True)  # already finished: loaded, the average begins as G
    for a, b in zip(nets["ema_G"].state_dict().values(), nets["net_G"].state_dict().values()):
        assert torch.equal(a, b)


def test_a_run_trained_without_the_average_may_switch_it_on_at_resume(tmp_path):
    """ema is the one DCGAN field marked {"on_resume": "may change"}: a finished plain run continues with a moving
    average that starts from G (how weights/dcgan_augment_ema was made); any other changed field is still refused."""
    from labkit.checkpoint import CheckpointError

    out = prepare_out(tmp_path / "runs")
    plain, _ = _train(out, 1, ema=0.0)
    assert load_checkpoint(out / "dcgan.pt")["config"]["ema"] == 0.0
    g_before = copy.deepcopy(plain["net_G"].state_dict())
    nets, history = _train(out, 1, ema=0.9, resume=True)  # finished: loaded, and the average begins as G
    for key, value in nets["ema_G"].state_dict().items():
        assert torch.equal(value, g_before[key])
    nets, history = _train(out, 2, ema=0.9, resume=True)
    assert len(history["Loss_D"]) == 2 and load_checkpoint(out / "dcgan.pt")["config"]["ema"] == 0.9
    assert "ema_G" in load_checkpoint(out / "dcgan.pt")["nets"]
    changed = DCGANConfig(ema=0.9, **{**SMALL, "real_label": 0.9})
    with pytest.raises(CheckpointError, match="was trained with real_label=1.0, not 0.9"):
        train_model("dcgan", out=out, profile=get_profile("quick"), device=torch.device("cpu"), epochs=3,
                    max_batches=2, progress=False, resume=True, cfg=changed)


def test_only_lr_and_fields_marked_may_change_can_differ_at_resume():
    """For every registered model's config, every field but lr and the marked ones is checked at resume."""
    from dataclasses import asdict, fields

    from labkit.checkpoint import CheckpointError, _check_same_settings

    for name in registry.names():
        cfg = registry.get(name).config()
        for f in fields(cfg):
            saved = {**asdict(cfg), f.name: "something else"}
            free = f.name == "lr" or f.metadata.get("on_resume") == "may change"
            if free:
                _check_same_settings("x.pt", {"config": saved}, cfg)
            else:
                with pytest.raises(CheckpointError, match=f"was trained with {f.name}="):
                    _check_same_settings("x.pt", {"config": saved}, cfg)


def test_a_release_of_a_run_with_ema_ships_the_average(tmp_path):
    out = prepare_out(tmp_path / "runs")
    nets, _ = _train(out, 1)
    manifest = release(out / "dcgan.pt", tmp_path / "release", commands=["test"], num_samples=16)
    assert manifest["generator"] == "ema_G" and manifest["config"]["ema"] == 0.9
    trained = manifest["figures"]["net_G"]  # G itself, scored like the average that ships: what averaging did
    assert set(trained["samples"]) == set(manifest["figures"]["samples"]) == set(trained["targets_met"])
    assert trained["samples"] != manifest["figures"]["samples"]
    shipped_forms, g_forms = manifest["figures"]["forms"]["samples"], trained["forms"]["samples"]  # labkit.forms' too
    assert set(g_forms) == set(shipped_forms) and g_forms["form_fd_ratio"] != shipped_forms["form_fd_ratio"]
    net_G, _, _, _ = load_release(tmp_path / "release")
    z = torch.randn(2, 8, 1, 1)
    with torch.no_grad():
        assert (net_G(z) - nets["ema_G"].eval()(z)).abs().max() < 2e-2  # float16 weights: close to the average


def test_a_run_recorded_but_not_shipped_keeps_its_figures_history_and_last_grid_only(tmp_path):
    from labkit.tools.weights import WeightsError, load_tried

    out = prepare_out(tmp_path / "runs")
    _, history = _train(out, 2)
    shipped = release(out / "dcgan.pt", tmp_path / "release", commands=["test"], num_samples=16)
    tried = release(out / "dcgan.pt", tmp_path / "tried", commands=["test"], num_samples=16, record_only=True)
    assert set(tried["files"]) == {"history.json", "samples.pt"} and tried["shipped"] is False
    assert "shipped" not in shipped and "generator.pt" in shipped["files"]
    assert tried["figures"] == shipped["figures"] and tried["generator_updates"] == shipped["generator_updates"]
    assert tried["files"]["samples.pt"]["bytes"] < shipped["files"]["samples.pt"]["bytes"]
    grid, tried_history, manifest = load_tried(tmp_path / "tried")
    _, grids, _, _ = load_release(tmp_path / "release")
    assert torch.equal(grid, grids[2]) and tried_history["Loss_D"] == history["Loss_D"]
    assert manifest["files"] == tried["files"] and manifest["shipped"] is False
    (tmp_path / "tried" / "samples.pt").write_bytes(b"changed")
    with pytest.raises(WeightsError, match="samples.pt"):
        load_tried(tmp_path / "tried")


def test_a_retired_release_is_the_record_that_record_only_writes_and_a_changed_one_is_left_alone(tmp_path, capsys):
    from labkit.cli import main
    from labkit.tools.weights import WeightsError, load_tried, retire_release

    out = prepare_out(tmp_path / "runs")
    _train(out, 2)
    shipped = release(out / "dcgan.pt", tmp_path / "release", commands=["test"], num_samples=16)
    tried = release(out / "dcgan.pt", tmp_path / "tried", commands=["test"], num_samples=16, record_only=True)
    _, grids, _, shipped = load_release(tmp_path / "release")  # the manifests as read back (JSON: lists, not tuples)
    tried = load_tried(tmp_path / "tried")[2]
    (tmp_path / "broken").mkdir()
    for f in (tmp_path / "release").iterdir():
        (tmp_path / "broken" / f.name).write_bytes(f.read_bytes())
    (tmp_path / "broken" / "history.json").write_text("{}")
    with pytest.raises(WeightsError, match="history.json"):  # checked first: nothing is deleted
        retire_release(tmp_path / "broken")
    assert (tmp_path / "broken" / "generator.pt").is_file()
    assert main(["release", "--retire", str(tmp_path / "release")]) == 0
    assert "retired" in capsys.readouterr().out
    retired = load_tried(tmp_path / "release")[2]
    assert set(retired["files"]) == {"history.json", "samples.pt"} == {f.name for f in (tmp_path / "release").iterdir()
                                                                        if f.name != "manifest.json"}
    assert retired["shipped"] is False and retired["commands"][-1].startswith("labkit release --retire")
    for key in set(shipped) - {"files", "commands", "shipped"}:
        assert retired[key] == shipped[key] == tried[key], key
    assert torch.equal(load_tried(tmp_path / "release")[0], grids[max(grids)])
    assert retired["files"]["history.json"] == tried["files"]["history.json"]
    with pytest.raises(WeightsError, match="already a record"):
        retire_release(tmp_path / "release")


def test_label_smoothing_is_a_config_field_whose_default_is_the_seeds_loss():
    from labkit.models.gan import discriminator_loss, smoothed_discriminator_loss

    entry = registry.get("dcgan")
    assert entry.train_options(DCGANConfig()) == {}  # the seed's loss itself: the release's recipe is untouched
    d_loss = entry.train_options(DCGANConfig(real_label=0.9))["d_loss"]
    d_real, d_fake = torch.rand(8).clamp(0.01, 0.99), torch.rand(8).clamp(0.01, 0.99)
    torch.testing.assert_close(d_loss(d_real, d_fake), smoothed_discriminator_loss(0.9)(d_real, d_fake))
    torch.testing.assert_close(smoothed_discriminator_loss(1.0)(d_real, d_fake), discriminator_loss(d_real, d_fake))
    grid = torch.linspace(0.5, 0.999, 200)  # with target 0.9 D's loss on a real image is smallest at D(x) = 0.9
    losses = torch.stack([d_loss(p.view(1), torch.full((1,), 0.1)) for p in grid])
    assert abs(float(grid[losses.argmin()]) - 0.9) < 0.01
    with pytest.raises(UsageError, match="real_label"):
        DCGANConfig(real_label=0.4)


class _LinearD(torch.nn.Module):
    """A D whose logit is w . x: its gradient in x is w for every image."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def logit(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.w).sum(dim=[1, 2, 3])


@settings(max_examples=25, deadline=None)
@given(gamma=st.floats(0.01, 100), every=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_r1_is_gamma_half_the_squared_logit_gradient_every_nth_step_weighted_by_n(gamma, every, seed):
    from labkit.models.dcgan import R1Penalty

    torch.manual_seed(seed)
    w = torch.randn(2, 3, 3)
    net_D, x = _LinearD(w.clone()), torch.randn(4, 2, 3, 3)
    penalty = R1Penalty(gamma, every)
    values = [penalty(net_D, x, x) for _ in range(2 * every)]
    expected = every * gamma / 2 * w.square().sum()
    for i, value in enumerate(values, 1):
        if i % every:
            assert float(value) == 0
        else:
            torch.testing.assert_close(value, expected)
    values[every - 1].backward()  # differentiable in D's weights: d/dw of every*gamma/2*|w|^2 = every*gamma*w
    torch.testing.assert_close(net_D.w.grad, every * gamma * w)


def test_r1_is_a_config_field_that_adds_the_penalty_to_ds_step():
    from labkit.models.dcgan import R1Penalty, build_dcgan
    from labkit.train import d_step

    entry = registry.get("dcgan")
    assert "penalty" not in entry.train_options(DCGANConfig())
    options = entry.train_options(DCGANConfig(r1=2.0, real_label=0.9))
    assert isinstance(options["penalty"], R1Penalty) and options["penalty"].gamma == 2.0 and "d_loss" in options
    with pytest.raises(UsageError, match="r1"):
        DCGANConfig(r1=-1.0)
    torch.manual_seed(0)
    net_G, net_D = build_dcgan(DCGANConfig(r1=10.0, **SMALL))
    x, fake = torch.rand(8, 3, 64, 64) * 2 - 1, torch.rand(8, 3, 64, 64) * 2 - 1
    net_D.eval()  # the same BatchNorm statistics in every pass: the loss with R1 is the loss without it plus R1
    twin = copy.deepcopy(net_D)
    plain = d_step(x, fake, twin, torch.optim.SGD(twin.parameters(), lr=0.0))[0]
    r1 = R1Penalty(10.0, every=1)(net_D, x, fake).detach()
    with_r1 = d_step(x, fake, net_D, torch.optim.SGD(net_D.parameters(), lr=0.0), penalty=R1Penalty(10.0, every=1))[0]
    assert float(r1) > 0
    torch.testing.assert_close(with_r1, plain + r1)
