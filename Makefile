# Two commands on a fresh machine (each bootstraps .venv on first use):
#   make lab     run every notebook headless in the quick profile (PROFILE=full for the real thing)
#   make test    unit tests + replay every notebook with nbval (+ the wheel, Colab and browser tests: tests/test_install.py,
#                test_colab.py, test_browser.py; the last runs when Chromium is installed)
#   make dist    the wheel and sdist in dist/
#   make weights train the shipped DCGAN (the seed's settings; resumes an interrupted run) and write weights/dcgan,
#                the same with resize-convolution upsampling and reflection padding in G (the DCGAN study's finding),
#                continued with a moving average of G, in weights/dcgan_reflect_ema, resize convolution with DiffAugment
#                on D's inputs, continued with a moving average of G, in weights/dcgan_augment_ema, two more
#                full-length runs at batch 32 measured and recorded without their weights (weights/dcgan_*_tried), and record
#                notebook 03's GAN over 400 epochs in weights/gan_long_run, and notebook 06's GAN, WGAN-GP and SN-GAN
#                over 3 seeds each in weights/gan_variants
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: lab test setup clean weights readme dist

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

# After a quick-profile run the README's measured blocks are regenerated from the notebooks' new outputs.
lab: setup
	$(VENV)/bin/labkit lab --profile $(PROFILE) $(ARGS)
	$(if $(filter quick,$(PROFILE)),$(PY) -m labkit.tools.readme)

# README.md's measured numbers, copied from the committed notebooks and weights/*/manifest.json (labkit/tools/readme.py)
readme: setup
	$(PY) -m labkit.tools.readme

# The replayed notebooks save their figures under runs/, so a test run leaves the committed figures/ alone.
test: setup
	LABKIT_PROFILE=quick LABKIT_FIGURES=$(CURDIR)/runs/test_figures $(PY) -m pytest tests --nbval --nbval-current-env notebooks $(ARGS)

