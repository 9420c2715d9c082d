#!/usr/bin/env bash
# Redis from Debian's server package, as a local process on loopback with append-only
# persistence (AOF, fsync every second) under .local/redis, so LangGraph checkpoints
# survive a Redis restart.
# usage: redis.sh up|down|status
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REDIS_HOME="$LOCAL_DIR/redis"
REDIS_PID="$REDIS_HOME/redis.pid"

up() {
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
    if pid_alive "$REDIS_PID"; then
        say "redis already running on 127.0.0.1:$REDIS_PORT"
        return 0
    fi
    ensure_port_free "$REDIS_PORT" redis
    mkdir -p "$REDIS_HOME"
    say "starting redis on 127.0.0.1:$REDIS_PORT (append-only persistence in $REDIS_HOME)"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --protected-mode yes \
        --dir "$REDIS_HOME" --appendonly yes --appendfsync everysec \
        --daemonize yes --pidfile "$REDIS_PID" --logfile "$REDIS_HOME/redis.log" \
        || die "redis failed to start; see $REDIS_HOME/redis.log"
    wait_for_port "$REDIS_PORT" redis 30 || die "redis did not open port $REDIS_PORT; see $REDIS_HOME/redis.log"
}

down() {
    if pid_alive "$REDIS_PID"; then
        say "stopping redis"
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || kill "$(cat "$REDIS_PID")"
        wait_for_port_closed "$REDIS_PORT" 30 || true
    fi
}

status() {
    if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
        echo "redis: running on 127.0.0.1:$REDIS_PORT ($(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" info server | grep -m1 redis_version | tr -d '\r'))"
    else
        echo "redis: stopped"; return 1
    fi
}

"${1:?usage: redis.sh up|down|status}"
