"""The `labkit` command (also `python -m labkit`).

    labkit lab   [--profile quick|full] [--out DIR] [NOTEBOOK ...]   run the notebooks headless, in order
    labkit train --model NAME ...                                     train one model from the shell
    labkit notebooks DIR [--overwrite]                                write the lab's notebooks into DIR to open them
    labkit student OUT [--notebooks DIR]                              write the student notebooks (solutions -> stubs)
    labkit record-gan-variants [--updates N] [--every K] [--seeds S ...]  GAN, WGAN-GP, SN-GAN over seeds (make weights)

Errors that are the user's to fix (bad arguments, missing data, a mismatched checkpoint) print one line
and exit non-zero.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import shlex
import signal
import sys

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description="The generative-models lab: run notebooks, train models.")
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    lab = sub.add_parser("lab", help="execute the notebooks in order, headless, and write their figures")
    lab.add_argument("notebooks", nargs="*",
                     help="notebooks to run (default: this folder's NN_*.ipynb, else a clone's notebooks/)")
    lab.add_argument("--profile", choices=["quick", "full"], default=None,
                     help="quick: bundled data, few epochs (default, or $LABKIT_PROFILE); full: the real settings")
    lab.add_argument("--out", default=None, help="write executed notebooks here instead of in place")
    lab.add_argument("--timeout", type=_positive_int, default=None, metavar="SECONDS",
                     help="seconds allowed per cell (default: the profile's, quick 900, full 43200)")
    lab.add_argument("--device", default=None, help="auto (default), cpu, cuda, mps: exported as $LABKIT_DEVICE")
    lab.set_defaults(func=_cmd_lab)

    add_notebooks_parser(sub)
    add_train_parser(sub)

    release = sub.add_parser("release", help="export a finished DCGAN run to weights/ with a checksummed manifest",
                             description="Write the generator (float16), fixed-noise grids, history and a manifest "
                                         "(sha256 per file, commands, data, metrics) of a finished `labkit train "
                                         "--model dcgan` run. `make weights` runs the training and this.")
    release.add_argument("--run", required=True, metavar="CHECKPOINT", help="the run's checkpoint, e.g. runs/release/dcgan.pt")
    release.add_argument("--out", default=None, metavar="DIR", help="default: weights/dcgan")
    release.add_argument("--command", action="append", default=[], metavar="TEXT",
                         help="the command that trained the run, for the manifest (repeatable)")
    release.add_argument("--precision", choices=["auto", "fp32", "mixed"], default="auto",
                         help="the precision the run trained with, for the manifest")
    release.set_defaults(func=_cmd_release)

    record = sub.add_parser("record-gan", help="train notebook 03's GAN far past its 100 epochs and record its quality",
                            description="Train the MLP GAN for --epochs epochs on the bundled digits and write its "
                                        "classifier-FID and class shares every 10 epochs to weights/gan_long_run/.")
    record.add_argument("--epochs", type=_positive_int, default=400, metavar="N")
    record.add_argument("--out", default=None, metavar="DIR", help="default: weights/gan_long_run")
    record.set_defaults(func=_cmd_record_gan)

    variants = sub.add_parser("record-gan-variants", help="train the BCE GAN, WGAN-GP and SN-GAN over several seeds and "
                                                          "record their quality (notebook 06)",
                              description="Train each of gan, wgan_gp and sngan from each seed for the same number of "
                                          "generator updates on the bundled digits, measure classifier-FID and mode "
                                          "coverage every --every updates, and write weights/gan_variants/.")
    variants.add_argument("--updates", type=_positive_int, default=2100, metavar="N",
                          help="generator updates per run (default 2100: 30 epochs of the BCE GAN)")
    variants.add_argument("--every", type=_positive_int, default=210, metavar="K",
                          help="measure every K generator updates (default 210; a multiple of 70)")
    variants.add_argument("--seeds", type=_seed, nargs="+", default=[0, 1, 2], metavar="S", help="default: 0 1 2")
    variants.add_argument("--out", default=None, metavar="DIR", help="default: weights/gan_variants")
    variants.set_defaults(func=_cmd_record_gan_variants)

    student = sub.add_parser("student", help="write the student notebooks: solutions replaced by stubs, outputs cleared",
                             description="Write every notebook to OUT with each ### BEGIN SOLUTION ... ### END "
                                         "SOLUTION region replaced by raise NotImplementedError(\"exercise N.M: "
                                         "...\") and all outputs cleared (see labkit/student.py).")
    student.add_argument("out", metavar="OUT", help="folder for the student notebooks (not the notebooks folder)")
    student.add_argument("--notebooks", default=None, metavar="DIR", help="the instructor notebooks (default: notebooks/)")
    student.set_defaults(func=_cmd_student)
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

    from .resources import NotebooksError, write_notebooks, written_message

    try:
        written = write_notebooks(args.dest, overwrite=args.overwrite)
    except NotebooksError as e:
        return _fail(str(e))
    print(written_message(Path(args.dest), len(written)))
    return 0


def _cmd_student(args: argparse.Namespace) -> int:
    from .student import SolutionError, write_student_notebooks

    try:
        written = write_student_notebooks(args.out, args.notebooks)
    except (SolutionError, OSError) as e:
        return _fail(str(e))
    for name, count in written:
        print(f"  {name:<32} {count} exercise{'' if count == 1 else 's'}")
    print(f"labkit student: wrote {len(written)} notebooks ({sum(c for _, c in written)} exercises) to {args.out}")
    return 0


def _cmd_record_gan(args: argparse.Namespace) -> int:
    from .data import DataError
    from .weights import record_gan_run

    try:
        manifest = record_gan_run(args.out, epochs=args.epochs,
                                  commands=["make weights", f"labkit record-gan --epochs {args.epochs}"])
    except (DataError, OSError) as e:
        return _fail(str(e))
    print(f"labkit: recorded {manifest['epochs']} epochs; best classifier-FID {manifest['best']['fid']} at epoch "
          f"{manifest['best']['epoch']}")
    return 0


def _cmd_record_gan_variants(args: argparse.Namespace) -> int:
    from .data import DataError
    from .variants import record_gan_variants

    command = f"labkit record-gan-variants --updates {args.updates} --every {args.every} --seeds {shlex.join(map(str, args.seeds))}"
    try:
        manifest = record_gan_variants(args.out, seeds=tuple(args.seeds), updates=args.updates, every=args.every,
                                       commands=["make weights", command])
    except (DataError, OSError, ValueError) as e:
        return _fail(str(e))
    print(f"labkit: recorded {len(manifest['models'])} models x {len(manifest['seeds'])} seeds, "
          f"{manifest['generator_updates']} generator updates each, in {manifest['train_seconds'] / 60:.0f} min; "
          "final classifier-FID " + ", ".join(f"{name} {v['mean']:.0f} ± {v['std']:.0f}"
                                              for name, v in manifest["final_fid"].items()))
    return 0


def _cmd_release(args: argparse.Namespace) -> int:
    from .checkpoint import CheckpointError
    from .data import DataError
    from .weights import release_dcgan

    try:
        manifest = release_dcgan(args.run, args.out, commands=args.command or ["labkit release"],
                                 precision=args.precision)
    except (CheckpointError, DataError, OSError) as e:
        return _fail(str(e))
    print(f"labkit: released the DCGAN ({manifest['epochs']} epochs): " +
          ", ".join(f"{k} {v}" for k, v in manifest["metrics"].items()))
    return 0


def _cmd_lab(args: argparse.Namespace) -> int:
    from .lab import run_lab

    return run_lab(args.notebooks, profile=args.profile, out=args.out, timeout=args.timeout, device=args.device)


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _positive_int(text: str) -> int:
    value = _whole(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def _seed(text: str) -> int:
    value = _whole(text)
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError(f"must be between 0 and {2 ** 32 - 1}, got {value}")
    return value


def add_train_parser(sub) -> None:
    """`labkit train`: train ae, vae, gan, dcgan (or both = gan then vae) from the shell; see labkit/run.py."""
    train = sub.add_parser(
        "train", help="train a model: images, history.json and a resumable checkpoint per model",
        description="Train one of the lab's models with its specified hyper-parameters. Writes <out>/<model>.pt "
                    "(checkpoint after every epoch), <out>/history.json and <out>/<model>_images/*.png.")
    train.add_argument("--model", required=True, metavar="NAME",
                       help="a model of labkit.registry: ae, vae, gan, dcgan, cvae, wgan_gp, sngan; "
                            "or both = the GAN, then the VAE")
    train.add_argument("--epochs", type=_positive_int, default=None, metavar="N",
                       help="total epochs (default: the profile's; full: ae 30, vae 50, gan 100, dcgan 100)")
    train.add_argument("--batch-size", type=_positive_int, default=None, metavar="B",
                       help="default: the model's config (ae 128, vae 128, gan 64, dcgan 128)")
    train.add_argument("--lr", type=_positive_float, default=None, help="Adam learning rate (default: the model's config)")
    train.add_argument("--out", default=None, metavar="DIR",
                       help="output folder (default: runs/<profile>/ under $LABKIT_RUNS or runs/, where the notebooks "
                            "look for trained models)")
    train.add_argument("--profile", choices=["quick", "full"], default=None,
                       help="quick (default, or $LABKIT_PROFILE): the bundled MNIST subset and synthetic art; "
                            "full: full MNIST and the Kaggle art set")
    train.add_argument("--device", default="auto", help="auto (default), cpu, cuda, cuda:N or mps")
    train.add_argument("--seed", type=_seed, default=0, help="random seed, 0 to 4294967295 (default 0)")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint's last complete epoch")
    train.add_argument("--image-every", type=_positive_int, default=10, metavar="K",
                       help="write image grids every K epochs, and at the last one (default 10)")
    train.add_argument("--max-batches", type=_positive_int, default=None, metavar="M",
                       help="stop each epoch after M batches (smoke runs)")
    train.add_argument("--precision", choices=["auto", "fp32", "mixed"], default="auto",
                       help="GANs: auto (default) = float16 mixed precision on CUDA, float32 elsewhere; "
                            "mixed = also bfloat16 autocast on a CPU (about 2x faster on CPUs with bfloat16 "
                            "instructions, slower on others)")
    train.set_defaults(func=_cmd_train)
    # argparse would print the whole usage block before the error; one line naming the argument is enough
    train.error = lambda message: train.exit(2, f"{train.prog}: error: {message} (see {train.prog} --help)\n")


def _cmd_train(args: argparse.Namespace) -> int:
    from .checkpoint import CheckpointError
    from .config import display_path, get_device, get_profile, runs_dir
    from .data import DataError
    from . import registry
    from .run import TrainError, TrainInterrupted, prepare_out, train_model

    try:
        profile = get_profile(args.profile)  # --profile, else $LABKIT_PROFILE, else quick
        device = get_device(args.device)
        if args.model != "both":
            registry.get(args.model)
    except ValueError as e:  # unknown device / profile / model: the message says what to use instead
        return _fail(str(e))
    try:
        out = prepare_out(args.out or runs_dir() / profile.name)
        names = ["gan", "vae"] if args.model == "both" else [args.model]
        entries = [registry.get(name) for name in names]  # an unknown name: one line listing the known ones
        for name, entry in zip(names, entries):
            data = ({"synthetic": "synthetic abstract art", "kaggle": "the Kaggle Abstract Art Gallery (synthetic "
                     "art without a token)"}[profile.art] if entry.data == "art" else
                    {"subset": "the bundled MNIST subset", "full": "full MNIST (torchvision)"}[profile.mnist])
            epochs = args.epochs or profile.epochs.get(name) or entry.config().num_epochs
            print(f"labkit train: {name}, profile {profile.name}, {epochs} epochs, data: {data}, "
                  f"out: {display_path(out)}", flush=True)
            train_model(name, out=out, profile=profile, device=device, epochs=args.epochs, batch_size=args.batch_size,
                        lr=args.lr, seed=args.seed, resume=args.resume, image_every=args.image_every,
                        max_batches=args.max_batches, precision=args.precision)
    except (TrainError, DataError, CheckpointError) as e:
        return _fail(str(e))
    except TrainInterrupted as e:
        again = list(sys.argv[1:]) + ([] if args.resume else ["--resume"])
        print(f"labkit: {e}; continue with: labkit {shlex.join(again)}", file=sys.stderr)
        return 130
    return 0


def _fail(msg: str) -> int:
    print(f"labkit: error: {msg}", file=sys.stderr)
    return 2


@contextlib.contextmanager
def _interrupts_deferred():
    """Hold a Ctrl-C back until the block ends, then raise it: PyTorch's C++ start-up code cannot be interrupted
    (an interrupt there aborts the process with a C++ error instead of a KeyboardInterrupt we can report)."""
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.func in (_cmd_train, _cmd_release, _cmd_record_gan, _cmd_record_gan_variants):
            with _interrupts_deferred():
                import torch  # noqa: F401  the part of start-up a Ctrl-C must not cut short
                import torchvision.utils  # noqa: F401  (its C++ operators too)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:  # before training started (loading data, building models): nothing was written
        print("labkit: interrupted before training started; nothing was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
