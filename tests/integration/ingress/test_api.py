"""The ingress REST API in-process (ASGI) over the real PostgreSQL: auth, tenants,
durable acceptance through the outbox, idempotency, limits and problem details."""

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_ingress.bootstrap import use_cases
from sextant_ingress.domain.datasets import DatasetLimits
from sextant_ingress.infrastructure.event_wakeups import EventWakeups
from sextant_ingress.infrastructure.kafka_dead_letters import KafkaDeadLetters
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_ingress.infrastructure.postgres_events import NOTIFY_CHANNEL, PostgresEventLog
from sextant_ingress.presentation.api import create_app
from sextant_ingress.presentation.event_stream import EventFeed
from tests.integration.infrastructure import Infrastructure

CSV = "region,sales\nnorth,1.5\nsouth,2.5\n"


def body(question: str = "What are the mean sales?") -> dict[str, Any]:
    return {"question": question, "inline_dataset": {"media_type": "text/csv", "content": CSV}}


class Clients:
    def __init__(self, client: httpx.AsyncClient, key_a: str, key_b: str, tenant_a: str) -> None:
        self.client = client
        self.a = {"Authorization": f"Bearer {key_a}"}
        self.b = {"X-API-Key": key_b}
        self.tenant_a = tenant_a


@pytest.fixture
async def api(
    engine: AsyncEngine, infra: Infrastructure, request: pytest.FixtureRequest
) -> AsyncIterator[Clients]:
    """The API on the real PostgreSQL; a 64 KiB body limit unless a test asks (indirect)."""
    keys = PostgresApiKeys(engine)
    tenant_a, tenant_b = f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
    key_a = await keys.create(tenant_id=tenant_a)
    key_b = await keys.create(tenant_id=tenant_b)

    async def ready() -> bool:
        return True

    feed = EventFeed(PostgresEventLog(engine), EventWakeups(infra.postgres, channel=NOTIFY_CHANNEL))
    limits = DatasetLimits(max_bytes=256 * 1024, max_rows=1000)
    app = create_app(
        use_cases(
            engine,
            dead_letters=KafkaDeadLetters(infra.kafka, client_id="test-dead-letters"),
            relay=None,
            feed=feed,
            keys=keys,
            limits=limits,
        ),
        checks={"postgres": ready},
        max_body_bytes=getattr(request, "param", 64 * 1024),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingress") as client:
        yield Clients(client, key_a, key_b, tenant_a)
    # No relay runs here, so these events are still in the outbox; any relay started
    # later (an orchestrator's, in another test) would publish them into that test.
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "UPDATE outbox SET published_at = now()"
                " WHERE published_at IS NULL AND payload->>'tenant_id' IN (:a, :b)"
            ),
            {"a": tenant_a, "b": tenant_b},
        )


async def outbox_events(engine: AsyncEngine, analysis_id: str) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT topic, payload FROM outbox WHERE message_key = :key ORDER BY outbox_id"),
            {"key": analysis_id},
        )
        return [{"topic": r.topic, **r.payload} for r in rows]


