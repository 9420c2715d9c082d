"""The embeddings service over the real Kafka: vectors, ranking, batching, bad input, DLQ."""

import asyncio
import base64
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from prometheus_client import REGISTRY

from sextant_contracts import (
    DeadLetter,
    EmbeddingReplied,
    EmbeddingRequested,
    EmbedTexts,
    Envelope,
    RankPassages,
)
from sextant_embeddings.bootstrap import EmbeddingsApp
from sextant_kafka.request_reply import KafkaRequestReply
from tests.embeddings_fixtures import REFERENCE_TEXTS
from tests.integration.embeddings.conftest import MAX_CHARS_PER_TEXT
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import eventually, produce_raw, read_all

TENANT = "acme"
Client = KafkaRequestReply[EmbeddingReplied]


def _decode(reply: EmbeddingReplied) -> np.ndarray:
    assert reply.error is None, reply.error
    assert reply.vectors is not None
    raw = base64.b64decode(reply.vectors.data_base64)
    return np.frombuffer(raw, dtype="<f4").reshape(reply.vectors.count, reply.vectors.dimensions)


async def _ask(client: Client, task: EmbedTexts | RankPassages) -> EmbeddingReplied:
    request = EmbeddingRequested(request_id=uuid.uuid4(), reply_topic=client.reply_topic, task=task)
    return await client.request(
        request, request_id=request.request_id, tenant_id=TENANT, timeout_s=60
    )


async def _ask_raw(client: Client, mutate: Any) -> EmbeddingReplied:
    """Send a request that the contract would refuse: edit a valid envelope's JSON."""
    request = EmbeddingRequested(
        request_id=uuid.uuid4(), reply_topic=client.reply_topic, task=EmbedTexts(texts=["ok"])
    )
    body = Envelope.wrap(request, tenant_id=TENANT).model_dump(mode="json")
    mutate(body["payload"]["task"])
    return await client.request_envelope(body, request_id=request.request_id, timeout_s=30)


async def test_vectors_equal_sentence_transformers(
    embedding_client: Client, reference_model: Any
) -> None:
    reply = await _ask(embedding_client, EmbedTexts(texts=REFERENCE_TEXTS))
    got = _decode(reply)
    expected = reference_model.encode(REFERENCE_TEXTS, normalize_embeddings=True)
    assert reply.model == "all-MiniLM-L6-v2"
    assert reply.backend == "torch"
    assert float((got * expected).sum(axis=1).min()) >= 0.9999
    assert reply.truncated_indices == []


async def test_truncation_is_reported(embedding_client: Client) -> None:
    long_text = " ".join(["sales"] * 400)  # 400 tokens > the model's 256, 2399 chars
    reply = await _ask(embedding_client, EmbedTexts(texts=["short", long_text]))
    assert _decode(reply).shape == (2, 384)
    assert reply.truncated_indices == [1]


async def test_rank_orders_passages_like_numpy(
    embedding_client: Client, reference_model: Any
) -> None:
    query = "Which quarter had revenue growth?"
    reply = await _ask(
        embedding_client, RankPassages(query=query, passages=REFERENCE_TEXTS, top_k=4)
    )
    assert reply.error is None
    assert reply.vectors is None  # only scores travel back
    vectors = reference_model.encode([query, *REFERENCE_TEXTS], normalize_embeddings=True)
    scores = vectors[1:] @ vectors[0]
    expected = list(np.argsort(-scores, kind="stable")[:4])
    assert reply.ranking is not None
    assert [r.index for r in reply.ranking] == expected


async def test_many_concurrent_requests_are_batched_and_each_gets_its_own_vector(
    embedding_client: Client, embeddings_service: EmbeddingsApp, reference_model: Any
) -> None:
    before = embeddings_service.batcher.stats.batches
    texts = [f"sensor {i} reported {i * 3} anomalies this week" for i in range(64)]
    replies = await asyncio.gather(*(_ask(embedding_client, EmbedTexts(texts=[t])) for t in texts))
    batches = embeddings_service.batcher.stats.batches - before
    assert batches < len(texts) // 2, f"{batches} model calls for {len(texts)} requests"
    assert embeddings_service.batcher.stats.largest_batch_requests > 1
    got = np.vstack([_decode(r) for r in replies])
    expected = reference_model.encode(texts, normalize_embeddings=True)
    assert float((got * expected).sum(axis=1).min()) >= 0.9999


