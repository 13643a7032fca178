"""The exercises wing: the checks the notebooks' exercise cells call, and the harness they run on. Not taught.

    checks.py        EXERCISES (the list, in notebook order) and the check_* functions a check cell calls
    harness.py       how a check runs: one printed line, the caller's random state kept, the shared comparisons
    references.py    labkit's own answer to each exercise (REFERENCES: where each lives in labkit)
    autoencoders.py  the checks of notebook 01
    vae.py           the checks of notebook 02
    gans.py          the checks of notebook 03
    dcgan.py         the checks of notebook 04
    extensions.py    the checks of notebook 06

A check cell reads `from labkit.exercises import checks` then `kl_divergence = checks.check_kl_divergence(kl_divergence)`;
the same functions are here too (`from labkit import exercises; exercises.check_kl_divergence(...)`).
"""
from .checks import (EXERCISES, Exercise, check_ae_loss, check_conv_transpose_out, check_d_step,  # noqa: F401
                     check_discriminator_loss, check_g_block, check_generator_loss, check_gradient_penalty,
                     check_kl_divergence, check_kl_per_dimension, check_make_decoder, check_make_encoder,
                     check_reparameterize, check_vae_loss, check_weights_init)
