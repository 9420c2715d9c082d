"""LLM calls as spans, with OpenTelemetry's GenAI semantic conventions.

Why: an analysis's time and cost are mostly its model calls. A span per call attempt
(the tenacity policy's retries each get one) with the model, the tokens used and the
finish reason lets an operator see, in the analysis's one trace, which call was slow,
which was retried and what each cost, next to the tool calls and Kafka hops around it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage
from opentelemetry import trace
from opentelemetry.trace import SpanKind

_tracer = trace.get_tracer(__name__)
"""Resolved through the global provider (``configure_tracing`` sets it) when used."""


@dataclass(frozen=True, slots=True)
class ChatTelemetry:
    """Which provider and model the spans name (``LLM_PROVIDER``, the model's name)."""

    provider: str = "unknown"
    model: str = "unknown"

    async def invoke(self, model: Any, messages: Sequence[Any]) -> Any:
        """``await model.ainvoke(messages)`` inside a ``chat <model>`` client span; an
        error is recorded on the span (``error.type``) and raised as it is."""
        with _tracer.start_as_current_span(
            f"chat {self.model}",
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": self.provider,
                "gen_ai.request.model": self.model,
            },
        ) as span:
            try:
                response = await model.ainvoke(list(messages))
            except Exception as error:
                span.set_attribute("error.type", type(error).__qualname__)
                raise
            if isinstance(response, AIMessage):
                span.set_attributes(_response_attributes(response))
            return response


def _response_attributes(response: AIMessage) -> dict[str, Any]:
    usage: dict[str, Any] = dict(response.usage_metadata or {})
    metadata = response.response_metadata or {}
    attributes: dict[str, Any] = {
        "gen_ai.usage.input_tokens": int(usage.get("input_tokens", 0)),
        "gen_ai.usage.output_tokens": int(usage.get("output_tokens", 0)),
    }
    if isinstance(model := metadata.get("model_name") or metadata.get("model"), str):
        attributes["gen_ai.response.model"] = model
    if isinstance(reason := metadata.get("finish_reason") or metadata.get("stop_reason"), str):
        attributes["gen_ai.response.finish_reasons"] = [reason]
    if isinstance(response_id := metadata.get("id") or response.id, str):
        attributes["gen_ai.response.id"] = response_id
    return attributes
