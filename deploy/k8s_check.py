"""Validate deploy/k8s without a cluster (``make k8s-check``).

Checks what a typo would otherwise break silently in production: every env var a
container gets (directly or from the shared ConfigMap) is read by that service's settings
class; pods run as non-root with readiness and liveness probes and listen beyond
loopback; every autoscaler targets a Deployment that exists, and a KEDA trigger watches
a catalogue topic with the consumer group the service really uses.
"""

import sys
from pathlib import Path
from typing import Any

import yaml

from sextant_contracts import TOPICS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compose_check import SERVICE_SETTINGS, known_env_vars, report, telemetry_problems

K8S_DIR = Path(__file__).resolve().parent / "k8s"


def load(directory: Path = K8S_DIR) -> list[dict[str, Any]]:
    """Every resource the kustomization applies, in order."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text("utf-8"))
    resources: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        resources += [d for d in yaml.safe_load_all((directory / name).read_text("utf-8")) if d]
    return resources


def _env_names(container: dict[str, Any], config_maps: dict[str, dict[str, str]]) -> set[str]:
    names = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        names |= set(config_maps.get(source.get("configMapRef", {}).get("name", ""), {}))
    return names


def _env_values(container: dict[str, Any], config_maps: dict[str, Any]) -> dict[str, str]:
    """The literal values a container's environment gets, ConfigMaps first."""
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        values |= config_maps.get(source.get("configMapRef", {}).get("name", ""), {})
    values |= {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    return values


def _env_value(container: dict[str, Any], name: str) -> str | None:
    return next((e.get("value") for e in container.get("env", []) if e["name"] == name), None)


def _pod_problems(name: str, pod: dict[str, Any], config_maps: dict[str, Any]) -> list[str]:
    found = []
    settings = SERVICE_SETTINGS[name]
    if not pod.get("securityContext", {}).get("runAsNonRoot"):
        found.append(f"{name}: pods must run as non-root")
    for container in pod["containers"]:
        unknown = sorted(_env_names(container, config_maps) - known_env_vars(settings))
        found += [f"{name}: env var {var} is read by no settings class" for var in unknown]
        found += telemetry_problems(name, _env_values(container, config_maps))
    return found


def _deployment_problems(deployment: dict[str, Any], config_maps: dict[str, Any]) -> list[str]:
    name = deployment["metadata"]["name"]
    if name not in SERVICE_SETTINGS:
        return [f"deployment {name} is not a Sextant service"]
    pod = deployment["spec"]["template"]["spec"]
    found = _pod_problems(name, pod, config_maps)
    container = pod["containers"][0]
    if not container.get("image", "").startswith(f"sextant/{name}"):
        found.append(f"{name}: runs image {container.get('image')}, not sextant/{name}")
    for probe in ("readinessProbe", "livenessProbe"):
        if probe not in container:
            found.append(f"{name}: {probe} is missing")
    if _env_value(container, f"SEXTANT_{name.upper()}_HTTP_HOST") != "0.0.0.0":
        found.append(f"{name}: set SEXTANT_{name.upper()}_HTTP_HOST=0.0.0.0 for the probes")
    return found


def _scaler_problems(scaler: dict[str, Any], deployments: dict[str, Any]) -> list[str]:
    kind, name = scaler["kind"], scaler["metadata"]["name"]
    target = scaler["spec"]["scaleTargetRef"]["name"]
    if target not in deployments:
        return [f"{kind} {name}: targets {target}, which is not deployed"]
    found = []
    topics = {spec.name for spec in TOPICS}
    container = deployments[target]["spec"]["template"]["spec"]["containers"][0]
    group = _env_value(container, f"SEXTANT_{target.upper()}_CONSUMER_GROUP") or getattr(
        SERVICE_SETTINGS[target](), "CONSUMER_GROUP", None
    )
    for trigger in scaler["spec"].get("triggers", []):
        metadata = trigger.get("metadata", {})
        if trigger.get("type") != "kafka":
            continue
        if metadata.get("topic") not in topics:
            found.append(f"{kind} {name}: topic {metadata.get('topic')} is not in the catalogue")
        if metadata.get("consumerGroup") != group:
            found.append(
                f"{kind} {name}: watches group {metadata.get('consumerGroup')},"
                f" but {target} consumes as {group}"
            )
    return found


def problems(resources: list[dict[str, Any]]) -> list[str]:
    config_maps = {r["metadata"]["name"]: r["data"] for r in resources if r["kind"] == "ConfigMap"}
    deployments = {r["metadata"]["name"]: r for r in resources if r["kind"] == "Deployment"}
    found = []
    for service in ("ingress", "orchestrator", "embeddings", "tools"):
        if service not in deployments:
            found.append(f"deployment {service} is missing")
    for deployment in deployments.values():
        found += _deployment_problems(deployment, config_maps)
    for resource in resources:
        if resource["kind"] in ("ScaledObject", "HorizontalPodAutoscaler"):
            found += _scaler_problems(resource, deployments)
        if resource["kind"] == "Job":
            pod = resource["spec"]["template"]["spec"]
            found += _pod_problems("provision", pod, config_maps)
    return found


def main() -> int:
    resources = load()
    return report("k8s-check", problems(resources), f"deploy/k8s OK ({len(resources)} resources)")


if __name__ == "__main__":
    raise SystemExit(main())
