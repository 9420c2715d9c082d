"""The StateGraph: profile → (plan → run_tools)* → [retrieve] → [synthesize] → finalize.

The agent loop: each plan step proposes this round's tool calls (from the model, or
the offline planner); run_tools runs them and hands their results to the next plan.
A plan step with nothing left to call ends the loop, and so does the last round's
run_tools. Retrieval runs only when there are documents; synthesis is skipped when the
model's last plan reply is the answer. Every step is checkpointed, so a crash resumes
in the round it was in.
"""

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph

from sextant_contracts import WorkflowStep
from sextant_contracts.analysis import MAX_ROUNDS
from sextant_orchestrator.domain.state import AnalysisState
from sextant_orchestrator.infrastructure.graphs.nodes import WorkflowNodes

STEPS: tuple[WorkflowStep, ...] = tuple(WorkflowStep)
RECURSION_LIMIT = 2 * (MAX_ROUNDS + 1) + 8
"""Steps LangGraph may run in one invocation: the longest loop plus the fixed steps."""


_ROUTED = (WorkflowStep.PLAN.value, WorkflowStep.RUN_TOOLS.value)


def step_after(step: str, update: dict[str, Any]) -> str | None:
    """The step that follows ``step`` given the update it returned (None: the end).
    The graph's edges and the progress events both route through here: plan and
    run_tools name their successor in ``route``; the other steps have one."""
    if step in _ROUTED and update.get("route"):
        return str(update["route"])
    if step == WorkflowStep.PLAN.value:  # checkpoints written before ``route`` existed
        return (
            WorkflowStep.RUN_TOOLS.value if update.get("planned") else WorkflowStep.RETRIEVE.value
        )
    if step in (WorkflowStep.PROFILE.value, WorkflowStep.RUN_TOOLS.value):
        return WorkflowStep.PLAN.value
    index = STEPS.index(WorkflowStep(step))
    return STEPS[index + 1].value if index + 1 < len(STEPS) else None


def _router(step: WorkflowStep) -> Any:
    def route(state: AnalysisState) -> str:
        following = step_after(step.value, dict(state))
        assert following is not None
        return following

    return route


def build_workflow(nodes: WorkflowNodes, checkpointer: BaseCheckpointSaver[Any]) -> Any:
    """Compile the graph; the checkpointer saves the state after every step."""
    graph = StateGraph(AnalysisState)
    for step in STEPS:
        graph.add_node(step.value, getattr(nodes, step.value))
    graph.add_edge(START, WorkflowStep.PROFILE.value)
    graph.add_edge(WorkflowStep.PROFILE.value, WorkflowStep.PLAN.value)
    after_loop = [
        WorkflowStep.RETRIEVE.value,
        WorkflowStep.SYNTHESIZE.value,
        WorkflowStep.FINALIZE.value,
    ]
    graph.add_conditional_edges(
        WorkflowStep.PLAN.value,
        _router(WorkflowStep.PLAN),
        [WorkflowStep.RUN_TOOLS.value, *after_loop],
    )
    graph.add_conditional_edges(
        WorkflowStep.RUN_TOOLS.value,
        _router(WorkflowStep.RUN_TOOLS),
        [WorkflowStep.PLAN.value, *after_loop],
    )
    graph.add_edge(WorkflowStep.RETRIEVE.value, WorkflowStep.SYNTHESIZE.value)
    graph.add_edge(WorkflowStep.SYNTHESIZE.value, WorkflowStep.FINALIZE.value)
    graph.add_edge(WorkflowStep.FINALIZE.value, END)
    return graph.compile(checkpointer=checkpointer)
