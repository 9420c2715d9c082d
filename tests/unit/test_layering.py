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


def forbidden_imports(source: str) -> list[str]:
    """Top-level package names imported by ``source`` that the domain layer may not use."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [n for n in names if n.split(".")[0] in FORBIDDEN_IN_DOMAIN]
    return found


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
