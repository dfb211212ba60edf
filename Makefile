# diffusers-freqca developer commands. `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Pinned so that a CPU-only machine does not pull a multi-GB CUDA build of torch; override with
# `make install TORCH_SPEC="torch==X.Y.Z"` (or an index URL in PIP_EXTRA_INDEX_URL) for another build.
TORCH_SPEC ?= torch==2.13.0
CHECK_DIRS := src tests examples benchmarks tools

.PHONY: install test test-gpu style quality demo docs benchmark clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test,docs]"
	touch $@

install: $(VENV)/.installed

test: install
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q tests

test-gpu: install
	$(PY) -m pytest -q -m "gpu or multi_gpu" tests

style: install
	$(VENV)/bin/ruff check --fix $(CHECK_DIRS)
	$(VENV)/bin/ruff format $(CHECK_DIRS)

quality: install
	$(VENV)/bin/ruff check $(CHECK_DIRS)
	$(VENV)/bin/ruff format --check $(CHECK_DIRS)

demo: install
	HF_HUB_OFFLINE=1 $(VENV)/bin/diffusers-freqca demo

docs: install
	$(VENV)/bin/mkdocs build --strict

# The benchmarks are development tools in benchmarks/, run from the clone (not part of the installed package).
benchmark: install
	HF_HUB_OFFLINE=1 $(PY) -m benchmarks.quality

clean:
	rm -rf $(VENV) build dist site .pytest_cache .ruff_cache src/*.egg-info
