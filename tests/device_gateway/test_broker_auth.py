"""The broker's password file follows the gateway's password, whatever an older run wrote."""

from __future__ import annotations

from pathlib import Path

from device_gateway.broker_auth import (
    hash_password,
    refresh_gateway_entry,
    verify_password,
    write_auth_files,
)
from homeloop.settings import Settings


def _entries(path: Path) -> dict[str, str]:
    return dict(line.split(":", 1) for line in path.read_text().splitlines())


def test_an_install_moves_from_the_old_built_in_gateway_password_to_its_own(
        tmp_path: Path) -> None:
    settings = Settings(env="development", state_dir=tmp_path)
    # What `homeloop services up` rendered before installs made their own password.
    old = settings.model_copy(update={"gateway_password": "homeloop-gateway-dev-password"})
    device = ("hl-0001", hash_password("device password"))
    write_auth_files(old, [device])

    assert refresh_gateway_entry(settings) is True
    entries = _entries(settings.password_file)
    assert verify_password(settings.gateway_password, entries[settings.gateway_username])
    assert not verify_password("homeloop-gateway-dev-password",
                               entries[settings.gateway_username])
    assert entries["hl-0001"] == device[1]  # the devices keep their credentials
    assert refresh_gateway_entry(settings) is False  # nothing more to do
