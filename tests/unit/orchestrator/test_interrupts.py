"""Interrupts over fakes of the orchestrator's ports: pause, answer, timeout, cancel.

The same paths run through the real Kafka, PostgreSQL and Redis (and the real LangGraph
``interrupt``) in tests/integration/ingress/test_interrupts.py; these show the use
case's decisions and the pure rules on their own.
"""

import json
import uuid

import jsonschema_rs
import pytest

from sextant_contracts import AnalysisRequested, Envelope
from sextant_contracts.interrupts import (
    InterruptKind,
    InvalidResponse,
    response_schema,
    validated_response,
)
from sextant_orchestrator.application.run_analysis import RunAnalysis
from sextant_orchestrator.domain.interrupts import (
    InterruptPolicy,
    approval,
    clarification,
    interrupt_id,
    needs_approval,
)
from tests.unit.orchestrator.fakes import (
    InMemoryAnalyses,
    NoInlineData,
    RecordedProgress,
    ScriptedWorkflow,
)

ASKED = clarification("rainfall", ["precip_mm"], ["precip_mm", "temp_c"])


def _request() -> Envelope[AnalysisRequested]:
    request = AnalysisRequested.model_validate(
        {
            "analysis_id": str(uuid.uuid4()),
            "question": "What is the total rainfall?",
            "dataset_id": str(uuid.uuid4()),
        }
    )
    return Envelope.wrap(request, tenant_id="acme")


def _use_case(
    analyses: InMemoryAnalyses, workflow: ScriptedWorkflow, **policy: object
) -> RunAnalysis:
    return RunAnalysis(
        repository=analyses,  # type: ignore[arg-type]
        workflow=workflow,
        progress=RecordedProgress(),
        datasets=NoInlineData(),
        owner="me",
        lease_s=30,
        model_name="fake",
        interrupt_policies={"*": InterruptPolicy(**policy)},  # type: ignore[arg-type]
    )


async def _paused(
    **policy: object,
) -> tuple[InMemoryAnalyses, ScriptedWorkflow, Envelope[AnalysisRequested]]:
    analyses, workflow, request = InMemoryAnalyses(), ScriptedWorkflow(), _request()
    workflow.asking = {"plan": ASKED}
    await _use_case(analyses, workflow, **policy)(request)
    return analyses, workflow, request


async def test_a_step_that_asks_pauses_the_analysis_once_and_keeps_its_checkpoint() -> None:
    analyses, workflow, request = await _paused()
    await _use_case(analyses, workflow)(request)  # a redelivery while it waits

    analysis_id = request.payload.analysis_id
    assert analyses.analyses[analysis_id].status == "interrupted"
    assert analyses.analyses[analysis_id].lease is None  # nobody holds it while it waits
    assert analyses.events == []
    (event,) = analyses.interrupted_events
    assert event.payload.interrupt_id == interrupt_id(analysis_id, "clarify:rainfall")
    assert event.payload.kind == InterruptKind.CLARIFICATION
    assert event.payload.options == ["precip_mm", "temp_c"]
    assert event.payload.step == "plan"
    assert event.payload.last_progress_sequence is not None  # profile completed before it
    assert workflow.retired == []
    assert workflow.runs == ["profile", "plan"]


async def test_an_answer_resumes_the_paused_step_with_it_and_reruns_nothing_finished() -> None:
    analyses, workflow, request = await _paused()
    analysis_id = request.payload.analysis_id
    pending = await analyses.pending_interrupt(analysis_id, tenant_id="acme")
    assert pending is not None

    assert await analyses.answer(pending.interrupt_id, {"choice": "temp_c"}, by="test")
    assert not await analyses.answer(pending.interrupt_id, {"choice": "precip_mm"}, by="test")
    await _use_case(analyses, workflow)(request)  # the woken request, read again

    assert analyses.analyses[analysis_id].status == "completed"
    assert workflow.answers[str(analysis_id)] == {"choice": "temp_c"}  # the first answer
    assert workflow.runs == ["profile", "plan", "plan", "run_tools", "finalize"]
    assert [type(e.payload).__name__ for e in analyses.events] == ["AnalysisCompleted"]


