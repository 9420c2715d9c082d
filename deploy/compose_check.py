"""Validate docker-compose.yml without a Docker engine (``make compose-check``).

Checks what can be checked statically: the topology (Kafka in KRaft mode, PostgreSQL,
Redis with append-only persistence, the four services), and that every environment
variable given to a Sextant service is one some settings class actually reads — a typo
in an env var name is otherwise silently ignored in production.
"""

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from sextant_embeddings.settings import EmbeddingsSettings
from sextant_ingress.settings import IngressSettings
from sextant_orchestrator.settings import OrchestratorSettings
from sextant_platform.settings import TelemetrySettings
from sextant_tools.settings import ToolsSettings

REPO_ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SERVICE_SETTINGS: dict[str, type[BaseSettings]] = {
    "ingress": IngressSettings,
    "orchestrator": OrchestratorSettings,
    "embeddings": EmbeddingsSettings,
    "tools": ToolsSettings,
    "provision": OrchestratorSettings,
}
SERVICES = ("ingress", "orchestrator", "embeddings", "tools")
_WITH_DEFAULT = re.compile(r"\$\{[A-Za-z0-9_]+:-([^}]*)\}")


def with_defaults(value: object) -> str:
    """``${VAR:-default}`` read as its default: what runs when nothing is set."""
    return _WITH_DEFAULT.sub(lambda match: match.group(1), str(value))


def telemetry_problems(where: str, env: Mapping[str, object]) -> list[str]:
    """The telemetry settings a service is given must be valid values, and an OTLP
    endpoint is the collector's base URL (the exporter appends ``/v1/traces``)."""
    given = {
        name.removeprefix("TELEMETRY_"): with_defaults(value)
        for name, value in env.items()
        if name.startswith("TELEMETRY_")
    }
    try:
        settings = TelemetrySettings.model_validate(given)
    except ValidationError as error:
        return [f"{where}: {error.errors()[0]['loc'][0]}: {error.errors()[0]['msg']}"]
    if settings.OTLP_ENDPOINT.rstrip("/").endswith("/v1/traces"):
        return [f"{where}: TELEMETRY_OTLP_ENDPOINT is the collector's base URL (no /v1/traces)"]
    return []


def known_env_vars(settings: type[BaseSettings]) -> set[str]:
    """Every env var ``settings`` (and the settings classes nested in it) reads."""
    prefix = str(settings.model_config.get("env_prefix", "")).upper()
    names: set[str] = set()
    for name, field in settings.model_fields.items():
        names.add(f"{prefix}{name.upper()}")
        nested = field.annotation
        if isinstance(nested, type) and issubclass(nested, BaseSettings):
            names |= known_env_vars(nested)
    return names


def problems(compose: dict[str, Any]) -> list[str]:
    found = []
    services = compose.get("services", {})
    for required in ("kafka", "postgres", "redis", *SERVICE_SETTINGS):
        if required not in services:
            found.append(f"service '{required}' is missing")
    kafka_env = services.get("kafka", {}).get("environment", {})
    if kafka_env.get("KAFKA_PROCESS_ROLES") != "broker,controller":
        found.append("kafka must run in KRaft mode (KAFKA_PROCESS_ROLES=broker,controller)")
    if "--appendonly" not in services.get("redis", {}).get("command", []):
        found.append("redis must run with --appendonly yes (checkpoints survive restarts)")
    for name, settings in SERVICE_SETTINGS.items():
        environment = services.get(name, {}).get("environment", {})
        unknown = sorted(set(environment) - known_env_vars(settings))
        found += [f"{name}: env var {var} is read by no settings class" for var in unknown]
    for name in SERVICES:
        found += _service_problems(name, services.get(name, {}))
        environment = services.get(name, {}).get("environment", {})
        found += telemetry_problems(name, environment)
        found += _collector_problems(services, environment.get("TELEMETRY_OTLP_ENDPOINT"))
    return sorted(set(found), key=found.index)


def _collector_problems(services: dict[str, Any], endpoint: str | None) -> list[str]:
    """The OTLP endpoint names a compose service whose mounted configuration exists and
    forwards traces to another compose service."""
    if endpoint is None:
        return []
    host = urlsplit(with_defaults(endpoint)).hostname or ""
    collector = services.get(host)
    if collector is None:
        return [f"TELEMETRY_OTLP_ENDPOINT names {host}, which is not a compose service"]
    found = []
    for volume in collector.get("volumes", []):
        source = str(volume).split(":", 1)[0]
        if source.startswith("./") and not (REPO_ROOT / source).is_file():
            found.append(f"{host}: mounts {source}, which does not exist")
        elif source.startswith("./"):
            found += _pipeline_problems(host, REPO_ROOT / source, services)
    return found


def _pipeline_problems(host: str, config_file: Path, services: dict[str, Any]) -> list[str]:
    config = yaml.safe_load(config_file.read_text("utf-8"))
    pipeline = config.get("service", {}).get("pipelines", {}).get("traces")
    if not pipeline:
        return [f"{host}: {config_file.name} has no traces pipeline"]
    found = []
    for name in pipeline.get("exporters", []):
        target = str(config.get("exporters", {}).get(name, {}).get("endpoint", ""))
        target_host = target.split("://")[-1].split(":")[0]
        if target_host not in services:
            found.append(f"{host}: exporter {name} sends to {target_host or '?'}, not a service")
    return found


def _service_problems(name: str, service: dict[str, Any]) -> list[str]:
    """A service container must build its own image, listen beyond loopback, and be probed."""
    found = []
    if service.get("build", {}).get("args", {}).get("SERVICE") != name:
        found.append(f"{name}: build it with args SERVICE={name} (one image per service)")
    host = service.get("environment", {}).get(f"SEXTANT_{name.upper()}_HTTP_HOST")
    if host != "0.0.0.0":
        found.append(f"{name}: set SEXTANT_{name.upper()}_HTTP_HOST=0.0.0.0 (probes, ports)")
    if "/readyz" not in str(service.get("healthcheck", {}).get("test", "")):
        found.append(f"{name}: needs a healthcheck on /readyz")
    return found


def report(tool: str, issues: list[str], success: str) -> int:
    """Print each issue (or the success line); the process exit status."""
    for issue in issues:
        print(f"{tool}: {issue}", file=sys.stderr)
    if not issues:
        print(f"{tool}: {success}")
    return 1 if issues else 0


def main() -> int:
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    success = f"{COMPOSE_FILE.name} OK ({len(compose['services'])} services)"
    return report("compose-check", problems(compose), success)


if __name__ == "__main__":
    raise SystemExit(main())
