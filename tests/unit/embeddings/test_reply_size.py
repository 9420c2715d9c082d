"""Requests are limited to as many vectors as one Kafka reply holds."""

import base64
import uuid

import pytest

from sextant_contracts import EmbeddingReplied, Envelope
from sextant_contracts.embeddings import EncodedVectors
from sextant_embeddings.bootstrap import _texts_per_request
from sextant_embeddings.domain.limits import vectors_fitting
from sextant_kafka.message_size import MAX_MESSAGE_BYTES


def _reply_bytes(count: int, dimensions: int) -> int:
    vectors = bytes(count * dimensions * 4)
    reply = EmbeddingReplied(
        request_id=uuid.uuid4(),
        model="a-model-name-of-realistic-length",
        backend="openvino-int8",
        vectors=EncodedVectors(
            count=count,
            dimensions=dimensions,
            data_base64=base64.b64encode(vectors).decode("ascii"),
        ),
        truncated_indices=list(range(count)),  # the worst case: every text truncated
    )
    envelope = Envelope.wrap(reply, tenant_id="t" * 64, correlation_id=str(uuid.uuid4()))
    return len(envelope.model_dump_json().encode())


@pytest.mark.parametrize("dimensions", [384, 768, 1024, 4096])
def test_as_many_vectors_as_fit_make_a_reply_kafka_accepts(dimensions: int) -> None:
    fitting = vectors_fitting(MAX_MESSAGE_BYTES, dimensions)
    assert _reply_bytes(fitting, dimensions) <= MAX_MESSAGE_BYTES
    assert _reply_bytes(fitting + 4, dimensions) > MAX_MESSAGE_BYTES - 20_000  # not wasteful


def test_the_configured_limit_is_lowered_only_when_its_replies_would_not_fit() -> None:
    assert _texts_per_request(256, 384) == 256  # the default model: 480 would fit
    assert _texts_per_request(256, 768) == 240
    assert _texts_per_request(64, 768) == 64
