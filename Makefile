# The README's two commands are `make run` and `make test`; CI runs `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Every pip call goes through the constraints file: it pins torch to the CPU build.
PIP := $(PY) -m pip install --disable-pip-version-check -c packaging/constraints.txt
STAMP := $(VENV)/.installed

.PHONY: run test lint bench setup bundle

$(STAMP): pyproject.toml packaging/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -q --upgrade pip
	$(PIP) -q -e ".[test]"
	# rapidocr asks for opencv-python, Docling for opencv-python-headless; both unpack into
	# the same cv2/ folder, and the last one wins. Make it the headless build, always: the
	# worker needs no OpenCV windows, and the full build drags in its own Qt 5 and FFmpeg
	# (about 110 MB more in the bundle, and a second Qt beside PySide6's).
	$(PIP) -q --force-reinstall --no-deps "opencv-python-headless==$$($(PY) -c \
		'import importlib.metadata as m; print(m.version("opencv-python-headless"))')"
	touch $(STAMP)

setup: $(STAMP)

# The check says which system libraries Qt's window needs, if any are missing (Linux).
run: $(STAMP)
	$(VENV)/bin/research-hub --check-display
	$(VENV)/bin/research-hub

# Two test processes: most tests wait on worker processes starting or finishing, so two
# keep both cores busy. A file's tests stay in one process (module fixtures are set up
# once); the corpus library is built once for both; files are handed out in the order
# tests/conftest.py gives them (pytest_collection_modifyitems says why).
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder

# One folder, dist/research-hub/, that runs without Python or a venv (packaging/research-hub.spec
# says what is in it and what is left out). The build tools come from the `bundle` extra, through
# the same constraints (the pinned CPU torch is what gets bundled).
bundle: $(STAMP)
	$(PIP) -q -e ".[bundle]"
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
		packaging/research-hub.spec
	cp packaging/install.sh dist/research-hub/install.sh
	@du -sh dist/research-hub

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
