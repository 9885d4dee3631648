"""The API tests' client and Auth emulator, for the floor plan routes."""

from tests.api.conftest import auth_emulator, client

__all__ = ["auth_emulator", "client"]
