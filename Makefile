# Meso Assistant. `make help` lists the targets; README.md explains them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
INSTALLED := $(VENV)/.installed
MODEL := models/current.tar.gz
# Setup's outputs are real files, so a second `make setup` (and `make run`) redoes
# nothing. A database elsewhere (MESO_FACTS_DB_URL, MESO_APP_DB_URL) is invisible to
# make: its step then runs every time.
FACTS_DB := $(if $(MESO_FACTS_DB_URL),facts,var/facts.db)
APP_DB := $(if $(MESO_APP_DB_URL),app-db,var/meso.db)
FACTS_INPUTS := $(shell find data/facts -type f) $(wildcard bot/facts/*.py) bot/nlp.py
MIGRATIONS := $(wildcard bot/appdb/*.py bot/appdb/migrations/*.py bot/appdb/migrations/versions/*.py)

export TF_CPP_MIN_LOG_LEVEL ?= 2
export SQLALCHEMY_SILENCE_UBER_WARNING ?= 1
export PIP_DISABLE_PIP_VERSION_CHECK ?= 1

.PHONY: help setup run test unit train validate stories pytest shell eval eval-e2e lint format bench bench-staff audit \
	system-deps web-deps facts app-db clean lock

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	@python=$$(scripts/find-python.sh) || exit 1; \
		echo "==> Creating $(VENV) with $$python"; \
		"$$python" -m venv $(VENV)

$(INSTALLED): requirements.txt constraints.txt pyproject.toml | $(PY)
	@echo "==> Installing pinned dependencies (about 2 minutes on a fresh machine)"
	$(PY) -m pip install --quiet --upgrade "pip==24.0" "setuptools==70.3.0" "wheel==0.45.1"
	$(PY) -m pip install --progress-bar off -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

spacy_pipeline/meta.json: bot/nlp.py | $(INSTALLED)
	@echo "==> Building the spaCy pipeline (blank English + lookup lemmatizer)"
	$(PY) -m bot spacy build --force

facts: $(INSTALLED) spacy_pipeline/meta.json ## Rebuild the fact base from data/facts
	@echo "==> Building the fact base"
	$(PY) -m bot facts build

# The build replaces the file atomically, so its mtime says when it was built.
var/facts.db: $(FACTS_INPUTS) spacy_pipeline/meta.json | $(INSTALLED)
	@echo "==> Building the fact base (data/facts changed)"
	$(PY) -m bot facts build

app-db: $(INSTALLED)
	@mkdir -p var
	@$(PY) -m bot db upgrade

# touch: an upgrade with nothing to do leaves the file's mtime alone.
var/meso.db: $(MIGRATIONS) | $(INSTALLED)
	@mkdir -p var
	@$(PY) -m bot db upgrade
	@touch $@

web-deps: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	@echo "==> Installing widget assets (npm ci)"
	cd web && npm ci --no-audit --no-fund --loglevel=error

setup: $(INSTALLED) spacy_pipeline/meta.json $(FACTS_DB) web-deps $(APP_DB) ## Create .venv, install pins, build spaCy pipeline and fact base, migrate the app database

train: setup ## Train the Rasa model if data, config or domain changed
	$(PY) -m bot train

run: train ## Set up, train if needed, and serve bot, widget page and staff app
	@$(PY) -m bot serve check-ports
	@$(PY) -m bot serve urls
	exec $(VENV)/bin/honcho start -f Procfile

validate: setup ## rasa data validate (fails on warnings)
	$(RASA) data validate --fail-on-warnings

pytest: train system-deps ## Run the pytest suite (unit + integration + browser)
	$(PY) -m pytest

stories: train ## Rasa conversation tests (tests/test_stories.yml)
	$(RASA) test core --model $(MODEL) --stories tests/test_stories.yml \
		--fail-on-prediction-errors --out results/stories

unit: setup ## The fast tests alone: no servers, no trained model, no minute-long checks
	$(PY) -m pytest -m "not servers and not slow" -q -n 2

test: lint validate pytest stories audit ## Set up, then lint, validate data, run pytest, conversation tests, pip-audit

audit: ## pip-audit every pinned dependency (in its own venv)
	@scripts/audit.sh

system-deps: ## Install Chromium, PostgreSQL, Redis and nginx from Debian if missing (root)
	@scripts/install-system-deps.sh

shell: train ## Talk to the bot in the terminal (starts the action server too)
	@$(PY) -m bot serve check-ports
	$(VENV)/bin/honcho start -f Procfile actions & \
		trap 'kill %1' EXIT; sleep 8; eval "$$($(PY) -m bot serve rasa-env)"; \
		$(PY) -m bot.rasa_ext.server shell --model $(MODEL) --endpoints endpoints.yml

eval: eval-e2e ## End-to-end evaluation, then NLU cross-validation + held-out comparison
	$(PY) scripts/evaluate_nlu.py $(EVAL_ARGS)

eval-e2e: train ## Patient messages through the real stack: route and fact sent (results/e2e.json)
	$(PY) scripts/evaluate_e2e.py

lint: $(INSTALLED) ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(INSTALLED) ## ruff format + autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: train ## Latency, throughput, memory and cold-start benchmarks (results/)
	$(PY) bench/run.py

bench-staff: $(INSTALLED) system-deps ## Staff app on a synthetic year, SQLite and PostgreSQL (results/)
	$(PY) bench/staff.py

lock: $(INSTALLED) ## Regenerate constraints.txt from the current .venv
	$(PY) -m pip freeze --exclude-editable | grep -v '^meso-assistant' > constraints.txt

clean: ## Remove models, results and built artifacts (keeps var/ data)
	rm -rf models results spacy_pipeline test-artifacts .pytest_cache
