# Quick start: `make demo` (set up, build the embedded corpus, train, decode, score)
# and `make test` (set up, run the test suite). Both install what they need.
# ESPNET2_EXT_PINS=espnet202511 selects the older pin set (Python 3.11) for any target.
SHELL := /bin/bash
ENV := $(shell tools/setup_env.sh)
ifeq ($(ENV),)
$(error environment setup failed: see the messages above)
endif
PY := PYTHONPATH=$(CURDIR) $(ENV)/bin/python
PYTEST_ARGS ?= -m "not slow"
# What CI also runs on the espnet 202511 pin set: the frontend, task and registration tests.
COMPAT_TESTS := test/frontend test/tasks test/train test/cascade test/utils/test_espnet_compat.py \
	test/test_layering.py
RUN_ARGS ?=

.PHONY: env sysdeps demo smoke test test-compat test-all lint format

env:
	@echo "environment: $(ENV)"

sysdeps:
	tools/install_system_deps.sh

demo: sysdeps
	cd egs2/mini_st/st1 && ./run.sh $(RUN_ARGS)

smoke:
	$(PY) -m espnet2_ext.bin.smoke --outdir exp/demo

test: sysdeps
	$(PY) -m pytest -q -rs $(PYTEST_ARGS)

test-compat:
	ESPNET2_EXT_PINS=espnet202511 $(MAKE) test PYTEST_ARGS='-m "not slow" $(COMPAT_TESTS)'

test-all:
	$(MAKE) test PYTEST_ARGS=

lint:
	$(ENV)/bin/black --check espnet2_ext test
	$(ENV)/bin/isort --check-only espnet2_ext test
	$(ENV)/bin/flake8 espnet2_ext test

format:
	$(ENV)/bin/black espnet2_ext test
	$(ENV)/bin/isort espnet2_ext test
