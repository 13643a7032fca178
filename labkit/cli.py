"""The `labkit` command (also `python -m labkit`).

    labkit lab   [--profile quick|full] [--out DIR] [NOTEBOOK ...]   run the notebooks headless, in order
    labkit train --model NAME ...                                     train one model from the shell
    labkit notebooks DIR [--overwrite]                                write the lab's notebooks into DIR to open them
    labkit student OUT [--notebooks DIR]                              write the student notebooks (solutions -> stubs)
    labkit record-gan-variants [--updates N] [--every K] [--seeds S ...]  GAN, WGAN-GP, SN-GAN over seeds (make weights)
    labkit study-dcgan [--epochs N] [--every K] [--factors NAME ...] [--resume]  why the DCGAN paints blobs (make weights)

Every fault is one line on stderr, `labkit <cmd>: error: <what, which file or argument, what to do> (details in
<log>)`, with the full traceback in that log file (runs/logs/ by default; on the terminal too with --debug) and an
exit code of labkit.errors: 1 the work failed, 2 a bad argument or setting, 128+N stopped by signal N (SIGINT,
SIGTERM, SIGHUP: at a safe point, keeping what was saved). `main` is the one error boundary.
"""
from __future__ import annotations

import argparse
import errno
import math
import os
import re
import shlex
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from . import __version__
from .errors import (EXIT_ERROR, EXIT_SIGNAL, EXIT_USAGE, LabkitError, UsageError, ignore_signals_from_now,
                     install_signal_policy, one_line, signal_name, signals_held, uninstall_signal_policy)
from .models.checks import MAX_BATCH, MAX_EPOCHS, MAX_LR

MAX_TIMEOUT = 10 ** 7  # seconds a notebook cell may run: 115 days
MAX_UPDATES = 10 ** 7  # generator updates of a recorded run


