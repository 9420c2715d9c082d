"""Completed events that would not fit in a Kafka message leave out their largest results."""

import uuid

from sextant_contracts import AnalysisCompleted, AnalysisFailed, Envelope, ToolCallRecord
from sextant_orchestrator.infrastructure.event_size import fitting_event
from sextant_storage.outbox import published_size


def _call(call_id: str, cells: int) -> ToolCallRecord:
    return ToolCallRecord(
        call_id=call_id,
        tool_name="correlation_matrix",
        result={"matrix": {f"c{i}": 0.123456789 for i in range(cells)}},
    )


def _completed(*calls: ToolCallRecord) -> Envelope[AnalysisCompleted]:
    event = AnalysisCompleted(analysis_id=uuid.uuid4(), answer="ok [T1]", tool_calls=list(calls))
    return Envelope.wrap(event, tenant_id="t")


def test_an_event_that_fits_is_sent_as_it_is() -> None:
    envelope = _completed(_call("T1", 10))
    assert fitting_event(envelope, max_bytes=published_size(envelope)) is envelope


def test_the_largest_results_go_first_until_the_event_fits() -> None:
    small, medium, large = _call("T1", 10), _call("T2", 2_000), _call("T3", 5_000)
    envelope = _completed(small, medium, large)
    limit = published_size(envelope) - 20_000  # dropping the largest result (~100 KB) is enough

    fitted = fitting_event(envelope, max_bytes=limit)

    calls = fitted.payload.tool_calls
    assert published_size(fitted) <= limit
    assert [c.result_omitted for c in calls] == [False, False, True]
    assert calls[2].result is None
    assert calls[1].result == medium.result
    assert fitted.event_id == envelope.event_id  # the same event, slimmer
    assert fitted.payload.answer == envelope.payload.answer
    assert envelope.payload.tool_calls[2].result == large.result  # the original is untouched


def test_failed_events_and_events_that_cannot_fit_are_left_as_they_are() -> None:
    failed = Envelope.wrap(
        AnalysisFailed(analysis_id=uuid.uuid4(), error_code="x", reason="r" * 500),
        tenant_id="t",
    )
    assert fitting_event(failed, max_bytes=100) is failed
    everything_out = fitting_event(_completed(_call("T1", 50), _call("T2", 50)), max_bytes=100)
    assert all(c.result_omitted for c in everything_out.payload.tool_calls)
