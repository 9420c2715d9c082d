"""The StateGraph: profile → plan → run_tools → retrieve → synthesize → finalize."""

import itertools
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph

from sextant_contracts import WorkflowStep
from sextant_orchestrator.domain.state import AnalysisState
from sextant_orchestrator.infrastructure.graphs.nodes import WorkflowNodes

STEPS: tuple[WorkflowStep, ...] = (
    WorkflowStep.PROFILE,
    WorkflowStep.PLAN,
    WorkflowStep.RUN_TOOLS,
    WorkflowStep.RETRIEVE,
    WorkflowStep.SYNTHESIZE,
    WorkflowStep.FINALIZE,
)


def build_workflow(nodes: WorkflowNodes, checkpointer: BaseCheckpointSaver[Any]) -> Any:
    """Compile the graph; the checkpointer saves the state after every step."""
    graph = StateGraph(AnalysisState)
    for step in STEPS:
        graph.add_node(step.value, getattr(nodes, step.value))
    graph.add_edge(START, STEPS[0].value)
    for current, following in itertools.pairwise(STEPS):
        graph.add_edge(current.value, following.value)
    graph.add_edge(STEPS[-1].value, END)
    return graph.compile(checkpointer=checkpointer)
