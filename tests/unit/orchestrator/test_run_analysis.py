"""The RunAnalysis use case over fakes of its own ports: every path in milliseconds.

The same paths run against the real Kafka, PostgreSQL and Redis in
tests/integration/orchestrator; these show the use case's decisions on their own.
"""

import asyncio
import uuid
from typing import Any

import pytest

from sextant_contracts import AnalysisRequested, Envelope
from sextant_orchestrator.application.run_analysis import RunAnalysis
from sextant_orchestrator.domain.analysis import OverdueAnalysis
from tests.unit.orchestrator.fakes import (
    InMemoryAnalyses,
    NoInlineData,
    RecordedProgress,
    ScriptedWorkflow,
    step_failure,
)


def _request(
    question: str = "Which region?",
    thread_id: uuid.UUID | None = None,
    tenant: str = "acme",
    busy_thread: str | None = None,
) -> Envelope[AnalysisRequested]:
    request = AnalysisRequested.model_validate(
        {
            "analysis_id": str(uuid.uuid4()),
            "question": question,
            "dataset_id": str(uuid.uuid4()),
            "thread_id": str(thread_id) if thread_id else None,
            "options": {"busy_thread": busy_thread},
        }
    )
    return Envelope.wrap(request, tenant_id=tenant)


def _use_case(
    analyses: InMemoryAnalyses, workflow: ScriptedWorkflow, owner: str = "me"
) -> RunAnalysis:
    return RunAnalysis(
        repository=analyses,  # type: ignore[arg-type]
        workflow=workflow,
        progress=RecordedProgress(),
        datasets=NoInlineData(),
        owner=owner,
        lease_s=30,
        model_name="fake",
    )


async def test_an_analysis_runs_every_step_and_ends_completed_once() -> None:
    analyses, workflow = InMemoryAnalyses(), ScriptedWorkflow()
    request = _request()

    await _use_case(analyses, workflow)(request)
    await _use_case(analyses, workflow)(request)  # a redelivery of finished work

    assert analyses.analyses[request.payload.analysis_id].status == "completed"
    assert [type(e.payload).__name__ for e in analyses.events] == ["AnalysisCompleted"]
    assert workflow.runs == ["profile", "plan", "run_tools", "finalize"]  # not run twice
    assert workflow.retired == [str(request.payload.analysis_id)]


async def test_a_failing_step_ends_the_analysis_failed_with_its_code() -> None:
    analyses = InMemoryAnalyses()
    workflow = ScriptedWorkflow(failing={"run_tools": step_failure("run_tools")})
    request = _request()

    await _use_case(analyses, workflow)(request)

    (event,) = analyses.events
    assert event.payload.error_code == "dataset_unavailable"  # type: ignore[union-attr]
    assert event.payload.failed_step == "run_tools"  # type: ignore[union-attr]


async def test_a_cancel_stops_the_run_at_the_next_step_boundary() -> None:
    analyses, workflow = InMemoryAnalyses(), ScriptedWorkflow()
    workflow.pausing = {"plan"}
    request = _request()
    running = asyncio.create_task(_use_case(analyses, workflow)(request))
    await workflow.paused.wait()

    await analyses.request_cancel(request.payload.analysis_id, tenant_id="acme", reason="stop")
    workflow.resume.set()
    await running

    (event,) = analyses.events
    assert type(event.payload).__name__ == "AnalysisCancelled"
    assert event.payload.cancelled_at_step == "run_tools"  # type: ignore[union-attr]
    assert "run_tools" not in workflow.runs


async def test_a_resumed_run_does_not_redo_finished_steps() -> None:
    """A first owner died after two steps (its lease since expired); the next resumes."""
    analyses, workflow = InMemoryAnalyses(), ScriptedWorkflow()
    request = _request()
    workflow.done[str(request.payload.analysis_id)] = ["profile", "plan"]
    await analyses.admit_and_claim(request, owner="dead", lease_s=0)

    await _use_case(analyses, workflow, owner="next")(request)

    assert workflow.runs == ["run_tools", "finalize"]
    analysis = analyses.analyses[request.payload.analysis_id]
    assert (analysis.status, analysis.attempts) == ("completed", 2)


async def test_an_analysis_ended_elsewhere_stops_its_run() -> None:
    """The deadline sweep ended it while it ran: the run stops at the next boundary and
    writes no second terminal event."""
    analyses, workflow = InMemoryAnalyses(), ScriptedWorkflow()
    workflow.pausing = {"plan"}
    request = _request()
    use_case = _use_case(analyses, workflow)
    running = asyncio.create_task(use_case(request))
    await workflow.paused.wait()

    overdue = OverdueAnalysis(request.payload.analysis_id, request.tenant_id)
    assert await use_case.end_overdue(overdue, deadline_s=3600)
    workflow.resume.set()
    await running

    assert [type(e.payload).__name__ for e in analyses.events] == ["AnalysisFailed"]
    assert analyses.events[0].payload.error_code == "deadline_exceeded"  # type: ignore[union-attr]
    assert "run_tools" not in workflow.runs


