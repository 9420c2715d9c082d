"""The probe app's answers, including a failing and a hanging readiness check."""

import asyncio

import httpx

from sextant_platform.health import HealthApp


async def _ok() -> bool:
    return True


async def _broken() -> bool:
    raise ConnectionError("refused")


async def _hangs() -> bool:
    await asyncio.sleep(60)
    return True


async def test_readiness_names_the_failing_checks() -> None:
    app = HealthApp({"kafka": _ok, "postgres": _broken, "redis": _hangs}, timeout_s=0.2)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        missing = await client.get("/nope")
        posted = await client.post("/healthz")
    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"kafka": True, "postgres": False, "redis": False}
    assert missing.status_code == 404
    assert posted.status_code == 405


async def test_metrics_are_served_next_to_the_probes() -> None:
    from prometheus_client import Counter

    probe_counter = Counter("sextant_test_probe_events_total", "A metric only this test sets.")
    probe_counter.inc(3)
    transport = httpx.ASGITransport(app=HealthApp({"kafka": _ok}))
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "sextant_test_probe_events_total 3.0" in metrics.text
