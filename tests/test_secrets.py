"""Secrets: production refuses unsafe ones at start-up; development makes its own per install."""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from homeloop.errors import ConfigError
from homeloop.settings import (
    API_SECRETS,
    GATEWAY_SECRETS,
    MAKE_ONE,
    PUBLISHED,
    SECRETS,
    WORKER_SECRETS,
    Settings,
    env_name,
    require_secrets,
)
from tests.conftest import free_port

GOOD = {name: secrets.token_urlsafe(48) for name in SECRETS}
# What the compose file and the code used to publish, and what people type in their place.
UNSAFE = {
    "missing": "",
    "blank": "   ",
    **{f"published {value[:20]}": value for value in sorted(PUBLISHED)},
    "placeholder": "please-change-me-" + "x" * 40,
    "example": "an-example-value-that-is-long-enough-0123456789",
    "short": secrets.token_urlsafe(16),
}


def production(**values: object) -> Settings:
    return Settings(env="production", **{**GOOD, **values})  # type: ignore[arg-type]


def test_env_is_production_unless_it_says_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOMELOOP_ENV", raising=False)
    assert Settings().env == "production"
    assert Settings(env="staging").env == "production"  # type: ignore[arg-type]
    assert Settings(env=" Development ").env == "development"  # type: ignore[arg-type]


def test_sound_secrets_start_in_production() -> None:
    settings = production(previous_secret_keys=[secrets.token_urlsafe(48)])
    require_secrets(settings, [*API_SECRETS, *GATEWAY_SECRETS, *WORKER_SECRETS])


@pytest.mark.parametrize("name", SECRETS)
@pytest.mark.parametrize("case", UNSAFE)
def test_each_unsafe_secret_is_refused_in_production_by_name(name: str, case: str) -> None:
    with pytest.raises(ConfigError) as refused:
        require_secrets(production(**{name: UNSAFE[case]}), SECRETS)
    message = str(refused.value)
    assert env_name(name) in message
    assert [n for n in SECRETS if env_name(n) in message] == [name]  # only the one at fault
    assert MAKE_ONE in message


def test_a_previous_signing_key_must_be_as_sound_as_the_current_one() -> None:
    weak = production(previous_secret_keys=[secrets.token_urlsafe(48), "old-key"])
    with pytest.raises(ConfigError, match=r"HOMELOOP_PREVIOUS_SECRET_KEYS \(item 2\)"):
        require_secrets(weak, API_SECRETS)


def test_the_api_app_refuses_to_start_with_an_unsafe_secret(settings: Settings) -> None:
    unsafe = settings.model_copy(update={"env": "production", **GOOD,
                                         "secret_key": sorted(PUBLISHED)[0]})
    with pytest.raises(ConfigError, match="HOMELOOP_SECRET_KEY"), \
            TestClient(create_app(unsafe)):
        pass
    sound = settings.model_copy(update={"env": "production", **GOOD})
    with TestClient(create_app(sound)) as client:
        assert client.get("/healthz").status_code == 200


def _process(command: list[str], tmp_path: Path, **values: str) -> subprocess.CompletedProcess[str]:
    """``python -m homeloop <command>`` in production with only ``values`` as settings, every
    service it could reach pointed at a closed port, and no ``.env`` in its folder."""
    closed = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMELOOP_")}
    env.update({"HOMELOOP_ENV": "production", "HOMELOOP_STATE_DIR": str(tmp_path / "state"),
                "HOMELOOP_DATABASE_URL": f"postgresql://x@127.0.0.1:{closed}/x",
                "HOMELOOP_REDIS_URL": f"redis://127.0.0.1:{closed}/0",
                "HOMELOOP_MQTT_PORT": str(closed), "HOMELOOP_API_PORT": str(closed),
                **{env_name(k): v for k, v in values.items()}})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(__file__).parent.parent),
                                                     os.environ.get("PYTHONPATH")) if p)
    return subprocess.run([sys.executable, "-m", "homeloop", *command], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("command", "needs"), [
    (["api"], ("secret_key", "identity_key", "gateway_password")),
    (["gateway", "--id", "refused"], ("gateway_password",)),
    (["worker"], ("order_webhook_secret",)),
])
def test_each_process_refuses_to_start_without_its_secrets(
        tmp_path: Path, command: list[str], needs: tuple[str, ...]) -> None:
    started = time.monotonic()
    done = _process(command, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert time.monotonic() - started < 20  # said at once, not after trying to connect
    for name in SECRETS:
        assert (env_name(name) in done.stderr) == (name in needs), done.stderr
    assert MAKE_ONE in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "state" / "secrets.env").exists()  # production makes none


@pytest.mark.parametrize("command", [["api"], ["gateway"], ["worker"]])
def test_the_old_built_in_values_are_refused_by_every_process(
        tmp_path: Path, command: list[str]) -> None:
    old = {"secret_key": "dev-only-secret-change-me-in-production-0123456789",
           "identity_key": "dev-only-identity-key-change-me-0123456789",
           "gateway_password": "homeloop-gateway-dev-password",
           "order_webhook_secret": "dev-only-order-webhook-secret-0123456789"}
    done = _process(command, tmp_path, **old)
    assert done.returncode == 1
    assert "published with the code" in done.stderr or "placeholder" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_api_process_names_the_one_unsafe_secret(tmp_path: Path) -> None:
    done = _process(["api"], tmp_path, **{**GOOD, "identity_key": "ChangeMe" + "x" * 40})
    assert done.returncode == 1
    assert 'HOMELOOP_IDENTITY_KEY looks like a placeholder (it contains "changeme")' in done.stderr
    assert "HOMELOOP_SECRET_KEY" not in done.stderr


def test_development_makes_its_secrets_once_per_install(tmp_path: Path) -> None:
    first = Settings(env="development", state_dir=tmp_path / "one")
    again = Settings(env="development", state_dir=tmp_path / "one")
    other = Settings(env="development", state_dir=tmp_path / "two")
    saved = tmp_path / "one" / "secrets.env"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    for name in SECRETS:
        value = getattr(first, name)
        assert value == getattr(again, name)  # every process of the install agrees
        assert value != getattr(other, name)  # and no two installs share one
        assert f"{env_name(name)}={value}\n" in saved.read_text()
    require_secrets(first.model_copy(update={"env": "production"}), SECRETS)  # all sound
    # One given explicitly wins; the others still come from the file.
    given = Settings(env="development", state_dir=tmp_path / "one", secret_key=GOOD["secret_key"])
    assert given.secret_key == GOOD["secret_key"]
    assert given.identity_key == first.identity_key
    # Secrets stay out of logs and reprs.
    assert first.secret_key not in repr(first)


def test_development_adds_a_secret_missing_from_an_older_file(tmp_path: Path) -> None:
    tmp_path.joinpath("secrets.env").write_text(f"HOMELOOP_SECRET_KEY={GOOD['secret_key']}\n")
    settings = Settings(env="development", state_dir=tmp_path)
    assert settings.secret_key == GOOD["secret_key"]
    assert len(settings.order_webhook_secret) >= 32
    assert Settings(env="development", state_dir=tmp_path).order_webhook_secret == \
        settings.order_webhook_secret
