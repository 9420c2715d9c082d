"""``GET /v1/dead-letters``: the tenant's messages a consumer gave up on, with the reason.

Read-only, from a topic's ``.dlq`` companion: what the console's operate view shows, and
what a client checks after a resume or a request published straight to Kafka went
missing. Only records whose original message names the tenant are shown.
"""

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from sextant_contracts.catalogue import ANALYSIS_RESUME_REQUESTED, ANALYSIS_TOPICS
from sextant_ingress.application.ports import DeadLetterReads
from sextant_ingress.presentation.auth import Tenant
from sextant_ingress.presentation.problems import problem_responses

TOPIC_PATTERN = "^(" + "|".join(re.escape(spec.name) for spec in ANALYSIS_TOPICS) + ")$"
"""The analysis topics, by name: the ones a tenant's messages travel on."""


class DeadLetterOut(BaseModel):
    topic: str
    partition: int
    offset: int
    error_type: str
    error_message: str
    failed_at: datetime
    original: str


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]


def dead_letters_router(reads: DeadLetterReads) -> APIRouter:
    router = APIRouter()

    @router.get(
        "/v1/dead-letters",
        response_model=DeadLetterPage,
        operation_id="list_dead_letters",
        summary="Your messages a consumer gave up on, newest first, with the reason",
        responses=problem_responses(),
    )
    async def dead_letters(
        tenant_id: Tenant,
        topic: Annotated[
            str,
            Query(
                pattern=TOPIC_PATTERN,
                description="The topic whose dead letters to read (an analysis topic).",
                examples=[ANALYSIS_RESUME_REQUESTED.name],
            ),
        ],
        limit: Annotated[int, Query(ge=1, le=100, description="At most this many.")] = 20,
    ) -> DeadLetterPage:
        """From the topic's ``.dlq`` companion (its last records), the ones whose message
        names your tenant: the topic, partition and offset it came from, why it was
        refused, when, and the message itself."""
        found = await reads.recent(topic, tenant_id=tenant_id, limit=limit)
        return DeadLetterPage(
            items=[DeadLetterOut.model_validate(letter, from_attributes=True) for letter in found]
        )

    return router
