"""`homeloop services` is safe to run twice and tells what runs where."""

from __future__ import annotations

from typer.testing import CliRunner

from homeloop import services
from homeloop.cli import app
from homeloop.settings import Settings


def test_services_up_twice_is_harmless_and_status_reports_them() -> None:
    settings = Settings(env="development")
    assert dict(services.up(settings)) == {"postgres": "already running",
                                           "mosquitto": "already running",
                                           "redis": "already running"}
    result = CliRunner().invoke(app, ["services", "status"])
    assert result.exit_code == 0, result.output
    for port in (settings.pg_port, settings.mqtt_port, settings.redis_port):
        assert f"127.0.0.1:{port}" in result.output
