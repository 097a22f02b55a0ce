# Two commands for a newcomer: `make run` starts the assistant, `make test` runs every test.
# Everything else here is what those two need.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Rasa 3.6 needs Python 3.10; the action server and `chatbot` use Python 3.11.
# Look in pyenv's versions first (its shims refuse a version that is not selected),
# then on PATH; no machine-specific path is written here.
define find_python
$(shell for p in $$(command -v pyenv >/dev/null 2>&1 && ls -d "$$(pyenv root)"/versions/$(1).*/bin/python$(1) 2>/dev/null | sort -V | tail -n 1) python$(1); do \
  "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(1)".split("."))))' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)
endef
PYTHON310 ?= $(call find_python,3.10)
PYTHON311 ?= $(call find_python,3.11)

VENV := .venv
VENV_RASA := .venv-rasa
RASA := $(VENV_RASA)/bin/rasa
CHATBOT := $(VENV)/bin/chatbot
MODEL := models/assistant.tar.gz
TRAINING_INPUTS := config.yml domain.yml $(wildcard data/*.yml)

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TF_CPP_MIN_LOG_LEVEL := 3
# Rasa would otherwise try to send telemetry; this machine and clinics' servers may be offline.
export RASA_TELEMETRY_ENABLED := false
export PYTHONWARNINGS := ignore::DeprecationWarning

.PHONY: help install run shell train triage-model retriever-model test test-fast test-unit test-prod test-rasa test-rasa-unit validate lint types \
	bench clean \
	system-packages

help:
	@echo "make run    start the assistant (installs and trains the first time)"
	@echo "make test   run every test"
	@echo "make shell  chat in the terminal with a running assistant"
	@echo "make bench  retrieval, NLU, triage and latency benchmarks"
	@echo "make kb-check  check the knowledge pages after editing them (see docs/STAFF.md)"
	@echo "make triage-model  retrain the learned triage screen after changing data/triage"
	@echo "make retriever-model  retrain the retriever (and its answer bar) after changing data/retrieval"

$(VENV)/.installed: requirements/actions.txt pyproject.toml
	@test -n "$(PYTHON311)" || { echo "error: Python 3.11 not found (pyenv install 3.11 or put python3.11 on PATH)" >&2; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON311) -m venv $(VENV)
	# torch first, alone: the exact CPU build is on disk; any other spec pulls CUDA packages.
	$(VENV)/bin/pip install -q torch==2.13.0
	$(VENV)/bin/pip install -q -r requirements/actions.txt
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $@

$(VENV_RASA)/.installed: requirements/rasa.txt pyproject.toml
	@test -n "$(PYTHON310)" || { echo "error: Python 3.10 not found; Rasa 3.6 needs it (pyenv install 3.10 or put python3.10 on PATH)" >&2; exit 1; }
	test -x $(VENV_RASA)/bin/python || $(PYTHON310) -m venv $(VENV_RASA)
	$(VENV_RASA)/bin/pip install -q -r requirements/rasa.txt
	$(VENV_RASA)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed $(VENV_RASA)/.installed

# The production profile's test and load test start real PostgreSQL, Redis and nginx
# (Debian's packages); installed here the first time, with sudo unless we are root.
system-packages:
	@if { command -v redis-server && { command -v nginx || test -x /usr/sbin/nginx; } \
	      && ls /usr/lib/postgresql/*/bin/initdb; } >/dev/null 2>&1; then :; else \
	  echo "Installing the Debian packages postgresql redis-server nginx ..."; \
	  $$(test "$$(id -u)" = 0 || echo sudo) env DEBIAN_FRONTEND=noninteractive \
	    sh -c 'apt-get update && apt-get install -y --no-install-recommends postgresql redis-server nginx'; \
	fi

# Retrains only when training data or config changed; `touch` because Rasa keeps the old
# file when its own fingerprint says nothing changed.
$(MODEL): $(TRAINING_INPUTS) | $(VENV_RASA)/.installed
	$(RASA) train --fixed-model-name assistant --out models
	touch $@

train: $(MODEL)

