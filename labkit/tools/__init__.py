"""The tools wing: what makes and maintains the lab, not what it teaches.

    weights.py      releases and records in weights/ (manifest written and checked), the long GAN record
    variants.py     the GAN variants' seeds record (notebook 06)
    dcgan_study.py  the DCGAN study's controlled runs (notebook 04)
    precision.py    mixed-precision timing (notebook 06)
    lab.py          `labkit lab`: runs the notebooks headless, in order; what 00_setup reports about this machine
    execute.py      one notebook run in a fresh kernel (a failing cell in one line, stop signals to the kernel)
    notebook_io.py  reading, checking, locking and writing notebooks; stream outputs merged in linear time
    estimate.py     how long the notebooks will take here (notebook 00)
    student.py      `labkit student`: the student version of the notebooks
    resources.py    `labkit notebooks`: copies of the notebooks to work in
    colab.py        the notebooks' install cell and Colab badges (python -m labkit.tools.colab)
    readme.py       README.md's measured blocks (python -m labkit.tools.readme)
    cli_parser.py   the `labkit` command's arguments, one function per subcommand (labkit/cli.py runs them)
"""
