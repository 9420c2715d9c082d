# One image for every Sextant service (the command picks the service).
# Multi-stage: uv resolves from uv.lock in a builder; the runtime runs as a non-root user.
FROM python:3.11-slim AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
WORKDIR /app
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
RUN uv sync --frozen --no-dev --all-packages

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app sextant
WORKDIR /app
COPY --from=builder --chown=sextant:sextant /app /app
ENV PATH="/app/.venv/bin:$PATH" HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
USER sextant
