# peftgov: `make demo` trains the default recipe, `make test` runs the tests.
# Both create .venv on first use and install the LOCKED package set into it: requirements.lock
# (every package pinned with its SHA-256, torch's CPU wheel included) and lock/nodeps.txt.
# Air-gapped: `make wheelhouse` on a connected machine, copy the folder, then
#   make demo PIP_ARGS="--no-index --find-links wheelhouse"
PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.peftgov-installed
LOCK     := requirements.lock
NODEPS   := lock/nodeps.txt
BUILD    := lock/build.txt
PIP_ARGS ?=
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup demo test test-fast test-latest lock wheelhouse clean

setup: $(STAMP)

# --require-hashes: pip refuses any file whose SHA-256 is not the locked one; --no-deps: nothing
# outside the lock is resolved. The build tools come first (locked too), so the lock's sdists
# and peftgov itself build against them without build isolation (which would fetch the newest).
$(STAMP): $(LOCK) $(NODEPS) $(BUILD) pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q $(PIP_ARGS) --require-hashes --no-deps -r $(BUILD)
	$(BIN)/python -m pip install -q $(PIP_ARGS) --require-hashes --no-deps --no-build-isolation -r $(LOCK)
	$(BIN)/python -m pip install -q $(PIP_ARGS) --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip install -q $(PIP_ARGS) --require-hashes --no-deps -r $(NODEPS)
	touch $(STAMP)

# The main job: LoRA on MiniLM-L6 for the bundled citizen-hotline intents, offline, then a
# prediction with the trained adapter.
demo: $(STAMP)
	$(BIN)/accelerate launch --config_file recipes/accelerate/cpu.yaml -m peftgov train \
		recipes/hotline/lora.yaml output.overwrite=true
	$(BIN)/peftgov predict runs/hotline-en-lora \
		--text "My pension has not been paid into my account this month, who do I call?" \
		--text "The streetlights on Huaihai Road have been off for a week"

# Two workers (pytest-xdist), a test file each at a time: module fixtures are built once.
TEST_ARGS ?= -n 2 --dist loadfile
test: $(STAMP)
	$(BIN)/python -m pytest -q $(TEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q $(TEST_ARGS) -m "not slow"

# Upstream drift, seen before users see it: the newest releases the pyproject ranges allow
# (torch stays at the locked CPU wheel), in a separate environment, then the whole suite.
LATEST := .venv-latest
test-latest:
	rm -rf $(LATEST) && $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install -q $(PIP_ARGS) -c lock/torch.txt --upgrade --upgrade-strategy eager -e '.[dev,bench,quant,serve]'
	$(LATEST)/bin/python -m pip install -q $(PIP_ARGS) --require-hashes --no-deps -r $(NODEPS)
	$(LATEST)/bin/python -m pip freeze --exclude-editable > $(LATEST)/freeze.txt
	@echo "test-latest: $$(grep -E '^(transformers|peft|accelerate|datasets|torch|tokenizers|huggingface.hub)==' $(LATEST)/freeze.txt | tr '\n' ' ')"
	$(LATEST)/bin/python -m pytest -q -p no:cacheprovider

# Refresh the lock to the newest releases the pyproject ranges allow (then run `make test`
# and `make test-latest` before committing it). pip-tools runs in its own throwaway venv.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q pip-tools
	.venv-lock/bin/pip-compile --upgrade --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --constraint=lock/torch.txt \
		--extra=bench --extra=dev --extra=quant --extra=serve --output-file=$(LOCK) pyproject.toml
	.venv-lock/bin/pip-compile --upgrade --generate-hashes --allow-unsafe \
		--strip-extras --no-emit-index-url --no-emit-find-links --output-file=$(BUILD) lock/build.in

# Every locked file into ./wheelhouse, for a machine with no network.
wheelhouse:
	$(PYTHON) -m pip download $(PIP_ARGS) --require-hashes --no-deps -r $(BUILD) -d wheelhouse
	$(PYTHON) -m pip download $(PIP_ARGS) --require-hashes --no-deps -r $(LOCK) -d wheelhouse
	$(PYTHON) -m pip download $(PIP_ARGS) --require-hashes --no-deps -r $(NODEPS) -d wheelhouse

clean:
	rm -rf runs .pytest_cache
