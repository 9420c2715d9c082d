"""The cancellation intake: the orchestrator's second Kafka entrypoint, consumed like
every other (LongRunningConsumer + DLQ) with the intake's outage policy."""

import uuid
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from pydantic import ValidationError

from sextant_contracts import AnalysisCancellationRequested, AnalysisRequested, Envelope
from sextant_orchestrator.presentation.consumers import CancellationIntake
from tests.unit.orchestrator.fakes import InMemoryAnalyses


def _record(value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="analysis.cancel-requested.v1",
        partition=0,
        offset=7,
        timestamp=0,
        timestamp_type=0,
        key=None,
        value=value,
        checksum=None,
        serialized_key_size=0,
        serialized_value_size=len(value),
        headers=(),
    )


def _cancellation(analysis_id: uuid.UUID) -> bytes:
    event = Envelope.wrap(
        AnalysisCancellationRequested(analysis_id=analysis_id, reason="user asked"),
        tenant_id="acme",
    )
    return event.model_dump_json().encode()


async def _admitted(analyses: InMemoryAnalyses) -> uuid.UUID:
    request = AnalysisRequested.model_validate(
        {"analysis_id": str(uuid.uuid4()), "question": "why?", "dataset_id": str(uuid.uuid4())}
    )
    await analyses.admit_and_claim(Envelope.wrap(request, tenant_id="acme"), owner="o", lease_s=30)
    return request.analysis_id


async def test_a_cancellation_flags_its_analysis() -> None:
    analyses = InMemoryAnalyses()
    analysis_id = await _admitted(analyses)

    await CancellationIntake(analyses).handle(_record(_cancellation(analysis_id)))  # type: ignore[arg-type]

    assert analyses.analyses[analysis_id].cancel_reason == "user asked"


async def test_a_malformed_record_raises_at_once_for_the_dead_letter_queue() -> None:
    analyses = InMemoryAnalyses()
    with pytest.raises(ValidationError):
        await CancellationIntake(analyses).handle(_record(b"\xff not json"))  # type: ignore[arg-type]


class _FlakyAnalyses(InMemoryAnalyses):
    """PostgreSQL away for the first ``outages`` calls."""

    def __init__(self, outages: int) -> None:
        super().__init__()
        self.outages = outages
        self.calls = 0

    async def request_cancel(self, analysis_id: uuid.UUID, **kwargs: Any) -> bool:
        self.calls += 1
        if self.calls <= self.outages:
            raise ConnectionRefusedError("PostgreSQL is restarting")
        return await super().request_cancel(analysis_id, **kwargs)


async def test_an_outage_is_waited_out_in_place() -> None:
    analyses = _FlakyAnalyses(outages=2)
    analysis_id = await _admitted(analyses)

    await CancellationIntake(analyses, outage_budget_s=30).handle(  # type: ignore[arg-type]
        _record(_cancellation(analysis_id))
    )

    assert analyses.calls == 3
    assert analyses.analyses[analysis_id].cancel_reason == "user asked"


async def test_an_outage_past_its_budget_raises_for_the_dead_letter_queue() -> None:
    analyses = _FlakyAnalyses(outages=1_000)
    analysis_id = await _admitted(analyses)

    with pytest.raises(ConnectionRefusedError):
        await CancellationIntake(analyses, outage_budget_s=0.3).handle(  # type: ignore[arg-type]
            _record(_cancellation(analysis_id))
        )
    assert analyses.calls >= 1