ROUTES = [
    ("POST", "/v1/analyses"),
    ("GET", "/v1/analyses"),
    ("GET", f"/v1/analyses/{uuid.uuid4()}"),
    ("POST", f"/v1/analyses/{uuid.uuid4()}/cancel"),
    ("GET", f"/v1/analyses/{uuid.uuid4()}/events"),
    ("POST", "/v1/datasets"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sxt_wrong"}, {"X-API-Key": ""}])
async def test_every_route_but_health_needs_a_valid_key(
    api: Clients, method: str, path: str, headers: dict[str, str]
) -> None:
    response = await api.client.request(method, path, headers=headers, json=body())
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Unauthorized"


async def test_health_needs_no_key(api: Clients) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.json() == {"status": "ready", "checks": {"postgres": True}}


async def test_submit_is_durable_before_202_and_readable_by_its_tenant_only(
    api: Clients, engine: AsyncEngine
) -> None:
    response = await api.client.post("/v1/analyses", json=body(), headers=api.a)
    assert response.status_code == 202
    analysis_id = response.json()["analysis_id"]
    assert response.headers["location"] == f"/v1/analyses/{analysis_id}"

    # The row and the event are committed together: the relay publishes the event later.
    events = await outbox_events(engine, analysis_id)
    assert [e["topic"] for e in events] == ["analysis.requested.v1"]
    assert events[0]["tenant_id"] == api.tenant_a
    assert events[0]["payload"]["analysis_id"] == analysis_id
    assert events[0]["payload"]["question"] == "What are the mean sales?"

    fetched = await api.client.get(f"/v1/analyses/{analysis_id}", headers=api.a)
    assert fetched.status_code == 200
    assert fetched.json()["status"] == "accepted"
    other = await api.client.get(f"/v1/analyses/{analysis_id}", headers=api.b)
    assert other.status_code == 404  # another tenant's analysis does not exist for you
    listed = await api.client.get("/v1/analyses", headers=api.b)
    assert analysis_id not in {i["analysis_id"] for i in listed.json()["items"]}
    cancel = await api.client.post(f"/v1/analyses/{analysis_id}/cancel", headers=api.b)
    assert cancel.status_code == 404
    stream = await api.client.get(f"/v1/analyses/{analysis_id}/events", headers=api.b)
    assert stream.status_code == 404
    assert stream.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("last_event_id", ["abc", "-1", "99999999999", "1.5"])
async def test_a_last_event_id_this_api_never_sent_is_422(api: Clients, last_event_id: str) -> None:
    created = await api.client.post("/v1/analyses", json=body(), headers=api.a)
    response = await api.client.get(
        f"/v1/analyses/{created.json()['analysis_id']}/events",
        headers={**api.a, "Last-Event-ID": last_event_id},
    )
    assert response.status_code == 422
    assert "last-event-id" in response.json()["detail"].lower()


async def test_a_last_event_id_past_the_terminal_event_ends_the_stream_at_once(
    api: Clients,
) -> None:
    """Every id of the documented form is a position: past the last, nothing follows."""
    created = await api.client.post("/v1/analyses", json=body(), headers=api.a)
    response = await api.client.get(
        f"/v1/analyses/{created.json()['analysis_id']}/events",
        headers={**api.a, "Last-Event-ID": "9999999"},
    )
    assert response.status_code == 200
    assert response.text.strip() == "retry: 2000"


async def test_idempotency_key_replays_the_same_analysis_and_rejects_another_body(
    api: Clients, engine: AsyncEngine
) -> None:
    headers = {**api.a, "Idempotency-Key": f"key-{uuid.uuid4()}"}
    first = await api.client.post("/v1/analyses", json=body(), headers=headers)
    again = await api.client.post("/v1/analyses", json=body(), headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["analysis_id"] == again.json()["analysis_id"]
    assert len(await outbox_events(engine, first.json()["analysis_id"])) == 1

    conflict = await api.client.post("/v1/analyses", json=body("Other?"), headers=headers)
    assert conflict.status_code == 409
    assert "different request body" in conflict.json()["detail"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"inline_dataset": {"media_type": "text/csv", "content": CSV}}, "question"),
        ({"question": "q?"}, "exactly one of dataset_id or inline_dataset"),
        ({**body(), "dataset_id": str(uuid.uuid4())}, "exactly one"),
        ({**body(), "options": {"max_tool_calls": 999}}, "max_tool_calls"),
        ({**body(), "unexpected": 1}, "unexpected"),
        ({"question": "   ", "dataset_id": str(uuid.uuid4())}, "question"),
    ],
)
async def test_invalid_submissions_are_422_with_a_message(
    api: Clients, payload: dict[str, Any], fragment: str
) -> None:
    response = await api.client.post("/v1/analyses", json=payload, headers=api.a)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert fragment in response.json()["detail"]


