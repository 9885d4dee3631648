"""With EMQX as the broker (deploy/scale), a revocation closes the device's connection
through EMQX's REST API, and provisioning renders no Mosquitto files (nothing reads them).

EMQX cannot be installed here: tests/emqx_standin.py answers its management API over real
HTTP as EMQX 5 does. The commands run as an operator runs them (``homeloop devices ...`` in
a process of their own); the staff route through the real app.
"""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from device_gateway.provisioning import Credentials
from homeloop.settings import Settings
from tests.api.conftest import auth
from tests.conftest import free_port, process_env
from tests.emqx_standin import EmqxStandIn


@pytest.fixture
def emqx() -> Iterator[EmqxStandIn]:
    standin = EmqxStandIn().start()
    yield standin
    standin.stop()


def emqx_env(emqx_url: str, standin: EmqxStandIn, tmp_path: Path) -> dict[str, str]:
    # Mosquitto's files (and its pid file) in a folder of this test's: were anything
    # rendered or signalled, it would be here, and the test slot's broker is left alone.
    return {"broker": "emqx", "emqx_api_url": emqx_url, "emqx_api_key": standin.key,
            "emqx_api_secret": standin.secret, "emqx_backoff_s": "0", "emqx_attempts": "3",
            "mqtt_password_file": str(tmp_path / "passwd"),
            "mqtt_acl_file": str(tmp_path / "acl"),
            "mqtt_pid_file": str(tmp_path / "mosquitto.pid")}


def homeloop(settings: Settings, env: dict[str, str], *args: str,
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "homeloop", *args],
                          env=process_env(settings, **env), capture_output=True, text=True,
                          timeout=60, check=False)


def revoked(db: psycopg.Connection[tuple[Any, ...]], device_id: str) -> bool:
    row = db.execute("SELECT revoked_at IS NOT NULL FROM devices WHERE id = %s",
                     (device_id,)).fetchone()
    assert row is not None
    return bool(row[0])


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def test_revoking_disconnects_exactly_that_client_with_the_api_key(
        settings: Settings, db: psycopg.Connection[tuple[Any, ...]], emqx: EmqxStandIn,
        provisioned: Callable[..., list[Credentials]], tmp_path: Path) -> None:
    gone, other = provisioned(count=2)
    emqx.connected |= {gone.device_id, other.device_id}

    done = homeloop(settings, emqx_env(emqx.url, emqx, tmp_path),
                    "devices", "revoke", gone.device_id)

    assert done.returncode == 0, done.stderr
    assert [(r.method, r.path, r.authorization) for r in emqx.requests] == [
        ("DELETE", f"/api/v5/clients/{gone.device_id}", basic(emqx.key, emqx.secret))]
    assert emqx.connected == {other.device_id}
    assert revoked(db, gone.device_id) and not revoked(db, other.device_id)
    assert not (tmp_path / "passwd").exists()


def test_a_device_that_is_not_connected_is_revoked_without_complaint(
        settings: Settings, db: psycopg.Connection[tuple[Any, ...]], emqx: EmqxStandIn,
        provisioned: Callable[..., list[Credentials]], tmp_path: Path) -> None:
    [tag] = provisioned()  # not in emqx.connected: EMQX answers 404

    done = homeloop(settings, emqx_env(emqx.url, emqx, tmp_path), "devices", "revoke",
                    tag.device_id)

    assert done.returncode == 0, done.stderr
    assert len(emqx.requests) == 1 and revoked(db, tag.device_id)


def test_a_node_restarting_is_retried(
        settings: Settings, db: psycopg.Connection[tuple[Any, ...]], emqx: EmqxStandIn,
        provisioned: Callable[..., list[Credentials]], tmp_path: Path) -> None:
    [tag] = provisioned()
    emqx.connected.add(tag.device_id)
    emqx.unavailable = 2  # 503, 503, then it answers

    done = homeloop(settings, emqx_env(emqx.url, emqx, tmp_path), "devices", "revoke",
                    tag.device_id)

    assert done.returncode == 0, done.stderr
    assert len(emqx.requests) == 3 and emqx.connected == set()