# The learned triage screen (data/triage/model: int8 ONNX, tokenizer, model card), trained
# from the corpus in data/triage with a fixed seed: about 25 minutes on two cores. The
# result is committed, so `make run` never trains it; the Rasa server refuses to start
# with a model trained on other data than the corpus (run this, then commit).
triage-model: $(VENV)/.installed
	$(VENV)/bin/python -m training.triage_screen.train

# The retriever fine-tuned on patients' questions (data/retrieval/model: int8 ONNX and its
# card), from the questions in data/retrieval with a fixed seed (about 30-45 minutes on two
# cores), then its answer bar chosen on the dev writers. Committed, like the screen.
retriever-model: $(VENV)/.installed
	$(VENV)/bin/python -m training.retriever.train
	$(VENV)/bin/python -m training.retriever.answer_bar

run: install $(MODEL)
	$(CHATBOT) serve

shell: $(VENV)/.installed
	$(CHATBOT) chat

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check chatbot actions tests bench scripts training

# Type checks: the product code, each part with the Python that runs it.
types: $(VENV)/.installed $(VENV_RASA)/.installed
	$(VENV)/bin/mypy --ignore-missing-imports chatbot actions training \
	  --exclude 'chatbot/rasa_server/' --exclude 'chatbot/ops/store_check.py'
	$(VENV)/bin/mypy --ignore-missing-imports --python-executable $(VENV_RASA)/bin/python \
	  chatbot/rasa_server chatbot/ops/store_check.py

# The fast loop while you work: lint, types and the unit tests, no servers started.
test-fast: lint types
	$(VENV)/bin/python -m pytest -q -m "not e2e" --ignore=tests/test_widget_browser.py \
	  --ignore=tests/test_production.py -p no:cacheprovider
	$(VENV_RASA)/bin/python -m pytest -q -p no:cacheprovider -W ignore tests/rasa_side

# Staff: check every knowledge page (and the red-flag catalogue) after editing.
.PHONY: kb-check
# Never installs anything (that is `make run` / `make test`): a nurse's check must not
# change an environment, and works offline.
kb-check:
	@test -x $(CHATBOT) || { echo "error: the assistant is not installed here yet; run 'make run' once first" >&2; exit 1; }
	$(CHATBOT) kb check

# The chat widget's browser tests drive Debian's Chromium through Playwright for Python
# (pinned in requirements/actions.txt); no browser is ever downloaded.
.PHONY: chromium
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Debian's chromium ..."; \
	  $$(test "$$(id -u)" = 0 || echo sudo) env DEBIAN_FRONTEND=noninteractive \
	    sh -c 'apt-get update && apt-get install -y --no-install-recommends chromium'; }

validate: $(VENV_RASA)/.installed
	$(RASA) data validate --fail-on-warnings

# Story tests run with the clinic forced open, so in-hours replies are deterministic;
# after-hours stories say so in the patient's words.
test-rasa: $(MODEL)
	rm -rf var/results/stories
	CLINIC_HOURS="Mon-Sun 00:00-24:00" $(RASA) test core --model $(MODEL) \
	  --stories tests/stories --out var/results/stories --e2e --fail-on-prediction-errors

# The code the Rasa server loads (NLU components, policy, NLG), with Rasa's own Python.
test-rasa-unit: $(VENV_RASA)/.installed
	$(VENV_RASA)/bin/python -m pytest -q -p no:cacheprovider -W ignore tests/rasa_side

# Includes tests/test_production.py (PostgreSQL + Redis + nginx + two Rasa instances).
test-unit: install $(MODEL) system-packages chromium
	$(VENV)/bin/python -m pytest -q

# The production profile alone.
test-prod: install $(MODEL) system-packages
	$(VENV)/bin/python -m pytest -q tests/test_production.py

test: install lint types kb-check validate test-rasa-unit test-rasa test-unit

bench: install $(MODEL) system-packages
	# The NLU's intents for the retrieval questions, with Rasa's own Python (bench/retrieval_eval.py).
	$(VENV_RASA)/bin/python scripts/nlu_intents.py
	$(VENV)/bin/python -m bench.run_all

clean:
	rm -rf build models var $(VENV) $(VENV_RASA)
