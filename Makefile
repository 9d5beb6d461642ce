# Two commands do all the setup: `make lab` (learners) and `make test` (instructors, CI).
PY    := .venv/bin/python
VENV  := .venv/.installed

.PHONY: lab test unit notebooks test-browser full export claims robust colab bench

$(VENV): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
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
