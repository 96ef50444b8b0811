# The user interface of this repository: `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.SHELLFLAGS := -eu -o pipefail -c

export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
# jsii prints a large Node end-of-life banner on every command; see stacks/jsii_env.py.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20,22,24
export CHECKPOINT_DISABLE := 1

PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
BOOTSTRAP := .tools/pipenv
PIPENV := $(BOOTSTRAP)/bin/pipenv
PY := .venv/bin/python
CDKTF := npx --no-install cdktf

.PHONY: help setup synth synth-local test lint format doctor deploy-local destroy-local deploy-gcp destroy-gcp \
	inventory-update snapshot-update bench-synth clean diff sandbox-reset dbt-local bench check-flows kestra-table kestra-properties pull-flows gcp-token-broker \
	smoke regenerate

help: ## List the targets with a one-line description
	@if [ -t 1 ]; then bold=$$'\033[1m' plain=$$'\033[0m'; else bold= plain=; fi; \
	awk -v bold="$$bold" -v plain="$$plain" 'BEGIN {FS = ":.*## "} \
	/^[a-zA-Z_-]+:.*## / {printf "  %s%-16s%s %s\n", bold, $$1, plain, $$2}' $(MAKEFILE_LIST)

setup: .venv/.synced node_modules/.synced ## Install pinned Python (Pipfile.lock) and Node (package-lock.json) dependencies

$(PIPENV):
	@echo "==> Installing pipenv $(PIPENV_VERSION) into $(BOOTSTRAP)"
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/pip install --quiet --disable-pip-version-check "pipenv==$(PIPENV_VERSION)"

.venv/.synced: Pipfile.lock | $(PIPENV)
	@echo "==> Installing Python dependencies from Pipfile.lock"
	$(PIPENV) sync --dev
	@touch $@

node_modules/.synced: package-lock.json
	@echo "==> Installing the cdktf CLI from package-lock.json"
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

tools/checkov/.venv/.synced: tools/checkov/Pipfile.lock | $(PIPENV)
	@echo "==> Installing checkov into its own environment"
	cd tools/checkov && PIPENV_PIPFILE="$$PWD/Pipfile" "$(CURDIR)/$(PIPENV)" sync
	@touch $@

tools/dbt/.venv/.synced: tools/dbt/Pipfile.lock | $(PIPENV)
	@echo "==> Installing dbt (dbt-core, dbt-postgres, dbt-bigquery) into its own environment"
	cd tools/dbt && PIPENV_PIPFILE="$$PWD/Pipfile" "$(CURDIR)/$(PIPENV)" sync
	@touch $@

# Python reads .secrets/local.env (a shell sourcing it would run a password's quotes and $(...)).
dbt-local: setup tools/dbt/.venv/.synced ## Run dbt on the local stack's PostgreSQL, e.g. make dbt-local CMD="build --select staging"
	@$(PY) -m ops.dbt_local $(or $(CMD),build)

synth: setup ## Synthesize both stacks into cdktf.out/ (gcp needs a project: GCP_PROJECT_ID or ADC)
	$(CDKTF) synth

synth-local: setup ## Synthesize only the local stack (fast: the google provider is not loaded)
	ZOOMCAMP_STACKS=local $(CDKTF) synth

test: setup tools/checkov/.venv/.synced tools/dbt/.venv/.synced ## Run the whole test suite (unit, flows judged by Kestra, integration on real PostgreSQL)
	bash tools/ensure_test_tools.sh
	bash tools/ensure_kestra.sh >/dev/null
	$(PY) -m pytest

lint: setup ## Ruff lint and format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup ## Apply ruff formatting and safe fixes
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

doctor: setup ## Check this machine can deploy STACK=local|gcp (default local); JSON=1 prints JSON for CI
	@$(PY) -m ops.doctor --stack "$(or $(STACK),local)" $(if $(JSON),--json)

deploy-local: setup ## Run the doctor, then create or update the local Docker stack (Kestra, PostgreSQL, flows)
	@$(PY) -m ops.doctor --stack local
	@$(PY) -m ops.deploy local

smoke: setup ## After deploy-local: check the live stack as a learner would (login, flows, KV, runs, a taxi month); SMOKE_TIMEOUT=s
	@$(PY) -m ops.smoke $(if $(SMOKE_TIMEOUT),--timeout $(SMOKE_TIMEOUT))

gcp-token-broker: setup ## Hand the local Kestra <= 1 h tokens of the gcp stack's local account (needs ZOOMCAMP_GCP_TOKEN_BROKER=true)
	$(PY) -m ops.token_broker

pull-flows: setup ## Write flows you edited in the local Kestra's UI back into flows/ (before the next deploy-local)
	@$(PY) -m ops.pull_flows $(if $(DRY_RUN),--dry-run)

destroy-local: setup ## Remove the local stack but keep its data volumes; ZOOMCAMP_SANDBOX=true removes them too (asks for the stack name; YES=1 in CI)
	@$(PY) -m ops.destroy local $(if $(YES),--yes)

deploy-gcp: setup ## Run the doctor, then create or update the GCP stack (bucket, dataset, identity, Kestra VM)
	@$(PY) -m ops.doctor --stack gcp
	@$(PY) -m ops.deploy gcp

destroy-gcp: setup ## Remove the GCP stack but keep its data (buckets, dataset, VM data disk, secrets); ZOOMCAMP_SANDBOX=true: all
	@$(PY) -m ops.destroy gcp $(if $(YES),--yes)

BASE ?= origin/main
FORMAT ?= text

diff: setup ## Offline plan diff of both stacks: BASE=<git revision> (origin/main) vs the working tree; FORMAT=markdown
	$(PY) -m plan_diff --base "$(BASE)" --format "$(FORMAT)"

sandbox-reset: setup ## Destroy STACK=local|gcp with its data and create it again (only with ZOOMCAMP_SANDBOX=true; asks for the stack name, YES=1 in CI)
	@$(PY) -m ops.sandbox_reset "$(STACK)" $(if $(YES),--yes)

inventory-update: setup ## Rewrite tests/inventories/*.yaml (what each stack variant creates) from the code (review the diff!)
	$(PY) -m tests.support.inventory

snapshot-update: inventory-update ## The former name of inventory-update

bench-synth: setup ## Time cold and repeated (reused) synths, the google bindings alone and a no-change make diff
	$(PY) benchmarks/bench_synth.py

ROWS ?= 1000000
MONTHS ?= 10
ROUNDS ?= 1
bench: setup ## Time .csv.gz -> visible month in a growing PostgreSQL table: the floor, the course's path, ours (ROWS, MONTHS, ROUNDS)
	bash tools/ensure_test_tools.sh
	$(PY) benchmarks/bench_load.py --rows $(ROWS) --months $(MONTHS) --rounds $(ROUNDS)

check-flows: setup ## Validate flows/*.yaml offline, with synth's own verdict: errors are what Kestra rejects; warnings never block
	$(PY) -m flowcheck.flow_catalog

kestra-table: setup ## Ask Kestra itself about every broken fixture and print its verdict beside flow_lint's
	@$(PY) -m tests.support.kestra_judge table

regenerate: inventory-update kestra-properties ## After a version bump in stacks/versions.py: rewrite what records it (inventories, Kestra's core properties)

kestra-properties: setup ## Rewrite flowcheck/kestra_core_properties.json from Kestra's own answer (review the diff!)
	$(PY) -m tests.support.kestra_judge properties

clean: ## Remove generated output (keeps .secrets/ and Terraform state)
	rm -rf cdktf.out .pytest_cache .ruff_cache