class _Parser(argparse.ArgumentParser):
    """argparse, but `--epochs=--` is an error rather than an empty list (argparse drops the "--")."""

    def _get_values(self, action, arg_strings):
        if action.nargs is None and action.option_strings and arg_strings == ["--"]:
            self.error(f"argument {'/'.join(action.option_strings)}: expected one value, got '--'")
        return super()._get_values(action, arg_strings)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="labkit", description="The generative-models lab: run notebooks, train models.")
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="on an error, print the full traceback too (also $LABKIT_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", required=True)

    lab = sub.add_parser("lab", help="execute the notebooks in order, headless, and write their figures")
    lab.add_argument("notebooks", nargs="*",
                     help="notebooks to run (default: this folder's NN_*.ipynb, else a clone's notebooks/)")
    lab.add_argument("--profile", choices=["quick", "full"], default=None,
                     help="quick: bundled data, few epochs (default, or $LABKIT_PROFILE); full: the real settings")
    lab.add_argument("--out", type=_path, default=None, help="write executed notebooks here instead of in place")
    lab.add_argument("--timeout", type=_count(MAX_TIMEOUT), default=None, metavar="SECONDS",
                     help="seconds allowed per cell (default: the profile's, quick 900, full 43200)")
    lab.add_argument("--device", type=_device, default=None, help="auto (default), cpu, cuda, mps: exported as $LABKIT_DEVICE")
    lab.set_defaults(func=_cmd_lab)

    add_notebooks_parser(sub)
    add_train_parser(sub)

    release = sub.add_parser("release", help="export a finished GAN run to weights/ with a checksummed manifest",
                             description="Write the generator (float16), fixed-noise grids, history and a manifest "
                                         "(sha256 per file, commands, data, metrics) of a finished `labkit train` "
                                         "run of any GAN. `make weights` runs the training and this.")
    what = release.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", type=_path, metavar="CHECKPOINT", help="the run's checkpoint, e.g. runs/release/dcgan.pt")
    what.add_argument("--remeasure", type=_path, metavar="DIR",
                      help="score a shipped release (e.g. weights/dcgan) from its own files and rewrite its manifest "
                           "with today's figures (labkit.image_stats); its weights and grids stay as they are")
    release.add_argument("--out", type=_path, default=None, metavar="DIR", help="default: weights/<model>")
    release.add_argument("--command", action="append", default=[], metavar="TEXT",
                         help="the command that trained the run, for the manifest (repeatable)")
    release.add_argument("--precision", choices=["auto", "fp32", "mixed"], default="auto",
                         help="the precision the run trained with, for the manifest")
    release.set_defaults(func=_cmd_release)

    record = sub.add_parser("record-gan", help="train notebook 03's GAN far past its 100 epochs and record its quality",
                            description="Train the MLP GAN for --epochs epochs on the bundled digits and write its "
                                        "classifier-FID and class shares every 10 epochs to weights/gan_long_run/.")
    record.add_argument("--epochs", type=_count(MAX_EPOCHS), default=400, metavar="N")
    record.add_argument("--out", type=_path, default=None, metavar="DIR", help="default: weights/gan_long_run")
    record.set_defaults(func=_cmd_record_gan)

    study = sub.add_parser("study-dcgan", help="why the DCGAN paints blobs: short controlled runs, one factor each "
                                                "(notebook 04)",
                           description="Train the DCGAN release's recipe for --epochs epochs once as it is and once per "
                                       "factor (each changing one thing), measure every run with labkit.image_stats "
                                       "every --every epochs, and write weights/dcgan_study/. Checkpoints go to "
                                       "runs/dcgan_study/; --resume continues them.")
    study.add_argument("--epochs", type=_count(MAX_EPOCHS), default=10, metavar="N")
    study.add_argument("--every", type=_count(MAX_EPOCHS), default=2, metavar="K", help="measure every K epochs")
    study.add_argument("--factors", nargs="+", default=None, metavar="NAME",
                       help="the runs to make, of: baseline no_texture label_smoothing resize_conv float32 (default: all)")
    study.add_argument("--resume", action="store_true", help="continue the runs in runs/dcgan_study/")
    study.add_argument("--out", type=_path, default=None, metavar="DIR", help="default: weights/dcgan_study")
    study.set_defaults(func=_cmd_study_dcgan)

    variants = sub.add_parser("record-gan-variants", help="train the BCE GAN, WGAN-GP and SN-GAN over several seeds and "
                                                          "record their quality (notebook 06)",
                              description="Train each of gan, wgan_gp and sngan from each seed for the same number of "
                                          "generator updates on the bundled digits, measure classifier-FID and mode "
                                          "coverage every --every updates, and write weights/gan_variants/.")
    variants.add_argument("--updates", type=_count(MAX_UPDATES), default=2100, metavar="N",
                          help="generator updates per run (default 2100: 30 epochs of the BCE GAN)")
    variants.add_argument("--every", type=_count(MAX_UPDATES), default=210, metavar="K",
                          help="measure every K generator updates (default 210; a multiple of 70)")
    variants.add_argument("--seeds", type=_seed, nargs="+", default=[0, 1, 2], metavar="S", help="default: 0 1 2")
    variants.add_argument("--out", type=_path, default=None, metavar="DIR", help="default: weights/gan_variants")
    variants.set_defaults(func=_cmd_record_gan_variants)

    student = sub.add_parser("student", help="write the student notebooks: solutions replaced by stubs, outputs cleared",
                             description="Write every notebook to OUT with each ### BEGIN SOLUTION ... ### END "
                                         "SOLUTION region replaced by raise NotImplementedError(\"exercise N.M: "
                                         "...\") and all outputs cleared (see labkit/tools/student.py).")
    student.add_argument("out", type=_path, metavar="OUT", help="folder for the student notebooks (not the notebooks folder)")
    student.add_argument("--notebooks", type=_path, default=None, metavar="DIR", help="the instructor notebooks (default: notebooks/)")
    student.set_defaults(func=_cmd_student)
    for command in sub.choices.values():
        _one_line_errors(command)
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="on an error, print the full traceback too (also $LABKIT_DEBUG=1)")
    return _one_line_errors(parser)


def _one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """argparse prints the whole usage block before an error; one line naming the argument is enough (exit 2)."""
    parser.error = lambda message: parser.exit(EXIT_USAGE, f"{parser.prog}: error: {one_line(message)} "
                                                           f"(see {parser.prog} --help)\n")
    return parser


