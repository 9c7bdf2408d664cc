# 共治: `make run` for a working demo on the embedded default, `make test` for the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

.PHONY: run test lint bench bench-setup bench-callback bench-upload bench-photos bench-notify bench-signs bench-scale bench-soak clean

$(BIN)/python:
	scripts/ensure-venv.sh "$(PYTHON)" "$(VENV)"

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(FLASK) db upgrade
	$(FLASK) demo
	$(FLASK) run --host 127.0.0.1 --port 5000

test: $(VENV)/.installed-dev
	scripts/test-setup.sh
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Benchmarks (issue 8): each prints ratios against a baseline measured in the same run and adds a
# row to bench/RESULTS.md. They need PostgreSQL and Redis on loopback, as the tests do; the HTTP
# ones need Debian's wrk, which bench-setup installs (as root) with WeRoBot for the baseline bot.
# `make bench` runs the six benchmarks (about 25 minutes on 2 cores); the soak is its own 10 minutes.
bench: bench-callback bench-upload bench-photos bench-notify bench-signs bench-scale

$(VENV)/.installed-bench: bench/requirements.txt requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r bench/requirements.txt
	touch $(VENV)/.installed $(VENV)/.installed-dev $@

bench-setup: $(VENV)/.installed-bench
	scripts/bench-setup.sh

bench-callback: bench-setup
	$(BIN)/python bench/callback.py

bench-upload: bench-setup
	$(BIN)/python bench/upload.py

bench-photos: $(VENV)/.installed-dev
	$(BIN)/python bench/photos.py

bench-notify: $(VENV)/.installed-dev
	$(BIN)/python bench/notify.py

bench-signs: $(VENV)/.installed-dev
	$(BIN)/python bench/signs.py

bench-scale: $(VENV)/.installed-dev
	$(BIN)/python bench/scale.py

bench-soak: bench-setup
	$(BIN)/python bench/soak.py

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
