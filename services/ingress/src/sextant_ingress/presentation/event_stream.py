"""``GET /v1/analyses/{id}/events``: an analysis's progress as Server-Sent Events.

The stream replays the analysis's recorded events after ``Last-Event-ID`` (or from the
start), then follows new ones as they are recorded, and ends after the terminal event.
While the analysis waits for an answer, the stream says so once (``interrupted``, with
no id of its own: a client that reconnects is told again while it still waits).
Event ids are the events' sequences, so a client that reconnects with the standard
``Last-Event-ID`` header gets exactly what it missed. Analyses that a producer
published straight to Kafka are followed the same way: the orchestrator announces their
progress on the same topics.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header
from fastapi.responses import StreamingResponse

from sextant_contracts.catalogue import ANALYSIS_INTERRUPTED
from sextant_ingress.application.ports import EventLog, EventWakeups
from sextant_ingress.application.views import AnalysisViews
from sextant_ingress.domain.events import (
    LAST_EVENT_ID_PATTERN,
    TERMINAL_KINDS,
    TERMINAL_SEQUENCE,
    AnalysisEvent,
    parse_last_event_id,
)
from sextant_ingress.domain.submissions import NotFound
from sextant_ingress.presentation.auth import Tenant
from sextant_ingress.presentation.metrics import SSE_STREAMS_OPEN
from sextant_ingress.presentation.problems import ApiProblem, problem_responses

EVENT_STREAM = "text/event-stream"
INTERRUPTED = "interrupted"
_EVENT_SCHEMA: dict[str, Any] = {
    "description": "One event of the stream (OpenAPI 3.2's itemSchema for text/event-stream).",
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "id": {"type": "string", "pattern": LAST_EVENT_ID_PATTERN},
        "event": {"enum": ["progress", INTERRUPTED, *sorted(TERMINAL_KINDS)]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {
                "description": "The event's envelope, as on its Kafka topic (see the"
                " AsyncAPI document): payload is the AnalysisProgressed, AnalysisCompleted,"
                " AnalysisFailed or AnalysisCancelled record; for interrupted, the"
                " AnalysisInterrupted (event_type analysis.interrupted.v1) it waits on.",
                "type": "object",
                "required": ["event_id", "event_type", "occurred_at", "payload"],
                "properties": {
                    "event_id": {"type": "string", "format": "uuid"},
                    "event_type": {"type": "string"},
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "payload": {"type": "object"},
                },
            },
        },
    },
}
_STREAM_EXAMPLE = (
    "retry: 2000\n\n"
    'id: 0\nevent: progress\ndata: {"payload":{"step":"profile","status":'
    '"started","sequence":0}}\n\n'
    'id: 1000000\nevent: completed\ndata: {"payload":{"answer":"..."}}\n\n'
)


@dataclass(frozen=True, slots=True)
class EventFeed:
    """What the stream reads from and waits on, and how patiently."""

    log: EventLog
    wakeups: EventWakeups
    poll_interval_s: float = 2.0
    keepalive_s: float = 15.0
    client_retry_ms: int = 2000
    straggler_grace_s: float = 10.0
    settled_s: float = 10.0


def format_event(event: AnalysisEvent) -> str:
    """One SSE frame: ``id`` is the sequence, ``event`` the kind, ``data`` the envelope."""
    data = json.dumps(event.envelope, separators=(",", ":"))
    return f"id: {event.sequence}\nevent: {event.kind}\ndata: {data}\n\n"


def format_interrupt(pending: dict[str, Any]) -> str:
    """The frame saying what the analysis waits on; no ``id``: it is no position."""
    data = json.dumps(
        {"event_type": ANALYSIS_INTERRUPTED.name, "payload": pending}, separators=(",", ":")
    )
    return f"event: {INTERRUPTED}\ndata: {data}\n\n"


def _awaits_progress(event: AnalysisEvent, after: int) -> bool:
    """True when ``event`` is terminal but announces progress not seen yet.

    Progress and terminal events come from different topics, so the terminal one can be
    recorded first; it names the last progress sequence before it.
    """
    expected = event.envelope.get("payload", {}).get("last_progress_sequence")
    return event.terminal and isinstance(expected, int) and after < expected


async def follow(
    feed: EventFeed, analysis_id: UUID, *, tenant_id: str, after: int
) -> AsyncIterator[str]:
    """Frames after sequence ``after`` until the terminal one; comments keep it alive."""
    yield f"retry: {feed.client_retry_ms}\n\n"
    if after >= TERMINAL_SEQUENCE:
        return  # the client has seen the terminal event: nothing follows it
    with SSE_STREAMS_OPEN.track_inprogress():
        async for frame in _frames(feed, analysis_id, tenant_id=tenant_id, after=after):
            yield frame


async def _frames(
    feed: EventFeed, analysis_id: UUID, *, tenant_id: str, after: int
) -> AsyncIterator[str]:
    """The stream's body: replay, then follow, holding a terminal event for stragglers."""
    last_write = time.monotonic()
    hold_terminal_until: float | None = None
    next_settled_check = time.monotonic()
    told: set[str] = set()  # the interrupts this stream has shown
    woken = True
    async with feed.wakeups.signal_for(analysis_id) as signal:
        while True:
            woken = woken or signal.is_set()
            signal.clear()  # before reading: a notification during the read is kept
            events = await feed.log.after(analysis_id, tenant_id=tenant_id, sequence=after)
            progressed = False
            for event in events:
                if _awaits_progress(event, after):
                    hold_terminal_until = hold_terminal_until or time.monotonic() + (
                        feed.straggler_grace_s
                    )
                    if time.monotonic() < hold_terminal_until:
                        break  # wait for the stragglers; they sort before this event
                yield format_event(event)
                last_write, after, progressed = time.monotonic(), event.sequence, True
                if event.terminal:
                    return
            if progressed:
                continue  # a full page may have more behind it
            if woken or time.monotonic() >= next_settled_check:
                woken = False
                pending = await feed.log.pending_interrupt(analysis_id, tenant_id=tenant_id)
                if pending is not None and str(pending.get("interrupt_id")) not in told:
                    told.add(str(pending.get("interrupt_id")))
                    yield format_interrupt(pending)
                    last_write = time.monotonic()
            if time.monotonic() >= next_settled_check:
                # Finished long ago, but its events were never recorded here: end the
                # stream with the terminal event as the outbox published it.
                settled = await feed.log.settled_terminal(
                    analysis_id, tenant_id=tenant_id, settled_s=feed.settled_s
                )
                if settled is not None:
                    yield format_event(settled)
                    return
                next_settled_check = time.monotonic() + feed.settled_s
            wait_s = min(feed.poll_interval_s, max(next_settled_check - time.monotonic(), 0.05))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(signal.wait(), timeout=wait_s)
            woken = signal.is_set()
            if time.monotonic() - last_write >= feed.keepalive_s:
                yield ": keep-alive\n\n"
                last_write = time.monotonic()


def event_stream_router(views: AnalysisViews, feed: EventFeed) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/analyses/{analysis_id}/events",
        response_class=StreamingResponse,
        operation_id="follow_analysis",
        summary="Follow an analysis as Server-Sent Events",
        responses={
            200: {
                "description": "A text/event-stream: each event's id is its sequence, its"
                " event name its kind (progress, completed, failed, cancelled), its data"
                " the event's envelope as JSON; the stream ends after the terminal event."
                " While the analysis waits for an answer an 'interrupted' event (no id)"
                " says what it asks.",
                "content": {
                    EVENT_STREAM: {"itemSchema": _EVENT_SCHEMA, "example": _STREAM_EXAMPLE}
                },
            },
            **problem_responses(404),
        },
    )
    async def events(
        analysis_id: UUID,
        tenant_id: Tenant,
        last_event_id: Annotated[
            str | None,
            Header(
                pattern=LAST_EVENT_ID_PATTERN,
                description="The id of the last event you received: the stream resumes"
                " after it (what EventSource sends when it reconnects).",
                examples=["3"],
            ),
        ] = None,
    ) -> StreamingResponse:
        """Its progress events (replayed from the start, or after Last-Event-ID), then
        its terminal event; comment frames keep an idle stream open."""
        try:
            after = parse_last_event_id(last_event_id)
        except ValueError as error:
            raise ApiProblem(422, "Invalid request", str(error)) from error
        try:
            await views.one(analysis_id, tenant_id=tenant_id)
        except NotFound as error:
            raise ApiProblem(404, "Not found", str(error)) from error
        return StreamingResponse(
            follow(feed, analysis_id, tenant_id=tenant_id, after=after),
            media_type=EVENT_STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router
