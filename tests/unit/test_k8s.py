"""deploy/k8s is checked without a cluster: env var names, probes, non-root, autoscalers."""

import copy
from pathlib import Path
from typing import Any

from tests.unit.deploy_checkers import load_checker

REPO_ROOT = Path(__file__).resolve().parents[2]


checker = load_checker("k8s_check")
RESOURCES: list[dict[str, Any]] = checker.load()


def _find(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name)


def test_committed_manifests_pass() -> None:
    assert checker.problems(RESOURCES) == []


def test_each_kind_of_mistake_is_reported() -> None:
    broken = copy.deepcopy(RESOURCES)
    _find(broken, "ConfigMap", "sextant-shared")["data"]["KAFKA_BOOTSTRAP"] = "x:9092"
    tools = _find(broken, "Deployment", "tools")["spec"]["template"]["spec"]
    del tools["containers"][0]["livenessProbe"]
    tools["securityContext"] = {}
    scaler = _find(broken, "ScaledObject", "orchestrator")["spec"]["triggers"][0]["metadata"]
    scaler["consumerGroup"] = "orchestrators"
    found = checker.problems(broken)
    for service in ("ingress", "orchestrator", "embeddings", "tools", "provision"):
        assert f"{service}: env var KAFKA_BOOTSTRAP is read by no settings class" in found
    assert "tools: livenessProbe is missing" in found
    assert "tools: pods must run as non-root" in found
    assert (
        "ScaledObject orchestrator: watches group orchestrators, but orchestrator consumes as"
        " orchestrator" in found
    )
    assert len(found) == 8


def test_the_pods_export_traces_and_a_bad_exporter_setting_is_reported() -> None:
    shared = _find(RESOURCES, "ConfigMap", "sextant-shared")["data"]
    assert shared["TELEMETRY_TRACES_EXPORTER"] == "otlp"
    broken = copy.deepcopy(RESOURCES)
    _find(broken, "ConfigMap", "sextant-shared")["data"]["TELEMETRY_OTLP_ENDPOINT"] = (
        "http://otel-collector.observability:4318/v1/traces"
    )
    found = checker.problems(broken)
    assert (
        "orchestrator: TELEMETRY_OTLP_ENDPOINT is the collector's base URL (no /v1/traces)" in found
    )
    assert len(found) == 5  # the four services and the provisioning job
