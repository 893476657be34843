# The one task runner of manyi. `make` runs the tests and the linters; CI (.ci/run) calls
# the same targets. Every target works on a fresh machine: `make test` installs what it
# needs (the package with its dev extra, Debian's chromium and CJK fonts for the browser
# tests when run as root, axe-core from npm).
PYTHON ?= python3
PIP := $(PYTHON) -m pip
PYTEST_ARGS ?=

.PHONY: all install browser-deps test test-fast lint typecheck bench scale-test docs clean

all: test lint

install:
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"

# Debian's chromium (Playwright drives it at /usr/bin/chromium), CJK fonts for the PDF
# report, nginx and redis-server for the short scale test (tests/bench/test_scale.py), and
# axe-core for the accessibility check; skipped quietly where already there.
DEBIAN_DEPS := chromium fonts-noto-cjk nginx redis-server
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ] || [ ! -x /usr/sbin/nginx ] || ! command -v redis-server >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_DEPS) >/dev/null; \
	  elif command -v sudo >/dev/null; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_DEPS) >/dev/null; \
	  else echo "browser and scale tests need: apt-get install $(DEBIAN_DEPS)"; fi; \
	fi
	@if [ -f package.json ] && [ ! -f node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null; then \
	  npm install --no-audit --no-fund --silent; \
	fi

test: install browser-deps
	$(PYTHON) -m pytest $(PYTEST_ARGS)

# The suite without the browser tests, for a quick loop while editing.
test-fast:
	$(PYTHON) -m pytest -m "not browser" $(PYTEST_ARGS)

lint:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	codespell questionnaires scoring surveyapp tests bench README.md

typecheck:
	$(PYTHON) -m mypy --strict scoring
	$(PYTHON) -m mypy surveyapp questionnaires

bench:
	$(PYTHON) -m bench

# Not part of `make test`: nginx, two app servers, a worker, Redis and a fresh PostgreSQL
# database on loopback ports 5800-5830, a wave launch with faults, a few minutes
# (bench/scale/__init__.py; SCALE_ARGS, e.g. --respondents 12 --measure 60).
SCALE_ARGS ?=
scale-test: install
	$(PYTHON) -m bench.scale $(SCALE_ARGS)

docs:
	$(PYTHON) -m pytest tests/test_docs.py

clean:
	rm -rf build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