# The seed's DCGAN: 100 epochs, batch 128, Adam 2e-4, beta1 0.5, seed 0, on the best data reachable (the Kaggle
# set with a token, else synthetic art). PRECISION=mixed uses bfloat16 on a CPU that has it (faster there).
PRECISION ?= auto
RELEASE_RUN := runs/release
TRAIN_DCGAN := labkit train --model dcgan --profile full --seed 0 --epochs 100 --precision $(PRECISION) --out $(RELEASE_RUN) --image-every 20
# The study's change (labkit study-dcgan; notebook 04, section 6): the same recipe with G upsampling by nearest 2x + 3x3
# convolution and padding its convolutions by reflection (the study's reflect_pad_fp32 run), trained and released
# beside the seed's run, then continued for 60 more epochs with a moving average of G (decay 0.998), which ships.
# (Resize convolution alone, weights/dcgan_resize, and the reflect run's epoch-100 G alone, weights/dcgan_reflect, are
# in the git history: this replaced them within the 40 MB weights/ may hold.)
REFLECT_RUN := runs/release_reflect
TRAIN_REFLECT := labkit train --model dcgan --config upsample=resize --config pad=reflect --profile full --seed 0 --epochs 100 --precision $(PRECISION) --out $(REFLECT_RUN) --image-every 20
TRAIN_REFLECT_EMA := labkit train --model dcgan --config upsample=resize --config pad=reflect --config ema=0.998 --profile full --seed 0 --epochs 160 --precision $(PRECISION) --out $(REFLECT_RUN) --image-every 20 --resume
# Resize convolution with DiffAugment (the study's diff_augment factor) against a D that overfits 2,872 paintings.
AUGMENT_RUN := runs/release_augment
TRAIN_AUGMENT := labkit train --model dcgan --config upsample=resize --config augment=color,translation,cutout --profile full --seed 0 --epochs 100 --precision $(PRECISION) --out $(AUGMENT_RUN) --image-every 20
# ... continued for 60 more epochs with a moving average of G (decay 0.998: about the last 500 updates), which shipped
# until the ADA release below needed its room in weights/: it is recorded, not shipped (`labkit release --retire`
# turned the release into this record; the commands below write the same record from the run).
TRAIN_AUGMENT_EMA := labkit train --model dcgan --config upsample=resize --config augment=color,translation,cutout --config ema=0.998 --profile full --seed 0 --epochs 160 --precision $(PRECISION) --out $(AUGMENT_RUN) --image-every 20 --resume
# Full-length runs tried and not shipped (notebook 04, section 6): measured and recorded by `labkit release
# --record-only` (manifest, history, last grid; no weights) in weights/dcgan_*_tried/. Four times the updates: the
# reflect recipe in batches of 32, with an average of G from the start (the run was stopped after epoch 54 of 100;
# these commands make the same run); and that with DiffAugment's translation and cutout on what D sees.
B32_RUN := runs/release_b32
TRAIN_B32 := labkit train --model dcgan --config upsample=resize --config pad=reflect --config ema=0.999 --batch-size 32 --profile full --seed 0 --epochs 54 --precision $(PRECISION) --out $(B32_RUN) --image-every 10
TC_B32_RUN := runs/release_tc_b32
TRAIN_TC_B32 := labkit train --model dcgan --config upsample=resize --config pad=reflect --config augment=translation,cutout --config ema=0.998 --batch-size 32 --profile full --seed 0 --epochs 50 --precision $(PRECISION) --out $(TC_B32_RUN) --image-every 10
# The same translation and cutout, each applied with a probability that adapts after every epoch to hold D's mean D(x)
# at 0.7 (ADA, --config ada_target=0.7): its epoch-40 average ships as weights/dcgan_ada, and the same run continued to
# epoch 60 is recorded, not shipped (notebook 04, end of section 6: the figures peaked near epoch 40 and fell after).
ADA_RUN := runs/release_ada_b32
TRAIN_ADA := labkit train --model dcgan --config upsample=resize --config pad=reflect --config augment=translation,cutout --config ada_target=0.7 --config ema=0.998 --batch-size 32 --profile full --seed 0 --epochs 40 --precision $(PRECISION) --out $(ADA_RUN) --image-every 10
ADA60_RUN := runs/release_ada60_b32
TRAIN_ADA_60 := labkit train --model dcgan --config upsample=resize --config pad=reflect --config augment=translation,cutout --config ada_target=0.7 --config ema=0.998 --batch-size 32 --profile full --seed 0 --epochs 60 --precision $(PRECISION) --out $(ADA60_RUN) --image-every 10 --resume
# ADA and R1 together (--config r1=0.02: a penalty on D's gradient at the real paintings), recorded, not shipped
# (notebook 04, end of section 6: it meets the six targets and paints no forms either).
ADA_R1_RUN := runs/release_ada_r1_b32
TRAIN_ADA_R1 := labkit train --model dcgan --config upsample=resize --config pad=reflect --config augment=translation,cutout --config ada_target=0.7 --config r1=0.02 --config ema=0.998 --batch-size 32 --profile full --seed 0 --epochs 40 --precision $(PRECISION) --out $(ADA_R1_RUN) --image-every 10
weights: setup
	$(VENV)/bin/labkit train-forms --images 16000 --epochs 10  # first: every art release records its figures
	$(VENV)/bin/$(TRAIN_DCGAN) $(if $(wildcard $(RELEASE_RUN)/dcgan.pt),--resume)
	$(VENV)/bin/labkit release --run $(RELEASE_RUN)/dcgan.pt --precision $(PRECISION) --command "make weights PRECISION=$(PRECISION)" --command "$(TRAIN_DCGAN) [--resume]"
	$(VENV)/bin/$(TRAIN_REFLECT) $(if $(wildcard $(REFLECT_RUN)/dcgan.pt),--resume)
	$(VENV)/bin/$(TRAIN_REFLECT_EMA)
	$(VENV)/bin/labkit release --run $(REFLECT_RUN)/dcgan.pt --out weights/dcgan_reflect_ema --precision $(PRECISION) --command "make weights PRECISION=$(PRECISION)" --command "$(TRAIN_REFLECT) [--resume]" --command "$(TRAIN_REFLECT_EMA)"
	$(VENV)/bin/$(TRAIN_AUGMENT) $(if $(wildcard $(AUGMENT_RUN)/dcgan.pt),--resume)
	$(VENV)/bin/$(TRAIN_AUGMENT_EMA)
	$(VENV)/bin/labkit release --record-only --run $(AUGMENT_RUN)/dcgan.pt --out weights/dcgan_augment_ema --precision $(PRECISION) --command "make weights PRECISION=$(PRECISION)" --command "$(TRAIN_AUGMENT) [--resume]" --command "$(TRAIN_AUGMENT_EMA)"
	$(VENV)/bin/$(TRAIN_B32) $(if $(wildcard $(B32_RUN)/dcgan.pt),--resume)
	$(VENV)/bin/labkit release --record-only --run $(B32_RUN)/dcgan.pt --out weights/dcgan_reflect_b32_tried --precision $(PRECISION) --command "make weights PRECISION=$(PRECISION)" --command "$(TRAIN_B32) [--resume]"
	$(VENV)/bin/$(TRAIN_TC_B32) $(if $(wildcard $(TC_B32_RUN)/dcgan.pt),--resume)
	$(VENV)/bin/labkit release --record-only --run $(TC_B32_RUN)/dcgan.pt --out weights/dcgan_reflect_tc_b32_tried --precision $(PRECISION) --command "make weights PRECISION=$(PRECISION)" --command "$(TRAIN_TC_B32) [--resume]"
	$(VENV)/bin/$(TRAIN_ADA) $(if $(wildcard $(ADA_RUN)/dcgan.pt),--resume)
	$(VENV)/bin/labkit release --run $(ADA_RUN)/dcgan.pt --out weights/dcgan_ada --precision $(PRECISION) --command "make weights PRECISION=$(PRECISION)" --command "$(TRAIN_ADA) [--resume]"
	$(if $(wildcard $(ADA60_RUN)/dcgan.pt),,mkdir -p $(ADA60_RUN) && cp $(ADA_RUN)/dcgan.pt $(ADA60_RUN)/)
	$(VENV)/bin/$(TRAIN_ADA_60)
	$(VENV)/bin/labkit release --record-only --run $(ADA60_RUN)/dcgan.pt --out weights/dcgan_ada_60_tried --precision $(PRECISION) --command "make weights PRECISION=$(PRECISION)" --command "$(TRAIN_ADA) [--resume]" --command "$(TRAIN_ADA_60)"
	$(VENV)/bin/$(TRAIN_ADA_R1) $(if $(wildcard $(ADA_R1_RUN)/dcgan.pt),--resume)
	$(VENV)/bin/labkit release --record-only --run $(ADA_R1_RUN)/dcgan.pt --out weights/dcgan_ada_r1_tried --precision $(PRECISION) --command "make weights PRECISION=$(PRECISION)" --command "$(TRAIN_ADA_R1) [--resume]"
	$(VENV)/bin/labkit study-dcgan --epochs 10 --every 2 --resume
	$(VENV)/bin/labkit record-gan --epochs 400
	$(VENV)/bin/labkit record-gan-variants --updates 2100 --every 210 --seeds 0 1 2
	$(PY) -m labkit.tools.readme

# The package: a wheel and an sdist in dist/, carrying data/, weights/ and notebooks/ (setup.py, MANIFEST.in).
dist: setup
	rm -rf dist
	$(PY) -m pip wheel -q --no-deps --no-build-isolation -w dist .
	$(PY) -c "from setuptools import build_meta; build_meta.build_sdist('dist')"

clean:
	rm -rf $(VENV) runs build dist labkit.egg-info
