"""Orders tests: the API fixtures and a customer who let the Xuhui store in."""

from __future__ import annotations

from tests.api.conftest import auth_emulator as auth_emulator
from tests.api.conftest import client as client
from tests.clienteling.conftest import assistant as assistant
from tests.clienteling.conftest import customer as customer
