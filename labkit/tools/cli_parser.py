"""The `labkit` command's argument parser: one function per subcommand, each given the function that runs it
(labkit/cli.py holds those, the error boundary and the signal policy), and the argument types that turn a bad value
into one line naming the argument (exit 2) before any work starts. Nothing here imports torch.
"""
from __future__ import annotations

import argparse
import math
import re

from .. import __version__, course
from ..errors import EXIT_USAGE, one_line
from ..models.checks import MAX_BATCH, MAX_EPOCHS, MAX_LR

MAX_TIMEOUT = 10 ** 7  # seconds a notebook cell may run: 115 days
MAX_UPDATES = 10 ** 7  # generator updates of a recorded run


class Parser(argparse.ArgumentParser):
    """argparse, but `--epochs=--` is an error rather than an empty list (argparse drops the "--")."""

    def _get_values(self, action, arg_strings):
        if action.nargs is None and action.option_strings and arg_strings == ["--"]:
            self.error(f"argument {'/'.join(action.option_strings)}: expected one value, got '--'")
        return super()._get_values(action, arg_strings)


def top_parser() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """`labkit` itself (--version, --debug) and the subparsers its commands are added to."""
    parser = Parser(prog="labkit", description="The generative-models lab: run notebooks, train models.")
    parser.add_argument("--version", action="version", version=f"labkit {__version__}")
    parser.add_argument("--debug", action="store_true", default=False,
                        help="on an error, print the full traceback too (also $LABKIT_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", required=True)
    return parser, sub


def add_lab(sub, handler) -> None:
    """`labkit lab`: run the notebooks headless, in order."""
    lab = sub.add_parser("lab", help="execute the notebooks in order, headless, and write their figures")
    lab.add_argument("notebooks", nargs="*",
                     help="notebooks to run (default: this folder's NN_*.ipynb, else a clone's notebooks/)")
    lab.add_argument("--profile", choices=["quick", "full"], default=None,
                     help="quick: bundled data, few epochs (default, or $LABKIT_PROFILE); full: the real settings")
    lab.add_argument("--out", type=_path, default=None, help="write executed notebooks here instead of in place")
    lab.add_argument("--timeout", type=_count(MAX_TIMEOUT), default=None, metavar="SECONDS",
                     help="seconds allowed per cell (default: the profile's, quick 900, full 43200)")
    lab.add_argument("--device", type=_device, default=None, help="auto (default), cpu, cuda, mps: exported as $LABKIT_DEVICE")
    lab.set_defaults(func=handler)


def add_notebooks(sub, handler) -> None:
    """`labkit notebooks DIR`: copy the lab's notebooks out of the package (or the clone) for a student to open."""
    notebooks = sub.add_parser("notebooks", help="write the lab's notebooks into a folder, to open them in Jupyter",
                               description="Copy the lab's notebooks (00_setup ... 06_extensions) into DIR, created "
                                           "if missing. Then `cd DIR && labkit lab` runs them, or open them with "
                                           "`jupyter lab DIR`; outside a clone, runs/ and figures/ are written "
                                           "beside them.")
    notebooks.add_argument("dest", metavar="DIR", help="the folder to write them into, e.g. lab")
    notebooks.add_argument("--overwrite", action="store_true",
                           help="replace notebooks already in DIR (your edits are lost)")
    notebooks.set_defaults(func=handler)


def add_train(sub, handler) -> None:
    """`labkit train`: train ae, vae, gan, dcgan (or both = gan then vae) from the shell; see labkit/run.py."""
    train = sub.add_parser(
        "train", help="train a model: images, history.json and a resumable checkpoint per model",
        description="Train one of the lab's models with its specified hyper-parameters. Writes <out>/<model>.pt "
                    "(checkpoint after every epoch), <out>/history.json and <out>/<model>_images/*.png.")
    train.add_argument("--model", required=True, metavar="NAME",
                       help="a model of labkit.registry: ae, vae, gan, dcgan, cvae, wgan_gp, sngan; "
                            f"or both = {', then '.join(course.BOTH)} (labkit.course)")
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
    train.set_defaults(func=handler)


def add_release(sub, handler) -> None:
    """`labkit release`: export a finished run of any registered model to weights/."""
    release = sub.add_parser("release", help="export a finished run to weights/ with a checksummed manifest",
                             description="Write what the model's family ships (a GAN: the generator in float16; an "
                                         "autoencoder: the model), its grids, history and a manifest (sha256 per "
                                         "file, commands, data, metrics) of a finished `labkit train` run of any "
                                         "registered model. `make weights` runs the training and this.")
    what = release.add_mutually_exclusive_group(required=True)
    what.add_argument("--run", type=_path, metavar="CHECKPOINT", help="the run's checkpoint, e.g. runs/release/dcgan.pt")
    what.add_argument("--remeasure", type=_path, metavar="DIR",
                      help="score a shipped release (e.g. weights/dcgan) from its own files and rewrite its manifest "
                           "with today's figures (labkit.image_stats); its weights and grids stay as they are")
    what.add_argument("--retire", type=_path, metavar="DIR",
                      help="turn a shipped release (e.g. weights/dcgan_augment_ema) into a record, as --record-only "
                           "writes one: its manifest, history and last grid stay, its weights and other grids go")
    release.add_argument("--out", type=_path, default=None, metavar="DIR", help="default: weights/<model>")
    release.add_argument("--command", action="append", default=[], metavar="TEXT",
                         help="the command that trained the run, for the manifest (repeatable)")
    release.add_argument("--record-only", action="store_true",
                         help="measure and record a run that is not shipped: its manifest, history and last grid, "
                              "no weights (notebook 04 shows the full-length runs tried this way)")
    release.add_argument("--precision", choices=["auto", "fp32", "mixed"], default="auto",
                         help="the precision the run trained with, for the manifest (auto, the default: as the "
                              "checkpoint recorded it)")
    release.set_defaults(func=handler)


