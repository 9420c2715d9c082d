"""Shared pytest configuration: markers by folder, repository paths."""

from pathlib import Path

import pytest

pytest_plugins = ["tests.embeddings_fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by folder so ``-m unit`` / ``-m integration`` select them; tests marked
    ``chaos`` (they kill the shared servers) run after all the others."""
    for item in items:
        path = Path(str(item.fspath))
        if "integration" in path.parts:
            item.add_marker(pytest.mark.integration)
        elif "unit" in path.parts:
            item.add_marker(pytest.mark.unit)
    items.sort(key=lambda item: item.get_closest_marker("chaos") is not None)
