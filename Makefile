# Sextant — the front door. `make help` lists the targets.
# Every target says what it does; infrastructure runs on loopback with data under .local/.

SHELL := /bin/bash
.DEFAULT_GOAL := help
UV ?= uv
PY := .venv/bin/python
BASELINE ?= 3a7b11c
INFRA := deploy/local/infra.sh

.PHONY: chaos eval bench-e2e bench-tools console-shots bench-embeddings help install infra-up infra-down infra-status run stop test test-unit test-integration lint format schemas schemas-release compose-check k8s-check clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

install: ## install uv (if missing) and every Python dependency from uv.lock into .venv (a first install says what it downloads and builds)
	@UV=$(UV) bash deploy/local/install.sh

infra-up: install ## start Kafka (KRaft), PostgreSQL and Redis on loopback; create topics; migrate
	@bash $(INFRA) up

infra-down: ## stop Kafka, PostgreSQL and Redis (data stays in .local/)
	@bash $(INFRA) down

infra-status: ## show what is running and what each server says about itself
	@bash $(INFRA) status

run: infra-up ## set everything up and run the main job end to end (embedded defaults)
	@$(PY) deploy/local/demo.py

stop: ## stop the services and the infrastructure 'make run' started
	@$(PY) deploy/local/demo.py stop
	@$(MAKE) --no-print-directory infra-down

test: infra-up ## set up and run the whole test suite (unit + integration) against the real infrastructure
	@bash deploy/local/browser.sh
	@bash .ci/pytest.sh

test-unit: install ## run the unit tests only (no infrastructure)
	@$(PY) -m pytest tests/unit -q

test-integration: infra-up ## run the integration tests only
	@bash deploy/local/browser.sh
	@$(PY) -m pytest tests/integration -q

lint: install ## ruff (lint + format check) and mypy --strict
	@echo "[make] ruff check"; $(UV) run --frozen ruff check .
	@echo "[make] ruff format --check"; $(UV) run --frozen ruff format --check .
	@echo "[make] mypy"; $(UV) run --frozen mypy libs/contracts/src libs/platform/src libs/kafka/src libs/storage/src libs/cli/src libs/checkpoint-redis/src services/*/src tests/unit/ingress tests/unit/orchestrator/fakes.py tests/unit/orchestrator/test_run_analysis.py tests/unit/tools/fakes.py tests/unit/tools/test_invoke_tool.py

format: install ## apply ruff fixes and formatting
	@$(UV) run --frozen ruff check --fix .
	@$(UV) run --frozen ruff format .

schemas: install ## regenerate the committed JSON Schemas and the AsyncAPI document from the code
	@$(PY) -m sextant_contracts.schemas export
	@$(PY) -m sextant_kafka.asyncapi

schemas-release: install ## freeze the current schemas as the compatibility baseline (on release)
	@$(PY) -m sextant_contracts.schemas release

compose-check: install ## validate docker-compose.yml without a Docker engine
	@$(PY) deploy/compose_check.py

k8s-check: install ## validate deploy/k8s without a cluster
	@$(PY) deploy/k8s_check.py

clean: infra-down ## stop everything and delete .local/ (all local data)
	@rm -rf .local

bench-embeddings: infra-up ## benchmark: embeddings service over Kafka vs raw encode, per backend (bench/results/embeddings.json)
	@$(PY) -m bench.embeddings_bench

bench-e2e: infra-up ## benchmark: the whole stack, POST to completed event, today vs BASELINE (default 3a7b11c) in one run (bench/results/e2e.json)
	@$(PY) -m bench.e2e_bench --baseline "$(BASELINE)"

chaos: infra-up ## benchmark: 100 analyses while every service and server is killed/paused; bad records via kcat (bench/results/chaos.json)
	@$(PY) -m bench.chaos

eval: infra-up ## benchmark: answer accuracy on public datasets through the whole stack (bench/results/eval.json)
	@$(PY) -m bench.eval

console-shots: infra-up ## the web console in headless Chromium against the real stack; screenshots in bench/results/console/
	@bash deploy/local/browser.sh
	@SEXTANT_CONSOLE_SHOTS=bench/results/console $(PY) -m pytest tests/integration/ingress/test_console.py tests/integration/ingress/test_console_running.py -q

bench-tools: infra-up ## benchmark: statistics over 1M x 10 CSV, service vs raw pandas (bench/results/tools.json)
	@$(PY) -m bench.tools_bench
