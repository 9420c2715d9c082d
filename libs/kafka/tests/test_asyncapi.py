"""The committed AsyncAPI document is the one the code generates, and it is complete."""

import json

from sextant_contracts import TOPICS
from sextant_kafka.asyncapi import ASYNCAPI_FILE, asyncapi_document


def test_committed_asyncapi_matches_the_code() -> None:
    committed = json.loads(ASYNCAPI_FILE.read_text("utf-8"))
    assert committed == json.loads(json.dumps(asyncapi_document())), "run `make schemas`"


def test_every_topic_has_its_channel_and_its_envelope_schema() -> None:
    document = asyncapi_document()
    assert document["asyncapi"].startswith("3.")
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {spec.name for spec in TOPICS}
    schemas = document["components"]["schemas"]
    for spec in TOPICS:
        envelope = schemas[f"Envelope[{spec.payload.__name__}]"]
        assert {"event_id", "tenant_id", "payload"} <= set(envelope["properties"])
    assert {op["action"] for op in document["operations"].values()} == {"send", "receive"}