@pytest.mark.parametrize("outage", [True, False])
async def test_giving_up_on_an_admitted_analysis_ends_it_failed(outage: bool) -> None:
    analyses, workflow = InMemoryAnalyses(), ScriptedWorkflow()
    request = _request()
    await analyses.admit_and_claim(request, owner="me", lease_s=30)

    await _use_case(analyses, workflow).give_up(request, ConnectionError("gone"), outage=outage)

    (event,) = analyses.events
    expected = "dependency_unavailable" if outage else "internal_error"
    assert event.payload.error_code == expected  # type: ignore[union-attr]


async def test_a_follow_up_starts_from_its_threads_earlier_turns_of_its_tenant_only() -> None:
    analyses, workflow = InMemoryAnalyses(), ScriptedWorkflow()
    thread = uuid.uuid4()
    first = _request("Total sales per product?", thread)
    elsewhere = _request("Unrelated?")
    foreign = _request("Another tenant's turn?", thread, tenant="other")
    follow_up = _request("And for the West only?", thread)
    for request in (first, elsewhere, foreign, follow_up):
        await _use_case(analyses, workflow)(request)

    assert workflow.initial[str(first.payload.analysis_id)]["history"] == []  # type: ignore[index]
    history = workflow.initial[str(follow_up.payload.analysis_id)]["history"]  # type: ignore[index]
    assert history == [
        {
            "analysis_id": str(first.payload.analysis_id),
            "question": "Total sales per product?",
            "answer": "east leads [T1]",
            "findings": [],
        }
    ]


async def _second_while_first_runs(
    busy_thread: str, paused_in: str = "plan"
) -> tuple[InMemoryAnalyses, ScriptedWorkflow, Envelope[AnalysisRequested], Any]:
    """A first question of a thread paused in a step, and a second one asked."""
    analyses, workflow = InMemoryAnalyses(), ScriptedWorkflow()
    workflow.pausing = {paused_in}
    thread = uuid.uuid4()
    first, second = (
        _request("Total?", thread),
        _request("And west?", thread, busy_thread=busy_thread),
    )
    running = asyncio.create_task(_use_case(analyses, workflow)(first))
    await workflow.paused.wait()
    asking = asyncio.create_task(_use_case(analyses, workflow)(second))
    await asyncio.sleep(0.5)
    return analyses, workflow, first, (running, asking, second)


async def test_enqueue_waits_for_the_earlier_question_then_sees_its_answer() -> None:
    analyses, workflow, first, (running, asking, second) = await _second_while_first_runs("enqueue")
    assert str(second.payload.analysis_id) not in workflow.initial, "it waits its turn"
    workflow.pausing.clear()
    workflow.resume.set()
    await asyncio.gather(running, asking)
    statuses = [analyses.analyses[r.payload.analysis_id].status for r in (first, second)]
    assert statuses == ["completed", "completed"]
    history = workflow.initial[str(second.payload.analysis_id)]["history"]  # type: ignore[index]
    assert [turn["question"] for turn in history] == ["Total?"]


async def test_reject_fails_the_second_question_while_the_first_runs() -> None:
    analyses, workflow, first, (running, asking, second) = await _second_while_first_runs("reject")
    await asking
    (rejected,) = [e.payload for e in analyses.events]
    assert rejected.analysis_id == second.payload.analysis_id
    assert getattr(rejected, "error_code", None) == "thread_busy"
    workflow.pausing.clear()
    workflow.resume.set()
    await running
    assert analyses.analyses[first.payload.analysis_id].status == "completed"


async def test_interrupt_cancels_the_running_question_then_runs_the_new_one() -> None:
    analyses, workflow, first, (running, asking, second) = await _second_while_first_runs(
        "interrupt"
    )
    assert analyses.analyses[first.payload.analysis_id].cancel_reason is not None
    workflow.pausing.clear()
    workflow.resume.set()
    await asyncio.gather(running, asking)
    statuses = [analyses.analyses[r.payload.analysis_id].status for r in (first, second)]
    assert statuses == ["cancelled", "completed"]


@pytest.mark.parametrize(("busy_thread", "kept"), [("interrupt", True), ("rollback", False)])
async def test_rollback_leaves_the_earlier_question_out_even_when_it_finished_first(
    busy_thread: str, kept: bool
) -> None:
    """Paused inside its last step, the first question finishes before the cancel can
    stop it: interrupted, it stays in the thread; rolled back, it is left out."""
    analyses, workflow, first, (running, asking, second) = await _second_while_first_runs(
        busy_thread, paused_in="finalize"
    )
    workflow.pausing.clear()
    workflow.resume.set()
    await asyncio.gather(running, asking)
    assert analyses.analyses[first.payload.analysis_id].status == "completed"
    history = workflow.initial[str(second.payload.analysis_id)]["history"]  # type: ignore[index]
    assert [turn["question"] for turn in history] == (["Total?"] if kept else [])
