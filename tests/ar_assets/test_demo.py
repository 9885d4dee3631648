"""``make demo`` gives the seed catalog's products models, once."""

from __future__ import annotations

from typing import Any

import psycopg

from ar_assets import service
from ar_assets.validator import validate_glb
from devtools.demo.models import seed_models
from homeloop.db import connect
from homeloop.settings import Settings

Conn = psycopg.Connection[tuple[Any, ...]]


def test_seed_products_get_valid_models_at_their_size_and_a_rerun_adds_none(
        settings: Settings, db: Conn) -> None:
    with connect(settings) as conn:
        made = seed_models(conn, settings, say=lambda _line: None)
        again = seed_models(conn, settings, say=lambda _line: None)

    assert again == []
    assert {sku for sku, _ in made} >= {"SOFA-3-GREY", "WC-300", "LAMP-FLOOR", "DW-60", "BED-180"}
    assert all(status == "ready" for _, status in made), made
    size = db.execute("SELECT bbox->'size' FROM assets WHERE sku = 'DW-60'").fetchone()
    assert size is not None and [round(v, 3) for v in size[0]] == [0.598, 0.818, 0.57]
    toilet = service.lod_for_sku(db, settings, "WC-300", "planner")
    assert toilet is not None and validate_glb(toilet).errors == 0
