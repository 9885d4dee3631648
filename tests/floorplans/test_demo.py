"""The demo's community, layouts and furnished design."""

from __future__ import annotations

from typing import Any

import psycopg

from customers import store as customers
from devtools.demo.community import seed_floorplans
from floorplans import service, store
from homeloop.settings import Settings


def test_demo_design_shows_one_real_problem(db: psycopg.Connection[tuple[Any, ...]],
                                            settings: Settings) -> None:
    owner = customers.create_customer(db, "Li Wei", home_store_id="SH-XUHUI")
    design_id = seed_floorplans(db, owner)
    assert seed_floorplans(db, owner) == design_id  # a second demo run adds nothing
    assert [r["unit_type"] for r in store.search_layouts(db, "jade", None, None)] == ["2B", "3B"]
    design = store.get_design(db, design_id)
    assert len(design.placements) == 10
    findings = service.findings(db, design)
    assert [(f.check, f.placement_ids) for f in findings] == [("delivery", ["wardrobe"])]
    bom = service.bill_of_materials(db, design, "SH-XUHUI", nearby_km=settings.nearby_store_km)
    assert bom.total_cents > 0 and all(line.online is not None for line in bom.lines)
