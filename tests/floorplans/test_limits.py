"""Numbers a house can have, malformed plans and the size limit: each a 4xx problem+json.

Every coordinate, size and storey is a JSON number (never a string), finite, and within the
install's limits (the ``plan_*`` settings), or the answer is 422 naming the field; a body over
the size limit is 413 as its bytes arrive, whatever the JSON inside.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from customers import store as customers
from devtools import layouts
from devtools.captures import two_storey_home
from homeloop.settings import Settings
from tests.api.conftest import auth
from tests.floorplans.test_plans import SAMPLE

Db = psycopg.Connection[tuple[Any, ...]]
PROBLEM = "application/problem+json"


def ours() -> dict[str, Any]:
    doc: dict[str, Any] = layouts.three_bedroom().model_dump(mode="json")
    return doc


def scan() -> dict[str, Any]:
    if SAMPLE.exists():
        doc: dict[str, Any] = json.loads(SAMPLE.read_text())
        return doc
    return two_storey_home().captured_room(two_storey_home().scans[0])


def changed(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy with the member at ``path`` (``walls.0.dimensions.0``) set to ``value``."""
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[int(last) if isinstance(node, list) else last] = value
    return doc


def post(client: TestClient, headers: dict[str, str], doc: Any = None,
         raw: bytes | None = None) -> Any:
    body = raw if raw is not None else json.dumps(doc).encode()
    return client.post("/v1/floorplans", headers={**headers, "Content-Type": "application/json"},
                       content=body)


@pytest.fixture
def me(settings: Settings, db: Db) -> dict[str, str]:
    return auth(settings, customers.create_customer(db, "Lin"))


# (what, document, the field the answer must name, words it must say)
OURS = [
    ("a width of 1e308", changed(ours(), "openings.0.width", 1e308), "openings.0.width",
     "out of range"),
    ("a coordinate of 1e308", changed(ours(), "walls.0.end.0", 1e308), "walls.0.end",
     "out of range"),
    ("a corner near 1e307 (area null)", changed(ours(), "rooms.0.polygon.2", [1e307, 1e307]),
     "rooms.0.polygon.2", "out of range"),
    ("a negative width", changed(ours(), "openings.0.width", -0.9), "openings.0.width",
     "greater than 0"),
    ("storey 1e30", changed(ours(), "rooms.0.storey", 1e30), "rooms.0.storey",
     "valid integer"),
    ("storey 1000", changed(ours(), "walls.0.storey", 1000), "walls.0.storey", "out of range"),
    ("a number as a string", changed(ours(), "walls.0.height", "2.7"), "walls.0.height",
     "valid number"),
    ("a coordinate as a string", changed(ours(), "rooms.0.polygon.0", ["0", "0"]),
     "rooms.0.polygon.0.0", "valid number"),
    ("a boolean as a string", changed(ours(), "openings.0.entrance", "true"),
     "openings.0.entrance", "valid boolean"),
    ("a wall 1e300 thick", changed(ours(), "walls.0.thickness", 1e300), "walls.0.thickness",
     "less than or equal to 2"),
    ("a rotation of 1e300", changed(ours(), "objects", [{"category": "sofa", "position": [1, 1],
                                                         "size": [2, 1, 1], "rotation": 1e300}]),
     "objects.0.rotation", "out of range"),
]
SCAN = [
    ("walls as an object", changed(scan(), "walls", {"a": 1}), "walls", "valid list"),
    ("a string inside walls", changed(scan(), "walls", ["wall"]), "walls.0",
     "valid dictionary"),
    ("a wall 1e308 wide", changed(scan(), "walls.0.dimensions.0", 1e308), "walls.0.dimensions",
     "out of range"),
    ("a negative wall", changed(scan(), "walls.1.dimensions.0", -3.0), "walls.1.dimensions",
     "cannot be negative"),
    ("a wall placed at 1e308", changed(scan(), "walls.0.transform.12", 1e308),
     "walls.0.transform", "out of range"),
    ("a window's width as a string", changed(scan(), "windows.0.dimensions.0", "1.2"),
     "windows.0.dimensions.0", "valid number"),
    ("story 1e30", changed(scan(), "walls.0.story", 1e30), "walls.0.story", "valid integer"),
    ("a floor corner at 1e308", changed(scan(), "floors.0.polygonCorners.0.0", 1e308),
     "floors.0.polygonCorners.0", "out of range"),
    ("a section label of a number", changed(scan(), "sections.0.label", 7), "sections.0.label",
     "valid string"),
    ("rooms as a string", {**scan(), "rooms": "kitchen"}, "rooms", "valid list"),
]


@pytest.mark.parametrize(("what", "doc", "field", "words"), OURS + SCAN,
                         ids=[c[0] for c in OURS + SCAN])
def test_refused_with_the_field_named(client: TestClient, me: dict[str, str], what: str,
                                      doc: dict[str, Any], field: str, words: str) -> None:
    r = post(client, me, doc)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    named = {".".join(map(str, e["loc"])): e["msg"] for e in body["errors"]}
    assert field in named, named
    assert words in named[field]
    assert field in body["detail"]


MARK = 12345.678  # a number to write over with what JSON does not have


