# `make app` and `make test` set everything up on a fresh machine: .venv, install, run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: app test test-torch demo bench lint clean

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[export,test]"
	touch $(STAMP)

app: $(STAMP)
	$(BIN)/zoo gui

# Two workers: much of the suite waits (on subprocesses, on the app's timers); a file's tests stay on one worker
# (--dist loadfile), so a module's trained runs are made once.
test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=20

# The PyTorch backend is an extra. TORCH picks the wheel: e.g. TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch
test-torch: $(STAMP)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pytest -q tests/test_backends.py tests/test_backend_training.py

demo: $(STAMP)
	$(BIN)/zoo demo vanishing --out demo/vanishing.png
	$(BIN)/zoo demo exploding --out demo/exploding.png

bench: $(STAMP)
	$(BIN)/python bench/train_throughput.py
	$(BIN)/python bench/recording_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info demo
