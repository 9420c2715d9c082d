"""The OpenAI-compatible HTTP side, served by uvicorn on loopback, sharing the batcher."""

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pytest

from sextant_embeddings.bootstrap import EmbeddingsApp
from sextant_platform.http_server import http_server
from tests.integration.kafka_helpers import wait_until


@pytest.fixture(scope="module")
async def http(embeddings_service: EmbeddingsApp) -> AsyncIterator[httpx.AsyncClient]:
    server = http_server(embeddings_service.http, host="127.0.0.1", port=0)
    serving = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started, timeout_s=10, what="uvicorn to start")
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        yield client
    server.should_exit = True
    await serving


async def test_openai_float_and_base64_formats_match_the_model(
    http: httpx.AsyncClient, reference_model: Any
) -> None:
    texts = ["first sentence about revenue", "second sentence about churn"]
    floats = await http.post("/v1/embeddings", json={"input": texts, "model": "any"})
    packed = await http.post(
        "/v1/embeddings", json={"input": texts[0], "encoding_format": "base64"}
    )
    assert floats.status_code == 200, floats.text
    body = floats.json()
    assert body["object"] == "list"
    assert body["model"] == "all-MiniLM-L6-v2"
    assert [item["index"] for item in body["data"]] == [0, 1]
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > len(texts) * 2
    got = np.array([item["embedding"] for item in body["data"]], dtype=np.float32)
    expected = reference_model.encode(texts, normalize_embeddings=True)
    assert float((got * expected).sum(axis=1).min()) >= 0.9999

    single = np.frombuffer(base64.b64decode(packed.json()["data"][0]["embedding"]), "<f4")
    assert np.allclose(single, got[0], atol=1e-6)


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"input": []}, 400, "at least one text"),
        ({"input": ["x"] * 300}, 413, "limit is 256"),
        ({"input": ["fine", 3]}, 422, "string"),
        ({"input": "z" * 5000}, 413, "limit is 4000"),
        ({"input": "ok", "dimensions": 12}, 400, "384 dimensions"),
        ({"text": "wrong field"}, 422, "input"),
    ],
)
async def test_bad_requests_get_4xx_with_a_message(
    http: httpx.AsyncClient, body: dict[str, Any], status: int, fragment: str
) -> None:
    response = await http.post("/v1/embeddings", json=body)
    assert response.status_code == status, response.text
    assert fragment in response.text


async def test_probes_and_metrics(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["backend"] == "torch"
    await http.post("/v1/embeddings", json={"input": "count me"})
    metrics = (await http.get("/metrics")).text
    batches = next(
        line for line in metrics.splitlines() if line.startswith("sextant_embeddings_batches_total")
    )
    assert int(batches.split()[1]) >= 1
    assert "sextant_http_requests_total{" in metrics  # the platform golden signals too
