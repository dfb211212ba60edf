# diffusers-freqca developer commands. `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch is installed first, on its own, so that you choose the build. A version pin does not choose it: on Linux
# x86-64, PyPI's torch wheels are CUDA builds, and `pip install torch==2.13.0` there downloads the CUDA libraries too
# (several GB of nvidia-* wheels), whether or not the machine has a GPU. For a CPU-only build, install from PyTorch's
# CPU index:
#     make install TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# (This project's development and CI machines have a local CPU build of torch 2.13.0 that pip finds by itself, so
# the plain pin is enough there.) Another version or build: make install TORCH_SPEC="torch==X.Y.Z".
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX_URL ?=
CHECK_DIRS := src tests examples benchmarks tools

.PHONY: install test test-gpu style quality demo docs benchmark clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL)) "$(TORCH_SPEC)"
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
# `make benchmark`: quality at matched compute on every model of the zoo, with a table and a plot per model.
benchmark: install
	HF_HUB_OFFLINE=1 $(PY) -m benchmarks.zoo --report

clean:
	rm -rf $(VENV) build dist site .pytest_cache .ruff_cache src/*.egg-info
