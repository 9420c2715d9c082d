"""Integrating from the published documents alone, as a new user would: a Python client
generated from the served OpenAPI document (openapi-python-client) uploads a dataset,
asks, follows and reads an analysis against the running stack; event models generated
from the committed JSON Schemas (datamodel-code-generator) parse every event the
analysis put on its topics. Both generators run here, into a temporary directory."""

import asyncio
import importlib
import importlib.util
import json
import os
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from sextant_contracts.schemas import CURRENT_DIR
from tests.integration.infrastructure import Infrastructure
from tests.integration.ingress.conftest import Stack
from tests.integration.orchestrator.service import (
    ANSWER,
    SALES_CSV,
    events_for,
    plan_then_answer,
)

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
CLIENT_PACKAGE = "generated_sextant_client"
OPERATIONS = ("upload_dataset_form", "submit_analysis", "follow_analysis", "fetch_analysis")


async def _run(*command: str, cwd: Path) -> None:
    """A generator's command line, off this event loop (which serves the loopback model)."""
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode == 0, output.decode(errors="replace")


@pytest.fixture(scope="module")
async def client_package(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The client generated from the document the running ingress serves."""
    directory = tmp_path_factory.mktemp("generated-client")
    async with httpx.AsyncClient(base_url=stack.base_url) as http:
        document = (await http.get("/openapi.json")).json()
    (directory / "openapi.json").write_text(json.dumps(document), encoding="utf-8")
    await _run(
        str(BIN / "openapi-python-client"),
        "generate",
        "--path",
        "openapi.json",
        "--meta",
        "none",
        "--output-path",
        CLIENT_PACKAGE,
        cwd=directory,
    )
    sys.path.insert(0, str(directory))
    try:
        return importlib.import_module(CLIENT_PACKAGE)
    finally:
        sys.path.remove(str(directory))


def _submodule(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def _frames(stream: str) -> list[dict[str, str]]:
    """The SSE frames of a whole stream: field -> value (comments and retry skipped)."""
    frames = []
    for block in stream.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":"
        )
        if "data" in fields:
            frames.append(fields)
    return frames


async def test_a_generated_client_uploads_asks_follows_and_reads(
    stack: Stack, client_package: ModuleType, infra: Infrastructure, tmp_path: Path
) -> None:
    api = _submodule(client_package, "api.default")
    models = _submodule(client_package, "models")
    for operation in (
        "upload_dataset_form",
        "submit_analysis",
        "follow_analysis",
        "fetch_analysis",
    ):
        _submodule(api, operation)
    client = client_package.AuthenticatedClient(
        base_url=stack.base_url, token=stack.api_key, timeout=httpx.Timeout(150)
    )
    stack.fake.responder = plan_then_answer

    async with client:
        uploaded = await api.upload_dataset_form.asyncio(
            client=client, body=models.UploadDatasetFormBody(file=SALES_CSV)
        )
        assert isinstance(uploaded, models.DatasetOut), uploaded
        assert (uploaded.rows, uploaded.columns) == (6, 3)

        accepted = await api.submit_analysis.asyncio(
            client=client,
            body=models.SubmissionBody(
                question="Which region sells the most?", dataset_id=uploaded.dataset_id
            ),
            idempotency_key=f"generated-{uuid.uuid4()}",
        )
        assert isinstance(accepted, models.AcceptedOut), accepted

        followed = await api.follow_analysis.asyncio_detailed(
            client=client, analysis_id=accepted.analysis_id
        )
        assert followed.status_code == 200
        frames = _frames(followed.content.decode())
        assert frames[-1]["event"] == "completed"
        assert {f["event"] for f in frames[:-1]} == {"progress"}

        fetched = await api.fetch_analysis.asyncio(client=client, analysis_id=accepted.analysis_id)
    assert isinstance(fetched, models.AnalysisOut), fetched
    assert fetched.status == models.AnalysisOutStatus.COMPLETED
    assert fetched.answer == ANSWER
    assert fetched.tool_calls, "the answer's tool calls, typed"

    await _parse_with_generated_models(infra, accepted.analysis_id, len(frames) - 1, tmp_path)


async def _parse_with_generated_models(
    infra: Infrastructure, analysis_id: uuid.UUID, progress_events: int, directory: Path
) -> None:
    """Every event about the analysis on the request, progress and completed topics
    parses with a model generated from that topic's committed schema, which refuses
    fields the schema does not name."""
    expected = {
        "analysis.requested.v1": 1,
        "analysis.progress.v1": progress_events,
        "analysis.completed.v1": 1,
    }
    for topic, count in expected.items():
        module = await _generated_event_model(topic, directory)
        events = await events_for(infra.kafka, topic, analysis_id, expected=count)
        assert len(events) >= count, topic
        for event in events:
            parsed = module.Event.model_validate(event)
            assert str(parsed.payload.analysis_id) == str(analysis_id)


async def _generated_event_model(topic: str, directory: Path) -> ModuleType:
    output = directory / f"{topic.replace('.', '_').replace('-', '_')}.py"
    await _run(
        str(BIN / "datamodel-codegen"),
        "--input",
        str(CURRENT_DIR / f"{topic}.json"),
        "--input-file-type",
        "jsonschema",
        "--output",
        str(output),
        "--output-model-type",
        "pydantic_v2.BaseModel",
        "--class-name",
        "Event",
        "--extra-fields",
        "forbid",
        "--disable-warnings",
        cwd=directory,
    )
    spec = importlib.util.spec_from_file_location(output.stem, output)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its postponed annotations resolve through it
    spec.loader.exec_module(module)
    return module
