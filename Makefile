# make run: set up .venv and start the app.  make test: set up .venv with test tools, lint (ruff), run every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint browser bench

run: $(VENV)/.runtime
	$(BIN)/streamlit run app.py

test: lint $(VENV)/.dev browser
	$(BIN)/python -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .

# The requirements, then mnist_lab itself in editable mode: `import mnist_lab` works anywhere and the venv has the
# `mnist-lab` command (reinstalled when the version in mnist_lab/__init__.py changes).
$(VENV)/.runtime: requirements.txt pyproject.toml mnist_lab/__init__.py
	test -x $(BIN)/pip || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet -e . --no-deps
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# The browser tests drive Debian's Chromium; install it where we may (root with apt), else they say why they skip.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

bench: $(VENV)/.dev
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done
