"""The whole stack for the end-to-end tests of this package: the ingress and the
orchestrator as real processes, the tools and embeddings services in-process, and a
loopback OpenAI-compatible server answering as a model would."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sextant_embeddings.bootstrap import EmbeddingsApp
from sextant_ingress.infrastructure.postgres_api_keys import PostgresApiKeys
from sextant_tools.bootstrap import ToolsService
from tests.integration.embeddings.conftest import embeddings_service  # noqa: F401 - fixture
from tests.integration.infrastructure import Infrastructure
from tests.integration.ingress.service import start_ingress
from tests.integration.orchestrator.fake_openai import FakeOpenAI, running_fake_openai
from tests.integration.orchestrator.service import (
    llm_env,
    plan_then_answer,
    start_orchestrator,
)
from tests.integration.processes import ServiceProcess
from tests.integration.tools.conftest import tools_service  # noqa: F401 - fixture


@dataclass
class Stack:
    base_url: str
    api_key: str
    fake: FakeOpenAI
    ingress: ServiceProcess
    """The ingress process: a test may kill and start it again (same port)."""
    tenant: str
    """A tenant of this stack alone: what its clients list and follow is only what its
    tests made (schemathesis, following the links of a listing, once followed another
    test's analysis that no orchestrator would ever end, and waited on it for ever)."""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@pytest.fixture(scope="module")
async def stack(
    infra: Infrastructure,
    engine: AsyncEngine,
    tools_service: ToolsService,  # noqa: F811 - the fixture imported above
    embeddings_service: EmbeddingsApp,  # noqa: F811
) -> AsyncIterator[Stack]:
    """Serves while the test's event loop runs (the loopback model lives on it): drive
    the stack with async clients, and run commands as asyncio subprocesses."""
    async with running_fake_openai() as fake:
        fake.responder = plan_then_answer
        orchestrator, _ = await start_orchestrator(
            infra,
            name="e2e-orchestrator",
            group=f"e2e-orchestrator-{uuid.uuid4().hex[:8]}",
            llm_env=llm_env(fake),
        )
        ingress, base_url = await start_ingress(infra, name="e2e-ingress")
        try:
            tenant = f"e2e-{uuid.uuid4().hex[:8]}"
            key = await PostgresApiKeys(engine).create(tenant_id=tenant, name="e2e")
            yield Stack(base_url, key, fake, ingress, tenant)
            assert await asyncio.to_thread(ingress.stop) == 0
            assert await asyncio.to_thread(orchestrator.stop) == 0
        finally:
            ingress.kill()
            orchestrator.kill()
