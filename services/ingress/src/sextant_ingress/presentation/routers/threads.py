"""``/v1/threads``: conversations, where each question sees the ones asked before it."""

from typing import Annotated, Any, Self
from uuid import UUID

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, ConfigDict, model_validator

from sextant_ingress.application.threads import Conversations, ThreadHasNoDataset
from sextant_ingress.domain.submissions import NotFound
from sextant_ingress.presentation.auth import Tenant
from sextant_ingress.presentation.problems import ApiProblem, problem_responses
from sextant_ingress.presentation.routers.analyses import (
    LINKS_TO_ANALYSIS,
    AcceptedOut,
    AnalysisOut,
    IdempotencyKey,
    SubmissionBody,
    accept,
)

AT_MOST_ONE_DATASET_SOURCE: dict[str, Any] = {
    "not": {
        "required": ["dataset_id", "inline_dataset"],
        "properties": {"dataset_id": {"type": "string"}, "inline_dataset": {"type": "object"}},
    }
}
"""Not both ``dataset_id`` and ``inline_dataset``; neither is fine: the thread's last."""


class FollowUpBody(SubmissionBody):
    """A question in a thread: like a submission, but the dataset may be left out (it is
    then the one the thread's last question was about)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            **AT_MOST_ONE_DATASET_SOURCE,
            "examples": [{"question": "And for the West only?"}],
        },
    )

    @model_validator(mode="after")
    def _exactly_one_dataset_source(self) -> Self:
        """Overrides the submission's rule: at most one here."""
        if self.dataset_id is not None and self.inline_dataset is not None:
            raise ValueError("give at most one of dataset_id or inline_dataset")
        return self


class ThreadOut(BaseModel):
    thread_id: UUID
    links: dict[str, str]


class ThreadView(BaseModel):
    thread_id: UUID
    analyses: list[AnalysisOut]


def _links(thread_id: UUID) -> dict[str, str]:
    location = f"/v1/threads/{thread_id}"
    return {"self": location, "ask": f"{location}/analyses"}


def threads_router(conversations: Conversations) -> APIRouter:
    router = APIRouter()

    @router.post(
        "/v1/threads",
        status_code=201,
        response_model=ThreadOut,
        operation_id="start_thread",
        summary="Start a conversation (optional: asking in a new thread id starts it too)",
        responses={
            201: {
                "description": "Started.",
                "links": {
                    "ask": {
                        "operationId": "ask_in_thread",
                        "parameters": {"thread_id": "$response.body#/thread_id"},
                    },
                    "read": {
                        "operationId": "fetch_thread",
                        "parameters": {"thread_id": "$response.body#/thread_id"},
                    },
                },
            },
            **problem_responses(),
        },
    )
    async def start(tenant_id: Tenant, response: Response) -> ThreadOut:
        thread_id = await conversations.start(tenant_id=tenant_id)
        response.headers["Location"] = f"/v1/threads/{thread_id}"
        return ThreadOut(thread_id=thread_id, links=_links(thread_id))

    @router.post(
        "/v1/threads/{thread_id}/analyses",
        status_code=202,
        response_model=AcceptedOut,
        operation_id="ask_in_thread",
        summary="Ask a follow-up question: it sees the thread's earlier questions and answers",
        responses={
            202: {"description": "Accepted; it will end.", "links": LINKS_TO_ANALYSIS},
            **problem_responses(404, 409, 413),
        },
    )
    async def ask(
        thread_id: UUID,
        body: Annotated[FollowUpBody, Body()],
        response: Response,
        tenant_id: Tenant,
        idempotency_key: IdempotencyKey = None,
    ) -> AcceptedOut:
        """Like ``POST /v1/analyses``, in a thread (started by this question if new). Its
        earlier turns (the last ones in full, older ones summed up) go with the question,
        so "and for the West only?" asks the last question again with one more filter.
        Without a dataset, it is about the thread's last one (404 when there is none to
        find: a new thread, or one whose data was sent inline)."""
        fields = body.model_dump(exclude_unset=True)
        try:
            return await accept(
                conversations.ask(
                    thread_id, fields, tenant_id=tenant_id, idempotency_key=idempotency_key
                ),
                response,
            )
        except ThreadHasNoDataset as error:
            raise ApiProblem(404, "Not found", str(error)) from error

    @router.get(
        "/v1/threads/{thread_id}",
        response_model=ThreadView,
        operation_id="fetch_thread",
        summary="A thread: its analyses in the order they were asked",
        responses=problem_responses(404),
    )
    async def fetch(thread_id: UUID, tenant_id: Tenant) -> ThreadView:
        try:
            found = await conversations.analyses(thread_id, tenant_id=tenant_id)
        except NotFound as error:
            raise ApiProblem(404, "Not found", str(error)) from error
        return ThreadView(thread_id=thread_id, analyses=[AnalysisOut.of(v) for v in found])

    return router
