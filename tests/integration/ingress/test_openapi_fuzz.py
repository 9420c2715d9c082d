"""Schemathesis against the whole running stack, as a user integrating from the OpenAPI
document runs it: ``schemathesis run … --checks all`` with a seed chosen now (printed,
to replay a failure), every phase (examples, coverage, fuzzing, and stateful chains that
follow the document's links: upload → ask → fetch / follow / cancel). Nothing may fail:
no 5xx, no response outside the document, no schema-valid request refused, no
schema-invalid one accepted, no missing ``Allow``, no ignored authentication.

The orchestrator runs, so the analyses it submits end and their event streams close;
its model answers at once (no tool rounds), so the hundreds of analyses the run submits
do not queue behind each other for minutes.
"""

import asyncio
import random
import sys
from pathlib import Path

import pytest

from tests.integration.ingress.conftest import Stack
from tests.integration.orchestrator.fake_openai import completion

pytestmark = pytest.mark.slow
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES_PER_OPERATION = 50


@pytest.mark.timeout(900)
async def test_schemathesis_with_every_check_finds_nothing(stack: Stack, tmp_path: Path) -> None:
    stack.fake.responder = lambda body: completion("Answered at once.")
    seed = random.SystemRandom().randrange(2**32)
    print(f"schemathesis seed: {seed} (replay with --seed {seed})")
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "run",
        f"{stack.base_url}/openapi.json",
        "--checks",
        "all",
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
        str(tmp_path),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    report = output.decode(errors="replace")
    print(report[-6000:])
    assert process.returncode == 0, f"seed {seed}:\n{report[-12000:]}"
    assert "No issues found" in report
    assert "Stateful" in report  # the links were followed, not skipped