def test_an_unreachable_emqx_leaves_the_device_revoked_and_says_so(
        settings: Settings, db: psycopg.Connection[tuple[Any, ...]], emqx: EmqxStandIn,
        provisioned: Callable[..., list[Credentials]], tmp_path: Path) -> None:
    [tag] = provisioned()
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there

    done = homeloop(settings, emqx_env(nobody, emqx, tmp_path), "devices", "revoke",
                    tag.device_id)

    assert done.returncode == 1
    assert tag.device_id in done.stderr and "EMQX could not be reached" in done.stderr
    assert revoked(db, tag.device_id)
    # Once EMQX answers again, revoking again closes the connection.
    emqx.connected.add(tag.device_id)
    again = homeloop(settings, emqx_env(emqx.url, emqx, tmp_path), "devices", "revoke",
                     tag.device_id)
    assert again.returncode == 0, again.stderr
    assert emqx.connected == set()


def test_a_wrong_api_key_is_reported(
        settings: Settings, db: psycopg.Connection[tuple[Any, ...]], emqx: EmqxStandIn,
        provisioned: Callable[..., list[Credentials]], tmp_path: Path) -> None:
    [tag] = provisioned()
    env = {**emqx_env(emqx.url, emqx, tmp_path), "emqx_api_secret": "not-the-secret"}

    done = homeloop(settings, env, "devices", "revoke", tag.device_id)

    assert done.returncode == 1 and "HTTP 401" in done.stderr
    assert revoked(db, tag.device_id) and len(emqx.requests) == 1  # a refusal is not retried


def test_provisioning_under_emqx_renders_no_mosquitto_files(
        settings: Settings, db: psycopg.Connection[tuple[Any, ...]], emqx: EmqxStandIn,
        tmp_path: Path) -> None:
    env = emqx_env(emqx.url, emqx, tmp_path)
    done = homeloop(settings, env, "devices", "provision", "--sku", "WP-500", "--count", "2")
    assert done.returncode == 0, done.stderr
    assert db.execute("SELECT count(*) FROM devices").fetchone() == (2,)
    assert not (tmp_path / "passwd").exists() and not (tmp_path / "acl").exists()
    # The peer: the same command with Mosquitto (the default) renders them.
    mosquitto = {k: v for k, v in env.items() if not k.startswith(("broker", "emqx"))}
    done = homeloop(settings, mosquitto, "devices", "provision", "--sku", "WP-500")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "passwd").read_text().count("\nhl-") == 3
    assert emqx.requests == []


def test_the_staff_route_disconnects_through_emqx_and_answers_503_when_it_cannot(
        settings: Settings, db: psycopg.Connection[tuple[Any, ...]], emqx: EmqxStandIn,
        provisioned: Callable[..., list[Credentials]], tmp_path: Path) -> None:
    first, second = provisioned(count=2)
    emqx.connected |= {first.device_id, second.device_id}
    under_emqx = settings.model_copy(update={
        "broker": "emqx", "emqx_api_url": emqx.url, "emqx_api_key": emqx.key,
        "emqx_api_secret": emqx.secret, "emqx_backoff_s": 0.0, "emqx_attempts": 3,
        "mqtt_password_file": tmp_path / "passwd", "mqtt_acl_file": tmp_path / "acl",
        "mqtt_pid_file": tmp_path / "mosquitto.pid"})
    operator = auth(settings, "staff:fleet", role="fleet_operator")

    with TestClient(create_app(under_emqx)) as client:
        done = client.post(f"/v1/staff/devices/{first.device_id}/revoke", headers=operator)
        assert done.status_code == 204, done.text
        assert emqx.connected == {second.device_id}

        emqx.unavailable = 10  # every attempt fails
        failed = client.post(f"/v1/staff/devices/{second.device_id}/revoke",
                             headers=operator)
        assert failed.status_code == 503
        assert failed.headers["content-type"].startswith("application/problem+json")
        assert "can no longer sign in" in failed.json()["detail"]
    assert revoked(db, first.device_id) and revoked(db, second.device_id)
    assert [r.path for r in emqx.requests] == (
        [f"/api/v5/clients/{first.device_id}"] + [f"/api/v5/clients/{second.device_id}"] * 3)
    assert not (tmp_path / "passwd").exists()
