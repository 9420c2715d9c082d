"""Composition root of the tools service: build adapters once, wire them to the use case."""

import asyncio
from dataclasses import dataclass

from faststream.kafka import KafkaBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_kafka.broker import service_broker
from sextant_kafka.long_running_consumer import LongRunningConsumer
from sextant_kafka.request_reply_server import serve_requests
from sextant_storage.database import create_engine
from sextant_tools.application.invoke_tool import InvokeTool
from sextant_tools.domain.datasets import DatasetLimits
from sextant_tools.domain.ports import DatasetStore
from sextant_tools.infrastructure.cached_dataset_store import CachedDatasetStore
from sextant_tools.infrastructure.postgres_dataset_store import PostgresDatasetStore
from sextant_tools.infrastructure.process_pool_runner import ProcessPoolToolRunner
from sextant_tools.infrastructure.tools.catalogue import default_catalogue
from sextant_tools.infrastructure.web_fetch import SafeWebFetchTool
from sextant_tools.presentation.subscriber import COMMIT_INTERVAL_S, served_tools
from sextant_tools.settings import ToolsSettings


@dataclass
class ToolsService:
    """Everything the running service owns; ``start``/``close`` bracket its life."""

    broker: KafkaBroker
    consumer: LongRunningConsumer
    engine: AsyncEngine
    runner: ProcessPoolToolRunner
    store: DatasetStore

    async def start(self) -> None:
        await asyncio.to_thread(self.runner.warm_up)  # workers up before the first request
        await self.broker.start()  # replies are published through it
        await self.consumer.start()

    async def close(self) -> None:
        """Stop taking invocations (running ones finish), then release everything."""
        await self.consumer.stop()
        await self.broker.stop()
        await asyncio.to_thread(self.runner.close)  # waits for workers: not on the loop
        await self.engine.dispose()


def bootstrap(settings: ToolsSettings) -> ToolsService:
    limits = DatasetLimits(
        max_bytes=settings.MAX_DATASET_BYTES,
        max_rows=settings.MAX_DATASET_ROWS,
        max_columns=settings.MAX_DATASET_COLUMNS,
    )
    engine = create_engine(settings.POSTGRES)
    store: DatasetStore = PostgresDatasetStore(engine, limits)
    if settings.DATASET_CACHE_BYTES > 0:
        store = CachedDatasetStore(store, max_bytes=settings.DATASET_CACHE_BYTES)
    runner = ProcessPoolToolRunner(
        workers=settings.WORKERS,
        timeout_s=settings.TIMEOUT_S,
        limits=limits,
        parsed_bytes_per_worker=settings.PARSED_BYTES_PER_WORKER,
    )
    catalogue = default_catalogue()
    web = SafeWebFetchTool(
        allowed_networks=list(settings.WEB_FETCH_ALLOWED_NETWORKS),
        max_bytes=settings.WEB_FETCH_MAX_BYTES,
        timeout_s=settings.WEB_FETCH_TIMEOUT_S,
    )
    descriptions: list[dict[str, object]] = [dict(entry) for entry in catalogue.describe()]
    descriptions.append(
        {
            "name": web.name,
            "description": web.description,
            "parameters": web.arguments.model_json_schema(),
        }
    )
    invoke = InvokeTool(store, runner, descriptions, web=web)
    broker = service_broker(settings)
    consumer = serve_requests(
        served_tools(invoke),
        broker,
        settings,
        max_reply_bytes=settings.MAX_REPLY_BYTES,
        commit_interval_s=COMMIT_INTERVAL_S,
    )
    return ToolsService(broker=broker, consumer=consumer, engine=engine, runner=runner, store=store)
