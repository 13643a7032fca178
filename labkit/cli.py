"""The `labkit` command (also `python -m labkit`).

    labkit lab   [--profile quick|full] [--out DIR] [NOTEBOOK ...]   run the notebooks headless, in order
    labkit train --model NAME ...                                     train one model from the shell
    labkit notebooks DIR [--overwrite]                                write the lab's notebooks into DIR to open them
    labkit student OUT [--notebooks DIR]                              write the student notebooks (solutions -> stubs)
    labkit record-gan-variants [--updates N] [--every K] [--seeds S ...]  GAN, WGAN-GP, SN-GAN over seeds (make weights)
    labkit study-dcgan [--epochs N] [--every K] [--factors NAME ...] [--resume]  why the DCGAN paints blobs (make weights)
    labkit train-forms [--images N] [--epochs N]                      the detector that counts shapes (make weights)

Every fault is one line on stderr, `labkit <cmd>: error: <what, which file or argument, what to do> (details in
<log>)`, with the full traceback in that log file (runs/logs/ by default; on the terminal too with --debug) and an
exit code of labkit.errors: 1 the work failed, 2 a bad argument or setting, 128+N stopped by signal N (SIGINT,
SIGTERM, SIGHUP: at a safe point, keeping what was saved). `main` is the one error boundary. Each subcommand's
arguments are in labkit/tools/cli_parser.py; what a fault says and the log it writes, in labkit/errors.py.
"""
from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from .errors import (EXIT_SIGNAL, EXIT_USAGE, LabkitError, UsageError, explain, ignore_signals_from_now,
                     install_signal_policy, one_line, signal_name, signals_held, uninstall_signal_policy, write_log)
from .tools import cli_parser


def build_parser() -> argparse.ArgumentParser:
    """The whole `labkit` parser: each subcommand's arguments (labkit/tools/cli_parser.py) and the function here
    that runs it."""
    parser, sub = cli_parser.top_parser()
    cli_parser.add_lab(sub, _cmd_lab)
    cli_parser.add_notebooks(sub, _cmd_notebooks)
    cli_parser.add_train(sub, _cmd_train)
    cli_parser.add_release(sub, _cmd_release)
    cli_parser.add_record_gan(sub, _cmd_record_gan)
    cli_parser.add_study_dcgan(sub, _cmd_study_dcgan)
    cli_parser.add_train_forms(sub, _cmd_train_forms)
    cli_parser.add_record_gan_variants(sub, _cmd_record_gan_variants)
    cli_parser.add_student(sub, _cmd_student)
    return cli_parser.finish(parser, sub)