@pytest.mark.parametrize(
    ("mutate", "code", "fragment"),
    [
        (lambda task: task.update(texts=[]), "invalid_request", "texts"),
        (lambda task: task.update(texts=["t"] * 300), "invalid_request", "at most 256"),
        (lambda task: task.update(texts=["fine", 42]), "invalid_request", "valid string"),
        (lambda task: task.update(operation="summarize"), "invalid_request", "operation"),
        (
            lambda task: task.update(texts=["y" * (MAX_CHARS_PER_TEXT + 1)]),
            "text_too_long",
            "limit is 4000",
        ),
        (lambda task: task.update(texts=["   "]), "empty_text", "empty"),
    ],
    ids=["empty-list", "too-many", "non-string", "unknown-operation", "oversize", "blank"],
)
async def test_bad_input_gets_a_clear_error_reply(
    embedding_client: Client, mutate: Any, code: str, fragment: str
) -> None:
    reply = await _ask_raw(embedding_client, mutate)
    assert reply.error is not None
    assert reply.error.code == code
    assert fragment in reply.error.message
    assert reply.vectors is None


async def test_poison_goes_to_the_dlq_and_the_service_keeps_answering(
    infra: Infrastructure, embedding_client: Client
) -> None:
    marker = uuid.uuid4().hex.encode()
    await produce_raw(
        infra.kafka,
        "embeddings.requested.v1",
        [b"\xff\xfe not json " + marker, b'{"payload": {"request_id": "nope"}} ' + marker],
    )
    reply = await _ask(embedding_client, EmbedTexts(texts=["still here"]))
    assert _decode(reply).shape == (1, 384)

    records = await read_all(
        infra.kafka, "embeddings.requested.v1.dlq", expected=10_000, timeout_s=5
    )
    letters = [
        letter
        for letter in (DeadLetter.model_validate_json(r.value) for r in records)
        if marker in base64.b64decode(letter.original_base64)
    ]
    assert len(letters) == 2
    assert {letter.original_topic for letter in letters} == {"embeddings.requested.v1"}
    groups = {letter.consumer_group for letter in letters}
    assert len(groups) == 1  # the test service's own group (one per run)
    assert groups.pop().startswith("embeddings-integration-tests-")


async def test_event_loop_stays_responsive_during_inference(embedding_client: Client) -> None:
    texts = [" ".join(["word"] * 200) + f" {i}" for i in range(256)]
    lags: list[float] = []

    async def ticker() -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - started - 0.01)

    tick = asyncio.create_task(ticker())
    try:
        started = time.perf_counter()
        reply = await _ask(embedding_client, EmbedTexts(texts=texts))
        busy = time.perf_counter() - started
    finally:
        tick.cancel()
    assert _decode(reply).shape == (256, 384)
    assert busy > 0.5, "the workload should keep the model busy for a while"
    assert max(lags) < 0.25, f"event loop stalled for {max(lags):.3f}s"


def _stale_skipped() -> float:
    return (
        REGISTRY.get_sample_value(
            "sextant_stale_requests_skipped_total", {"topic": "embeddings.requested.v1"}
        )
        or 0.0
    )


async def test_a_request_older_than_its_requesters_patience_is_skipped(
    infra: Infrastructure, embedding_client: Client
) -> None:
    before = _stale_skipped()
    stale = EmbeddingRequested(
        request_id=uuid.uuid4(),
        reply_topic=embedding_client.reply_topic,
        task=EmbedTexts(texts=["asked an hour ago"]),
    )
    envelope = Envelope.wrap(stale, tenant_id=TENANT).model_copy(
        update={"occurred_at": datetime.now(UTC) - timedelta(hours=1)}
    )
    await produce_raw(infra.kafka, "embeddings.requested.v1", [envelope.model_dump_json().encode()])

    fresh = await _ask(embedding_client, EmbedTexts(texts=["asked just now"]))
    assert _decode(fresh).shape == (1, 384)
    await eventually(
        _async(_stale_skipped), until=lambda n: n == before + 1, what="the stale request skipped"
    )


def _async(probe: Any) -> Any:
    async def wrapped() -> Any:
        return probe()

    return wrapped
