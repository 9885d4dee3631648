"""Demo data: a residential community with two shared layouts, and a furnished design."""

from __future__ import annotations

from devtools import layouts
from floorplans import service, store
from floorplans.schemas import DesignBody
from homeloop.db import Conn

COMMUNITY = ("Jade Garden", "Shanghai", "88 Hongqiao Road, Xuhui")


def seed_floorplans(conn: Conn, customer_id: int) -> str:
    """The community and its 3B and 2B layouts (again: updated), and the customer's design on
    a private copy of the 3B layout (made once); the design's id."""
    community = store.insert_community(conn, *COMMUNITY)
    three = store.insert_layout(conn, community["id"], "3B", "Three bedrooms, 90 m²",
                                layouts.three_bedroom())
    store.insert_layout(conn, community["id"], "2B", "Two bedrooms, 72 m²",
                        layouts.two_bedroom())
    row = conn.execute("SELECT id::text FROM designs WHERE owner_id = %s ORDER BY created_at "
                       "LIMIT 1", (customer_id,)).fetchone()
    if row is not None:
        return str(row[0])
    body = DesignBody(name="Our new flat", layout_id=three["id"], placements=layouts.home())
    design = service.create_design(conn, body, owner_id=customer_id, store_id=None,
                                   author="demo")
    return design.id
