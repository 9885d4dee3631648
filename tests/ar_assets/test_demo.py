"""``make demo`` gives the seed catalog's products models, once."""

from __future__ import annotations

from typing import Any

import psycopg

from ar_assets import service
from ar_assets.lod import read_glb
from ar_assets.validator import validate_glb
from devtools.demo.models import seed_models
from homeloop.db import connect
from homeloop.settings import Settings

Conn = psycopg.Connection[tuple[Any, ...]]
ZH = {"grey": "灰色", "beige": "米色"}


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


def test_the_demo_sofas_look_like_their_catalog_lines_and_stand_ins_say_so(
        settings: Settings, db: Conn) -> None:
    with connect(settings) as conn:
        made = seed_models(conn, settings, say=lambda _line: None,
                           skus={"SOFA-3-GREY", "SOFA-2-BEIGE", "BED-180"})
    assert sorted(made) == [("BED-180", "ready"), ("SOFA-2-BEIGE", "ready"),
                            ("SOFA-3-GREY", "ready")]
    rows = {sku: (size, variants, report) for sku, size, variants, report in db.execute(
        "SELECT sku, bbox->'size', variants, report FROM assets WHERE sku IN "
        "('SOFA-3-GREY', 'SOFA-2-BEIGE', 'BED-180')")}
    for sku, width, depth, height in (("SOFA-3-GREY", 2.18, 0.88, 0.78),
                                      ("SOFA-2-BEIGE", 1.68, 0.88, 0.78)):
        (w, h, d), variants, report = rows[sku][0], rows[sku][1], rows[sku][2]
        # within a few centimetres of the catalog's size (the old model was 2.73 m long)
        assert abs(w - width) < 0.03 and abs(d - depth) < 0.03 and abs(h - height) < 0.03, sku
        assert variants == (["grey", "beige"] if sku == "SOFA-3-GREY" else ["beige", "grey"])
        assert not report.get("placeholder")
        for profile in ("phone", "planner", "vr"):
            glb = service.lod_for_sku(db, settings, sku, profile)
            assert glb is not None and validate_glb(glb).errors == 0
            doc, _ = read_glb(glb)
            # the SKU's own colour shows by default, and it is that colour, not brown
            shown = {doc["materials"][p["material"]]["name"] for m in doc["meshes"]
                     for p in m["primitives"]}
            assert shown == {f"fabric colour:{variants[0]}={ZH[variants[0]]}",
                             f"fringe colour:{variants[0]}={ZH[variants[0]]}"}
            fabric = next(m for m in doc["materials"] if m["name"].startswith("fabric colour:grey"))
            r, g, b, _ = fabric["pbrMetallicRoughness"]["baseColorFactor"]
            assert abs(r - g) < 0.03 and abs(g - b) < 0.03  # grey: no hue
    assert rows["BED-180"][2]["placeholder"] is True  # a generated shape says it is a stand-in
