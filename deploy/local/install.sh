#!/usr/bin/env bash
# `make install`: uv (if missing), then every Python dependency from uv.lock into .venv.
#
# Why a script: a first install is long (a few GB to download, llama.cpp to compile) and
# `uv sync --quiet` said nothing for ten minutes. This says up front what a first run
# costs, lets uv print each large download and build, and reports every minute while a
# step is still going. Once .venv matches uv.lock, it syncs quietly in seconds.
set -euo pipefail

UV=${UV:-uv}
STAMP=.venv/.sextant-synced-lock

say() { printf '\033[1;34m[install]\033[0m %s\n' "$*"; }

if ! command -v "$UV" >/dev/null 2>&1; then
    say "installing uv (pip install uv)"
    python3 -m pip install --quiet uv
fi

lock_hash=$(sha256sum uv.lock | cut -c1-16)
if [[ -f $STAMP && $(cat "$STAMP") == "$lock_hash" ]]; then
    exec "$UV" sync --frozen --quiet
fi

say "installing the Python dependencies of uv.lock into .venv."
say "A first install downloads about 3.5 GB of wheels (torch with its CUDA libraries is"
say "about 2.9 GB of it: PyPI's Linux torch is the CUDA build) and compiles llama-cpp-python"
say "from source (about 5 minutes on 2 cores; the downloads run meanwhile). Expect about"
say "6 minutes on a 2-core machine the first time (measured on a 2-core AMD EPYC with empty"
say "caches: 313 s to install, 356 s for all of 'make run'); uv's cache makes later installs"
say "take seconds."

# llama-cpp-python has no Linux wheel on PyPI, so a first install compiles llama.cpp.
# Its multimodal library (mtmd: images and audio) is never loaded by Sextant's text-only
# model; leaving it out takes ~55 of ~195 compile units (23k lines) off the longest part of the
# install. (uv caches the built wheel: this matters only the first time.)
export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}"

started=$SECONDS
(
    while sleep 60; do
        say "still installing ($(((SECONDS - started) / 60)) min so far; uv reports each large download and build as it goes)"
    done
) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT

"$UV" sync --frozen
echo "$lock_hash" > "$STAMP"
say "done in $((SECONDS - started)) s"
