"""docker-compose.yml is checked without an engine: topology and env var names."""

import copy
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "compose_check", REPO_ROOT / "deploy" / "compose_check.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


checker = _load_checker()
COMPOSE: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def test_committed_compose_file_passes() -> None:
    assert checker.problems(COMPOSE) == []


def test_misspelt_env_var_is_reported() -> None:
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["tools"]["environment"]["KAFKA_BOOTSTRAP_SERVER"] = "kafka:9092"
    assert checker.problems(broken) == [
        "tools: env var KAFKA_BOOTSTRAP_SERVER is read by no settings class"
    ]


def test_redis_without_persistence_and_zookeeper_kafka_are_reported() -> None:
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["redis"]["command"] = ["redis-server"]
    del broken["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    assert len(checker.problems(broken)) == 2
