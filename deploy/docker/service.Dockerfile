# syntax=docker/dockerfile:1.7
# One Dockerfile, one image per service: `--build-arg SERVICE=ingress|orchestrator|embeddings|tools`
# installs only that service's dependencies (the ingress image carries no torch, the tools
# image no LLM runtime). Multi-stage: uv resolves from uv.lock in the builder, which also
# holds the compilers llama-cpp-python needs; the runtime is slim and runs as non-root.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
RUN test -n "$SERVICE" || (echo "build with --build-arg SERVICE=<service>" && exit 1)
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
# Dependencies first (cached while only our code changes), then the workspace itself.
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package "sextant-${SERVICE}"

FROM ${PYTHON_IMAGE}
ARG SERVICE
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin sextant
WORKDIR /app
COPY --from=builder --chown=sextant:sextant /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:$PATH" \
    HF_HUB_OFFLINE=1 \
    PYTHONUNBUFFERED=1 \
    SEXTANT_SERVICE_MODULE="sextant_${SERVICE}"
# OpenVINO's converter and nncf send usage data to Google Analytics unless opted out; the
# root filesystem is read-only at run time, so the opt-out (the consent file that
# `opt_in_out --opt_out` writes, "0") is recorded in the image, in the user's home.
RUN mkdir -p /app/intel && printf 0 > /app/intel/openvino_telemetry
USER 10001
# Every service serves /healthz and /readyz; the port is the service's HTTP_PORT.
CMD ["sh", "-c", "exec python -m \"$SEXTANT_SERVICE_MODULE\""]
