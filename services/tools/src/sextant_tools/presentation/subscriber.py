"""The Kafka entrypoint: tool invocations in, results (or structured errors) out."""

from faststream.kafka import KafkaBroker

from sextant_contracts import Envelope, ToolInvocationReplied, ToolInvocationRequested, topic
from sextant_platform.kafka import durable_subscriber
from sextant_platform.settings import KafkaSettings
from sextant_tools.application.invoke_tool import InvokeTool

REQUESTS = topic("tools.requested.v1")
REPLIES = topic("tools.replied.v1")


def register_tool_subscriber(
    broker: KafkaBroker, invoke: InvokeTool, *, settings: KafkaSettings, group_id: str
) -> None:
    """Serve ``tools.requested.v1``; reply on the request's reply topic or ``tools.replied.v1``."""

    @durable_subscriber(broker, REQUESTS.name, group_id=group_id, settings=settings)
    async def handle_tool_invocation(event: Envelope[ToolInvocationRequested]) -> None:
        reply = await invoke(event.payload, tenant_id=event.tenant_id)
        envelope: Envelope[ToolInvocationReplied] = Envelope.wrap(
            reply,
            tenant_id=event.tenant_id,
            correlation_id=event.correlation_id,
            causation_id=event.event_id,
            trace=event.trace,
        )
        await broker.publish(
            envelope.model_dump(mode="json"),
            event.payload.reply_topic or REPLIES.name,
            key=str(event.payload.request_id).encode(),
            correlation_id=str(event.payload.request_id),
        )