async def test_malformed_json_and_oversize_bodies_are_4xx(api: Clients) -> None:
    broken = await api.client.post(
        "/v1/analyses",
        content=b"{not json",
        headers={**api.a, "Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    not_utf8 = await api.client.post(  # was FastAPI's bare 400 until the schemathesis run
        f"/v1/analyses/{uuid.uuid4()}/cancel",
        content=b"\xf4\x8a",
        headers={**api.a, "Content-Type": "application/json"},
    )
    assert not_utf8.status_code == 422
    assert not_utf8.headers["content-type"] == "application/problem+json"
    huge = json.dumps({**body(), "question": "x" * 100_000}).encode()
    oversize = await api.client.post(
        "/v1/analyses", content=huge, headers={**api.a, "Content-Type": "application/json"}
    )
    assert oversize.status_code == 413
    assert "65536" in oversize.json()["detail"]


@pytest.mark.parametrize("api", [1_048_576], indirect=True)  # the default body limit
async def test_a_request_too_large_for_one_kafka_message_is_refused_not_stranded(
    api: Clients,
) -> None:
    """A body under 1 MiB can still make an event over Kafka's 1 MiB message limit: it
    would be accepted (202) and then never relayed. It is a 413, and nothing is stored."""
    documents = [{"document_id": f"d{i}", "text": "word " * 19_000} for i in range(11)]
    huge = json.dumps({**body("Is it too large?"), "documents": documents}).encode()
    assert len(huge) < 1_048_576

    refused = await api.client.post(
        "/v1/analyses", content=huge, headers={**api.a, "Content-Type": "application/json"}
    )
    listed = await api.client.get("/v1/analyses", headers=api.a)

    assert refused.status_code == 413, refused.text
    assert "POST /v1/datasets" in refused.json()["detail"]
    assert all(item["question"] != "Is it too large?" for item in listed.json()["items"])


async def test_list_pages_with_a_cursor_and_filters_by_status(api: Clients) -> None:
    ids = []
    for number in range(5):
        response = await api.client.post("/v1/analyses", json=body(f"q{number}?"), headers=api.a)
        ids.append(response.json()["analysis_id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "status": "accepted"}
        if cursor:
            params["cursor"] = cursor
        page = (await api.client.get("/v1/analyses", params=params, headers=api.a)).json()
        seen.extend(item["analysis_id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen[:5] == list(reversed(ids))  # newest first, no gaps, no repeats
    assert len(seen) == len(set(seen))
    completed = await api.client.get("/v1/analyses?status=completed", headers=api.a)
    assert completed.json()["items"] == []
    bad = await api.client.get("/v1/analyses?cursor=bm9wZQ", headers=api.a)
    assert bad.status_code == 422
    assert "cursor" in bad.json()["detail"]
    unknown = await api.client.get(f"/v1/analyses?cursor={'A' * 32}", headers=api.a)
    assert unknown.status_code == 200  # a well-formed cursor is a position (here: the start)
    assert unknown.json()["items"] == []


async def test_cancel_sends_the_command_and_leaves_the_lifecycle_to_the_orchestrator(
    api: Clients, engine: AsyncEngine
) -> None:
    analysis_id = (await api.client.post("/v1/analyses", json=body(), headers=api.a)).json()[
        "analysis_id"
    ]
    response = await api.client.post(
        f"/v1/analyses/{analysis_id}/cancel", json={"reason": "not needed"}, headers=api.a
    )
    assert response.status_code == 202
    events = await outbox_events(engine, analysis_id)
    assert [e["topic"] for e in events] == [
        "analysis.requested.v1",
        "analysis.cancel-requested.v1",
    ]
    assert events[1]["payload"]["reason"] == "not needed"
    async with engine.connect() as connection:
        flagged = (
            await connection.execute(
                text("SELECT cancel_requested_at FROM analyses WHERE analysis_id = :id"),
                {"id": analysis_id},
            )
        ).scalar_one()
    assert flagged is None  # the orchestrator flags it when the command arrives
    nul = await api.client.post(  # found by the schemathesis run: PostgreSQL refused it (500)
        f"/v1/analyses/{analysis_id}/cancel", json={"reason": "stop\u0000"}, headers=api.a
    )
    assert nul.status_code == 422
    assert "NUL character" in nul.json()["detail"]
    question_nul = await api.client.post(
        "/v1/analyses", json={**body(), "question": "why\u0000?"}, headers=api.a
    )
    assert question_nul.status_code == 422
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE analyses SET status = 'completed' WHERE analysis_id = :id"),
            {"id": analysis_id},
        )
    finished = await api.client.post(f"/v1/analyses/{analysis_id}/cancel", headers=api.a)
    assert finished.status_code == 409


async def test_dataset_upload_and_its_limits(api: Clients) -> None:
    csv_headers = {**api.a, "Content-Type": "text/csv"}
    ok = await api.client.post("/v1/datasets", content=CSV.encode(), headers=csv_headers)
    assert ok.status_code == 201
    assert ok.json()["rows"] == 2
    assert ok.json()["columns"] == 2
    # Bare CR line ends (found by the schemathesis run: they used to be a 500).
    cr_only = await api.client.post(
        "/v1/datasets", content=b"region,sales\rnorth,1\rsouth,2\r", headers=csv_headers
    )
    assert cr_only.status_code == 201, cr_only.text
    assert cr_only.json()["rows"] == 2
    records = [{"a": 1}, {"a": 2, "b": 3}]
    as_json = await api.client.post("/v1/datasets", json=records, headers=api.a)
    assert as_json.status_code == 201
    assert as_json.json()["columns"] == 2

    cases = [
        (b"\xff\xfe not utf-8", "text/csv", 422, "UTF-8"),
        (b" \n\t\n", "text/csv", 422, "needs at least a header row"),
        (b'{"not": "a list"}', "application/json", 422, "list of records"),
        (b"a,b\n1,2\n", "application/xml", 415, "text/csv"),
        (("n\n" + "1\n" * 1001).encode(), "text/csv", 413, "1001 rows"),
        (b"x," * 200_000, "text/csv", 413, "262144"),
    ]
    for content, media_type, status, fragment in cases:
        response = await api.client.post(
            "/v1/datasets", content=content, headers={**api.a, "Content-Type": media_type}
        )
        assert response.status_code == status, (media_type, response.text)
        assert fragment in response.json()["detail"]


async def test_multipart_upload_takes_the_file_part(api: Clients, engine: AsyncEngine) -> None:
    by_type = await api.client.post(
        "/v1/datasets/form", files={"file": ("data.bin", CSV.encode(), "text/csv")}, headers=api.a
    )
    assert by_type.status_code == 201, by_type.text
    assert (by_type.json()["media_type"], by_type.json()["rows"]) == ("text/csv", 2)
    by_name = await api.client.post(
        "/v1/datasets/form",
        files={"file": ("records.json", b'[{"a": 1}]', "application/octet-stream")},
        headers=api.a,
    )
    assert by_name.status_code == 201, by_name.text
    assert by_name.json()["media_type"] == "application/json"
    async with engine.connect() as connection:
        stored = (
            await connection.execute(
                text("SELECT tenant_id FROM datasets WHERE dataset_id = :id"),
                {"id": by_type.json()["dataset_id"]},
            )
        ).scalar_one()
    assert stored == api.tenant_a

    no_file = await api.client.post(
        "/v1/datasets/form", files={"upload": ("a.csv", CSV.encode(), "text/csv")}, headers=api.a
    )
    assert no_file.status_code == 422
    assert "'file' part" in no_file.json()["detail"]
    wrong_type = await api.client.post(
        "/v1/datasets/form", files={"file": ("a.xml", b"<a/>", "application/xml")}, headers=api.a
    )
    assert wrong_type.status_code == 415
    plain_field = await api.client.post(  # what a generated client sends: a text field
        "/v1/datasets/form", files={"file": (None, CSV.encode())}, headers=api.a
    )
    assert plain_field.status_code == 201, plain_field.text
    assert plain_field.json()["rows"] == 2
    form_on_raw_path = await api.client.post(
        "/v1/datasets", files={"file": ("a.csv", CSV.encode(), "text/csv")}, headers=api.a
    )
    assert form_on_raw_path.status_code == 415
    assert "/v1/datasets/form" in form_on_raw_path.json()["detail"]


async def test_a_tenants_datasets_are_listed_by_name_and_shape_newest_first(
    api: Clients,
) -> None:
    """What a person picks from to ask about a dataset again: each upload with the name it
    came with (a form's file name, or ``?name=``) and its rows and columns."""
    named = await api.client.post(
        "/v1/datasets?name=q3.csv",
        content=CSV.encode(),
        headers={**api.a, "Content-Type": "text/csv"},
    )
    form = await api.client.post(
        "/v1/datasets/form",
        files={"file": ("C:\\fakepath\\regions.json", b'[{"a": 1, "b": 2}]', "")},
        headers=api.a,
    )
    unnamed = await api.client.post("/v1/datasets", json=[{"x": 1}], headers=api.a)
    others = await api.client.post("/v1/datasets", json=[{"x": 1}], headers=api.b)
    assert named.json()["name"] == "q3.csv"
    assert form.json()["name"] == "regions.json"  # the file, not the browser's fake path

    first = await api.client.get("/v1/datasets?limit=2", headers=api.a)
    assert first.status_code == 200, first.text
    rest = await api.client.get(
        f"/v1/datasets?limit=2&cursor={first.json()['next_cursor']}", headers=api.a
    )
    listed = first.json()["items"] + rest.json()["items"]
    assert rest.json()["next_cursor"] is None
    assert [(d["name"], d["rows"], d["columns"]) for d in listed] == [
        (None, 1, 1),
        ("regions.json", 1, 2),
        ("q3.csv", 2, 2),
    ]
    assert [d["dataset_id"] for d in listed] == [
        r.json()["dataset_id"] for r in (unnamed, form, named)
    ]
    assert others.json()["dataset_id"] not in {d["dataset_id"] for d in listed}
    bad_name = await api.client.post(
        "/v1/datasets?name=", content=CSV.encode(), headers={**api.a, "Content-Type": "text/csv"}
    )
    assert bad_name.status_code == 422


async def test_metrics_are_served_in_the_prometheus_format(api: Clients) -> None:
    await api.client.post("/v1/analyses", json=body(), headers=api.a)
    await api.client.get(f"/v1/analyses/{uuid.uuid4()}", headers=api.a)
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text_format = response.text
    assert 'sextant_ingress_analyses_submitted_total{outcome="accepted"}' in text_format
    # Route templates, not raw paths: label cardinality stays bounded.
    assert (
        'sextant_http_requests_total{method="GET",route="/v1/analyses/{analysis_id}",status="404"}'
        in text_format
    )
