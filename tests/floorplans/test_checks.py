"""Each check on a 4 × 4 m room: a case it must flag and one it must let pass."""

from __future__ import annotations

import re

import pytest

from floorplans.checks import fits_through, run_all
from floorplans.geometry import Product
from floorplans.schemas import Finding, Fixture, FloorPlan, Opening, Placement, Room, Wall

CJK = re.compile(r"[\u4e00-\u9fff]")
PRODUCTS = {
    "SOFA": Product("SOFA", "3-seat sofa", "sofa", 2180, 880, 780, (2250, 950, 850)),
    "BED": Product("BED", "bed", "bed", 1660, 2090, 1000, (2100, 500, 200)),
    "WC-300": Product("WC-300", "toilet 300", "toilet", 370, 660, 760, (450, 740, 830), 300,
                      ("water", "drain")),
    "WC-400": Product("WC-400", "toilet 400", "toilet", 380, 720, 770, (460, 800, 840), 400,
                      ("water", "drain")),
    "DW": Product("DW", "dishwasher", "dishwasher", 598, 570, 818, (650, 640, 880), None,
                  ("water", "drain", "power")),
    "WARDROBE": Product("WARDROBE", "wardrobe, assembled", "wardrobe", 1500, 830, 2010,
                        (1560, 860, 2080)),
    "LAMP": Product("LAMP", "lamp", "lamp", 420, 420, 1810, None, None, ("power",)),
}


def room(door_width: float = 0.8, fixtures: list[Fixture] | None = None) -> FloorPlan:
    """A 4 × 4 m room; its door (the entrance) on the south wall opens inwards."""
    walls = [Wall(id="s", start=(0, 0), end=(4, 0)), Wall(id="e", start=(4, 0), end=(4, 4)),
             Wall(id="n", start=(4, 4), end=(0, 4)), Wall(id="w", start=(0, 4), end=(0, 0))]
    door = Opening(id="door", wall_id="s", kind="door", offset=2.0, width=door_width,
                   height=2.1, hinge="start", swing="left", entrance=True)
    return FloorPlan(rooms=[Room(id="r", name="Bedroom", polygon=[(0, 0), (4, 0), (4, 4),
                                                                  (0, 4)])],
                     walls=walls, openings=[door], fixtures=fixtures or [])


def at(pid: str, sku: str, x: float, y: float, rotation: float = 0.0) -> Placement:
    return Placement(id=pid, sku=sku, position=(x, y), rotation=rotation)


def found(plan: FloorPlan, *placements: Placement, check: str) -> list[Finding]:
    return [f for f in run_all(plan, list(placements), PRODUCTS, "en") if f.check == check]


# A sofa against the north wall (inner face at y = 3.95), facing south into the room.
SOFA_OK = at("sofa", "SOFA", 2.0, 3.95 - 0.44, 180)


def test_inside_room() -> None:
    assert found(room(), SOFA_OK, check="inside_room") == []
    [finding] = found(room(), at("sofa", "SOFA", 3.8, 2.0, 90), check="inside_room")
    assert finding.placement_ids == ["sofa"]
    assert "sticks out of the bedroom" in finding.message
    [far] = found(room(), at("sofa", "SOFA", 10, 10), check="inside_room")
    assert "outside the rooms" in far.message


def test_overlap_with_walls() -> None:
    assert found(room(), SOFA_OK, check="wall_overlap") == []
    [finding] = found(room(), at("sofa", "SOFA", 2.0, 3.7, 180), check="wall_overlap")
    assert finding.placement_ids == ["sofa"]
    assert "runs into a wall" in finding.message


def test_overlap_between_products() -> None:
    lamp_beside = at("lamp", "LAMP", 3.5, 3.7)
    assert found(room(), SOFA_OK, lamp_beside, check="product_overlap") == []
    [finding] = found(room(), SOFA_OK, at("lamp", "LAMP", 2.5, 3.5), check="product_overlap")
    assert finding.placement_ids == ["sofa", "lamp"]
    assert finding.message == "The sofa and the lamp overlap."


def test_door_swing() -> None:
    # The door's leaf (80 cm) sweeps a quarter disc inside the room from its hinge at x = 1.6.
    assert found(room(), SOFA_OK, check="door_swing") == []
    [finding] = found(room(), at("lamp", "LAMP", 1.9, 0.5), check="door_swing")
    assert finding.placement_ids == ["lamp"]
    assert "blocks the swing of the entrance door" in finding.message


