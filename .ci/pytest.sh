#!/usr/bin/env bash
# The test command (make test): every test, unit and integration, with a clear summary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec .venv/bin/python -m pytest tests libs/contracts/tests libs/platform/tests libs/kafka/tests libs/storage/tests libs/checkpoint-redis/tests libs/cli/tests -q "$@"
