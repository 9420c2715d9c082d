"""The tools service on the real Kafka and PostgreSQL: results, errors, DLQ, loop health."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from faststream.kafka import KafkaBroker
from prometheus_client import REGISTRY

from sextant_contracts import DeadLetter, Envelope, ToolInvocationReplied, ToolInvocationRequested
from sextant_kafka import create_broker
from sextant_tools.bootstrap import ToolsService
from tests.integration.infrastructure import Infrastructure
from tests.integration.kafka_helpers import eventually, produce_raw, read_all, wait_until
from tests.integration.tools.support import TENANT

SALES = pd.DataFrame(
    {
        "region": ["north", "south", "north", "east", "south", "north"],
        "revenue": [120.0, 80.5, 99.9, 45.0, 130.25, 300.0],
        "units": [10, 7, 9, 3, 11, 25],
    }
)


@pytest.fixture
async def client(
    infra: Infrastructure, kafka_admin: AIOKafkaAdminClient
) -> AsyncIterator["ToolClient"]:
    reply_topic = f"test.tool-replies.{uuid.uuid4().hex[:10]}"
    await kafka_admin.create_topics([NewTopic(reply_topic, num_partitions=1, replication_factor=1)])
    broker = create_broker(infra.kafka, client_id="tools-test-client")
    replies: dict[str, ToolInvocationReplied] = {}

    @broker.subscriber(
        reply_topic, group_id=f"c-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest"
    )
    async def collect(event: Envelope[ToolInvocationReplied]) -> None:
        replies[str(event.payload.request_id)] = event.payload

    await broker.start()
    yield ToolClient(broker, reply_topic, replies)
    await broker.stop()


class ToolClient:
    """Publishes invocations as the orchestrator would and waits for the replies."""

    def __init__(
        self, broker: KafkaBroker, reply_topic: str, replies: dict[str, ToolInvocationReplied]
    ) -> None:
        self.broker, self.reply_topic, self.replies = broker, reply_topic, replies

    async def invoke(
        self,
        tool: str,
        dataset_id: uuid.UUID | None,
        arguments: dict[str, Any],
        *,
        timeout_s: float = 30,
    ) -> ToolInvocationReplied:
        request = ToolInvocationRequested(
            request_id=uuid.uuid4(),
            reply_topic=self.reply_topic,
            tool_name=tool,
            dataset_id=dataset_id,
            arguments=arguments,
        )
        event = Envelope.wrap(request, tenant_id=TENANT, correlation_id=str(request.request_id))
        await self.broker.publish(
            event.model_dump(mode="json"),
            "tools.requested.v1",
            key=str(request.request_id).encode(),
        )
        key = str(request.request_id)
        await wait_until(lambda: key in self.replies, timeout_s=timeout_s, what=f"reply to {tool}")
        return self.replies[key]


async def _upload(service: ToolsService, frame: pd.DataFrame) -> uuid.UUID:
    saved = await service.store.save(
        tenant_id=TENANT, media_type="text/csv", content=frame.to_csv(index=False).encode()
    )
    return saved.dataset_id


async def test_statistics_through_the_service_equal_pandas(
    tools_service: ToolsService, client: ToolClient
) -> None:
    dataset_id = await _upload(tools_service, SALES)
    reply = await client.invoke("descriptive_statistics", dataset_id, {"columns": ["revenue"]})
    assert reply.error is None
    assert reply.result is not None
    stats = reply.result["statistics"]["revenue"]  # type: ignore[index]
    assert stats["mean"] == pytest.approx(SALES["revenue"].mean())  # type: ignore[index]
    assert stats["std"] == pytest.approx(SALES["revenue"].std())  # type: ignore[index]
    assert reply.result["rows"] == len(SALES)

    grouped = await client.invoke(
        "group_by_aggregate",
        dataset_id,
        {"by": ["region"], "metric": "revenue", "aggregation": "sum"},
    )
    expected = SALES.groupby("region")["revenue"].sum()
    assert grouped.result is not None
    got = {g["keys"]["region"]: g["value"] for g in grouped.result["groups"]}  # type: ignore[index,union-attr]
    assert got == pytest.approx(expected.to_dict())


@pytest.mark.parametrize(
    ("tool", "arguments", "code"),
    [
        ("does_not_exist", {}, "unknown_tool"),
        ("group_by_aggregate", {"by": ["nope"], "metric": "revenue"}, "unknown_column"),
        ("outlier_detection", {"column": "revenue", "threshold": "high"}, "invalid_arguments"),
        ("descriptive_statistics", {"columns": ["region"]}, "invalid_arguments"),
    ],
)
async def test_bad_invocations_get_clear_error_replies(
    tools_service: ToolsService, client: ToolClient, tool: str, arguments: dict[str, Any], code: str
) -> None:
    dataset_id = await _upload(tools_service, SALES)
    reply = await client.invoke(tool, dataset_id, arguments)
    assert reply.result is None
    assert reply.error is not None
    assert reply.error.code == code
    assert reply.error.message


async def test_unreadable_or_missing_dataset_is_an_error_reply(
    tools_service: ToolsService, client: ToolClient
) -> None:
    saved = await tools_service.store.save(
        tenant_id=TENANT, media_type="text/csv", content=b"a,b\n\xff\xfe,1\n"
    )
    unreadable = await client.invoke("descriptive_statistics", saved.dataset_id, {})
    missing = await client.invoke("descriptive_statistics", uuid.uuid4(), {})
    assert unreadable.error is not None
    assert unreadable.error.code == "dataset_unreadable"
    assert missing.error is not None
    assert missing.error.code == "dataset_not_found"


async def test_a_result_too_large_for_kafka_is_an_error_reply_not_a_lost_request(
    tools_service: ToolsService, client: ToolClient
) -> None:
    """A 300 x 300 correlation matrix is ~2.5 MB of JSON: over the 1 MB reply limit."""
    rng = np.random.default_rng(3)
    wide = pd.DataFrame(rng.normal(size=(20, 300)), columns=[f"c{i}" for i in range(300)])
    wide_id = await _upload(tools_service, wide)

    refused = await client.invoke("correlation_matrix", wide_id, {})
    narrow = await client.invoke("correlation_matrix", wide_id, {"columns": ["c0", "c1"]})

    assert refused.result is None
    assert refused.error is not None
    assert refused.error.code == "result_too_large"
    assert "fewer columns" in refused.error.message
    assert narrow.error is None
    assert narrow.result is not None
    assert narrow.result["matrix"]["c0"]["c1"] == pytest.approx(wide["c0"].corr(wide["c1"]))  # type: ignore[index, call-overload]


async def test_poison_message_goes_to_dlq_and_service_keeps_answering(
    infra: Infrastructure, tools_service: ToolsService, client: ToolClient
) -> None:
    marker = uuid.uuid4().hex.encode()
    await produce_raw(infra.kafka, "tools.requested.v1", [b"\x00garbage " + marker])
    dataset_id = await _upload(tools_service, SALES)
    reply = await client.invoke("top_categories", dataset_id, {"column": "region", "top": 1})
    assert reply.result is not None
    assert reply.result["values"][0]["value"] == "north"  # type: ignore[index]

    records = await read_all(infra.kafka, "tools.requested.v1.dlq", expected=10_000, timeout_s=5)
    letters = [DeadLetter.model_validate_json(r.value) for r in records if marker in r.value]
    assert len(letters) == 1
    assert letters[0].original_topic == "tools.requested.v1"
    assert letters[0].attempts == 1


@pytest.mark.parametrize(
    "header",
    [
        ("x-sextant-not-before", b"soon"),
        ("x-sextant-attempt", b"many"),
        ("x-sextant-original-topic", b"analysis.completed.v1"),
        ("x-sextant-original-offset", b"NaN"),
    ],
)
async def test_hostile_retry_headers_neither_wedge_a_partition_nor_steer_the_retry(
    infra: Infrastructure, tools_service: ToolsService, client: ToolClient, header: Any
) -> None:
    """A foreign producer's record carrying Sextant's retry headers with junk (or another
    topic) on every partition: each is dead-lettered where it arrived, and invocations
    behind it are answered. (Parsing the header raised, the offset was never committed,
    and the partition redelivered the record for ever.)"""
    marker = uuid.uuid4().hex.encode()
    await produce_raw(
        infra.kafka,
        "tools.requested.v1",
        [b"not json " + marker],
        headers=[header],
        every_partition=True,
    )
    dataset_id = await _upload(tools_service, SALES)
    for _ in range(3):  # requests land on any partition
        reply = await client.invoke("top_categories", dataset_id, {"column": "region", "top": 1})
        assert reply.result is not None, reply.error

    async def lettered() -> list[DeadLetter]:
        records = await read_all(
            infra.kafka, "tools.requested.v1.dlq", expected=10_000, timeout_s=5
        )
        return [DeadLetter.model_validate_json(r.value) for r in records if marker in r.value]

    letters = await eventually(
        lettered, until=lambda found: len(found) >= 1, timeout_s=60, what="the dead letters"
    )
    assert {letter.original_topic for letter in letters} == {"tools.requested.v1"}


async def test_a_request_naming_a_reply_topic_not_allowed_is_dead_lettered_unanswered(
    infra: Infrastructure, tools_service: ToolsService, client: ToolClient
) -> None:
    """Any producer could make the service publish onto any topic (here, the analyses'
    completed events) by naming it as the reply topic: it goes to the DLQ instead."""
    dataset_id = await _upload(tools_service, SALES)
    request = ToolInvocationRequested(
        request_id=uuid.uuid4(),
        reply_topic="analysis.completed.v1",
        tool_name="top_categories",
        dataset_id=dataset_id,
        arguments={"column": "region", "top": 1},
    )
    key = str(request.request_id).encode()
    event = Envelope.wrap(request, tenant_id=TENANT)
    await produce_raw(
        infra.kafka, "tools.requested.v1", [event.model_dump_json().encode()], key=key
    )

    async def lettered() -> list[DeadLetter]:
        records = await read_all(infra.kafka, "tools.requested.v1.dlq", expected=10**6, timeout_s=3)
        return [DeadLetter.model_validate_json(r.value) for r in records if r.key == key]

    letters = await eventually(lettered, until=bool, timeout_s=60, what="the dead letter")
    assert letters[0].error_type == "ReplyTopicNotAllowed"
    assert "analysis.completed.v1" in letters[0].error_message
    completed = await read_all(
        infra.kafka, "analysis.completed.v1", expected=1, key=key, timeout_s=3
    )
    assert completed == []
    reply = await client.invoke("top_categories", dataset_id, {"column": "region", "top": 1})
    assert reply.result is not None  # an allowed reply topic is still answered


async def test_web_fetch_is_served_and_private_addresses_refused(client: ToolClient) -> None:
    blocked = await client.invoke(
        "web_fetch", None, {"url": "http://169.254.169.254/latest/meta-data/"}
    )
    bad_url = await client.invoke("web_fetch", None, {"url": "not a url"})
    assert blocked.error is not None
    assert blocked.error.code == "address_not_allowed"
    assert bad_url.error is not None
    assert bad_url.error.code == "invalid_arguments"


async def test_a_cheap_invocation_is_answered_while_a_heavy_tool_runs(
    tools_service: ToolsService, client: ToolClient
) -> None:
    rng = np.random.default_rng(7)
    heavy = pd.DataFrame(rng.normal(size=(400_000, 6)), columns=list("abcdef"))
    heavy_id = await _upload(tools_service, heavy)
    cheap_id = await _upload(tools_service, SALES)

    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - started - 0.01)

    ticking = asyncio.create_task(ticker())
    slow = asyncio.create_task(
        client.invoke("correlation_matrix", heavy_id, {"method": "spearman"}, timeout_s=60)
    )
    await asyncio.sleep(0.3)  # the heavy invocation is taken first
    cheap = await client.invoke("top_categories", cheap_id, {"column": "region", "top": 1})
    heavy_still_running = not slow.done()
    reply = await slow
    stop.set()
    await ticking
    assert cheap.result is not None
    assert heavy_still_running, "the cheap invocation waited for the heavy one"
    assert reply.error is None
    assert len(lags) > 20, "the ticker ran throughout"
    assert max(lags) < 0.25, f"event loop stalled for {max(lags):.3f}s"


def _stale_skipped() -> float:
    return (
        REGISTRY.get_sample_value(
            "sextant_stale_requests_skipped_total", {"topic": "tools.requested.v1"}
        )
        or 0.0
    )


async def test_an_invocation_older_than_its_requesters_patience_is_skipped(
    infra: Infrastructure, tools_service: ToolsService, client: ToolClient
) -> None:
    before = _stale_skipped()
    stale = ToolInvocationRequested(
        request_id=uuid.uuid4(), reply_topic=client.reply_topic, tool_name="list_tools"
    )
    envelope = Envelope.wrap(stale, tenant_id=TENANT).model_copy(
        update={"occurred_at": datetime.now(UTC) - timedelta(hours=1)}
    )
    await produce_raw(infra.kafka, "tools.requested.v1", [envelope.model_dump_json().encode()])

    fresh = await client.invoke("list_tools", None, {})
    assert fresh.error is None
    await wait_until(lambda: _stale_skipped() == before + 1, what="the stale invocation skipped")
    assert str(stale.request_id) not in client.replies


async def test_catalogue_is_listed_for_llm_binding(client: ToolClient) -> None:
    reply = await client.invoke("list_tools", None, {})
    assert reply.error is None
    assert reply.result is not None
    tools = reply.result["tools"]
    assert isinstance(tools, list)
    names = {tool["name"] for tool in tools}  # type: ignore[index]
    assert names == {
        "profile_dataset",
        "query",
        "descriptive_statistics",
        "correlation_matrix",
        "group_by_aggregate",
        "outlier_detection",
        "time_series_trend",
        "top_categories",
        "web_fetch",
    }
    for tool in tools:
        assert tool["description"]  # type: ignore[index]
        assert tool["parameters"]["type"] == "object"  # type: ignore[index]


@pytest.mark.parametrize(
    ("payload_change", "named"),
    [
        ({"tool_name": "Not A Tool!"}, "unknown"),
        ({"arguments": ["not", "an", "object"]}, "top_categories"),
    ],
)
async def test_an_invalid_invocation_with_a_readable_id_is_answered_with_an_error(
    infra: Infrastructure,
    tools_service: ToolsService,
    client: ToolClient,
    payload_change: dict[str, Any],
    named: str,
) -> None:
    """Its requester learns why at once instead of waiting out its timeout (the record
    used to go to the DLQ unanswered; the embeddings service already answered)."""
    request_id = uuid.uuid4()
    request = ToolInvocationRequested(
        request_id=request_id, reply_topic=client.reply_topic, tool_name="top_categories"
    )
    body = Envelope.wrap(request, tenant_id=TENANT).model_dump(mode="json")
    body["payload"].update(payload_change)
    await produce_raw(
        infra.kafka,
        "tools.requested.v1",
        [json.dumps(body).encode()],
        key=str(request_id).encode(),
    )

    await wait_until(lambda: str(request_id) in client.replies, timeout_s=30, what="the reply")
    reply = client.replies[str(request_id)]
    assert reply.result is None
    assert reply.error is not None
    assert reply.error.code == "invalid_arguments"
    assert reply.tool_name == named