def test_walkway_of_80_cm() -> None:
    bed = at("bed", "BED", 1.0, 3.95 - 1.045, 180)  # against the north wall, foot to the south
    wide = at("wardrobe", "WARDROBE", 3.95 - 0.415, 1.0, 270)  # against the east wall
    assert found(room(), bed, check="walkway") == []
    # a wardrobe facing the foot of the bed, 15 cm away: neither can be walked up to
    tight = found(room(), bed, at("wardrobe", "WARDROBE", 1.2, 1.3, 0), check="walkway")
    assert [f.message for f in tight] == [
        "There is less than 80 cm of free floor to walk up to the front of the bed.",
        "There is less than 80 cm of free floor to walk up to the front of the wardrobe."]
    assert tight[0].placement_ids == ["bed", "wardrobe"]
    assert found(room(), bed, wide, check="walkway") == []


@pytest.mark.parametrize(("sku", "drain_mm", "flagged"), [
    ("WC-300", 300, False), ("WC-300", 315, False), ("WC-300", 400, True),
    ("WC-400", 300, True), ("WC-400", 390, False)])
def test_toilet_rough_in_against_the_drain(sku: str, drain_mm: int, flagged: bool) -> None:
    fixtures = [Fixture(id="drain", kind="drain", position=(1.0, 3.95 - drain_mm / 1000),
                        wall_distance=drain_mm / 1000),
                Fixture(id="water", kind="water", position=(1.4, 3.9))]
    toilet = at("wc", sku, 1.0, 3.95 - 0.36, 180)
    findings = found(room(fixtures=fixtures), toilet, check="fixture")
    if flagged:
        [finding] = findings
        rough_in = PRODUCTS[sku].rough_in_mm
        assert finding.message.startswith(
            f"This {rough_in} mm rough-in toilet does not match your drain at {drain_mm} mm "
            "from the wall")
    else:
        assert findings == []


def test_services_within_reach() -> None:
    services = [Fixture(id="w", kind="water", position=(3.9, 0.5)),
                Fixture(id="d", kind="drain", position=(3.9, 0.8)),
                Fixture(id="p", kind="power", position=(3.9, 1.2))]
    dishwasher = at("dw", "DW", 3.95 - 0.29, 1.0, 270)
    assert found(room(fixtures=services), dishwasher, check="fixture") == []
    far = [f.model_copy(update={"position": (0.1, 3.5)}) if f.kind == "water" else f
           for f in services]
    [finding] = found(room(fixtures=far), dishwasher, check="fixture")
    assert "needs a water supply within 1.5 m" in finding.message
    [none] = found(room(fixtures=services[1:]), dishwasher, check="fixture")
    assert none.message == "The dishwasher needs a water supply, and this plan has none."


def test_delivery_through_the_doors() -> None:
    wardrobe = at("wardrobe", "WARDROBE", 2.0, 3.5, 180)
    assert found(room(door_width=0.9), wardrobe, check="delivery") == []
    [finding] = found(room(door_width=0.8), wardrobe, check="delivery")
    assert finding.message == ("The boxed wardrobe (208 × 156 × 86 cm) will not fit through "
                               "your entrance door, which is 80 cm wide.")


def test_fits_through_tilted() -> None:
    assert fits_through((2100, 500, 200), 0.8, 2.1)  # a flat-packed bed, upright
    assert not fits_through((1560, 860, 2080), 0.8, 2.1)
    assert fits_through((900, 850, 2200), 0.9, 2.1)  # long side along the passage
    assert not fits_through((950, 920, 2200), 0.9, 2.1)


def test_the_checks_speak_chinese_to_a_chinese_reader() -> None:
    """The same findings, in the reader's language: the same checks and placements, every
    sentence Chinese, with the items, rooms, doors and needs named in Chinese."""
    lamps = [at("lamp", "LAMP", 2.5, 3.5), at("lamp2", "LAMP", 2.6, 3.4)]
    far = [Fixture(id="w", kind="water", position=(0.1, 3.5)),
           Fixture(id="d", kind="drain", position=(3.9, 0.8)),
           Fixture(id="p", kind="power", position=(3.9, 1.2))]
    design = [SOFA_OK, *lamps, at("dw", "DW", 3.95 - 0.29, 1.0, 270),
              at("wardrobe", "WARDROBE", 1.9, 0.5)]
    plan = room(fixtures=far)
    zh = run_all(plan, design, PRODUCTS, "zh-CN")
    en = run_all(plan, design, PRODUCTS, "en")
    assert [(f.check, f.placement_ids) for f in zh] == [(f.check, f.placement_ids) for f in en]
    assert zh and all(CJK.search(f.message) and not re.search(r"[a-z]{3}", f.message)
                      for f in zh), [f.message for f in zh]
    messages = {f.message for f in zh}
    assert "沙发和第一个台灯重叠了。" in messages
    assert "第一个台灯和第二个台灯重叠了。" in messages
    assert "洗碗机需要 1.5 米以内有供水；最近的在 3.9 米之外。" in messages
    assert "衣柜挡住了入户门的开启范围：门无法完全打开。" in messages
    assert "The first lamp and the second lamp overlap." in {f.message for f in en}
