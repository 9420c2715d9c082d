"""The LangGraph workflow end to end: real tools and embeddings services over Kafka, Redis
checkpoints, and the real LangChain OpenAI client against a loopback OpenAI server."""

import io
import json
import uuid
from typing import Any

import pandas as pd
import pytest
from langchain_openai import ChatOpenAI
from redis.asyncio import Redis
from sextant_checkpoint_redis import PlainRedisSaver

from sextant_contracts import tool_names
from sextant_orchestrator.domain.errors import StepFailed
from sextant_orchestrator.domain.progress import StepAt, StepDone, StepPaused
from sextant_orchestrator.infrastructure.graphs.nodes import WorkflowNodes
from sextant_orchestrator.infrastructure.graphs.runner import LangGraphWorkflow
from sextant_orchestrator.infrastructure.graphs.workflow import build_workflow
from sextant_orchestrator.infrastructure.llm.policy import LlmCallPolicy
from sextant_orchestrator.infrastructure.llm.providers import build_chat_model
from sextant_orchestrator.infrastructure.llm.settings import LlmSettings
from sextant_tools.bootstrap import ToolsService
from tests.integration.orchestrator.conftest import ServiceClients
from tests.integration.orchestrator.fake_anthropic import message as anthropic_message
from tests.integration.orchestrator.fake_anthropic import running_fake_anthropic
from tests.integration.orchestrator.fake_openai import (
    FakeOpenAI,
    Scripted,
    completion,
    running_fake_openai,
)
from tests.integration.orchestrator.service import ANSWER, SALES_CSV, TENANT, plan_then_answer

DOCUMENTS = [
    {"document_id": "memo-1", "title": "Pricing memo", "text": "Prices rose in the north in May."},
    {
        "document_id": "memo-2",
        "title": "Regional sales",
        "text": "Sales by region: the east leads.",
    },
    {"document_id": "memo-3", "title": "Cafeteria", "text": "The cafeteria menu changes weekly."},
]


def _chat(fake: FakeOpenAI, timeout_s: float = 5.0) -> ChatOpenAI:
    return ChatOpenAI(
        model="gpt-test",
        api_key="sk-test",  # type: ignore[arg-type]
        base_url=fake.base_url,
        timeout=timeout_s,
        max_retries=0,  # retries belong to the tenacity policy
    )


