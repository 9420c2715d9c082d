"""The cross-service vocabulary is spelled once, in the contracts.

Topic names and analysis statuses used to be spelled in many places (ten raw topic
strings, the terminal statuses five times in SQL, the status list as a ``Literal``
twice); one changed alone would disagree with the others silently. These tests read the
code of every service and library and fail on a second spelling.
"""

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import get_args

from sextant_contracts import TOPICS, tool_names
from sextant_contracts.catalogue import dlq_topic_name
from sextant_contracts.status import AnalysisStatus, AnalysisStatusName
from sextant_contracts.tool_arguments import ARGUMENTS
from sextant_contracts.tools import LIST_TOOLS

REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO_ROOT / "libs/storage/src/sextant_storage/database/migrations"
"""Migrations are history: each keeps the words it was written with."""

TOPIC_NAMES = frozenset(name for spec in TOPICS for name in (spec.name, dlq_topic_name(spec.name)))
STATUS_WORDS = frozenset(status.value for status in AnalysisStatus)
SQL_STATUS = re.compile(r"'(" + "|".join(sorted(STATUS_WORDS)) + r")'")
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|VALUES)\b")


def _sources() -> list[Path]:
    roots = [*REPO_ROOT.glob("services/*/src"), *REPO_ROOT.glob("libs/*/src")]
    return sorted(
        path
        for root in roots
        for path in root.rglob("*.py")
        if "sextant_contracts" not in path.parts and MIGRATIONS not in path.parents
    )


SOURCES = _sources()


def _strings(path: Path) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def topic_names_in(path: Path) -> list[tuple[int, str]]:
    return [(line, value) for line, value in _strings(path) if value in TOPIC_NAMES]


def reserved_tool_names_in(path: Path) -> list[tuple[int, str]]:
    return [(line, value) for line, value in _strings(path) if value == LIST_TOOLS]


def tool_names_in(path: Path) -> list[tuple[int, str]]:
    return [(line, value) for line, value in _strings(path) if value in tool_names.ALL]


def sql_statuses_in(path: Path) -> list[tuple[int, str]]:
    return [
        (line, value)
        for line, value in _strings(path)
        if SQL.search(value) and SQL_STATUS.search(value)
    ]


def status_literals_in(path: Path) -> list[tuple[int, str]]:
    """``Literal[...]`` types naming every status: second spellings of the status type."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Subscript) and getattr(node.value, "id", None) == "Literal":
            words = {
                element.value
                for element in ast.walk(node.slice)
                if isinstance(element, ast.Constant) and isinstance(element.value, str)
            }
            if words >= STATUS_WORDS:
                found.append((node.lineno, "Literal[...]"))
    return found


def _everywhere(check: Callable[[Path], list[tuple[int, str]]]) -> dict[str, list[int]]:
    found = {str(path.relative_to(REPO_ROOT)): check(path) for path in SOURCES}
    return {path: [line for line, _ in hits] for path, hits in found.items() if hits}


def test_the_sources_are_found() -> None:
    assert len(SOURCES) > 100


def test_no_topic_name_is_spelled_outside_the_contracts() -> None:
    """Import the topic from ``sextant_contracts.catalogue`` instead."""
    assert _everywhere(topic_names_in) == {}


def test_the_reserved_tool_name_is_not_spelled_outside_the_contracts() -> None:
    """Import ``LIST_TOOLS`` from ``sextant_contracts.tools`` instead."""
    assert _everywhere(reserved_tool_names_in) == {}


def test_no_tool_name_is_spelled_outside_the_contracts() -> None:
    """Import it from ``sextant_contracts.tool_names`` instead (the planner, the answer
    composer and the tools service must agree on every name)."""
    assert _everywhere(tool_names_in) == {}


def test_every_served_tool_has_its_contract_name() -> None:
    from sextant_tools.infrastructure.tools.catalogue import default_catalogue
    from sextant_tools.infrastructure.web_fetch import SafeWebFetchTool

    catalogue = default_catalogue()
    served = {tool["name"] for tool in catalogue.describe()} | {SafeWebFetchTool.name}
    assert served == tool_names.ALL


def test_every_served_tool_takes_its_contract_argument_model() -> None:
    """The tools validate with the models callers build from (``ARGUMENTS``), and what
    ``list_tools`` publishes is those models' JSON Schema."""
    from sextant_tools.infrastructure.tools.catalogue import default_catalogue
    from sextant_tools.infrastructure.web_fetch import SafeWebFetchTool

    catalogue = default_catalogue()
    for described in catalogue.describe():
        name = described["name"]
        assert catalogue.get(name).arguments is ARGUMENTS[name], name
        assert described["parameters"] == catalogue.get(name).json_schema()
    assert SafeWebFetchTool.arguments is ARGUMENTS[tool_names.WEB_FETCH]
    assert set(ARGUMENTS) == tool_names.ALL


def test_no_status_is_spelled_in_sql_outside_the_contracts() -> None:
    """Build the SQL from ``sextant_contracts.status`` (``sql_list``, the enum)."""
    assert _everywhere(sql_statuses_in) == {}


def test_the_status_list_is_not_a_second_literal() -> None:
    """Use ``AnalysisStatusName``."""
    assert _everywhere(status_literals_in) == {}


def test_the_status_type_and_the_enum_say_the_same_words() -> None:
    assert set(get_args(AnalysisStatusName)) == STATUS_WORDS


def test_the_checks_catch_a_second_spelling(tmp_path: Path) -> None:
    """The checks above can fail: each finds what it is for in a sample."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import Literal\n"
        "TOPIC = 'tools.requested.v1'\n"
        "RESERVED = 'list_tools'\n"
        "PLAN = {'tool_name': 'correlation_matrix'}\n"
        "SQL = \"SELECT 1 WHERE status IN ('completed', 'failed')\"\n"
        "Status = Literal['accepted', 'running', 'interrupted',"
        " 'completed', 'failed', 'cancelled']\n"
    )
    assert topic_names_in(sample) == [(2, "tools.requested.v1")]
    assert reserved_tool_names_in(sample) == [(3, "list_tools")]
    assert tool_names_in(sample) == [(4, "correlation_matrix")]
    assert [line for line, _ in sql_statuses_in(sample)] == [5]
    assert [line for line, _ in status_literals_in(sample)] == [6]
