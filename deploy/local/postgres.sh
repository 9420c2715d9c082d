#!/usr/bin/env bash
# PostgreSQL from Debian's server package, as a local process on loopback with its data
# under .local/postgres. PostgreSQL refuses to run as root: when we are root we run it as
# the 'postgres' system user (created by the package), which needs search permission on
# the path to the data folder.
# usage: postgres.sh up|down|status
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_HOME="$LOCAL_DIR/postgres"
PG_DATA="$PG_HOME/data"
PG_RUN="$PG_HOME/run"
PG_LOG="$PG_HOME/postgres.log"

pg_bindir() {
    local bindir
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
    if [[ -z "$bindir" ]]; then
        apt_install postgresql
        bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
    fi
    echo "$bindir"
}

as_pg_user() {  # run a command as the user that owns the cluster
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

grant_path_to_postgres_user() {
    # The data folder lives inside the repo; 'postgres' must be able to reach it.
    [[ $EUID -eq 0 ]] || return 0
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    mkdir -p "$PG_HOME"
    local dir="$PG_HOME"
    while [[ "$dir" != "/" ]]; do
        dir="$(dirname "$dir")"
        if ! runuser -u postgres -- test -x "$dir"; then
            say "granting search (o+x) permission on $dir so the postgres user can reach its data"
            chmod o+x "$dir"
        fi
    done
    chown -R postgres:postgres "$PG_HOME"
}

init_cluster() {
    local bindir="$1"
    [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
    say "initialising a PostgreSQL cluster in $PG_DATA"
    local pwfile="$PG_HOME/.pwfile"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    [[ $EUID -eq 0 ]] && chown postgres:postgres "$pwfile"
    as_pg_user "$bindir/initdb" -D "$PG_DATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
        --auth-host=scram-sha-256 --auth-local=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
}

up() {
    local bindir
    bindir="$(pg_bindir)"
    if [[ -f "$PG_DATA/postmaster.pid" ]] && ! pid_alive "$PG_DATA/postmaster.pid"; then
        # A postmaster killed with -9 and not yet reaped still "exists" for pg_ctl and for
        # PostgreSQL's own lock check, which would then refuse to start.
        say "removing the stale lock of a postmaster that is gone"
        rm -f "$PG_DATA/postmaster.pid"
    fi
    if as_pg_user "$bindir/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        say "postgres already running on 127.0.0.1:$POSTGRES_PORT"
    else
        ensure_port_free "$POSTGRES_PORT" postgres
        grant_path_to_postgres_user
        mkdir -p "$PG_RUN"
        [[ $EUID -eq 0 ]] && chown postgres:postgres "$PG_RUN"
        init_cluster "$bindir"
        say "starting postgres on 127.0.0.1:$POSTGRES_PORT (log: $PG_LOG)"
        as_pg_user "$bindir/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $POSTGRES_PORT -k $PG_RUN -c fsync=on -c max_connections=200" \
            start >/dev/null || die "postgres failed to start; see $PG_LOG"
    fi
    if ! as_pg_user "$bindir/psql" -h "$PG_RUN" -p "$POSTGRES_PORT" -U "$POSTGRES_USER" -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname='$POSTGRES_DB'" | grep -q 1; then
        say "creating database $POSTGRES_DB"
        as_pg_user "$bindir/createdb" -h "$PG_RUN" -p "$POSTGRES_PORT" -U "$POSTGRES_USER" "$POSTGRES_DB"
    fi
}

down() {
    local bindir
    bindir="$(pg_bindir)"
    if [[ -f "$PG_DATA/postmaster.pid" ]]; then
        say "stopping postgres"
        as_pg_user "$bindir/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null || true
    fi
}

status() {
    local bindir
    bindir="$(pg_bindir)"
    if "$bindir/pg_isready" -h 127.0.0.1 -p "$POSTGRES_PORT" -q; then
        echo "postgres: running on 127.0.0.1:$POSTGRES_PORT (database $POSTGRES_DB)"
    else
        echo "postgres: stopped"; return 1
    fi
}

"${1:?usage: postgres.sh up|down|status}"
