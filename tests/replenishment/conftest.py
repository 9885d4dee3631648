"""Fixtures the replenishment tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.fixture
def stock(db: Conn) -> Iterator[Callable[[str, str, int], None]]:
    """Change the seed stock for one test; it is put back after."""
    changed: list[tuple[str, str, int]] = []

    def set_stock(store_id: str, sku: str, on_hand: int) -> None:
        row = db.execute("SELECT on_hand FROM inventory WHERE store_id = %s AND sku = %s",
                         (store_id, sku)).fetchone()
        assert row is not None
        changed.append((store_id, sku, row[0]))
        db.execute("UPDATE inventory SET on_hand = %s WHERE store_id = %s AND sku = %s",
                   (on_hand, store_id, sku))

    yield set_stock
    for store_id, sku, on_hand in reversed(changed):
        db.execute("UPDATE inventory SET on_hand = %s WHERE store_id = %s AND sku = %s",
                   (on_hand, store_id, sku))
