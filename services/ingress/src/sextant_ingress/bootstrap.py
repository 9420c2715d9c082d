"""Composition root of the ingress: the API over PostgreSQL, the outbox relay, and the
event recorder plus LISTEN/NOTIFY wake-ups behind the SSE stream."""

from dataclasses import dataclass

from faststream.kafka import KafkaBroker
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from sextant_ingress.infrastructure.event_wakeups import EventWakeups
from sextant_ingress.infrastructure.postgres_analyses import PostgresAnalysisStore
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_ingress.infrastructure.postgres_events import NOTIFY_CHANNEL, PostgresEventLog
from sextant_ingress.presentation.api import create_app
from sextant_ingress.presentation.event_recorder import EventRecorder, event_recorder_consumer
from sextant_ingress.presentation.event_stream import EventFeed
from sextant_ingress.presentation.settings import IngressSettings
from sextant_platform.database import create_engine
from sextant_platform.health import database_check, kafka_check, redis_check
from sextant_platform.kafka import create_broker
from sextant_platform.kafka.long_running_consumer import LongRunningConsumer
from sextant_platform.outbox import OutboxRelay
from sextant_platform.redis_client import create_redis


@dataclass
class IngressApp:
    api: ASGIApp
    broker: KafkaBroker
    engine: AsyncEngine
    redis: Redis
    relay: OutboxRelay
    keys: PostgresApiKeys
    wakeups: EventWakeups
    recorder_consumer: LongRunningConsumer
    recorder: EventRecorder

    async def start(self) -> None:
        self.wakeups.start()
        await self.broker.start()
        self.relay.start()
        await self.recorder_consumer.start()

    async def close(self) -> None:
        await self.recorder_consumer.stop()
        await self.recorder.writes.aclose()
        await self.relay.stop()
        await self.wakeups.stop()
        await self.broker.stop()
        await self.redis.aclose()
        await self.engine.dispose()


def bootstrap(settings: IngressSettings) -> IngressApp:
    engine = create_engine(settings.POSTGRES)
    broker = create_broker(settings.KAFKA, client_id=settings.SERVICE_NAME)
    redis = create_redis(settings.REDIS)
    relay = OutboxRelay(engine, broker, poll_interval_s=settings.OUTBOX_POLL_S)
    keys = PostgresApiKeys(engine)
    log = PostgresEventLog(engine)
    recorder_consumer, recorder = event_recorder_consumer(
        broker,
        log,
        settings=settings.KAFKA,
        group_id=settings.EVENTS_CONSUMER_GROUP,
        client_id=f"{settings.SERVICE_NAME}-events",
    )
    wakeups = EventWakeups(settings.POSTGRES, channel=NOTIFY_CHANNEL)
    feed = EventFeed(
        log, wakeups, poll_interval_s=settings.SSE_POLL_S, keepalive_s=settings.SSE_KEEPALIVE_S
    )
    api = create_app(
        store=PostgresAnalysisStore(engine, relay),
        keys=keys,
        feed=feed,
        engine=engine,
        checks={
            "kafka": kafka_check(broker),
            "postgres": database_check(engine),
            "redis": redis_check(redis),
        },
        max_body_bytes=settings.MAX_BODY_BYTES,
        max_dataset_bytes=settings.MAX_DATASET_BYTES,
        max_dataset_rows=settings.MAX_DATASET_ROWS,
    )
    return IngressApp(
        api=api,
        broker=broker,
        engine=engine,
        redis=redis,
        relay=relay,
        keys=keys,
        wakeups=wakeups,
        recorder_consumer=recorder_consumer,
        recorder=recorder,
    )
