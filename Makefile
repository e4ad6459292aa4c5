# jsdlib: the two commands a newcomer needs are `make test` and `make reproduce`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.jsdlib-installed
# torch/torchvision are pinned to the releases that install from this machine's local disk
TORCH := torch==2.14.1 torchvision==0.29.1
DATASET ?= synth
SCALE ?= default

.PHONY: venv test docs reproduce export clean-nbs readme lint-sync bench help

help:
	@echo "make test       build/reuse $(VENV), check notebooks and library are in sync, run every test"
	@echo "make reproduce  build/reuse $(VENV), run the JSD pipeline on the generated default data"
	@echo "make docs       build/reuse $(VENV), run every chapter and build the course website into _docs/ (FRESH=1: rerun all)"

$(STAMP): settings.ini setup.py
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel setuptools
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip check
	touch $(STAMP)

venv: $(STAMP)

# regenerate the library and README from the notebooks
export: venv
	$(BIN)/nbdev_clean && $(BIN)/nbdev_export && $(PY) tools/make_readme.py

# the website: every chapter executed once (nbdev_test's skip rules), rendered with its outputs into _docs/
docs: venv
	$(PY) tools/build_docs.py $(if $(FRESH),--fresh)

# building the site with --fresh runs every notebook (what nbdev_test did, once), two side by side; tests/test_site.py
# then rebuilds the pages from those runs and reads them in a browser. pytest runs two workers (pytest-xdist), a test
# file to a worker, and prints the 15 slowest tests
test: venv
	$(PY) tools/check_sync.py
	$(PY) tools/build_docs.py --fresh --jobs 2
	$(BIN)/pytest -q tests -n 2 --dist loadfile --durations=15

reproduce: venv
	$(BIN)/jsd reproduce --dataset $(DATASET) --scale $(SCALE) --out runs/$(DATASET)-$(SCALE)
