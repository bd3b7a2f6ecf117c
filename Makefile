# Quick start: `make demo` (set up, build the embedded corpus, train, decode, score)
# and `make test` (set up, run the test suite). Both install what they need.
SHELL := /bin/bash
ENV := $(shell tools/setup_env.sh)
ifeq ($(ENV),)
$(error environment setup failed: see the messages above)
endif
PY := PYTHONPATH=$(CURDIR) $(ENV)/bin/python
PYTEST_ARGS ?= -m "not slow"
RUN_ARGS ?=

.PHONY: env sysdeps demo smoke test test-all lint format

env:
	@echo "environment: $(ENV)"

sysdeps:
	tools/install_system_deps.sh

demo: sysdeps
	cd egs2/mini_st/st1 && ./run.sh $(RUN_ARGS)

smoke:
	$(PY) -m espnet2_ext.bin.smoke --outdir exp/demo

test: sysdeps
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
