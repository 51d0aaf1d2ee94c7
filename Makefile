# Two entry points (see README): `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, pinned: an open range would pull a multi-GB CUDA build on a CPU machine.
TORCH ?= torch==2.13.0

.PHONY: demo test install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[train]"

install-dev: $(BIN)/python
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[train,dev,export]"
	# zoo export --format neutone: the SDK without its dependencies (its torchaudio does not import beside this torch)
	$(BIN)/pip install -q --no-deps neutone-sdk==1.5.2

demo: install
	$(BIN)/zoo demo --out out/demo --force

test: install-dev
	WANDB_MODE=offline $(BIN)/python -m pytest -q -n 2 --durations=15

bench: install-dev
	$(BIN)/python benchmarks/allpole.py --quick

clean:
	rm -rf $(VENV) out runs