async def _run(
    clients: ServiceClients,
    redis: Redis,
    fake: FakeOpenAI,
    dataset_id: str,
    *,
    policy: LlmCallPolicy | None = None,
    llm_timeout_s: float = 5.0,
    llm: Any = None,
    documents: list[dict[str, str]] = DOCUMENTS,
    question: str = "Which region sells the most, and are sales and units related?",
    llm_calls_tools: bool = True,
    history: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    nodes = WorkflowNodes(
        tools=clients.tools,
        ranker=clients.ranker,
        llm=llm or _chat(fake, llm_timeout_s),
        llm_calls_tools=llm_calls_tools,
        policy=policy or LlmCallPolicy(backoff_s=0.05, backoff_max_s=1.0),
    )
    saver = PlainRedisSaver(redis, prefix=f"test:workflow:{uuid.uuid4().hex[:8]}")
    graph = build_workflow(nodes, saver)
    analysis_id = str(uuid.uuid4())
    config = {"configurable": {"thread_id": analysis_id}}
    state = await graph.ainvoke(
        {
            "analysis_id": analysis_id,
            "tenant_id": TENANT,
            "question": question,
            "dataset_id": dataset_id,
            "documents": documents,
            "max_tool_calls": 4,
            "top_k_passages": 2,
            "history": history or [],
        },
        config,
    )
    return state, graph, config


async def _upload(tools_service: ToolsService, csv: str = SALES_CSV) -> str:
    saved = await tools_service.store.save(
        tenant_id=TENANT, media_type="text/csv", content=csv.encode()
    )
    return str(saved.dataset_id)


WEATHER_CSV = (
    "city,precipitation_mm,wind_kmh\nBergen,250.0,20.0\nMadrid,30.5,10.0\nDublin,80.0,30.0\n"
    "Bergen,220.0,22.0\nMadrid,25.0,12.0\nDublin,95.5,28.0\n"
)


async def _offline(
    clients: ServiceClients, redis: Redis, dataset_id: str, question: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The embedded default's path (offline planner, no documents): the final state and
    what the model was asked (nothing, when all goes as designed)."""
    async with running_fake_openai() as fake:
        state, _, _ = await _run(
            clients,
            redis,
            fake,
            dataset_id,
            documents=[],
            question=question,
            llm_calls_tools=False,
        )
    return state, fake.requests


async def test_the_offline_planner_reads_a_word_no_column_spells_by_meaning(
    tools_service: ToolsService, service_clients: ServiceClients, redis: Redis
) -> None:
    """ "rainfall" is no column: the embeddings service (the real model) ranks the
    column names against it, and precipitation_mm is close enough to stand for it."""
    dataset_id = await _upload(tools_service, WEATHER_CSV)
    totals = pd.read_csv(io.StringIO(WEATHER_CSV)).groupby("city")["precipitation_mm"].sum()
    state, asked = await _offline(
        service_clients, redis, dataset_id, "Which city has the highest total rainfall?"
    )
    assert asked == []  # the embedded default: the model writes nothing
    assert state["intent"]["read_as"] == {"rainfall": "precipitation_mm"}
    assert state["answer"].startswith(
        'No column is named "rainfall"; read as precipitation_mm, the closest in meaning. '
        f"{totals.idxmax()} has the highest total precipitation_mm: {totals.max():g} [T1]"
    )


async def test_a_related_but_different_measure_is_suggested_not_computed(
    tools_service: ToolsService, service_clients: ServiceClients, redis: Redis
) -> None:
    """ "profit" is near "sales" in meaning, but not the same measure: nothing is
    computed, and the answer names sales as the nearest column."""
    dataset_id = await _upload(tools_service)
    state, _ = await _offline(
        service_clients, redis, dataset_id, "What is the total profit per region?"
    )
    assert [o["call_id"] for o in state["outcomes"]] == ["T0"]  # the profile only
    assert state["answer"].startswith('The dataset holds no "profit" (nearest: sales')


DONE_PLANNING = "The results answer the question."


def _planned_then_answer() -> list[Scripted]:
    """Round 1 calls two tools; round 2 sees their results and calls none; then the answer."""
    return [
        completion(
            tool_calls=[
                ("group_by_aggregate", {"by": ["region"], "metric": "sales", "aggregation": "sum"}),
                ("correlation_matrix", {"method": "pearson", "columns": ["sales", "units"]}),
            ]
        ),
        completion(DONE_PLANNING),
        completion("The east sells the most (200.0) [T1]; sales track units [T2]. See [D1]."),
    ]


async def test_a_follow_up_shows_the_model_the_threads_earlier_turns(
    tools_service: ToolsService, service_clients: ServiceClients, redis: Redis
) -> None:
    dataset_id = await _upload(tools_service)
    earlier = [
        {
            "question": "Which region sells the most?",
            "answer": "The east sells the most (200.0) [T1].",
            "findings": ["east has the highest total sales: 200.0"],
        }
    ]
    async with running_fake_openai() as fake:
        fake.responder = plan_then_answer
        state, _, _ = await _run(
            service_clients,
            redis,
            fake,
            dataset_id,
            documents=[],
            question="And for the north only?",
            history=earlier,
        )
    assert state["answer"] == ANSWER
    first_plan = fake.requests[0]["messages"][1]["content"]
    assert first_plan.startswith("Earlier in this conversation:\nQ1: Which region sells the most?")
    assert "A1: The east sells the most (200.0) [T1]." in first_plan
    assert "  - east has the highest total sales: 200.0" in first_plan
    assert "Follow-up Question: And for the north only?" in first_plan


async def test_workflow_runs_end_to_end_with_numbers_from_the_tools(
    tools_service: ToolsService, service_clients: ServiceClients, redis: Redis
) -> None:
    dataset_id = await _upload(tools_service)
    async with running_fake_openai() as fake:
        fake.script = _planned_then_answer()
        state, graph, config = await _run(service_clients, redis, fake, dataset_id)

    frame = pd.read_csv(io.StringIO(SALES_CSV))
    by_call = {o["call_id"]: o for o in state["outcomes"]}
    assert set(by_call) == {"T0", "T1", "T2"}
    assert all(o["error"] is None for o in state["outcomes"]), state["outcomes"]
    # Every number comes from the tools service, and equals pandas on the same data.
    assert by_call["T0"]["result"]["statistics"]["sales"]["mean"] == pytest.approx(
        frame["sales"].mean()
    )
    groups = json.dumps(by_call["T1"]["result"])
    for total in frame.groupby("region")["sales"].sum():
        assert json.dumps(total) in groups or str(round(total, 6)) in groups
    correlation = json.dumps(by_call["T2"]["result"])
    assert str(round(frame["sales"].corr(frame["units"]), 6))[:6] in correlation

    # The model was shown the tool results and passages, and was told to cite them.
    synthesis_prompt = json.dumps(fake.requests[2]["messages"])
    assert "[T1] group_by_aggregate" in synthesis_prompt
    assert "[D1]" in synthesis_prompt
    assert "tools" in fake.requests[0]
    assert {t["function"]["name"] for t in fake.requests[0]["tools"]} >= {"group_by_aggregate"}

    # Retrieval ranked the relevant memo first, through the embeddings service.
    assert state["passages"][0]["document_id"] == "memo-2"
    assert state["cited"] == ["T1", "T2", "D1"]
    assert state["ungrounded_numbers"] == []  # 200.0 is east's sum in T1
    assert state["usage"]["llm_calls"] == 3
    assert state["usage"]["input_tokens"] == 360
    # Round 2 was shown round 1's calls and the tools' answers, under their call ids.
    second_round = fake.requests[1]["messages"]
    assert [c["id"] for c in second_round[2]["tool_calls"]] == ["T1", "T2"]
    assert [m["tool_call_id"] for m in second_round[3:5]] == ["T1", "T2"]
    assert '"group_count": 3' in second_round[3]["content"]
    assert state["round"] == 2
    assert state["planned"] == []
    east = next(f for f in state["findings"] if "region = east" in f["statement"])
    assert east["call_id"] == "T1"
    assert east["paths"] == {"value": "groups[0].value"}
    assert set(state["timings_ms"]) >= {"profile", "plan", "run_tools", "synthesize"}

    saved = await graph.aget_state(config)  # checkpointed in Redis
    assert saved.values["answer"].startswith("The east sells the most")


async def test_the_final_reply_is_the_answer_when_there_are_no_passages(
    tools_service: ToolsService, service_clients: ServiceClients, redis: Redis
) -> None:
    """The model's reply in the round where it stops calling tools is its answer: with
    no passages to weave in, no separate synthesis call is made, and the steps with
    nothing to do (retrieve, synthesize) are not run."""
    dataset_id = await _upload(tools_service)
    final = "The east sells the most (200.0) [T1]."
    async with running_fake_openai() as fake:
        fake.script = [_planned_then_answer()[0], completion(final)]
        state, graph, config = await _run(service_clients, redis, fake, dataset_id, documents=[])
        history = [s async for s in graph.aget_state_history(config)]

    assert len(fake.requests) == 2  # round 1 and round 2: no synthesis call
    assert state["answer"] == final
    assert state["cited"] == ["T1"]
    assert state["ungrounded_numbers"] == []
    assert state["usage"]["llm_calls"] == 2
    ran = [step for s in reversed(history) for step in s.next if step != "__start__"]
    assert ran == ["profile", "plan", "run_tools", "plan", "finalize"]


async def test_numbers_the_model_made_up_are_listed_with_the_answer(
    tools_service: ToolsService, service_clients: ServiceClients, redis: Redis
) -> None:
    dataset_id = await _upload(tools_service)
    planned, done, _ = _planned_then_answer()
    invented = (
        "The east sells the most (200 [T1], 61% of all sales) since 2038 [T2]. "
        "East Africa comes second."
    )
    async with running_fake_openai() as fake:
        fake.script = [planned, done, completion(invented)]
        state, _, _ = await _run(service_clients, redis, fake, dataset_id)

    assert state["answer"] == invented
    assert state["ungrounded_numbers"] == ["61%", "2038"]
    assert state["ungrounded_values"] == ["East Africa"]
    assert state["cited"] == ["T1", "T2"]


async def test_the_agent_loop_corrects_a_failed_call_in_the_next_round(
    tools_service: ToolsService, service_clients: ServiceClients, redis: Redis
) -> None:
    """Round 1 asks for a column that does not exist; the error (listing the nearest
    real column) goes back to the model, which corrects the call in round 2."""
    dataset_id = await _upload(tools_service)
    query = {"group_by": ["region"], "aggregates": [{"fn": "sum", "column": "sales"}]}
    wrong = {"group_by": ["regions"], "aggregates": [{"fn": "sum", "column": "sales"}]}
    async with running_fake_openai() as fake:
        fake.script = [
            completion(tool_calls=[("query", wrong)]),
            completion(tool_calls=[("query", query)]),
            completion(DONE_PLANNING),
            completion("The north sells the most: 220.0 [T2]."),
        ]
        state, _, _ = await _run(service_clients, redis, fake, dataset_id)

    by_call = {o["call_id"]: o for o in state["outcomes"]}
    assert by_call["T1"]["error"] is not None
    assert "'regions': nearest ['region']" in by_call["T1"]["error"]
    assert by_call["T1"]["round"] == 1
    assert by_call["T2"]["round"] == 2
    assert by_call["T2"]["result"]["table"][0] == {"region": "north", "sum_sales": 220.0}
    round_two = json.dumps(fake.requests[1]["messages"])
    assert "nearest" in round_two
    assert "regions" in round_two
    assert state["round"] == 3
    assert state["ungrounded_numbers"] == []
    assert state["ungrounded_values"] == []


@pytest.mark.parametrize(
    "fault",
    [
        Scripted(
            status=429, body={"error": {"message": "slow down"}}, headers={"Retry-After": "0.2"}
        ),
        Scripted(status=500, body={"error": {"message": "boom"}}),
        Scripted(raw=b'{"id": "chatcmpl-broken", "choices": [ {'),
        Scripted(hang_s=3.0, body=completion("late").body),
    ],
    ids=["429-retry-after", "500", "malformed-json", "timeout"],
)
async def test_llm_faults_are_retried_then_succeed(
    tools_service: ToolsService, service_clients: ServiceClients, redis: Redis, fault: Scripted
) -> None:
    dataset_id = await _upload(tools_service)
    async with running_fake_openai() as fake:
        fake.script = [fault, *_planned_then_answer()]
        state, _, _ = await _run(service_clients, redis, fake, dataset_id, llm_timeout_s=1.0)
    assert state["answer"].startswith("The east sells the most")
    assert len(fake.requests) == 4  # the faulty call, its retry, round 2, the synthesis


async def test_llm_that_keeps_failing_ends_with_an_error_not_a_hang(
    tools_service: ToolsService, service_clients: ServiceClients, redis: Redis
) -> None:
    dataset_id = await _upload(tools_service)
    async with running_fake_openai() as fake:
        fake.script = [Scripted(status=503, body={"error": {"message": "down"}})] * 3
        with pytest.raises(StepFailed, match="down") as caught:
            await _run(
                service_clients,
                redis,
                fake,
                dataset_id,
                policy=LlmCallPolicy(max_attempts=3, backoff_s=0.05, backoff_max_s=0.2),
            )
    assert caught.value.code == "llm_unavailable"
    assert caught.value.step == "plan"
    assert "HTTP 503" in caught.value.reason
    assert getattr(caught.value.__cause__, "status_code", None) == 503
    assert len(fake.requests) == 3


async def test_the_agent_loop_speaks_anthropic_tool_use_over_several_rounds(
    tools_service: ToolsService, service_clients: ServiceClients, redis: Redis
) -> None:
    """The same loop through ChatAnthropic: tool_use blocks in, tool_result blocks back,
    two rounds of calls, then no more; every figure from the tools service."""
    dataset_id = await _upload(tools_service)
    frame = pd.read_csv(io.StringIO(SALES_CSV))
    async with running_fake_anthropic() as fake:
        fake.script = [
            anthropic_message(
                tool_uses=[
                    (
                        "query",
                        {"group_by": ["region"], "aggregates": [{"fn": "sum", "column": "sales"}]},
                    )
                ]
            ),
            anthropic_message(
                "Now the correlation.",
                tool_uses=[("correlation_matrix", {"columns": ["sales", "units"]})],
            ),
            anthropic_message(DONE_PLANNING),
            anthropic_message("The north sells the most: 220.0 [T1]; sales track units [T2]."),
        ]
        choice = build_chat_model(
            LlmSettings(
                PROVIDER="anthropic",
                BASE_URL=fake.base_url.removesuffix("/v1"),
                API_KEY="sk-ant-test",  # type: ignore[arg-type]
                MODEL="claude-test",
            )
        )
        state, _, _ = await _run(service_clients, redis, fake, dataset_id, llm=choice.model)

    assert choice.calls_tools
    by_call = {o["call_id"]: o for o in state["outcomes"]}
    assert [by_call["T1"]["round"], by_call["T2"]["round"]] == [1, 2]
    assert (
        by_call["T1"]["result"]["table"][0]["sum_sales"]
        == frame.groupby("region")["sales"].sum().max()
    )
    third = fake.requests[2]["messages"]
    results = [
        b
        for m in third
        if m["role"] == "user"
        for b in m["content"]
        if isinstance(b, dict) and b.get("type") == "tool_result"
    ]
    assert [r["tool_use_id"] for r in results] == ["T1", "T2"]
    assert state["usage"]["llm_calls"] == 4
    assert state["usage"]["input_tokens"] == 400
    assert state["cited"] == ["T1", "T2"]
    assert state["ungrounded_numbers"] == []


async def test_a_model_that_asks_the_person_pauses_and_resumes_with_the_answer(
    tools_service: ToolsService, service_clients: ServiceClients, redis: Redis
) -> None:
    """Under the clarify rule the model is offered ask_person; its call pauses the run
    (a checkpoint, nothing waiting), and the answer resumes it as that call's result,
    re-making no LLM call that had answered."""
    dataset_id = await _upload(tools_service)
    saver = PlainRedisSaver(redis, prefix=f"test:workflow:{uuid.uuid4().hex[:8]}")
    analysis_id = str(uuid.uuid4())
    initial: Any = {
        "analysis_id": analysis_id,
        "tenant_id": TENANT,
        "question": "What is the total profit per region?",
        "dataset_id": dataset_id,
        "documents": [],
        "max_tool_calls": 4,
        "interrupts": {"clarify": True},
    }
    ask = {"question": "Which column is profit?", "options": ["sales", "units"]}
    total = {"by": ["region"], "metric": "sales", "aggregation": "sum"}
    async with running_fake_openai() as fake:
        nodes = WorkflowNodes(
            tools=service_clients.tools,
            ranker=service_clients.ranker,
            llm=_chat(fake),
            llm_calls_tools=True,
            policy=LlmCallPolicy(backoff_s=0.05, backoff_max_s=1.0),
        )
        workflow = LangGraphWorkflow(build_workflow(nodes, saver), saver, finished_ttl_s=60)
        fake.script = [
            completion(tool_calls=[(tool_names.ASK_PERSON, ask)]),
            completion(tool_calls=[(tool_names.GROUP_BY_AGGREGATE, total)]),
            completion("The east leads with 200.0 [T2]."),
        ]
        first = [step async for step in workflow.run(analysis_id, initial)]
        position = await workflow.position(analysis_id)
        asked_of_model = len(fake.requests)
        resumed = [
            step async for step in workflow.run(analysis_id, None, answer={"choice": "sales"})
        ]
        state = await workflow.final_state(analysis_id)

    paused = first[-1]
    assert isinstance(paused, StepPaused)
    assert paused.at == StepAt("run_tools", 1)
    assert paused.request["key"] == "ask:T1"
    assert paused.request["prompt"] == "Which column is profit?"
    assert paused.request["options"] == ["sales", "units"]
    assert position.waiting == paused.request  # the checkpoint holds the pause
    offered = [t["function"]["name"] for t in fake.requests[0]["tools"]]
    assert tool_names.ASK_PERSON in offered
    assert asked_of_model == 1
    assert len(fake.requests) == 3  # round 1 was not asked again
    second_round = fake.requests[1]["messages"]
    assert any(
        m.get("role") == "tool" and json.loads(m["content"]) == {"choice": "sales"}
        for m in second_round
    )
    assert [s.done.step for s in resumed if isinstance(s, StepDone)] == [
        "run_tools",
        "plan",
        "run_tools",
        "plan",
        "finalize",
    ]
    outcomes = {o["call_id"]: o for o in state["outcomes"]}
    assert outcomes["T1"]["result"] == {"choice": "sales"}
    frame = pd.read_csv(io.StringIO(SALES_CSV))
    assert outcomes["T2"]["error"] is None
    assert state["answer"] == "The east leads with 200.0 [T2]."
    assert float(frame.groupby("region")["sales"].sum()["east"]) == 200.0