def add_record_gan(sub, handler) -> None:
    """`labkit record-gan`: the MLP GAN's long record."""
    record = sub.add_parser("record-gan", help="train notebook 03's GAN far past its 100 epochs and record its quality",
                            description="Train the MLP GAN for --epochs epochs on the bundled digits and write its "
                                        "classifier-FID and class shares every 10 epochs to weights/gan_long_run/.")
    record.add_argument("--epochs", type=_count(MAX_EPOCHS), default=400, metavar="N")
    record.add_argument("--out", type=_path, default=None, metavar="DIR", help="default: weights/gan_long_run")
    record.set_defaults(func=handler)


def add_study_dcgan(sub, handler) -> None:
    """`labkit study-dcgan`: the DCGAN study's controlled runs."""
    study = sub.add_parser("study-dcgan", help="why the DCGAN paints blobs: short controlled runs, one factor each "
                                                "(notebook 04)",
                           description="Train the DCGAN release's recipe for --epochs epochs once as it is and once per "
                                       "factor (each changing one thing), measure every run with labkit.image_stats "
                                       "every --every epochs, and write weights/dcgan_study/. Checkpoints go to "
                                       "runs/dcgan_study/; --resume continues them.")
    study.add_argument("--epochs", type=_count(MAX_EPOCHS), default=10, metavar="N")
    study.add_argument("--every", type=_count(MAX_EPOCHS), default=2, metavar="K", help="measure every K epochs")
    study.add_argument("--factors", nargs="+", default=None, metavar="NAME",
                       help="the runs to make (default: all of labkit.tools.dcgan_study.FACTORS; "
                            "an unknown name is an error that lists them)")
    study.add_argument("--resume", action="store_true", help="continue the runs in runs/dcgan_study/")
    study.add_argument("--out", type=_path, default=None, metavar="DIR", help="default: weights/dcgan_study")
    study.set_defaults(func=handler)


def add_train_forms(sub, handler) -> None:
    """`labkit train-forms`: the form detector notebook 04 looks through."""
    forms = sub.add_parser("train-forms", help="train the detector that counts the synthetic gallery's shapes "
                                               "(notebook 04)",
                           description="Train labkit.forms' detector on --images synthetic paintings it knows the "
                                       "shapes of, check it on 1,000 others and write weights/form_detector/.")
    forms.add_argument("--images", type=_count(10 ** 6), default=16_000, metavar="N")
    forms.add_argument("--epochs", type=_count(MAX_EPOCHS), default=10, metavar="N")
    forms.add_argument("--out", type=_path, default=None, metavar="DIR", help="default: weights/form_detector")
    forms.set_defaults(func=handler)


def add_record_gan_variants(sub, handler) -> None:
    """`labkit record-gan-variants`: the GAN variants over seeds."""
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
    variants.set_defaults(func=handler)


def add_student(sub, handler) -> None:
    """`labkit student`: the student notebooks."""
    student = sub.add_parser("student", help="write the student notebooks: solutions replaced by stubs, outputs cleared",
                             description="Write every notebook to OUT with each ### BEGIN SOLUTION ... ### END "
                                         "SOLUTION region replaced by raise NotImplementedError(\"exercise N.M: "
                                         "...\") and all outputs cleared (see labkit/tools/student.py).")
    student.add_argument("out", type=_path, metavar="OUT", help="folder for the student notebooks (not the notebooks folder)")
    student.add_argument("--notebooks", type=_path, default=None, metavar="DIR", help="the instructor notebooks (default: notebooks/)")
    student.set_defaults(func=handler)


def finish(parser: argparse.ArgumentParser, sub) -> argparse.ArgumentParser:
    """Every command takes --debug too, and every parser reports a bad argument in one line."""
    for command in sub.choices.values():
        one_line_errors(command)
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="on an error, print the full traceback too (also $LABKIT_DEBUG=1)")
    return one_line_errors(parser)


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """argparse prints the whole usage block before an error; one line naming the argument is enough (exit 2)."""
    parser.error = lambda message: parser.exit(EXIT_USAGE, f"{parser.prog}: error: {one_line(message)} "
                                                           f"(see {parser.prog} --help)\n")
    return parser


# --- argument types: a bad value is one line naming the argument -----------------------------------------------

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
