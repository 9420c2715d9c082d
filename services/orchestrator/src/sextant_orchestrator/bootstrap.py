"""Composition root of the orchestrator: adapters built once and wired to the use case."""

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass

from faststream.kafka import KafkaBroker
from redis.asyncio import Redis
from sextant_checkpoint_redis import PlainRedisSaver
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_kafka.broker import service_broker
from sextant_kafka.long_running_consumer import (
    LongRunningConsumer,
    dead_lettering_consumer,
)
from sextant_orchestrator.application.run_analysis import RunAnalysis
from sextant_orchestrator.application.sweep_lifecycle import SweepLifecycle, SweepPolicy
from sextant_orchestrator.domain.budgets import Budget, Price
from sextant_orchestrator.domain.interrupts import InterruptPolicy
from sextant_orchestrator.domain.ports import UsageLedger
from sextant_orchestrator.infrastructure.graphs.nodes import WorkflowNodes
from sextant_orchestrator.infrastructure.graphs.runner import LangGraphWorkflow
from sextant_orchestrator.infrastructure.graphs.workflow import build_workflow
from sextant_orchestrator.infrastructure.kafka_progress import KafkaProgressPublisher
from sextant_orchestrator.infrastructure.llm.metering import LlmMetering
from sextant_orchestrator.infrastructure.llm.providers import (
    ChatModelChoice,
    build_call_policy,
    build_chat_model,
)
from sextant_orchestrator.infrastructure.llm.telemetry import ChatTelemetry
from sextant_orchestrator.infrastructure.postgres_analyses import PostgresAnalysisRepository
from sextant_orchestrator.infrastructure.postgres_cancellation import PostgresCancellationSignals
from sextant_orchestrator.infrastructure.postgres_datasets import PostgresDatasetWriter
from sextant_orchestrator.infrastructure.postgres_lifecycle import PostgresLifecycleStore
from sextant_orchestrator.infrastructure.postgres_usage import PostgresUsageLedger
from sextant_orchestrator.infrastructure.service_clients import (
    KafkaPassageRanker,
    KafkaToolInvoker,
)
from sextant_orchestrator.presentation.consumers import (
    REQUESTS,
    AnalysisIntake,
    CancellationIntake,
    CommandIntake,
    ResumeIntake,
)
from sextant_orchestrator.presentation.sweeper import LifecycleSweeper
from sextant_orchestrator.settings import OrchestratorSettings
from sextant_platform.health import (
    HealthApp,
    database_check,
    kafka_check,
    reading_check,
    redis_check,
)
from sextant_storage.database import create_engine
from sextant_storage.outbox import OutboxRelay
from sextant_storage.redis_client import create_redis


def instance_id(settings: OrchestratorSettings) -> str:
    """Lease owner: unique per process, readable in the ``analyses`` table."""
    if settings.INSTANCE_ID:
        return settings.INSTANCE_ID
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class OrchestratorApp:
    """Everything the running service owns; ``start``/``close`` in that order."""

    broker: KafkaBroker
    engine: AsyncEngine
    redis: Redis
    consumer: LongRunningConsumer
    cancellations: LongRunningConsumer
    relay: OutboxRelay
    tools: KafkaToolInvoker
    ranker: KafkaPassageRanker
    model: ChatModelChoice
    probes: HealthApp
    cancellation: PostgresCancellationSignals
    sweeper: LifecycleSweeper

    async def start(self) -> None:
        self.cancellation.start()
        await self.broker.start()
        await self.tools.client.ready()
        await self.ranker.client.ready()
        self.relay.start()
        await self.consumer.start()
        await self.cancellations.start()
        self.sweeper.start()

    async def close(self) -> None:
        await self.sweeper.stop()
        await self.consumer.stop()
        await self.cancellations.stop()
        await self.relay.stop()
        await self.cancellation.stop()
        await self.tools.client.close()
        await self.ranker.client.close()
        await self.broker.stop()
        await self.redis.aclose()
        await self.engine.dispose()


def metering(settings: OrchestratorSettings, model: str, ledger: UsageLedger) -> LlmMetering:
    """The tenants' budgets and the model's price, from settings."""
    provider = settings.LLM.PROVIDER
    price = settings.LLM.PRICES.get(f"{provider}/{model}") or settings.LLM.PRICES.get(model)
    return LlmMetering(
        ledger=ledger,
        provider=provider,
        model=model,
        price=Price(**price.model_dump()) if price else Price(),
        budgets={
            tenant: Budget(**budget.model_dump()) for tenant, budget in settings.BUDGETS.items()
        },
    )


