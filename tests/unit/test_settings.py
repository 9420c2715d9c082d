"""Settings: per-service env prefixes, .env files, secrets that never print."""

from pathlib import Path

import pytest
from pydantic import SecretStr

from sextant_ingress.settings import IngressSettings
from sextant_platform.settings import KafkaSettings, PostgresSettings
from sextant_tools.settings import ToolsSettings


def test_each_service_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEXTANT_TOOLS_SERVICE_NAME", "tools-eu")
    assert ToolsSettings().SERVICE_NAME == "tools-eu"
    assert IngressSettings().SERVICE_NAME == "ingress"


def test_shared_settings_read_their_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092,kafka-2:9092")
    assert ToolsSettings().KAFKA.BOOTSTRAP_SERVERS == "kafka-1:9092,kafka-2:9092"


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("POSTGRES_HOST=db.internal\nPOSTGRES_PORT=6543\n")
    monkeypatch.chdir(tmp_path)
    settings = PostgresSettings()
    assert (settings.HOST, settings.PORT) == ("db.internal", 6543)


def test_secrets_never_appear_in_repr_or_dumps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTGRES_PASSWORD", "hunter2-very-secret")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "kafka-secret-pw")
    settings = ToolsSettings()
    assert isinstance(settings.POSTGRES.PASSWORD, SecretStr)
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "hunter2-very-secret" not in text
        assert "kafka-secret-pw" not in text
    assert "hunter2-very-secret" in settings.POSTGRES.sqlalchemy_url()


def test_sasl_without_credentials_is_a_clear_error() -> None:
    from sextant_kafka import broker_options

    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        broker_options(KafkaSettings(SECURITY_PROTOCOL="SASL_SSL"), client_id="t")
