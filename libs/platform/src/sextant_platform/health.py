"""Liveness and readiness probes as a tiny ASGI app, for services without an HTTP API.

``GET /healthz``: the process is up, its event loop answers and none of its must-run
loops died (200; 503 naming what died, see :mod:`sextant_platform.fatal`).
``GET /readyz``: every named check passes (200) or not (503, with which one failed).
Checks are async callables; each gets ``timeout_s`` and a failure is reported, not raised.
"""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sextant_platform.fatal import failures

logger = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def run_checks(checks: Mapping[str, ReadinessCheck], timeout_s: float) -> dict[str, bool]:
    """Each check's outcome; a check that raises or times out counts as failed."""

    async def one(name: str, check: ReadinessCheck) -> bool:
        try:
            async with asyncio.timeout(timeout_s):
                return bool(await check())
        except Exception as error:  # a probe reports, it never crashes the service
            logger.warning("readiness check failed", extra={"check": name, "error": str(error)})
            return False

    results = await asyncio.gather(*(one(n, c) for n, c in checks.items()))
    return dict(zip(checks, results, strict=True))


class HealthApp:
    """An ASGI app serving ``/healthz``, ``/readyz`` and ``/metrics``; anything else is a 404."""

    def __init__(self, checks: Mapping[str, ReadinessCheck], *, timeout_s: float = 2.0) -> None:
        self.checks = dict(checks)
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        if scope.get("method") != "GET":
            await self._respond(send, 405, {"detail": "only GET is served"})
        elif path == "/healthz":
            dead = failures()
            if dead:
                await self._respond(send, 503, {"status": "failed", "failures": dead})
            else:
                await self._respond(send, 200, {"status": "ok"})
        elif path == "/readyz":
            results = await run_checks(self.checks, self.timeout_s)
            ready = all(results.values())
            body = {"status": "ready" if ready else "not ready", "checks": results}
            await self._respond(send, 200 if ready else 503, body)
        elif path == "/metrics":
            await self._send(send, 200, generate_latest(), CONTENT_TYPE_LATEST.encode())
        else:
            await self._respond(send, 404, {"detail": f"no route {path}"})

    @staticmethod
    async def _respond(send: Send, status: int, body: dict[str, Any]) -> None:
        await HealthApp._send(send, status, json.dumps(body).encode(), b"application/json")

    @staticmethod
    async def _send(send: Send, status: int, payload: bytes, content_type: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def kafka_check(broker: Any) -> ReadinessCheck:
    """Ready when the broker's cluster metadata can be fetched."""

    async def check() -> bool:
        return bool(await broker.ping(timeout=1.5))

    return check


def reading_check(client: Any) -> ReadinessCheck:
    """Ready while a request/reply client still reads its replies (``is_reading``)."""

    async def check() -> bool:
        return bool(client.is_reading)

    return check


def database_check(engine: Any) -> ReadinessCheck:
    """Ready when PostgreSQL answers ``SELECT 1``."""
    from sqlalchemy import text

    async def check() -> bool:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True

    return check


def redis_check(redis: Any) -> ReadinessCheck:
    """Ready when Redis answers ``PING``."""

    async def check() -> bool:
        return bool(await redis.ping())

    return check
