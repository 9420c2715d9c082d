"""The platform's request/reply client against the running tools service."""

import asyncio
import time
import uuid

import pandas as pd
import pytest

from sextant_contracts import Envelope, ToolInvocationReplied, ToolInvocationRequested
from sextant_platform.kafka import create_broker
from sextant_platform.kafka.request_reply import KafkaRequestReply, RequestTimedOut
from sextant_tools.bootstrap import ToolsService
from tests.integration.infrastructure import Infrastructure
from tests.integration.tools.support import TENANT


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

    broker = create_broker(infra.kafka, client_id="rr-test")
    client = KafkaRequestReply(
        broker,
        request_topic="tools.requested.v1",
        reply_topic="tools.replied.v1",
        reply_model=ToolInvocationReplied,
    )
    async with broker:
        await broker.start()
        await client.ready()

        async def ask(dataset_id: uuid.UUID) -> ToolInvocationReplied:
            request = ToolInvocationRequested(
                request_id=uuid.uuid4(),
                reply_topic=client.reply_topic,
                tool_name="descriptive_statistics",
                dataset_id=dataset_id,
            )
            return await client.request(
                request, request_id=request.request_id, tenant_id=TENANT, timeout_s=30
            )

        replies = await asyncio.gather(*(ask(i) for i in ids))
    means = [r.result["statistics"]["x"]["mean"] for r in replies]  # type: ignore[index]
    assert means == pytest.approx([i + 2.0 for i in range(5)])


async def test_missing_reply_times_out_instead_of_hanging(
    infra: Infrastructure, fresh_topic: str
) -> None:
    broker = create_broker(infra.kafka, client_id="rr-timeout")
    client = KafkaRequestReply(
        broker,
        request_topic=fresh_topic,  # nobody serves this topic
        reply_topic="tools.replied.v1",
        reply_model=ToolInvocationReplied,
    )
    async with broker:
        await broker.start()
        await client.ready()
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
        broker = create_broker(infra.kafka, client_id="rr-ready")
        client = KafkaRequestReply(
            broker,
            request_topic=fresh_topic,  # nobody serves it: this test answers itself
            reply_topic="tools.replied.v1",
            reply_model=ToolInvocationReplied,
        )
        async with broker:
            await broker.start()
            await client.ready()
            request_id = uuid.uuid4()
            asking = asyncio.create_task(
                client.request(
                    ToolInvocationRequested(request_id=request_id, tool_name="list_tools"),
                    request_id=request_id,
                    tenant_id=TENANT,
                    timeout_s=5,
                )
            )
            await asyncio.sleep(0)  # the request is pending before its reply is written
            reply = ToolInvocationReplied(request_id=request_id, tool_name="list_tools", result={})
            await broker.publish(
                Envelope.wrap(reply, tenant_id=TENANT).model_dump(mode="json"),
                "tools.replied.v1",
            )
            assert (await asking).request_id == request_id
