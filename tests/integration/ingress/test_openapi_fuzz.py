"""Schemathesis against the whole running stack, as a user integrating from the OpenAPI
document runs it: ``schemathesis run … --checks all`` with a seed chosen now (printed;
replay one with ``SCHEMATHESIS_SEED=<seed>``), every phase (examples, coverage, fuzzing,
and stateful chains over the document's links: upload → ask → fetch / follow / cancel).
Nothing may fail: no 5xx, no response outside the document, no schema-valid request
refused, no schema-invalid one accepted, no missing ``Allow``, no ignored authentication.

One exception, in a pass of its own: for the form upload, "schema-invalid data accepted"
cannot be judged. A multipart field is text: a generator's null or number for the
``file`` field reaches the server as the very bytes that text would be (null arrives as
``null``). Every other check runs on that operation, negative cases included. And one
more, also in a pass of its own: for webhook registration, "schema-valid data refused"
cannot be judged: a URL is refused unless its host resolves to a public address (or one
the tenant's allow-list names), which no schema can state; every other check runs on it.

The orchestrator runs, so the analyses it submits end and their event streams close;
its model answers at once (no tool rounds), so the hundreds of analyses the run submits
do not queue behind each other for minutes.
"""

import asyncio
import os
import random
import sys
from pathlib import Path

import pytest

from tests.integration.ingress.conftest import Stack
from tests.integration.orchestrator.fake_openai import completion

pytestmark = pytest.mark.slow
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES_PER_OPERATION = 50
FORM_UPLOAD = "upload_dataset_form"
CREATE_WEBHOOK = "create_webhook"


async def _schemathesis(stack: Stack, seed: int, directory: Path, *selection: str) -> str:
    """One ``schemathesis run`` with every check; its report, or fail with it."""
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "run",
        f"{stack.base_url}/openapi.json",
        "--checks",
        "all",
        *selection,
        "--seed",
        str(seed),
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--request-timeout",
        "60",
        "--header",
        f"Authorization: Bearer {stack.api_key}",
        "--no-color",
        "--report-dir",
        str(directory),
        cwd=directory,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    report = output.decode(errors="replace")
    print(report[-6000:])
    assert process.returncode == 0, f"seed {seed}:\n{report[-12000:]}"
    assert "Failures:" not in report
    return report


@pytest.mark.timeout(900)
async def test_schemathesis_with_every_check_finds_nothing(stack: Stack, tmp_path: Path) -> None:
    stack.fake.responder = lambda body: completion("Answered at once.")
    seed = int(os.environ.get("SCHEMATHESIS_SEED") or random.SystemRandom().randrange(2**32))
    print(f"schemathesis seed: {seed} (replay with SCHEMATHESIS_SEED={seed})")

    report = await _schemathesis(
        stack,
        seed,
        tmp_path,
        "--exclude-operation-id",
        FORM_UPLOAD,
        "--exclude-operation-id",
        CREATE_WEBHOOK,
    )
    assert "Stateful" in report  # the links were followed, not skipped

    await _schemathesis(
        stack,
        seed,
        tmp_path,
        "--include-operation-id",
        FORM_UPLOAD,
        "--exclude-checks",
        "negative_data_rejection",
        "--phases",
        "examples,coverage,fuzzing",  # its links lead out of this pass: the first one follows them
    )
    await _schemathesis(
        stack,
        seed,
        tmp_path,
        "--include-operation-id",
        CREATE_WEBHOOK,
        "--exclude-checks",
        "positive_data_acceptance",
        "--phases",
        "examples,coverage,fuzzing",  # it has no links of its own to follow
    )