async def test_a_wait_that_runs_out_fails_with_interrupt_timed_out() -> None:
    analyses, workflow, request = await _paused()
    (event,) = analyses.interrupted_events
    analyses.expire(event.payload.interrupt_id)

    await _use_case(analyses, workflow)(request)

    (ended,) = analyses.events
    assert ended.payload.error_code == "interrupt_timed_out"  # type: ignore[union-attr]
    assert "Which column did you mean?" in ended.payload.reason  # type: ignore[union-attr]
    assert ended.payload.failed_step == "plan"  # type: ignore[union-attr]


async def test_a_policy_with_a_default_takes_it_when_the_wait_runs_out() -> None:
    analyses, workflow, request = await _paused(on_timeout="default")
    (event,) = analyses.interrupted_events
    assert event.payload.on_timeout == "default"
    analyses.expire(event.payload.interrupt_id)

    await _use_case(analyses, workflow)(request)

    assert analyses.analyses[request.payload.analysis_id].status == "completed"
    assert workflow.answers[str(request.payload.analysis_id)] == {"choice": "precip_mm"}
    assert analyses.interrupts[event.payload.interrupt_id].response == {"choice": "precip_mm"}


async def test_cancelling_a_waiting_analysis_ends_it_cancelled() -> None:
    analyses, workflow, request = await _paused()
    analysis_id = request.payload.analysis_id

    assert await analyses.request_cancel(analysis_id, tenant_id="acme", reason="never mind")
    assert analyses.woken == [analysis_id]  # nobody ran it: its request goes out again
    await _use_case(analyses, workflow)(request)

    (ended,) = analyses.events
    assert type(ended.payload).__name__ == "AnalysisCancelled"
    assert ended.payload.reason == "never mind"  # type: ignore[union-attr]
    assert ended.payload.cancelled_at_step == "plan"  # type: ignore[union-attr]


def test_the_published_response_schema_and_the_check_agree() -> None:
    options = ["precip_mm", "temp_c"]
    schema = response_schema(InterruptKind.CLARIFICATION, options)
    validator = jsonschema_rs.validator_for(json.loads(json.dumps(schema)))
    good, wrong_option, extra = (
        {"choice": "temp_c"},
        {"choice": "wind"},
        {"choice": "temp_c", "x": 1},
    )
    assert validator.is_valid(good)
    assert validated_response(InterruptKind.CLARIFICATION, options, good) == good
    for bad in (wrong_option, extra, {}, {"choice": 3}):
        assert not validator.is_valid(bad)
        with pytest.raises(InvalidResponse):
            validated_response(InterruptKind.CLARIFICATION, options, bad)

    approval_schema = jsonschema_rs.validator_for(response_schema(InterruptKind.APPROVAL, []))
    assert approval_schema.is_valid({"approved": False, "note": "too big"})
    assert not approval_schema.is_valid({"approved": "yes"})
    for loose in ("yes", 1, "true"):  # the schema says boolean: no coercion
        assert not approval_schema.is_valid({"approved": loose})
        with pytest.raises(InvalidResponse, match="approved"):
            validated_response(InterruptKind.APPROVAL, [], {"approved": loose})
    with pytest.raises(InvalidResponse, match="JSON object"):
        validated_response(InterruptKind.APPROVAL, [], ["approved"])  # type: ignore[arg-type]


def test_what_needs_approval_follows_the_rules() -> None:
    rules = InterruptPolicy(approve_tools=("web_fetch",), approve_rows_over=1000).rules()
    assert needs_approval(rules, "web_fetch", 10) is not None
    assert needs_approval(rules, "query", 10) is None
    assert "1001 rows" in (needs_approval(rules, "query", 1001) or "")
    assert needs_approval(InterruptPolicy().rules(), "web_fetch", 10**9) is None
    asked = approval(2, [("web_fetch", {"url": "https://example.org"}, "policy")])
    assert asked["key"] == "approve:round-2"
    assert asked["default_response"] == {
        "approved": False,
        "note": "no answer before the timeout",
    }


def test_a_request_may_turn_clarification_on_or_off_whatever_the_policy() -> None:
    assert InterruptPolicy().rules()["clarify"] is False
    assert InterruptPolicy().rules(clarify=True)["clarify"] is True
    assert InterruptPolicy(clarify=True).rules(clarify=False)["clarify"] is False
    assert ASKED["options"][0] == "precip_mm"  # the closest in meaning comes first
    only_measures = clarification("rainfall", ["city", "temp_c"], ["precip_mm", "temp_c"])
    assert only_measures["options"] == ["temp_c", "precip_mm"]  # no category offered
    assert ASKED["default_response"] == {"choice": "precip_mm"}
