"""What the record of GAN variants (labkit.tools.variants: each model trained from several seeds, measured every few
hundred generator updates) says, in words: how much the final FID varies across seeds, and whether the number a
critic or discriminator reports follows the sample quality. Each report returns its text and the numbers the
notebook's verdicts use.

Introduced in notebooks/06_extensions.ipynb.
"""
from __future__ import annotations

from typing import Callable

import torch

from .variants import final_spread, rank_correlation

Reports = dict[str, tuple[str, Callable[[dict], list[float]]]]  # model -> (what its D reports, curve -> that number)


def compare_spread(a: float, b: float) -> str:
    """"smaller" / "about the same" / "larger": a against b, with a 25% margin either way."""
    return "smaller" if a < 0.75 * b else "larger" if a > b / 0.75 else "about the same"


def seed_mean_curve(record: dict, name: str, values: Callable[[dict], list[float]]) -> list[float]:
    """The mean over model `name`'s seeds, at each measurement, of values(curve)."""
    return [sum(v) / len(v) for v in zip(*(values(run["curve"]) for run in record["runs"][name].values()))]


def seed_spread(record: dict, *, model: str, baseline: str, claim: str) -> tuple[str, dict]:
    """The final FID, classes covered and commonest-digit share of every model and seed, and `claim` ("`model`
    varies less across seeds than `baseline`") judged three ways: in FID at the end (and over the last 3
    measurements), relative to the mean FID, and at matched quality (`model` at the measurement whose mean FID is
    closest to `baseline`'s final one). Returns (text, {"absolute": the first verdict, "relative": std / mean per
    model})."""
    names, label = record["models"], record["labels"]
    end, late = final_spread(record), final_spread(record, last=3)
    cover, share = final_spread(record, "classes_covered"), final_spread(record, "largest_share")
    lines = [f"after {record['updates']:,} generator updates, per seed {', '.join(map(str, record['seeds']))}:"]
    for name in names:
        lines.append(f"  {label[name]:<8} FID " + " ".join(f"{v:6.1f}" for v in end[name]["per_seed"])
                     + f"   mean {end[name]['mean']:6.1f}, std {end[name]['std']:5.1f}, range {end[name]['range']:5.1f}"
                     + f"   | classes {' '.join(str(int(v)) for v in cover[name]['per_seed'])}"
                     + f", commonest digit {' '.join(f'{v:.0%}' for v in share[name]['per_seed'])}")
    lines.append(f"lowest mean FID: {label[min(names, key=lambda n: end[n]['mean'])]}; "
                 f"smallest std across seeds: {label[min(names, key=lambda n: end[n]['std'])]} at the end, "
                 f"{label[min(names, key=lambda n: late[n]['std'])]} over the last 3 measurements ("
                 + ", ".join(f"{label[n]} {late[n]['std']:.1f}" for n in names) + ")")
    relative = {n: end[n]["std"] / end[n]["mean"] for n in names}
    lines.append("relative spread (std / mean of the final FID): "
                 + ", ".join(f"{label[n]} {relative[n]:.2f}" for n in names))
    fids = list(zip(*(run["curve"]["fid"] for run in record["runs"][model].values())))  # per measurement
    match = min(range(len(fids)), key=lambda i: abs(sum(fids[i]) / len(fids[i]) - end[baseline]["mean"]))
    matched_std = torch.tensor(fids[match]).std().item()
    base, ours = end[baseline], end[model]
    lines.append(f"matched quality: {label[model]} at {record['runs'][model]['0']['curve']['g_updates'][match]:,} "
                 f"updates had mean FID {sum(fids[match]) / len(fids[match]):.1f} (the {label[baseline]}'s final: "
                 f"{base['mean']:.1f}) and std {matched_std:.1f} (the {label[baseline]}'s: {base['std']:.1f})")
    absolute = ours["std"] < base["std"] and late[model]["std"] < late[baseline]["std"]
    lines += ["", f"'{claim}', measured on this budget:",
              f"  in FID at the end: {'holds' if absolute else 'does not hold'} (std {ours['std']:.1f} vs "
              f"{base['std']:.1f}; over the last 3 measurements {late[model]['std']:.1f} vs {late[baseline]['std']:.1f})",
              f"  relative to the mean FID: {compare_spread(relative[model], relative[baseline])} "
              f"({relative[model]:.2f} vs {relative[baseline]:.2f})",
              f"  at matched quality: {compare_spread(matched_std, base['std'])} ({matched_std:.1f} vs {base['std']:.1f})"]
    return "\n".join(lines), {"absolute": absolute, "relative": relative}


def d_tracking(record: dict, reports: Reports, *, critic: str, loss: str) -> tuple[str, dict]:
    """Does the number each model's D reports follow the FID? Per model, Spearman's rho between them for each seed,
    over all measurements and over the second half; "tracks" when the mean rho is above 0.7 and every seed's above
    0.5. Then the `critic`'s estimate and the BCE `loss` over the run, and the claim "the critic's estimate tracks
    sample quality, the BCE loss does not". Returns (text, {"tracks": {(model, first measurement): bool},
    "half": the first measurement of the second half})."""
    names, label = record["models"], record["labels"]
    half = len(record["runs"][loss]["0"]["curve"]["fid"]) // 2
    tracks = {}
    lines = [f"{'':<8} {'D reports':<38}{'rho, all measurements':<32}rho, second half"]
    for name in names:
        what, number = reports[name]
        cells = []
        for first in (0, half):
            rho = [rank_correlation(number(run["curve"])[first:], run["curve"]["fid"][first:])
                   for run in record["runs"][name].values()]
            mean = sum(rho) / len(rho)
            tracks[name, first] = mean > 0.7 and min(rho) > 0.5
            cells.append(f"{mean:+.2f} ({min(rho):+.2f} .. {max(rho):+.2f}) {'tracks' if tracks[name, first] else '-':<6}")
        lines.append((f"{label[name]:<8} {what:<38}" + "   ".join(cells)).rstrip())
    steps = record["runs"][critic]["0"]["curve"]["g_updates"]
    w_est, g_loss = seed_mean_curve(record, critic, reports[critic][1]), seed_mean_curve(record, loss, reports[loss][1])
    g_fid = seed_mean_curve(record, loss, lambda curve: curve["fid"])
    peak = max(range(len(w_est)), key=w_est.__getitem__)
    lines += [f"{label[critic]} critic estimate, mean over seeds: {w_est[0]:.2f} at {steps[0]} updates, highest "
              f"{w_est[peak]:.2f} at {steps[peak]}, {w_est[-1]:.2f} at {steps[-1]:,}",
              f"BCE {label[loss]}: L_D {g_loss[0]:.3f} -> {g_loss[-1]:.3f} ({g_loss[-1] / g_loss[0] - 1:+.0%}) while its "
              f"FID went {g_fid[0]:.0f} -> {g_fid[-1]:.0f} ({g_fid[0] / g_fid[-1]:.1f}x lower)"]
    for first, part in ((half, "in the second half of training"), (0, "over the whole run")):
        holds = tracks[critic, first] and not tracks[loss, first]
        lines.append(f"'the WGAN critic's estimate tracks sample quality, the BCE loss does not' {part}: "
                     f"{'holds' if holds else 'does not hold'}")
    return "\n".join(lines), {"tracks": tracks, "half": half}