def _cmd_notebooks(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .tools.resources import write_notebooks, written_message

    written = write_notebooks(args.dest, overwrite=args.overwrite)  # NotebooksError: one line, exit 2
    print(written_message(Path(args.dest), len(written)))
    return 0


def _cmd_student(args: argparse.Namespace) -> int:
    from .tools.student import SolutionError, write_student_notebooks

    try:
        written = write_student_notebooks(args.out, args.notebooks)
    except SolutionError as e:
        raise UsageError(str(e)) from None
    for name, count in written:
        print(f"  {name:<32} {count} exercise{'' if count == 1 else 's'}")
    print(f"labkit student: wrote {len(written)} notebooks ({sum(c for _, c in written)} exercises) to {args.out}")
    return 0


def _cmd_record_gan(args: argparse.Namespace) -> int:
    from .tools.gan_record import record_gan_run

    _writable(args.out)
    manifest = record_gan_run(args.out, epochs=args.epochs,
                              commands=["make weights", f"labkit record-gan --epochs {args.epochs}"])
    print(f"labkit: recorded {manifest['epochs']} epochs; best classifier-FID {manifest['best']['fid']} at epoch "
          f"{manifest['best']['epoch']}")
    return 0


def _cmd_study_dcgan(args: argparse.Namespace) -> int:
    from .tools.dcgan_study import run_study

    _writable(args.out)
    command = (f"labkit study-dcgan --epochs {args.epochs} --every {args.every}"
               + (f" --factors {' '.join(args.factors)}" if args.factors else "") + " [--resume]")
    manifest = run_study(args.factors, epochs=args.epochs, measure_every=args.every, resume=args.resume, out=args.out,
                         commands=["make weights", command])
    runs = ", ".join(f"{name} {seconds / 60:.0f} min" for name, seconds in manifest["train_seconds"].items())
    print(f"labkit: study recorded ({runs} of training)")
    return 0


def _cmd_train_forms(args: argparse.Namespace) -> int:
    from .forms import write_form_detector
    _writable(args.out)
    command = f"labkit train-forms --images {args.images} --epochs {args.epochs}"
    info = write_form_detector(args.out, images=args.images, epochs=args.epochs, commands=["make weights", command])
    check = info["check"]
    print(f"labkit: form detector trained in {info['train_seconds']:.0f} s; on unseen paintings it counts "
          f"{check['detected_shapes_per_image']} shapes per image (truly {check['shapes_per_image']})")
    return 0


def _cmd_record_gan_variants(args: argparse.Namespace) -> int:
    from .tools.variants import record_gan_variants

    _writable(args.out)
    command = f"labkit record-gan-variants --updates {args.updates} --every {args.every} --seeds {shlex.join(map(str, args.seeds))}"
    try:
        manifest = record_gan_variants(args.out, seeds=tuple(args.seeds), updates=args.updates, every=args.every,
                                       commands=["make weights", command])
    except ValueError as e:  # --every that does not divide the updates, ...: the message names the argument
        if isinstance(e, LabkitError):
            raise
        raise UsageError(str(e)) from None
    print(f"labkit: recorded {len(manifest['models'])} models x {len(manifest['seeds'])} seeds, "
          f"{manifest['generator_updates']} generator updates each, in {manifest['train_seconds'] / 60:.0f} min; "
          "final classifier-FID " + ", ".join(f"{name} {v['mean']:.0f} ± {v['std']:.0f}"
                                              for name, v in manifest["final_fid"].items()))
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    from .tools.weights import release, remeasure_release, retire_release

    if args.retire:
        manifest = retire_release(args.retire)
        print(f"labkit: retired {args.retire}: {', '.join(manifest['files'])} kept, with its manifest")
        return 0
    if args.remeasure:
        manifest = remeasure_release(args.remeasure)
        met = manifest["figures"]["targets_met"]
        print(f"labkit: re-measured {args.remeasure}: " + ", ".join(
            f"{k} {v:.2f}" for k, v in manifest["figures"]["samples"].items()) + f"; targets met {sum(met.values())} "
              f"of {len(met)}")
        return 0
    _writable(args.out)
    manifest = release(args.run, args.out, commands=args.command or ["labkit release"], precision=args.precision,
                       record_only=args.record_only)
    metrics = ", ".join(f"{k} {v}" for k, v in manifest["metrics"].items())  # an autoencoder's: none
    print(f"labkit: released {manifest['model']} ({manifest['epochs']} epochs)" + (f": {metrics}" if metrics else ""))
    return 0


def _writable(out: str | None) -> None:
    """An --out folder given on the command line must be one that can be written before the work starts (UsageError,
    exit 2): a folder, or one that can be created in the nearest folder above it that exists. Nothing is created."""
    if out is None:
        return
    path = Path(out).absolute()
    above = path
    while not above.exists() and above != above.parent:
        above = above.parent
    if not above.is_dir() or not os.access(above, os.W_OK | os.X_OK):
        why = "is a file, not a folder" if above.exists() and not above.is_dir() else "not writable"
        raise UsageError(f"--out {out}: cannot write there ({above} {why}); choose another folder with --out")


def _cmd_lab(args: argparse.Namespace) -> int:
    from .tools.lab import run_lab

    return run_lab(args.notebooks, profile=args.profile, out=args.out, timeout=args.timeout, device=args.device)

def _configured(entry, settings: list[tuple[str, object]]):
    """The entry's config with --config's fields changed; UsageError naming the field for an unknown one or a bad
    value (the config's own checks, labkit.models.checks)."""
    from dataclasses import fields, replace

    cfg = entry.config()
    if not settings:
        return cfg
    known = [f.name for f in fields(cfg)]
    for key, _ in settings:
        if key not in known:
            raise UsageError(f"--config {key}: {entry.name} has no such setting; use one of {', '.join(known)}")
    try:
        return replace(cfg, **dict(settings))
    except (TypeError, ValueError) as e:
        raise UsageError(f"--config: {e}") from None



def _cmd_train(args: argparse.Namespace) -> int:
    from .config import display_path, get_device, get_profile, runs_dir
    from . import course, registry
    from .run import TrainInterrupted, num_epochs, prepare_out, train_model

    try:
        profile = get_profile(args.profile)  # --profile, else $LABKIT_PROFILE, else quick
        device = get_device(args.device)
        names = list(course.BOTH) if args.model == "both" else [args.model]  # both: the course's GAN, then VAE
        entries = [registry.get(name) for name in names]  # an unknown name: one line listing the known ones
    except ValueError as e:  # unknown device / profile / model: the message says what to use instead
        raise UsageError(str(e)) from None
    if args.config and len(entries) > 1:
        raise UsageError("--config changes one model's settings: use it with one --model, not both")
    configs = [_configured(entry, args.config) for entry in entries]
    out = prepare_out(args.out or runs_dir() / profile.name)
    try:
        for name, entry, cfg in zip(names, entries, configs):
            data = entry.dataset.describe(profile)
            epochs = args.epochs or num_epochs(name, profile, cfg)
            changed = "".join(f", {key}={value!r}" for key, value in args.config)
            print(f"labkit train: {name}{changed}, profile {profile.name}, {epochs} epochs, data: {data}, "
                  f"out: {display_path(out)}", flush=True)
            train_model(name, out=out, profile=profile, device=device, epochs=args.epochs, batch_size=args.batch_size,
                        lr=args.lr, seed=args.seed, resume=args.resume, image_every=args.image_every,
                        max_batches=args.max_batches, precision=args.precision, cfg=cfg)
    except TrainInterrupted as e:
        again = [a for a in sys.argv[1:] if a != "--debug"] + ([] if args.resume else ["--resume"])
        raise TrainInterrupted(e.signum, f"{e}; continue with: labkit {shlex.join(again)}") from None
    return 0


# --- the error boundary: every command's faults end here ------------------------------------------------------

TORCH_COMMANDS = ("train", "release", "study-dcgan", "train-forms", "record-gan", "record-gan-variants")


def main(argv: list[str] | None = None) -> int:
    """Run one `labkit` command. Any fault becomes one line, `labkit <cmd>: error: <what, where, what to do>
    (details in <log file>)`, with the exit code of labkit.errors (1 error, 2 usage, 128+N signal N) and the full
    traceback in the log file; --debug (or $LABKIT_DEBUG=1) prints the traceback too. SIGINT, SIGTERM and SIGHUP
    follow the signal policy of labkit.errors: work stops at a safe point, says what was kept and exits 128+N."""
    in_process = argv is not None  # called from Python (tests): put the signal handlers back at the end
    argv = list(sys.argv[1:] if argv is None else argv)
    install_signal_policy()
    command, debug = "labkit", bool(os.environ.get("LABKIT_DEBUG", "").strip() not in ("", "0"))
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as e:  # --help, --version, or a usage error argparse printed in one line
            return e.code if isinstance(e.code, int) else EXIT_USAGE
        command, debug = f"labkit {args.command}", debug or args.debug
        if args.command in TORCH_COMMANDS:
            with signals_held():  # PyTorch's C++ start-up cannot be interrupted cleanly
                import torch  # noqa: F401
                import torchvision.utils  # noqa: F401  (its C++ operators too)
        return int(args.func(args) or 0)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001  the one place every fault is turned into one line
        return _report(command, e, debug=debug)
    finally:
        if in_process:
            uninstall_signal_policy()
        else:
            ignore_signals_from_now()  # a signal while the process exits is not a second fault


def _report(command: str, error: BaseException, *, debug: bool) -> int:
    """Print `error` as one line on stderr (the traceback too with debug) and return its exit code."""
    if isinstance(error, KeyboardInterrupt):  # a stop signal (labkit.errors.Interrupted) or a plain Ctrl-C
        signum = getattr(error, "signum", signal.SIGINT)
        what = one_line(str(error)) or (
            f"interrupted{_by(signum)} before training started; nothing was written" if command == "labkit train" else
            f"interrupted by {signal_name(signum)}; every file it finished is complete (written atomically); "
            f"run it again to continue")
        _say(one_line(f"{command}: {what}"))
        return EXIT_SIGNAL + signum
    text = traceback.format_exception(type(error), error, error.__traceback__)
    if debug:
        _say("".join(text).rstrip())
    code, what = explain(error)
    log = write_log(command, error, text, _log_folder())
    _say(f"{command}: error: {one_line(what)} ({f'details in {log}' if log else 'no log: nowhere to write it'})")
    return code


def _by(signum: int) -> str:
    """" by SIGTERM" (nothing for Ctrl-C, which says itself)."""
    return "" if signum == signal.SIGINT else f" by {signal_name(signum)}"


def _log_folder() -> Path:
    """Where failed commands leave their traceback: $LABKIT_LOGS, else <runs>/logs (runs/logs by default)."""
    if os.environ.get("LABKIT_LOGS"):
        return Path(os.environ["LABKIT_LOGS"])
    try:
        from .config import runs_dir

        return runs_dir() / "logs"
    except Exception:  # noqa: BLE001  (the fault being reported may be an import of the config)
        return Path(tempfile.gettempdir()) / "labkit-logs"


def _say(line: str) -> None:
    """Print to stderr; a closed terminal (SIGHUP) or pipe is not a second fault."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
