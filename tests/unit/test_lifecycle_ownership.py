"""The orchestrator owns the analysis lifecycle: the ingress records submissions and
reads through ``analysis_views``; it never updates or reads the ``analyses`` table's
run bookkeeping itself."""

import re

from tests.conftest import REPO_ROOT

INGRESS = REPO_ROOT / "services" / "ingress" / "src"


def _ingress_sources() -> dict[str, str]:
    return {str(path): path.read_text(encoding="utf-8") for path in INGRESS.rglob("*.py")}


def test_the_ingress_never_updates_or_reads_the_analyses_table() -> None:
    offending = {
        path: found
        for path, source in _ingress_sources().items()
        if (found := re.findall(r"(?:UPDATE|FROM|JOIN)\s+analyses\b", source))
    }
    assert offending == {}


def test_the_ingress_writes_only_submissions() -> None:
    joined = [re.sub(r'"\s*"', "", source) for source in _ingress_sources().values()]
    inserts = [re.findall(r"INSERT INTO analyses \(([^)]*)\)", source) for source in joined]
    columns = {column.strip() for found in inserts for row in found for column in row.split(",")}
    assert columns == {
        "analysis_id",
        "tenant_id",
        "status",
        "question",
        "request",
        "idempotency_key",
        "request_hash",
    }
