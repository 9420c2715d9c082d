"""Terminal events that fit in one Kafka message.

Why: an ``AnalysisCompleted`` event carries every tool call with its result, and on a
wide dataset a correlation matrix and a profile alone pass Kafka's 1 MiB message limit.
Such an event could never be published: downstream consumers and SSE followers would
never hear that the analysis finished. The row in PostgreSQL keeps every result; the
event leaves out the largest results, each marked ``result_omitted``, until it fits
(``GET /v1/analyses/{id}`` has them all).
"""

from typing import Any

from sextant_contracts import AnalysisCompleted, Envelope, ToolCallRecord
from sextant_storage.outbox import MAX_EVENT_BYTES, published_size


def fitting_event(envelope: Envelope[Any], max_bytes: int = MAX_EVENT_BYTES) -> Envelope[Any]:
    """``envelope`` itself when it fits in ``max_bytes``; else a completed event whose
    largest tool results are left out, largest first, until it fits; then its charts
    (or nothing is left to leave out)."""
    if published_size(envelope) <= max_bytes:
        return envelope
    payload = envelope.payload
    if not isinstance(payload, AnalysisCompleted):
        return envelope  # failed and cancelled events carry no results to leave out
    calls = list(payload.tool_calls)
    by_size = sorted(
        (index for index, call in enumerate(calls) if call.result is not None),
        key=lambda index: len(calls[index].model_dump_json()),
        reverse=True,
    )
    slimmed = envelope
    for index in by_size:
        calls[index] = _without_result(calls[index])
        slimmed = envelope.model_copy(
            update={"payload": payload.model_copy(update={"tool_calls": list(calls)})}
        )
        if published_size(slimmed) <= max_bytes:
            return slimmed
    # the charts carry data of their own: the last thing left out (the row keeps them)
    return slimmed.model_copy(update={"payload": slimmed.payload.model_copy(update={"charts": []})})


def _without_result(call: ToolCallRecord) -> ToolCallRecord:
    return call.model_copy(update={"result": None, "result_omitted": True})
