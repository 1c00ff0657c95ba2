# make run: set up .venv and start the app.  make test: set up .venv with test tools, lint (ruff), run every test.
# make test-fast: lint, then every test but the browser, cluster, login, notebook and slow ones (see the README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast test-under-load lint browser bench measured-table python-check

# On this machine only: the personal mode has no login, so anyone who reached it would act as its one user.
# To open it to a network on purpose: make run ADDRESS=0.0.0.0 (with login or the shared mode configured).
ADDRESS ?= 127.0.0.1
run: $(VENV)/.runtime
	$(BIN)/streamlit run app.py --server.address $(ADDRESS)

test: lint $(VENV)/.dev browser
	$(BIN)/python -m pytest

# The edit-test loop: the markers are registered, each with its meaning, in pyproject.toml. Two pytest-xdist workers,
# each test file whole in one of them, so that its module fixtures are made once (timings in the README).
FAST_TESTS := not browser and not cluster and not login and not notebook and not slow
test-fast: lint $(VENV)/.dev
	$(BIN)/python -m pytest -m "$(FAST_TESTS)" -n 2 --dist loadfile

lint: $(VENV)/.dev
	$(BIN)/ruff check .

# The requirements, then mnist_lab itself in editable mode: `import mnist_lab` works anywhere and the venv has the
# `mnist-lab` command (reinstalled when the version in mnist_lab/__init__.py changes).
$(VENV)/.runtime: requirements.txt pyproject.toml mnist_lab/__init__.py | python-check
	test -x $(BIN)/pip || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	@echo "Installing the requirements into $(VENV) (TensorFlow, Streamlit, scikit-learn: about 1.5 GB on a fresh"
	@echo "clone). This takes several minutes the first time, with no output until it is done; later runs skip it."
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -e . --no-deps
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	@echo "Installing the test tools into $(VENV) (pytest, Playwright, ruff): this can take a few minutes."
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# TensorFlow 2.21 has wheels for Python 3.10-3.13 only: check the Python that .venv has, or the one that will make
# it, before anything is installed, and say what to install otherwise.
INSTALL_PYTHON := Install Python 3.11 (Debian/Ubuntu: apt-get install python3.11 python3.11-venv; macOS: brew install \
python@3.11; Windows: python.org) and run: make PYTHON=python3.11 $(or $(MAKECMDGOALS),run)
python-check:
	@py="$(PYTHON)"; [ -x $(BIN)/python ] && py=$(BIN)/python; \
	version=$$("$$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); \
	case "$$version" in \
		3.10|3.11|3.12|3.13) ;; \
		"") echo "MNIST Lab needs Python 3.10-3.13, and '$$py' cannot be run."; \
			echo "$(INSTALL_PYTHON)"; exit 1 ;; \
		*) echo "MNIST Lab needs Python 3.10-3.13 (TensorFlow 2.21 has no wheels for others); $$py is Python $$version."; \
			[ "$$py" = $(BIN)/python ] && echo "Remove the environment made with it first: rm -rf $(VENV)"; \
			echo "$(INSTALL_PYTHON)"; exit 1 ;; \
	esac; \
	if [ "$$py" != $(BIN)/python ] && ! "$$py" -c "import ensurepip, venv" 2>/dev/null; then \
		echo "$$py (Python $$version) cannot create a virtual environment: it lacks its venv module. On Debian/Ubuntu:"; \
		echo "apt-get install python$$version-venv, then run make again."; exit 1; \
	fi

# The browser tests drive Debian's Chromium; install it where we may (root with apt), else they say why they skip.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# Every benchmark but the helper module and the 35-minute table of typical figures (make measured-table).
BENCHMARKS := $(filter-out benchmarks/engine_common.py benchmarks/typical_figures.py,$(wildcard benchmarks/*.py))
bench: $(VENV)/.dev
	for script in $(BENCHMARKS); do $(BIN)/python $$script || exit 1; done

# Trains every preset and rewrites mnist_lab/models/measured_table.py, which the app's texts quote (about 35 min).
measured-table: $(VENV)/.dev
	$(BIN)/python benchmarks/typical_figures.py

# The whole suite three times in a row with a CPU-burning process beside it: the tests wait for conditions, never
# for guessed durations, so a busy machine makes them slower, not red.
test-under-load: lint $(VENV)/.dev browser
	@$(BIN)/python -c 'while True: pass' & burner=$$!; status=0; \
	for round in 1 2 3; do echo "Round $$round of 3, beside a CPU-burning process"; \
		$(BIN)/python -m pytest || { status=1; break; }; done; \
	kill $$burner; exit $$status
