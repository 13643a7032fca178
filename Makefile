# Two commands on a fresh machine (each bootstraps .venv on first use):
#   make lab     run every notebook headless in the quick profile (PROFILE=full for the real thing)
#   make test    unit tests + replay every notebook with nbval
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= quick
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: lab test setup clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

lab: setup
	$(VENV)/bin/labkit lab --profile $(PROFILE) $(ARGS)

test: setup
	LABKIT_PROFILE=quick $(PY) -m pytest tests --nbval --nbval-current-env notebooks $(ARGS)

clean:
	rm -rf $(VENV) runs