def add_notebooks_parser(sub) -> None:
    """`labkit notebooks DIR`: copy the lab's notebooks out of the package (or the clone) for a student to open."""
    notebooks = sub.add_parser("notebooks", help="write the lab's notebooks into a folder, to open them in Jupyter",
                               description="Copy the lab's notebooks (00_setup ... 06_extensions) into DIR, created "
                                           "if missing. Then `cd DIR && labkit lab` runs them, or open them with "
                                           "`jupyter lab DIR`; outside a clone, runs/ and figures/ are written "
                                           "beside them.")
    notebooks.add_argument("dest", metavar="DIR", help="the folder to write them into, e.g. lab")
    notebooks.add_argument("--overwrite", action="store_true",
                           help="replace notebooks already in DIR (your edits are lost)")
    notebooks.set_defaults(func=_cmd_notebooks)


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
    from .tools.weights import record_gan_run

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
    from .tools.weights import release, remeasure_release

    if args.remeasure:
        manifest = remeasure_release(args.remeasure)
        met = manifest["figures"]["targets_met"]
        print(f"labkit: re-measured {args.remeasure}: " + ", ".join(
            f"{k} {v:.2f}" for k, v in manifest["figures"]["samples"].items()) + f"; targets met {sum(met.values())} "
              f"of {len(met)}")
        return 0
    _writable(args.out)

    manifest = release(args.run, args.out, commands=args.command or ["labkit release"], precision=args.precision)
    print(f"labkit: released {manifest['model']} ({manifest['epochs']} epochs): " +
          ", ".join(f"{k} {v}" for k, v in manifest["metrics"].items()))
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


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # also a number of more than 4,300 digits
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}") from None


def _shown(value: int, text: str) -> str:
    """A number for an error message: a thousand digits are cut to their first twenty."""
    return str(value) if abs(value) < 10 ** 20 else text.strip()[:20] + "..."


def _count(high: int):
    """An argparse type: a whole number from 1 to `high`."""
    def count(text: str) -> int:
        value = _whole(text)
        if not 1 <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from 1 to {high:,}, got {_shown(value, text)}")
        return value
    return count


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text[:40]!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text[:40]}")
    return value


def _lr(text: str) -> float:
    value = _positive_float(text)
    if value > MAX_LR:
        raise argparse.ArgumentTypeError(f"must be a positive finite number of at most {MAX_LR:g}, got {text[:40]}")
    return value


def _seed(text: str) -> int:
    value = _whole(text)
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"must be between 0 and {2 ** 32 - 1}, got {_shown(value, text)}")
    return value


def _path(text: str) -> str:
    """A file or folder name: not empty (an empty --out used to mean the default folder), no NUL character."""
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"expected a file or folder name, got {text!r}")
    return text


def _device(text: str) -> str:
    """auto, cpu, cuda, cuda:N or mps, checked without importing torch (whether it is there: labkit.config)."""
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d{1,3})?", text.strip().lower()):
        raise argparse.ArgumentTypeError(f"unknown device {text[:40]!r}: use auto, cpu, cuda, cuda:N or mps")
    return text.strip().lower()


def _setting(text: str) -> tuple[str, object]:
    """FIELD=VALUE of --config: the value read as a Python literal (4, 0.5, True, (0.5, 0.999)), else as a word."""
    import ast

    key, sep, value = text.partition("=")
    if not sep or not key.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not FIELD=VALUE, e.g. upsample=resize")
    try:
        return key.strip(), ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return key.strip(), value.strip()


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