async def bootstrap(
    settings: OrchestratorSettings, model: ChatModelChoice | None = None
) -> OrchestratorApp:
    """Build the service; the local model loads in a thread, off the event loop."""
    if model is None:
        model = await asyncio.to_thread(build_chat_model, settings.LLM)
    owner = instance_id(settings)
    broker = service_broker(settings)
    engine = create_engine(settings.POSTGRES)
    redis = create_redis(settings.REDIS)
    relay = OutboxRelay(engine, broker, poll_interval_s=settings.OUTBOX_POLL_S)
    repository = PostgresAnalysisRepository(engine, relay, max_event_bytes=settings.MAX_EVENT_BYTES)
    tools = KafkaToolInvoker(
        broker,
        settings.KAFKA,
        instance_id=owner,
        timeout_s=settings.SERVICE_TIMEOUT_S,
        catalogue_ttl_s=settings.TOOL_CATALOGUE_TTL_S,
    )
    ranker = KafkaPassageRanker(
        broker, settings.KAFKA, instance_id=owner, timeout_s=settings.SERVICE_TIMEOUT_S
    )
    nodes = WorkflowNodes(
        tools=tools,
        ranker=ranker,
        llm=model.model,
        llm_calls_tools=model.calls_tools,
        policy=build_call_policy(settings.LLM),
        strict_grounding=settings.STRICT_GROUNDING,
        meaning_timeout_s=settings.MEANING_TIMEOUT_S,
        chat_telemetry=ChatTelemetry(provider=settings.LLM.PROVIDER, model=model.name),
        metering=metering(settings, model.name, PostgresUsageLedger(engine)),
    )
    saver = PlainRedisSaver(redis, prefix=settings.CHECKPOINT_PREFIX)
    workflow = LangGraphWorkflow(
        build_workflow(nodes, saver), saver, finished_ttl_s=settings.REDIS.CHECKPOINT_TTL_S
    )
    cancellation = PostgresCancellationSignals(settings.POSTGRES)
    run = RunAnalysis(
        repository=repository,
        workflow=workflow,
        progress=KafkaProgressPublisher(broker),
        datasets=PostgresDatasetWriter(engine),
        owner=owner,
        lease_s=settings.LEASE_S,
        model_name=model.name,
        cancellation=cancellation,
        thread_policies=settings.THREAD_POLICIES,
        interrupt_policies={
            tenant: InterruptPolicy(
                clarify=policy.clarify,
                approve_tools=tuple(policy.approve_tools),
                approve_rows_over=policy.approve_rows_over,
                timeout_s=policy.timeout_s,
                on_timeout=policy.on_timeout,
            )
            for tenant, policy in settings.INTERRUPT_POLICIES.items()
        },
    )
    intake = AnalysisIntake(run, outage_budget_s=settings.OUTAGE_BUDGET_S)
    sweep = SweepLifecycle(
        store=PostgresLifecycleStore(engine, relay),
        run=run,
        workflow=workflow,
        policy=SweepPolicy(
            redrive_grace_s=settings.REDRIVE_GRACE_S,
            redrive_every_s=settings.REDRIVE_EVERY_S,
            deadline_s=settings.ANALYSIS_DEADLINE_S,
            retention_s=settings.RETENTION_S,
        ),
    )
    consumer = dead_lettering_consumer(
        broker,
        settings.KAFKA,
        [REQUESTS.name],
        group_id=settings.CONSUMER_GROUP,
        client_id=f"{settings.SERVICE_NAME}-{owner}",
        handler=intake.handle,
        max_in_flight=settings.MAX_CONCURRENT_ANALYSES,
    )
    commands = CommandIntake(
        CancellationIntake(repository, outage_budget_s=settings.OUTAGE_BUDGET_S),
        ResumeIntake(repository, outage_budget_s=settings.OUTAGE_BUDGET_S),
    )
    cancellations = dead_lettering_consumer(
        broker,
        settings.KAFKA,
        commands.topics,
        group_id=f"{settings.CONSUMER_GROUP}.cancel",
        client_id=f"{settings.SERVICE_NAME}-{owner}-cancel",
        handler=commands.handle,
        max_in_flight=settings.MAX_CONCURRENT_ANALYSES,
    )
    probes = HealthApp(
        {
            "kafka": kafka_check(broker),
            "postgres": database_check(engine),
            "redis": redis_check(redis),
            "tool_replies": reading_check(tools.client),
            "embedding_replies": reading_check(ranker.client),
        }
    )
    return OrchestratorApp(
        broker=broker,
        engine=engine,
        redis=redis,
        consumer=consumer,
        cancellations=cancellations,
        relay=relay,
        tools=tools,
        ranker=ranker,
        model=model,
        probes=probes,
        cancellation=cancellation,
        sweeper=LifecycleSweeper(sweep, interval_s=settings.SWEEP_INTERVAL_S),
    )
