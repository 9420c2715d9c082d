"""Liveness, readiness and metrics: unauthenticated, outside the OpenAPI document."""

from collections.abc import Mapping

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from sextant_platform.fatal import failures
from sextant_platform.health import ReadinessCheck, run_checks
from sextant_platform.metrics import metrics_endpoint


def probes_router(checks: Mapping[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.add_route("/metrics", metrics_endpoint, include_in_schema=False)

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        dead = failures()  # a must-run loop (the event recorder's) died
        if dead:
            return JSONResponse({"status": "failed", "failures": dead}, status_code=503)
        return JSONResponse({"status": "ok"})

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        results = await run_checks(checks, timeout_s=2.0)
        ready = all(results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": results},
            status_code=200 if ready else 503,
        )

    return router
