"""docker-compose.yml is checked without an engine: topology and env var names."""

import copy
from pathlib import Path
from typing import Any

import yaml

from tests.unit.deploy_checkers import load_checker

REPO_ROOT = Path(__file__).resolve().parents[2]


checker = load_checker("compose_check")
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


def test_a_service_that_listens_on_loopback_or_shares_an_image_is_reported() -> None:
    broken = copy.deepcopy(COMPOSE)
    del broken["services"]["ingress"]["environment"]["SEXTANT_INGRESS_HTTP_HOST"]
    broken["services"]["tools"]["build"]["args"]["SERVICE"] = "orchestrator"
    del broken["services"]["embeddings"]["healthcheck"]
    assert checker.problems(broken) == [
        "ingress: set SEXTANT_INGRESS_HTTP_HOST=0.0.0.0 (probes, ports)",
        "embeddings: needs a healthcheck on /readyz",
        "tools: build it with args SERVICE=tools (one image per service)",
    ]


def test_the_observability_profile_carries_traces_to_jaeger() -> None:
    services = COMPOSE["services"]
    assert services["otel-collector"]["profiles"] == ["observability"]
    assert services["jaeger"]["profiles"] == ["observability"]
    for name in ("ingress", "orchestrator", "embeddings", "tools"):
        environment = services[name]["environment"]
        assert environment["TELEMETRY_OTLP_ENDPOINT"] == "http://otel-collector:4318"


def test_a_wrong_exporter_a_missing_collector_or_a_lost_pipeline_is_reported() -> None:
    broken = copy.deepcopy(COMPOSE)
    tools_env = broken["services"]["tools"]["environment"]
    tools_env["TELEMETRY_TRACES_EXPORTER"] = "${TELEMETRY_TRACES_EXPORTER:-jaeger}"
    tools_env["TELEMETRY_OTLP_ENDPOINT"] = "http://collector:4318"
    broken["services"]["ingress"]["environment"]["TELEMETRY_OTLP_ENDPOINT"] = (
        "http://otel-collector:4318/v1/traces"
    )
    del broken["services"]["jaeger"]
    found = checker.problems(broken)
    assert "ingress: TELEMETRY_OTLP_ENDPOINT is the collector's base URL (no /v1/traces)" in found
    assert any(p.startswith("tools: TRACES_EXPORTER: Input should be") for p in found), found
    assert "TELEMETRY_OTLP_ENDPOINT names collector, which is not a compose service" in found
    assert "otel-collector: exporter otlp/jaeger sends to jaeger, not a service" in found
