"""The Kafka entrypoint: embedding requests in, one reply per request out.

Served by the platform's :class:`RequestReplyServer` (see it for what happens to
invalid, stale and too-large requests and replies) through a :class:`LongRunningConsumer`,
not a FastStream batch subscriber: a batch subscriber polls again only once every request
of the previous poll is answered, so the model sat idle through each reply, commit and
poll (~30% of the time under load). Here polling goes on while the model runs, so the
requests that arrive meanwhile are already queued in the batcher when it is next free.
"""

from sextant_contracts import EmbeddingReplied, EmbeddingRequested, Envelope
from sextant_contracts.catalogue import EMBEDDINGS_REPLIED, EMBEDDINGS_REQUESTED
from sextant_embeddings.application.serve_request import ServeEmbeddingRequest
from sextant_embeddings.domain.errors import INTERNAL, INVALID_REQUEST, EmbeddingError
from sextant_kafka.request_reply_server import InvalidRequest, ServedTopic

REQUESTS = EMBEDDINGS_REQUESTED
REPLIES = EMBEDDINGS_REPLIED
COMMIT_INTERVAL_S = 0.5
"""Requests are short and replayable: a crash redelivers at most ~0.5 s of them."""


def served_embeddings(
    serve: ServeEmbeddingRequest,
) -> ServedTopic[EmbeddingRequested, EmbeddingReplied]:
    """Requests answered by ``serve`` (which turns every failure into an error reply)."""

    async def answer(event: Envelope[EmbeddingRequested]) -> EmbeddingReplied:
        return await serve(event.payload)

    def invalid(request: InvalidRequest) -> EmbeddingReplied:
        return serve.error_reply(
            request.request_id, EmbeddingError(INVALID_REQUEST, request.problem)
        )

    def too_large(reply: EmbeddingReplied, size: int, max_bytes: int) -> EmbeddingReplied:
        # Requests are limited to what fits (bootstrap lowers the text limit), so this is
        # a safety net, not a path a valid request takes.
        problem = f"the reply is {size} bytes; replies are limited to {max_bytes}"
        return serve.error_reply(reply.request_id, EmbeddingError(INTERNAL, problem))

    return ServedTopic(
        request_model=EmbeddingRequested,
        request_topic=REQUESTS.name,
        reply_topic=REPLIES.name,
        answer=answer,
        answer_invalid=invalid,
        too_large=too_large,
    )
