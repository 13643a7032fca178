"""Automatic checks for the lab's exercises: each runs a student's function next to labkit's own.

Introduced in notebooks/01_autoencoder.ipynb; notebooks 01-04 and 06 hold the exercises listed in EXERCISES at the
bottom. A check cell rebinds the name, so the rest of the notebook uses whatever the check returns:

    kl_divergence = checks.check_kl_divergence(kl_divergence)

and the check prints exactly one line:

    exercise 2.2 kl_divergence: PASS
    exercise 2.2 kl_divergence: FAIL - twice labkit's value: the closed form starts with a factor 1/2 ...
    exercise 2.2 kl_divergence: not done yet; using labkit's reference so you can go on

It returns the student's function on PASS and labkit's reference otherwise (a FAIL, or a stub that still
raises NotImplementedError), so a student who skips an exercise can run the rest of the notebook.

Every check runs on small seeded inputs, takes well under a second on a CPU, and leaves the caller's random
state (torch, random, numpy) as it was. Whatever the student's code returns or raises becomes one line:
a wrong shape says expected vs got, a known mistake (a missing 1/2, BCE averaged instead of summed, gradients
reaching G in the D step, ...) says which one, and an exception names its type and message. Beyond the values, a
check tests what its exercise teaches, so that mistakes nobody listed are caught too: gradients reach every term
that should learn, outputs stay in the range the next layer needs, noise is independent where it should be, the
caller's tensors are left alone, and a network has exactly the layers asked for. The specific hints are tried
before the generic ones. tests/test_mutations.py holds the wrong answers each check must catch.

Under nbgrader's autograder (it sets NBGRADER_EXECUTION) a line other than PASS goes to stderr, which nbgrader
scores as a failed test cell and shows in the feedback; the name is rebound all the same, so the notebook runs on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .references import (REFERENCES, reference_conv_transpose_out, reference_d_step, reference_g_block,  # noqa: F401
                         reference_make_decoder, reference_make_encoder, reference_reparameterize)
from .autoencoders import check_ae_loss, check_make_decoder, check_make_encoder
from .vae import check_kl_divergence, check_reparameterize, check_vae_loss
from .gans import check_d_step, check_discriminator_loss, check_generator_loss
from .dcgan import check_conv_transpose_out, check_g_block, check_weights_init
from .extensions import check_gradient_penalty, check_kl_per_dimension


# ---------------------------------------------------------------------------------------------------
# The exercises, in notebook order
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Exercise:
    id: str  # "2.2": notebook 02, second exercise; the stub's NotImplementedError names it
    name: str  # the function the student writes
    notebook: str  # notebooks/<notebook>.ipynb
    check: Callable  # check(fn) prints one line and returns fn (PASS) or labkit's reference


EXERCISES = (
    Exercise("1.1", "ae_loss", "01_autoencoder", check_ae_loss),
    Exercise("1.2", "make_encoder", "01_autoencoder", check_make_encoder),
    Exercise("1.3", "make_decoder", "01_autoencoder", check_make_decoder),
    Exercise("2.1", "reparameterize", "02_vae", check_reparameterize),
    Exercise("2.2", "kl_divergence", "02_vae", check_kl_divergence),
    Exercise("2.3", "vae_loss", "02_vae", check_vae_loss),
    Exercise("3.1", "discriminator_loss", "03_mnist_gan", check_discriminator_loss),
    Exercise("3.2", "generator_loss", "03_mnist_gan", check_generator_loss),
    Exercise("3.3", "d_step", "03_mnist_gan", check_d_step),
    Exercise("4.1", "weights_init", "04_abstract_art_dcgan", check_weights_init),
    Exercise("4.2", "conv_transpose_out", "04_abstract_art_dcgan", check_conv_transpose_out),
    Exercise("4.3", "g_block", "04_abstract_art_dcgan", check_g_block),
    Exercise("6.1", "kl_per_dimension", "06_extensions", check_kl_per_dimension),
    Exercise("6.2", "gradient_penalty", "06_extensions", check_gradient_penalty),
)
