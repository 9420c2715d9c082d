"""Schemathesis against the running ingress (a real process over the real PostgreSQL and
Kafka): generated requests for every operation, 200 per operation (over 1000 in all);
none may get a 5xx, and every response must match the OpenAPI document."""

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sextant_ingress.bootstrap import bootstrap
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_ingress.settings import IngressSettings
from sextant_platform.database import create_engine
from tests.integration.infrastructure import Infrastructure
from tests.integration.ingress.service import start_ingress

pytestmark = pytest.mark.slow
CASES_PER_OPERATION = 200


@dataclass
class RunningIngress:
    base_url: str
    api_key: str


async def _new_key(infra: Infrastructure, tenant: str) -> str:
    engine = create_engine(infra.postgres)
    try:
        return await PostgresApiKeys(engine).create(tenant_id=tenant, name="fuzz")
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def ingress(infra: Infrastructure) -> Iterator[RunningIngress]:
    process, base_url = asyncio.run(start_ingress(infra, name="fuzz-ingress"))
    try:
        key = asyncio.run(_new_key(infra, f"fuzz-{uuid.uuid4().hex[:8]}"))
        yield RunningIngress(base_url, key)
        assert process.stop() == 0
    finally:
        process.kill()


def _openapi_document() -> dict[str, Any]:
    """The document the running service serves (the same code builds it; building the
    app connects to nothing)."""
    return bootstrap(IngressSettings()).api.openapi()


schema = schemathesis.openapi.from_dict(_openapi_document())


def test_the_served_document_is_the_one_fuzzed(ingress: RunningIngress) -> None:
    served = httpx.get(f"{ingress.base_url}/openapi.json", timeout=10).json()
    assert served == _openapi_document()


@schema.parametrize()
@settings(
    max_examples=CASES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_5xx_and_every_response_matches_the_schema(
    case: schemathesis.Case, ingress: RunningIngress
) -> None:
    case.call_and_validate(
        base_url=ingress.base_url,
        headers={"X-API-Key": ingress.api_key},
        timeout=10,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
