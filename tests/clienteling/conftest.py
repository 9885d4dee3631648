"""Clienteling tests: the API fixtures, a customer who let the Xuhui store in, an assistant."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.seed import OUT_OF_STOCK, SKUS, STORES
from customers import store as customers
from homeloop.settings import Settings
from identity.privacy import set_store_consent
from tests.api.conftest import auth
from tests.api.conftest import auth_emulator as auth_emulator
from tests.api.conftest import client as client


@pytest.fixture(autouse=True)
def seeded_stock(db: Any) -> None:
    """Orders take stock; every test starts from the seed catalog's."""
    stock = [(store[0], sku[0], 0 if (store[0], sku[0]) in OUT_OF_STOCK else 12)
             for store in STORES for sku in SKUS if not sku[0].startswith("SVC-")]
    with db.cursor() as cur:
        cur.executemany("UPDATE inventory SET on_hand = %s WHERE store_id = %s AND sku = %s",
                        [(n, store, sku) for store, sku, n in stock])


@pytest.fixture
def customer(db: Any) -> int:
    """A customer of the Xuhui store who let it see their data, never in quiet hours."""
    made = customers.create_customer(db, "Lin", locale="en-GB", home_store_id="SH-XUHUI")
    db.execute("UPDATE customers SET quiet_start = '00:00', quiet_end = '00:00' WHERE id = %s",
               (made,))
    set_store_consent(db, made, "SH-XUHUI", True)
    return made


@pytest.fixture
def assistant(settings: Settings, db: Any) -> dict[str, str]:
    return auth(settings, "staff:ann", role="assistant", store="SH-XUHUI")
