# Quick start: `make demo` (set up, train, decode, score) and `make test`.
SHELL := /bin/bash
ENV := $(shell tools/setup_env.sh)
ifeq ($(ENV),)
$(error environment setup failed: see the messages above)
endif
PY := PYTHONPATH=$(CURDIR) $(ENV)/bin/python
PYTEST_ARGS ?= -m "not slow"

.PHONY: env demo test test-all lint format

env:
	@echo "environment: $(ENV)"

demo:
	$(PY) -m espnet2_ext.bin.demo --outdir exp/demo

test:
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-all:
	$(MAKE) test PYTEST_ARGS=

lint:
	$(ENV)/bin/black --check espnet2_ext test
	$(ENV)/bin/isort --check-only espnet2_ext test
	$(ENV)/bin/flake8 espnet2_ext test

format:
	$(ENV)/bin/black espnet2_ext test
	$(ENV)/bin/isort espnet2_ext test
