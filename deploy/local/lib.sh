# Shared helpers for the local infrastructure scripts (sourced, never run).
# Everything lives under $SEXTANT_LOCAL_DIR (default: <repo>/.local, git-ignored) and
# listens on loopback only. Ports come from the environment so that the Python settings
# (KAFKA_BOOTSTRAP_SERVERS, POSTGRES_PORT, REDIS_URL) and these scripts agree.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL_DIR="${SEXTANT_LOCAL_DIR:-$REPO_ROOT/.local}"
KAFKA_PORT="${SEXTANT_KAFKA_PORT:-39092}"
KAFKA_CONTROLLER_PORT="${SEXTANT_KAFKA_CONTROLLER_PORT:-39093}"
POSTGRES_PORT="${SEXTANT_POSTGRES_PORT:-35432}"
REDIS_PORT="${SEXTANT_REDIS_PORT:-36379}"
POSTGRES_USER="${SEXTANT_POSTGRES_USER:-sextant}"
POSTGRES_PASSWORD="${SEXTANT_POSTGRES_PASSWORD:-sextant}"
POSTGRES_DB="${SEXTANT_POSTGRES_DB:-sextant}"

say() { printf '\033[1;34m[infra]\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m[infra] error:\033[0m %s\n' "$*" >&2; exit 1; }

require_cmd() {  # require_cmd <command> <what to do when missing>
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found. $2"
}

port_open() {  # port_open <port>: true when something accepts TCP on 127.0.0.1:<port>
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

wait_for_port() {  # wait_for_port <port> <name> <seconds>
    local deadline=$((SECONDS + $3))
    until port_open "$1"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.3
    done
}

wait_for_port_closed() {  # wait_for_port_closed <port> <seconds>
    local deadline=$((SECONDS + $2))
    while port_open "$1"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.3
    done
}

pid_running() {  # pid_running <pid>: the process runs. A killed one its parent has not yet
    # reaped (a zombie) does not: after kill -9 of a daemon whose parent is an init that
    # does not reap, kill -0 still succeeds, and "up" would never start it again.
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state="$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
    [[ "$state" != "Z" ]]
}

pid_alive() {  # pid_alive <pidfile>: the process whose pid is the file's first line runs
    [[ -f "$1" ]] && pid_running "$(head -n 1 "$1")"
}

ensure_port_free() {  # ensure_port_free <port> <name>: fail early when a stranger holds our port
    if port_open "$1"; then
        die "port $1 (for $2) is already in use by another process. Stop it, or choose another port with the SEXTANT_*_PORT variables."
    fi
}

apt_install() {  # apt_install <package...>: install Debian packages when we may (root, apt present)
    if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
        die "missing Debian package(s): $*. Install them (e.g. 'sudo apt-get install -y $*') and retry."
    fi
    say "installing Debian package(s): $*"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    fi
}
