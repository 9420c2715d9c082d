"""The tools catalogue is asked of the real tools service once per TTL, not per analysis."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from sextant_kafka import create_broker
from sextant_orchestrator.infrastructure.service_clients import KafkaToolInvoker
from tests.integration.infrastructure import Infrastructure

Factory = Callable[[float], Awaitable[tuple[KafkaToolInvoker, list[str]]]]


@pytest.fixture
async def invoker_with_ttl(
    infra: Infrastructure,
    tools_service: object,  # the real service answers list_tools
) -> AsyncIterator[Factory]:
    """A started KafkaToolInvoker with the given TTL, and the tool named by each request."""
    broker = create_broker(infra.kafka, client_id="catalogue-cache-tests")
    sent: list[str] = []
    made: list[KafkaToolInvoker] = []

    async def make(ttl_s: float) -> tuple[KafkaToolInvoker, list[str]]:
        invoker = KafkaToolInvoker(
            broker,
            infra.kafka,
            instance_id=f"catalogue-{uuid.uuid4().hex[:8]}",
            timeout_s=30,
            catalogue_ttl_s=ttl_s,
        )
        real_request = invoker.client.request

        async def counted(payload: Any, **kwargs: Any) -> Any:
            sent.append(payload.tool_name)
            return await real_request(payload, **kwargs)

        invoker.client.request = counted  # type: ignore[method-assign]
        await broker.start()
        await invoker.client.ready()
        made.append(invoker)
        return invoker, sent

    yield make
    for invoker in made:
        await invoker.client.close()
    await broker.stop()


async def test_the_catalogue_is_reused_within_its_ttl_and_fetched_again_after(
    invoker_with_ttl: Factory,
) -> None:
    invoker, sent = await invoker_with_ttl(0.5)

    first = await invoker.list_tools(tenant_id="tenant-a")
    second = await invoker.list_tools(tenant_id="tenant-b")  # same catalogue for every tenant
    assert "descriptive_statistics" in {t["name"] for t in first}
    assert second == first
    assert sent == ["list_tools"]

    await asyncio.sleep(0.6)
    assert await invoker.list_tools(tenant_id="tenant-a") == first
    assert sent == ["list_tools", "list_tools"]


async def test_concurrent_callers_on_a_cold_cache_share_one_request(
    invoker_with_ttl: Factory,
) -> None:
    invoker, sent = await invoker_with_ttl(60)
    catalogues = await asyncio.gather(*(invoker.list_tools(tenant_id="t") for _ in range(8)))
    assert all(catalogue == catalogues[0] for catalogue in catalogues)
    assert sent == ["list_tools"]


async def test_a_ttl_of_zero_asks_every_time(invoker_with_ttl: Factory) -> None:
    invoker, sent = await invoker_with_ttl(0)
    for _ in range(3):
        await invoker.list_tools(tenant_id="t")
    assert sent == ["list_tools"] * 3
