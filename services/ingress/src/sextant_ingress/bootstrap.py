"""Composition root of the ingress: the API over PostgreSQL, the outbox relay, and the
event recorder plus LISTEN/NOTIFY wake-ups behind the SSE stream."""

from dataclasses import dataclass

from faststream.kafka import KafkaBroker
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp

from sextant_ingress.application.cancel_analysis import CancelAnalysis
from sextant_ingress.application.deliver_webhooks import DeliverWebhooks
from sextant_ingress.application.ports import DeadLetterReads, WebhookSender
from sextant_ingress.application.resume_analysis import ResumeAnalysis
from sextant_ingress.application.submit_analysis import SubmitAnalysis
from sextant_ingress.application.threads import Conversations
from sextant_ingress.application.upload_dataset import ListDatasets, UploadDataset
from sextant_ingress.application.views import AnalysisViews
from sextant_ingress.application.webhooks import WebhookRegistry
from sextant_ingress.domain.datasets import DatasetLimits
from sextant_ingress.domain.webhooks import RetryPolicy
from sextant_ingress.infrastructure.event_wakeups import EventWakeups
from sextant_ingress.infrastructure.kafka_dead_letters import KafkaDeadLetters
from sextant_ingress.infrastructure.postgres_analyses import PostgresAnalysisStore
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_ingress.infrastructure.postgres_datasets import PostgresDatasets
from sextant_ingress.infrastructure.postgres_events import NOTIFY_CHANNEL, PostgresEventLog
from sextant_ingress.infrastructure.postgres_threads import PostgresThreads
from sextant_ingress.infrastructure.postgres_usage import PostgresUsage
from sextant_ingress.infrastructure.postgres_webhooks import PostgresWebhooks
from sextant_ingress.infrastructure.webhook_sender import HttpWebhookSender
from sextant_ingress.presentation.api import IngressUseCases, create_app
from sextant_ingress.presentation.event_recorder import EventRecorder, event_recorder_consumer
from sextant_ingress.presentation.event_stream import EventFeed
from sextant_ingress.presentation.webhook_deliverer import WebhookDeliverer
from sextant_ingress.settings import IngressSettings
from sextant_kafka.broker import service_broker
from sextant_kafka.long_running_consumer import LongRunningConsumer
from sextant_platform.health import database_check, kafka_check, redis_check
from sextant_storage.database import create_engine
from sextant_storage.outbox import OutboxRelay
from sextant_storage.redis_client import create_redis


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
    deliverer: WebhookDeliverer
    webhook_sender: HttpWebhookSender

    async def start(self) -> None:
        self.wakeups.start()
        await self.broker.start()
        self.relay.start()
        await self.recorder_consumer.start()
        self.deliverer.start()

    async def close(self) -> None:
        await self.deliverer.stop()
        await self.webhook_sender.close()
        await self.recorder_consumer.stop()
        await self.recorder.writes.aclose()
        await self.relay.stop()
        await self.wakeups.stop()
        await self.broker.stop()
        await self.redis.aclose()
        await self.engine.dispose()


def use_cases(
    engine: AsyncEngine,
    *,
    dead_letters: DeadLetterReads,
    relay: OutboxRelay | None,
    feed: EventFeed,
    keys: PostgresApiKeys,
    limits: DatasetLimits,
    webhook_sender: WebhookSender | None = None,
) -> IngressUseCases:
    """The use cases and views over PostgreSQL (``relay``, when given, is woken after
    each write to the outbox; ``webhook_sender`` vets webhook URLs: public addresses
    only unless given one with allow-lists)."""
    analyses = PostgresAnalysisStore(engine, relay)
    datasets = PostgresDatasets(engine)
    submit = SubmitAnalysis(analyses)
    return IngressUseCases(
        submit=submit,
        cancel=CancelAnalysis(analyses),
        resume=ResumeAnalysis(analyses),
        upload=UploadDataset(datasets, limits),
        datasets=ListDatasets(datasets),
        views=AnalysisViews(analyses),
        feed=feed,
        keys=keys,
        usage=PostgresUsage(engine),
        dead_letters=dead_letters,
        conversations=Conversations(PostgresThreads(engine), submit),
        webhooks=WebhookRegistry(
            PostgresWebhooks(engine), webhook_sender or HttpWebhookSender({}, timeout_s=10.0)
        ),
    )


def bootstrap(settings: IngressSettings) -> IngressApp:
    engine = create_engine(settings.POSTGRES)
    broker = service_broker(settings)
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
    limits = DatasetLimits(max_bytes=settings.MAX_DATASET_BYTES, max_rows=settings.MAX_DATASET_ROWS)
    sender = HttpWebhookSender(
        settings.WEBHOOK_ALLOWED_NETWORKS, timeout_s=settings.WEBHOOK_TIMEOUT_S
    )
    deliverer = WebhookDeliverer(
        DeliverWebhooks(
            PostgresWebhooks(engine),
            sender,
            policy=RetryPolicy(
                backoff_s=settings.WEBHOOK_BACKOFF_S,
                backoff_max_s=settings.WEBHOOK_BACKOFF_MAX_S,
                give_up_after_s=settings.WEBHOOK_RETRY_FOR_S,
            ),
            lease_s=2 * settings.WEBHOOK_TIMEOUT_S + 5,
        ),
        poll_s=settings.WEBHOOK_POLL_S,
    )
    api = create_app(
        use_cases(
            engine,
            dead_letters=KafkaDeadLetters(
                settings.KAFKA, client_id=f"{settings.SERVICE_NAME}-dead-letters"
            ),
            relay=relay,
            feed=feed,
            keys=keys,
            limits=limits,
            webhook_sender=sender,
        ),
        checks={
            "kafka": kafka_check(broker),
            "postgres": database_check(engine),
            "redis": redis_check(redis),
        },
        max_body_bytes=settings.MAX_BODY_BYTES,
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
        deliverer=deliverer,
        webhook_sender=sender,
    )
