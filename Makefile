# The README's two commands are `make run` and `make test`; CI runs `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Every pip call goes through the constraints file: it pins torch to the CPU build.
PIP := $(PY) -m pip install --disable-pip-version-check -c packaging/constraints.txt
STAMP := $(VENV)/.installed

.PHONY: run test lint bench setup

$(STAMP): pyproject.toml packaging/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -q --upgrade pip
	$(PIP) -q -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

# The check says which system libraries Qt's window needs, if any are missing (Linux).
run: $(STAMP)
	$(VENV)/bin/research-hub --check-display
	$(VENV)/bin/research-hub

# Two test processes: most tests wait on worker processes starting or finishing, so two
# keep both cores busy. A file's tests stay in one process (module fixtures are set up
# once); the corpus library is built once for both (tests/conftest.py).
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -n 2 --dist loadfile

lint: $(STAMP)
	$(VENV)/bin/ruff check app workers tests
	$(VENV)/bin/mypy

# Every benchmark prints its tables; none asserts (targets are read, not timed in tests).
bench: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) tests/benchmarks/bench_engine.py
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 $(PY) tests/benchmarks/bench_app.py
	HF_HUB_OFFLINE=1 $(PY) tests/benchmarks/bench_watch.py
	HF_HUB_OFFLINE=1 $(PY) tests/benchmarks/bench_search.py
	HF_HUB_OFFLINE=1 $(PY) tests/benchmarks/bench_embedding.py
	HF_HUB_OFFLINE=1 $(PY) tests/benchmarks/bench_quick_pass.py
	HF_HUB_OFFLINE=1 $(PY) tests/benchmarks/bench_cli_search.py
	HF_HUB_OFFLINE=1 $(PY) tests/benchmarks/bench_faults.py
	HF_HUB_OFFLINE=1 $(PY) tests/benchmarks/bench_identity.py
	HF_HUB_OFFLINE=1 $(PY) tests/benchmarks/bench_lab.py
	HF_HUB_OFFLINE=1 $(PY) tests/benchmarks/bench_worker_start.py
	HF_HUB_OFFLINE=1 $(PY) tests/benchmarks/bench_api.py