@pytest.mark.parametrize(("what", "raw"), [
    ("an infinite door in a scan (1e999)", json.dumps(
        changed(scan(), "doors.0.dimensions.0", MARK)).replace(str(MARK), "1e999")),
    ("a scan's window NaN wide", json.dumps(
        changed(scan(), "windows.0.dimensions.0", MARK)).replace(str(MARK), "NaN")),
    ("nested a hundred thousand deep", "[" * 100_000 + "]" * 100_000),
])
def test_numbers_json_does_not_have_are_refused(client: TestClient, me: dict[str, str],
                                                what: str, raw: str) -> None:
    assert "1e999" in raw or "NaN" in raw or raw.startswith("[[")  # the change took
    r = post(client, me, raw=raw.encode())
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM


def test_the_configured_range(settings: Settings, db: Db) -> None:
    """The limits are the install's: here a home may reach 30 m from its origin, 2 storeys."""
    small = settings.model_copy(update={"plan_max_coordinate_m": 30.0, "plan_highest_storey": 1,
                                        "plan_max_walls": 8})
    me = auth(settings, customers.create_customer(db, "Lin"))
    with TestClient(create_app(small)) as client:
        assert post(client, me, ours()).status_code == 422  # 9 walls
        fits = {**ours(), "walls": ours()["walls"][:8]}
        assert post(client, me, fits).status_code == 201
        far = changed(fits, "fixtures.0.position", [31.0, 0.0])
        r = post(client, me, far)
        assert r.status_code == 422
        assert "at most 30 m from the plan's origin" in r.json()["detail"]
        upstairs = changed(fits, "rooms.0.storey", 2)
        assert "storey 2 is out of range: from -5 to 1" in post(client, me,
                                                               upstairs).json()["detail"]
        big = two_storey_home().structure()
        r = post(client, me, big)  # 16 walls in the structure's own list
        assert r.status_code == 422 and r.json()["code"] == "floorplan.too_many"
        assert r.json()["detail"] == "一个户型图最多有 8 个墙；该导出有 16 个。"  # Chinese first
        # a design's placements too
        plan_id = post(client, me, fits).json()["id"]
        r = client.post("/v1/designs", headers=me, json={"floor_plan_id": plan_id, "placements": [
            {"id": "far", "sku": "LAMP-FLOOR", "position": [40.0, 1.0]}]})
        assert r.status_code == 422 and "position" in r.json()["detail"]


def test_placements_must_be_numbers_a_house_can_have(client: TestClient,
                                                     me: dict[str, str]) -> None:
    plan_id = post(client, me, ours()).json()["id"]
    for placement, field in (({"position": [1e307, 1.0]}, "position"),
                             ({"position": ["1", "1"]}, "position"),
                             ({"rotation": 1e300}, "rotation"),
                             ({"storey": 1e30}, "storey")):
        r = client.post("/v1/designs", headers=me, json={"floor_plan_id": plan_id, "placements": [
            {"id": "p", "sku": "LAMP-FLOOR", "position": [1.0, 1.0], **placement}]})
        assert r.status_code == 422, (placement, r.text)
        assert r.headers["content-type"] == PROBLEM
        assert field in r.json()["detail"]


def test_a_window_above_a_door_is_a_plan_we_take(client: TestClient, me: dict[str, str]) -> None:
    doc = ours()
    doc["openings"].append({"id": "fanlight", "wall_id": "south", "kind": "window",
                            "offset": 6.5, "width": 0.9, "height": 0.4, "sill": 2.2})
    doc["openings"].append({"id": "upper", "wall_id": "south", "kind": "window",
                            "offset": 3.0, "width": 2.4, "height": 0.3, "sill": 2.3})
    r = post(client, me, doc)
    assert r.status_code == 201, r.text


def test_the_size_limit_is_on_the_bytes_received(settings: Settings, db: Db) -> None:
    """A small plan padded with spaces past the limit: 413 whether the size is declared or
    only seen as the bytes arrive (chunked), and nothing stored."""
    small = settings.model_copy(update={"plan_max_upload_bytes": 64 * 1024})
    me = auth(settings, customers.create_customer(db, "Lin"))
    body = json.dumps(ours()).encode()
    padded = body[:-1] + b" " * (64 * 1024) + b"}"
    assert json.loads(padded) == ours()  # the same plan, only bigger

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(padded), 4096):
            yield padded[i:i + 4096]

    with TestClient(create_app(small)) as client:
        assert post(client, me, raw=body).status_code == 201
        declared = post(client, me, raw=padded)
        assert declared.status_code == 413 and declared.headers["content-type"] == PROBLEM
        streamed = client.post("/v1/floorplans", content=chunks(),
                               headers={**me, "Content-Type": "application/json"})
        assert streamed.status_code == 413, streamed.text
        assert "at most 65,536 bytes" in streamed.json()["detail"]
    [(count,)] = db.execute("SELECT count(*) FROM floor_plans").fetchall()
    assert count == 1


def test_a_large_upload_is_refused_at_the_default_limit(client: TestClient,
                                                        me: dict[str, str]) -> None:
    """25 MiB of a valid plan and spaces (the issue's case) against the 20 MiB default."""
    body = json.dumps(ours()).encode()
    padded = body[:-1] + b" " * (25 * 1024 * 1024) + b"}"
    r = post(client, me, raw=padded)
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM
