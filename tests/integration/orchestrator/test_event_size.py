"""A completed event too large for Kafka: the outbox gets a slimmer one, PostgreSQL all."""

import json
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_contracts import AnalysisCompleted, Chart, Envelope, ToolCallRecord
from sextant_orchestrator.infrastructure.postgres_analyses import PostgresAnalysisRepository
from tests.integration.orchestrator.service import analysis_row, request_envelope

MATRIX = {f"c{i}": {f"c{j}": 0.5 for j in range(40)} for i in range(40)}  # ~40 KB of JSON


async def _finished(
    engine: AsyncEngine, max_event_bytes: int, answer: str, tool_calls: list[ToolCallRecord]
) -> tuple[UUID, str]:
    """A completed analysis written with ``tool_calls``: its id and the text of its
    event in the outbox (what the relay publishes)."""
    repository = PostgresAnalysisRepository(engine, max_event_bytes=max_event_bytes)
    request = request_envelope()
    analysis_id = request.payload.analysis_id
    await repository.admit_and_claim(request, owner="event-size-test", lease_s=30)
    completed = AnalysisCompleted(analysis_id=analysis_id, answer=answer, tool_calls=tool_calls)
    outcome = Envelope.wrap(completed, tenant_id=request.tenant_id)
    assert await repository.finish(analysis_id, outcome)
    async with engine.connect() as connection:
        payload = (
            await connection.execute(
                text("SELECT payload::text FROM outbox WHERE event_id = :id"),
                {"id": outcome.event_id},
            )
        ).scalar_one()
    return analysis_id, str(payload)


async def test_the_event_leaves_out_the_large_result_and_the_row_keeps_it(
    engine: AsyncEngine,
) -> None:
    answer = "Sales and units move together [T1]; east leads [T2]."
    analysis_id, payload = await _finished(
        engine,
        20_000,
        answer,
        [
            ToolCallRecord(call_id="T1", tool_name="correlation_matrix", result={"matrix": MATRIX}),
            ToolCallRecord(call_id="T2", tool_name="group_by_aggregate", result={"east": 200.0}),
        ],
    )
    event = json.loads(payload)
    assert len(payload.encode()) <= 20_000
    calls = {c["call_id"]: c for c in event["payload"]["tool_calls"]}
    assert calls["T1"]["result"] is None
    assert calls["T1"]["result_omitted"] is True
    assert calls["T2"]["result"] == {"east": 200.0}
    assert event["payload"]["answer"] == answer
    row = await analysis_row(engine, analysis_id)
    assert row is not None
    assert row.tool_calls[0]["result"] == {"matrix": MATRIX}  # GET /v1/analyses/{id} has it


async def test_the_size_limit_holds_for_the_stored_text_of_the_event(engine: AsyncEngine) -> None:
    """PostgreSQL writes ``1e-300`` out in full in jsonb's text, which is what the relay
    publishes: a result of tiny p-values is ~20 times longer there than as JSON. The
    limit used to be checked on the JSON only, and such an event passed it."""
    tiny = {f"p{i}": 1e-300 for i in range(3_000)}  # ~45 KB of JSON, ~0.9 MB as jsonb text
    analysis_id, payload = await _finished(
        engine,
        100_000,
        "Nothing is significant [T1].",
        [ToolCallRecord(call_id="T1", tool_name="compare_groups", result=tiny)],
    )

    assert len(payload.encode()) <= 100_000
    row = await analysis_row(engine, analysis_id)
    assert row is not None
    assert row.tool_calls[0]["result"] == tiny


async def test_charts_too_large_for_the_event_stay_on_the_row(engine: AsyncEngine) -> None:
    """Their data is the last thing left out: the tool results go first."""
    values = [
        {"column": f"c{i}", "row": f"c{j}", "coefficient": 0.5} for i in range(40) for j in range(5)
    ]
    chart = Chart(chart_id="C1", kind="heatmap", call_id="T1", spec={"data": {"values": values}})
    repository = PostgresAnalysisRepository(engine, max_event_bytes=8_000)
    request = request_envelope()
    analysis_id = request.payload.analysis_id
    await repository.admit_and_claim(request, owner="event-size-test", lease_s=30)
    completed = AnalysisCompleted(
        analysis_id=analysis_id,
        answer="Everything correlates [T1].",
        tool_calls=[ToolCallRecord(call_id="T1", tool_name="correlation_matrix", result={})],
        charts=[chart],
    )
    outcome = Envelope.wrap(completed, tenant_id=request.tenant_id)
    assert await repository.finish(analysis_id, outcome)
    async with engine.connect() as connection:
        payload, stored = (
            await connection.execute(
                text(
                    "SELECT o.payload::text, a.charts FROM outbox o JOIN analyses a"
                    " ON a.analysis_id = :analysis_id WHERE o.event_id = :id"
                ),
                {"id": outcome.event_id, "analysis_id": analysis_id},
            )
        ).one()
    assert len(payload.encode()) <= 8_000
    assert json.loads(payload)["payload"]["charts"] == []
    assert stored == [chart.model_dump(mode="json")]
