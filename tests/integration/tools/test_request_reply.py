"""The platform's request/reply client against the running tools service."""

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator

import pandas as pd
import pytest
from faststream.kafka import KafkaBroker

from sextant_contracts import Envelope, ToolInvocationReplied, ToolInvocationRequested
from sextant_kafka import create_broker
from sextant_kafka.request_reply import (
    KafkaRequestReply,
    ReplyConsumerStopped,
    RequestTimedOut,
)
from sextant_tools.bootstrap import ToolsService
from tests.integration.infrastructure import Infrastructure
from tests.integration.tools.support import TENANT

ToolClient = KafkaRequestReply[ToolInvocationReplied]


@contextlib.asynccontextmanager
async def started_client(
    infra: Infrastructure, *, request_topic: str
) -> AsyncIterator[tuple[KafkaBroker, ToolClient]]:
    """A broker and a ready client (its own consumer group) on the tools reply topic."""
    broker = create_broker(infra.kafka, client_id="rr-test")
    client: ToolClient = KafkaRequestReply(
        broker,
        infra.kafka,
        request_topic=request_topic,
        reply_topic="tools.replied.v1",
        reply_model=ToolInvocationReplied,
    )
    async with broker:
        await broker.start()
        await client.ready()
        try:
            yield broker, client
        finally:
            await client.close()


def ask(client: ToolClient, request_id: uuid.UUID, timeout_s: float) -> "asyncio.Task[object]":
    """A pending request for the catalogue; the caller answers it or lets it time out."""
    return asyncio.create_task(
        client.request(
            ToolInvocationRequested(request_id=request_id, tool_name="list_tools"),
            request_id=request_id,
            tenant_id=TENANT,
            timeout_s=timeout_s,
        )
    )


async def answer(broker: KafkaBroker, request_id: uuid.UUID) -> None:
    """Publish the reply a tools service would, straight to the reply topic."""
    reply = ToolInvocationReplied(request_id=request_id, tool_name="list_tools", result={})
    await broker.publish(
        Envelope.wrap(reply, tenant_id=TENANT).model_dump(mode="json"), "tools.replied.v1"
    )


async def test_concurrent_requests_each_get_their_own_reply(
    infra: Infrastructure,
    tools_service: ToolsService,
) -> None:
    frames = [pd.DataFrame({"x": [float(i), float(i) + 2.0, float(i) + 4.0]}) for i in range(5)]
    ids = []
    for frame in frames:
        saved = await tools_service.store.save(
            tenant_id=TENANT, media_type="text/csv", content=frame.to_csv(index=False).encode()
        )
        ids.append(saved.dataset_id)

    async with started_client(infra, request_topic="tools.requested.v1") as (_, client):

        async def statistics_of(dataset_id: uuid.UUID) -> ToolInvocationReplied:
            request = ToolInvocationRequested(
                request_id=uuid.uuid4(),
                reply_topic=client.reply_topic,
                tool_name="descriptive_statistics",
                dataset_id=dataset_id,
            )
            return await client.request(
                request, request_id=request.request_id, tenant_id=TENANT, timeout_s=30
            )

        replies = await asyncio.gather(*(statistics_of(i) for i in ids))
    means = [r.result["statistics"]["x"]["mean"] for r in replies]  # type: ignore[index]
    assert means == pytest.approx([i + 2.0 for i in range(5)])


async def test_missing_reply_times_out_instead_of_hanging(
    infra: Infrastructure, fresh_topic: str
) -> None:
    # nobody serves fresh_topic
    async with started_client(infra, request_topic=fresh_topic) as (_, client):
        request = ToolInvocationRequested(
            request_id=uuid.uuid4(), tool_name="descriptive_statistics"
        )
        started = time.monotonic()
        with pytest.raises(RequestTimedOut, match="within 1s"):
            await client.request(
                request, request_id=request.request_id, tenant_id=TENANT, timeout_s=1
            )
    assert time.monotonic() - started < 5


async def test_a_reply_published_at_once_after_ready_is_not_missed(
    infra: Infrastructure, fresh_topic: str
) -> None:
    """ready() returns only once the new group knows its starting offset.

    Owning the partitions was not enough: the latest offset was looked up afterwards,
    and a reply written before that lookup lay behind the starting point, unseen.
    """
    for _ in range(5):  # a fresh client (and consumer group) each time
        async with started_client(infra, request_topic=fresh_topic) as (broker, client):
            request_id = uuid.uuid4()
            asking = ask(client, request_id, timeout_s=5)
            await asyncio.sleep(0)  # the request is pending before its reply is written
            await answer(broker, request_id)
            assert (await asking).request_id == request_id  # type: ignore[attr-defined]


async def test_a_reply_after_a_quiet_spell_is_read_at_once(
    infra: Infrastructure, fresh_topic: str
) -> None:
    """No poll-loop sleep between the reply landing and the waiting request seeing it.

    The FastStream batch subscriber this client used slept 100 ms after every empty
    poll, so about half the replies that followed a quiet spell waited up to 100 ms.
    """
    late: list[float] = []
    rng = random.Random(7)
    async with started_client(infra, request_topic=fresh_topic) as (broker, client):
        for _ in range(12):
            await asyncio.sleep(rng.uniform(0.05, 0.25))  # quiet: the reader polls empty
            request_id = uuid.uuid4()
            asking = ask(client, request_id, timeout_s=5)
            await asyncio.sleep(0)
            await answer(broker, request_id)  # returns once the broker has the reply
            written = time.perf_counter()
            await asking
            late.append((time.perf_counter() - written) * 1000)
    slow = [round(ms, 1) for ms in late if ms > 50]
    assert len(slow) <= 1, f"replies read late (ms): {slow} of {sorted(late)}"


async def test_closing_fails_waiting_requests_at_once_and_refuses_new_ones(
    infra: Infrastructure, fresh_topic: str
) -> None:
    async with started_client(infra, request_topic=fresh_topic) as (_, client):
        asking = ask(client, uuid.uuid4(), timeout_s=30)
        await asyncio.sleep(0.1)  # published, now waiting for a reply nobody writes
        started = time.monotonic()
        await client.close()
        with pytest.raises(ReplyConsumerStopped):
            await asking
        assert time.monotonic() - started < 5
        assert not client.is_reading
        with pytest.raises(ReplyConsumerStopped, match="call ready"):
            await ask(client, uuid.uuid4(), timeout_s=1)
