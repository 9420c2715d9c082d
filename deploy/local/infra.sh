#!/usr/bin/env bash
# Front door for the local infrastructure: Kafka, PostgreSQL, Redis on loopback.
# usage: infra.sh up|down|status
# 'up' is idempotent: it starts what is not running, creates the topics in the
# contracts catalogue and applies the database migrations.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE="$REPO_ROOT/deploy/local"
PY="${SEXTANT_PYTHON:-$REPO_ROOT/.venv/bin/python}"

case "${1:?usage: infra.sh up|down|status}" in
    up)
        "$HERE/kafka.sh" up
        "$HERE/postgres.sh" up
        "$HERE/redis.sh" up
        [[ -x "$PY" ]] || die "no Python environment at $PY; run 'make install' first."
        say "creating Kafka topics from the contracts catalogue"
        "$PY" -m sextant_storage.provision topics
        say "applying database migrations"
        "$PY" -m sextant_storage.provision migrate
        say "infrastructure is up"
        ;;
    down)
        "$HERE/redis.sh" down
        "$HERE/postgres.sh" down
        "$HERE/kafka.sh" down
        ;;
    status)
        rc=0
        "$HERE/kafka.sh" status || rc=1
        "$HERE/postgres.sh" status || rc=1
        "$HERE/redis.sh" status || rc=1
        if [[ $rc -eq 0 && -x "$PY" ]]; then
            "$PY" -m sextant_storage.provision describe || rc=1
        fi
        exit $rc
        ;;
    *) die "unknown command '$1' (expected up, down or status)" ;;
esac
