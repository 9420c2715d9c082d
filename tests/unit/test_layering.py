"""Layering is law: ``domain/`` packages import no heavy or infrastructure library."""

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN_IN_DOMAIN = frozenset(
    {
        "torch",
        "transformers",
        "sentence_transformers",
        "pandas",
        "numpy",
        "langchain",
        "langchain_core",
        "langgraph",
        "sqlalchemy",
        "redis",
        "faststream",
        "aiokafka",
        "fastapi",
        "httpx",
        "asyncpg",
        "starlette",
        "uvicorn",
    }
)


def imported_modules(source: str) -> list[str]:
    """Every module ``source`` imports absolutely (``import a.b``, ``from a.b import c``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return found


def forbidden_imports(source: str) -> list[str]:
    """Top-level package names imported by ``source`` that the domain layer may not use."""
    return [n for n in imported_modules(source) if n.split(".")[0] in FORBIDDEN_IN_DOMAIN]


def domain_modules() -> list[Path]:
    return sorted(REPO_ROOT.glob("services/*/src/*/domain/**/*.py"))


def test_every_service_has_the_four_layers() -> None:
    for service in sorted((REPO_ROOT / "services").iterdir()):
        (package,) = (service / "src").iterdir()
        layers = {p.name for p in package.iterdir() if p.is_dir() and not p.name.startswith("__")}
        assert {"domain", "application", "infrastructure", "presentation"} <= layers, service.name


@pytest.mark.parametrize("module", domain_modules(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_domain_module_imports_no_heavy_library(module: Path) -> None:
    assert forbidden_imports(module.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "import torch",
        "import numpy as np",
        "from pandas import DataFrame",
        "from sqlalchemy.ext.asyncio import AsyncEngine",
        "import langchain_core.tools",
        "from faststream.kafka import KafkaBroker",
        "import httpx",
    ],
)
def test_layering_check_catches_a_forbidden_import(source: str) -> None:
    assert forbidden_imports(source) != []


def test_layering_check_allows_pydantic_and_the_standard_library() -> None:
    assert (
        forbidden_imports("import uuid\nfrom pydantic import BaseModel\nfrom . import ports") == []
    )


def layer_imports(source: str, layer: str) -> list[str]:
    """Modules of a service's ``layer`` (``sextant_<service>.<layer>...``) ``source`` imports."""
    return [
        n
        for n in imported_modules(source)
        if n.startswith("sextant_") and n.split(".")[1:2] == [layer]
    ]


def presentation_modules() -> list[Path]:
    return sorted(REPO_ROOT.glob("services/*/src/*/presentation/**/*.py"))


@pytest.mark.parametrize(
    "module", presentation_modules(), ids=lambda p: str(p.relative_to(REPO_ROOT))
)
def test_presentation_imports_no_infrastructure(module: Path) -> None:
    """Routes and consumers call use cases over ports; adapters are wired in by the
    composition root (``bootstrap.py``), never imported by the presentation."""
    assert layer_imports(module.read_text(encoding="utf-8"), "infrastructure") == []


def test_the_presentation_check_catches_an_adapter_import() -> None:
    source = "from sextant_ingress.infrastructure.postgres_analyses import PostgresAnalysisStore"
    assert layer_imports(source, "infrastructure") != []
    assert (
        layer_imports("from sextant_ingress.application.ports import Datasets", "infrastructure")
        == []
    )