def add_train_parser(sub) -> None:
    """`labkit train`: train ae, vae, gan, dcgan (or both = gan then vae) from the shell; see labkit/run.py."""
    train = sub.add_parser(
        "train", help="train a model: images, history.json and a resumable checkpoint per model",
        description="Train one of the lab's models with its specified hyper-parameters. Writes <out>/<model>.pt "
                    "(checkpoint after every epoch), <out>/history.json and <out>/<model>_images/*.png.")
    train.add_argument("--model", required=True, metavar="NAME",
                       help="a model of labkit.registry: ae, vae, gan, dcgan, cvae, wgan_gp, sngan; "
                            "or both = the GAN, then the VAE")
    train.add_argument("--epochs", type=_count(MAX_EPOCHS), default=None, metavar="N",
                       help="total epochs (default: the profile's; full: ae 30, vae 50, gan 100, dcgan 100)")
    train.add_argument("--batch-size", type=_count(MAX_BATCH), default=None, metavar="B",
                       help="default: the model's config (ae 128, vae 128, gan 64, dcgan 128)")
    train.add_argument("--lr", type=_lr, default=None, help="Adam learning rate (default: the model's config)")
    train.add_argument("--out", type=_path, default=None, metavar="DIR",
                       help="output folder (default: runs/<profile>/ under $LABKIT_RUNS or runs/, where the notebooks "
                            "look for trained models)")
    train.add_argument("--profile", choices=["quick", "full"], default=None,
                       help="quick (default, or $LABKIT_PROFILE): the bundled MNIST subset and synthetic art; "
                            "full: full MNIST and the Kaggle art set")
    train.add_argument("--device", type=_device, default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    train.add_argument("--seed", type=_seed, default=0, help="random seed, 0 to 4294967295 (default 0)")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint's last complete epoch")
    train.add_argument("--image-every", type=_count(10 ** 9), default=10, metavar="K",
                       help="write image grids every K epochs, and at the last one (default 10)")
    train.add_argument("--max-batches", type=_count(10 ** 9), default=None, metavar="M",
                       help="stop each epoch after M batches (smoke runs)")
    train.add_argument("--precision", choices=["auto", "fp32", "mixed"], default="auto",
                       help="GANs: auto (default) = float16 mixed precision on CUDA, float32 elsewhere; "
                            "mixed = also bfloat16 autocast on a CPU (about 2x faster on CPUs with bfloat16 "
                            "instructions, slower on others)")
    train.add_argument("--config", action="append", default=[], metavar="FIELD=VALUE", type=_setting,
                       help="change one field of the model's config dataclass, e.g. --config upsample=resize "
                            "(the DCGAN) or --config beta=4 (the VAE); repeat for more fields")
    train.set_defaults(func=_cmd_train)
    _one_line_errors(train)


def _cmd_train(args: argparse.Namespace) -> int:
    from .config import display_path, get_device, get_profile, runs_dir
    from . import registry
    from .run import TrainInterrupted, num_epochs, prepare_out, train_model

    try:
        profile = get_profile(args.profile)  # --profile, else $LABKIT_PROFILE, else quick
        device = get_device(args.device)
        names = ["gan", "vae"] if args.model == "both" else [args.model]
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

TORCH_COMMANDS = ("train", "release", "study-dcgan", "record-gan", "record-gan-variants")


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
    code, what = _explain(error)
    log = _write_log(command, error, text)
    _say(f"{command}: error: {one_line(what)} ({f'details in {log}' if log else 'no log: nowhere to write it'})")
    return code


def _by(signum: int) -> str:
    """" by SIGTERM" (nothing for Ctrl-C, which says itself)."""
    return "" if signum == signal.SIGINT else f" by {signal_name(signum)}"


def _explain(error: BaseException) -> tuple[int, str]:
    """(exit code, one-line message) for any exception."""
    if isinstance(error, LabkitError):
        return error.exit_code, one_line(str(error))
    if isinstance(error, OSError):
        where = error.filename or "a file"
        if error.errno == errno.ENOSPC:
            return EXIT_ERROR, f"disk full while writing {where}; free some space, then run it again"
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return EXIT_ERROR, (f"{where}: {error.strerror or 'not allowed'}; make it writable, or choose another "
                                f"folder (--out, $LABKIT_RUNS, $LABKIT_DATA)")
        if error.errno in (errno.EISDIR, errno.ENOTDIR, errno.ENOENT, errno.EEXIST):
            return EXIT_ERROR, f"{where}: {error.strerror}; check the path"
        return EXIT_ERROR, f"{where}: {error.strerror or one_line(str(error)) or type(error).__name__}"
    if isinstance(error, MemoryError):
        return EXIT_ERROR, "out of memory; use a smaller --batch-size, or close other programs"
    return EXIT_ERROR, (f"unexpected {type(error).__name__}: {one_line(str(error), 300)}; this is a bug in labkit: "
                        f"please report it with the log file")


def _log_folder() -> Path:
    """Where failed commands leave their traceback: $LABKIT_LOGS, else <runs>/logs (runs/logs by default)."""
    if os.environ.get("LABKIT_LOGS"):
        return Path(os.environ["LABKIT_LOGS"])
    try:
        from .config import runs_dir

        return runs_dir() / "logs"
    except Exception:  # noqa: BLE001  (the fault being reported may be an import of the config)
        return Path(tempfile.gettempdir()) / "labkit-logs"


def _write_log(command: str, error: BaseException, text: list[str]) -> str | None:
    """Write the command line, the error's details and its traceback to a new log file; its path, or None."""
    name = f"{command.split()[-1]}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    details = getattr(error, "details", None)
    body = (f"$ labkit {shlex.join(sys.argv[1:])}\nlabkit {__version__}, Python {sys.version.split()[0]}\n\n"
            + (f"{details}\n\n" if details else "") + "".join(text))
    for folder in (_log_folder(), Path(tempfile.gettempdir()) / "labkit-logs"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(body, encoding="utf-8", errors="replace")
        except OSError:
            continue
        shown = os.path.relpath(path)  # relative to where the command ran, when it lies below it
        return str(path) if shown.startswith("..") else shown
    return None


def _say(line: str) -> None:
    """Print to stderr; a closed terminal (SIGHUP) or pipe is not a second fault."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
