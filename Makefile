# Two commands do all the setup: `make lab` (learners) and `make test` (instructors, CI).
PY      := .venv/bin/python
VENV    := .venv/.installed
NBVAL   := -p course_lib.nbval_wait --nbval-lax --nbval-current-env --nbval-cell-timeout=1200
PYTHON3 ?= python3

.PHONY: lab test unit notebooks test-browser full export claims robust colab bench venv colab-test

# A venv in $(1) whose pip works, else a new one. A failed `python3 -m venv` (Debian/Ubuntu without python3-venv)
# leaves a bin/python with no pip behind: testing the file would skip creation after the fix, and pip would fail.
define make-venv
	@$(1)/bin/python -m pip --version >/dev/null 2>&1 || { rm -rf $(1) && $(PYTHON3) -m venv $(1); } || \
	  { echo "error: '$(PYTHON3) -m venv $(1)' failed. Install Python's venv module (Debian/Ubuntu:" \
	    "sudo apt install python3-venv), then run make again." >&2; exit 1; }
endef

venv:  ## just the virtual environment, .venv (recreated when a half-made one lacks pip)
	$(call make-venv,.venv)

$(VENV): pyproject.toml
	$(call make-venv,.venv)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

lab: $(VENV)  ## open JupyterLab on the first chapter
	$(PY) -m jupyter lab notebooks/00_why_fuse.ipynb

test: unit notebooks  ## unit tests, then every notebook in quick mode

unit: $(VENV)
	COURSE_QUICK=1 COURSE_PROGRESS=0 $(PY) -m pytest -q --durations=5 -m "not browser" tests

notebooks: $(VENV)  ## every chapter in quick mode under nbval, two at a time on one torch thread each
	$(PY) -m course_lib.runner test notebooks/*.ipynb

robust: $(VENV)  ## every chapter in quick mode at COURSE_SEED 1, 2, 3 x 1 and 2 torch threads; a table per claim
	$(PY) -m course_lib.runner robust notebooks/*.ipynb

test-browser: $(VENV)  ## chapter 00's widget in a real headless Chromium (installs Debian's chromium + driver)
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	  echo "could not install Chromium here: the browser test will skip and say why"
	COURSE_PROGRESS=0 $(PY) -m pytest -q -m browser -rs tests

bench: $(VENV)  ## retrain chapters 05-07's families for chapter 08 (results/bench_cache.json, about 2 min)
	$(PY) -m course_lib.cached_bench --rebuild > /dev/null

full: $(VENV)  ## re-execute every notebook in full mode, outputs written in place (how committed outputs are made)
	COURSE_QUICK=0 COURSE_RESULTS=results/claims.json $(PY) -m course_lib.execute notebooks/A_*.ipynb notebooks/[0-9]*.ipynb notebooks/B_*.ipynb
	$(PY) -m course_lib.claims --readme > /dev/null

export: $(VENV)  ## write the notebooks' exported cells into course_lib/
	$(PY) -m course_lib.export

claims: $(VENV)  ## copy the last `make test`'s quick values into results/claims.json and the README's table
	$(PY) -m course_lib.claims --record-quick results/local/claims.json --readme

colab: $(VENV)  ## rewrite the Colab badges and setup cells from the repository URL in pyproject.toml
	$(PY) -m course_lib.colab

# ---- Colab's versions (.ci/colab-versions.txt), in a second venv: the unit tests and chapters that lean on what
# Colab pins differently: transformers (BERT, ViT, the tokenizer), ipywidgets 7 and IPython 7 (explorers, Markdown,
# tqdm bars), pyarrow and pillow (the real-data loaders), and the checks that read the pins. Not the whole unit
# suite: the rest touches none of these, and it would add about a minute of CPU to a CI that must stay under 20.
PYC         := .venv-colab/bin/python
COLAB_PINS  := .ci/colab-versions.txt
COLAB_NBS   := notebooks/00_why_fuse.ipynb notebooks/05_mmbt.ipynb notebooks/06_pmf.ipynb
COLAB_UNITS := tests/test_backbones.py tests/test_fusion_mmbt.py tests/test_fusion_pmf.py tests/test_viz.py tests/test_diagrams.py \
               tests/test_glossary.py tests/test_train.py tests/test_real_data.py tests/test_colab.py \
               tests/test_packaging.py
COLAB_LACKS  = $(shell $(PYTHON3) -c 'import runpy; print(*map(repr, runpy.run_path("course_lib/colab.py")["COLAB_LACKS"]))')

# Built afresh whenever the pins change, so nothing from older pins lingers. One resolve for Colab's stack, the test
# tools and what the setup cell adds (COLAB_LACKS); then the course as the setup cell installs it. --no-compile: the
# tests below compile (and keep) only the modules they import, a small part of torch and transformers.
.venv-colab/.installed: $(COLAB_PINS) pyproject.toml course_lib/colab.py
	rm -rf .venv-colab
	$(call make-venv,.venv-colab)
	$(PYC) -m pip install -q --no-compile -r $(COLAB_PINS) $(COLAB_LACKS)
	$(PYC) -m pip install -q --no-compile --no-deps -e .
	touch $@

# The ledger goes to a temporary file (no tracked file changes); PYTHONDONTWRITEBYTECODE= lets the first import
# write the bytecode that --no-compile skipped.
colab-test: .venv-colab/.installed  ## unit tests and chapters 00, 05, 06 in quick mode under Colab's versions
	@export COURSE_QUICK=1 COURSE_PROGRESS=0 COURSE_RESULTS=$$(mktemp -d)/claims.json PYTHONDONTWRITEBYTECODE= \
	  PYDEVD_DISABLE_FILE_VALIDATION=1; \
	echo "== unit tests (Colab's versions)"; $(PYC) -m pytest -q -p no:warnings $(COLAB_UNITS) || exit 1; \
	for nb in $(COLAB_NBS); do \
	  echo "== $$nb (quick mode, Colab's versions)"; $(PYC) -m pytest -q $(NBVAL) $$nb || exit 1; \
	done
