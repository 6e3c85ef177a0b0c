# Two commands on a fresh clone: `make demo` and `make test`. Both create or refresh
# the virtual environment in .venv first (refreshed whenever pyproject.toml changes).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# The browser tests (tests/test_web_*.py) drive Debian's Chromium through Playwright;
# Playwright's own browser download is never used. Installed here when missing.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint typecheck bench-sim clean install chromium

install: $(STAMP)

chromium:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/openbureau demo

test: install chromium
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src

typecheck: lint

bench-sim: install
	$(BIN)/python benchmarks/bench_sim.py

clean:
	rm -rf $(VENV) demo-output openbureau-data .pytest_cache .ruff_cache .mypy_cache
