"""Plans made in code: the demo's community layouts and the benchmark's home (pure)."""

from __future__ import annotations

from floorplans.schemas import Fixture, FloorPlan, Opening, Placement, Room, Wall


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def three_bedroom(name: str = "Three bedrooms, 90 m²") -> FloorPlan:
    """A 10 × 9 m flat: living room, kitchen, bathroom and three bedrooms."""
    outer, inner = 0.2, 0.1
    walls = [
        Wall(id="south", start=(0, 0), end=(10, 0), thickness=outer, height=2.7),
        Wall(id="east", start=(10, 0), end=(10, 9), thickness=outer, height=2.7),
        Wall(id="north", start=(10, 9), end=(0, 9), thickness=outer, height=2.7),
        Wall(id="west", start=(0, 9), end=(0, 0), thickness=outer, height=2.7),
        Wall(id="mid", start=(0, 5), end=(10, 5), thickness=inner, height=2.7),
        Wall(id="bath-w", start=(4, 5), end=(4, 9), thickness=inner, height=2.7),
        Wall(id="bath-e", start=(6, 5), end=(6, 9), thickness=inner, height=2.7),
        Wall(id="kitchen-w", start=(8, 0), end=(8, 5), thickness=inner, height=2.7),
        Wall(id="kitchen-n", start=(8, 2.5), end=(10, 2.5), thickness=inner, height=2.7),
    ]
    openings = [
        Opening(id="entrance", wall_id="south", kind="door", offset=6.5, width=0.9, height=2.1,
                swing="left", entrance=True),
        Opening(id="door-bed1", wall_id="mid", kind="door", offset=3.0, width=0.8, height=2.1,
                swing="left"),
        Opening(id="door-bath", wall_id="mid", kind="door", offset=5.0, width=0.7, height=2.1,
                swing="left"),
        Opening(id="door-bed2", wall_id="mid", kind="door", offset=7.0, width=0.8, height=2.1,
                swing="left"),
        Opening(id="door-kitchen", wall_id="kitchen-w", kind="door", offset=1.2, width=0.8,
                height=2.1, swing="right"),
        Opening(id="door-bed3", wall_id="kitchen-w", kind="door", offset=3.8, width=0.8,
                height=2.1, swing="right"),
        Opening(id="win-living", wall_id="south", kind="window", offset=3.0, width=2.4,
                height=1.6, sill=0.6),
        Opening(id="win-bed1", wall_id="north", kind="window", offset=8.0, width=1.5,
                height=1.4, sill=0.9),
        Opening(id="win-bed2", wall_id="north", kind="window", offset=2.0, width=1.5,
                height=1.4, sill=0.9),
        Opening(id="win-bed3", wall_id="east", kind="window", offset=3.8, width=1.2,
                height=1.4, sill=0.9),
        Opening(id="win-kitchen", wall_id="east", kind="window", offset=1.2, width=1.0,
                height=1.0, sill=1.1),
    ]
    rooms = [
        Room(id="living", name="Living room", name_zh="客厅", polygon=_rect(0, 0, 8, 5)),
        Room(id="kitchen", name="Kitchen", name_zh="厨房", polygon=_rect(8, 0, 10, 2.5)),
        Room(id="bed3", name="Bedroom 3", name_zh="卧室3", polygon=_rect(8, 2.5, 10, 5)),
        Room(id="bed1", name="Bedroom 1", name_zh="卧室1", polygon=_rect(0, 5, 4, 9)),
        Room(id="bath", name="Bathroom", name_zh="卫生间", polygon=_rect(4, 5, 6, 9)),
        Room(id="bed2", name="Bedroom 2", name_zh="卧室2", polygon=_rect(6, 5, 10, 9)),
    ]
    fixtures = [
        Fixture(id="k-water", kind="water", position=(9.3, 0.15)),
        Fixture(id="k-drain", kind="drain", position=(9.5, 0.2), wall_distance=0.1),
        Fixture(id="k-power", kind="power", position=(8.6, 0.12)),
        Fixture(id="b-drain", kind="drain", position=(5.0, 8.6), wall_distance=0.3),
        Fixture(id="b-water", kind="water", position=(5.5, 8.85)),
        Fixture(id="b-power", kind="power", position=(4.2, 8.85)),
        Fixture(id="b-wm-drain", kind="drain", position=(4.3, 5.3), wall_distance=0.25),
        Fixture(id="b-wm-water", kind="water", position=(4.12, 6.2)),
        Fixture(id="b-wm-power", kind="power", position=(4.12, 6.4)),
        Fixture(id="l-power-1", kind="power", position=(0.12, 2.5)),
        Fixture(id="l-power-2", kind="power", position=(7.88, 4.0)),
        Fixture(id="bed1-power", kind="power", position=(0.12, 7.0)),
        Fixture(id="bed2-power", kind="power", position=(9.88, 7.0)),
    ]
    return FloorPlan(name=name, rooms=rooms, walls=walls, openings=openings, fixtures=fixtures)


def two_bedroom(name: str = "Two bedrooms, 72 m²") -> FloorPlan:
    """The same block's smaller unit: 8 × 9 m, living room, bathroom and two bedrooms."""
    walls = [
        Wall(id="south", start=(0, 0), end=(8, 0), thickness=0.2, height=2.7),
        Wall(id="east", start=(8, 0), end=(8, 9), thickness=0.2, height=2.7),
        Wall(id="north", start=(8, 9), end=(0, 9), thickness=0.2, height=2.7),
        Wall(id="west", start=(0, 9), end=(0, 0), thickness=0.2, height=2.7),
        Wall(id="mid", start=(0, 5), end=(8, 5), thickness=0.1, height=2.7),
        Wall(id="bath-w", start=(4, 5), end=(4, 9), thickness=0.1, height=2.7),
        Wall(id="bath-e", start=(5.6, 5), end=(5.6, 9), thickness=0.1, height=2.7),
    ]
    rooms = [
        Room(id="living", name="Living room", name_zh="客厅", polygon=_rect(0, 0, 8, 5)),
        Room(id="bed1", name="Bedroom 1", name_zh="卧室1", polygon=_rect(0, 5, 4, 9)),
        Room(id="bath", name="Bathroom", name_zh="卫生间", polygon=_rect(4, 5, 5.6, 9)),
        Room(id="bed2", name="Bedroom 2", name_zh="卧室2", polygon=_rect(5.6, 5, 8, 9)),
    ]
    openings = [
        Opening(id="entrance", wall_id="south", kind="door", offset=6.5, width=0.9, height=2.1,
                swing="left", entrance=True),
        Opening(id="door-bed1", wall_id="mid", kind="door", offset=3.0, width=0.8, height=2.1),
        Opening(id="door-bath", wall_id="mid", kind="door", offset=4.8, width=0.7, height=2.1),
        Opening(id="door-bed2", wall_id="mid", kind="door", offset=6.8, width=0.8, height=2.1),
        Opening(id="win-living", wall_id="south", kind="window", offset=3.0, width=2.4,
                height=1.6, sill=0.6),
        Opening(id="win-bed2", wall_id="north", kind="window", offset=1.2, width=1.2,
                height=1.4, sill=0.9),
        Opening(id="win-bed1", wall_id="north", kind="window", offset=6.0, width=1.5,
                height=1.4, sill=0.9),
    ]
    fixtures = [
        Fixture(id="b-drain", kind="drain", position=(4.8, 8.5), wall_distance=0.4),
        Fixture(id="b-water", kind="water", position=(5.2, 8.85)),
        Fixture(id="l-power-1", kind="power", position=(0.12, 2.5)),
        Fixture(id="bed1-power", kind="power", position=(0.12, 7.0)),
    ]
    return FloorPlan(name=name, rooms=rooms, walls=walls, openings=openings, fixtures=fixtures)


# A furnished home on :func:`three_bedroom`, as the demo shows it: products against their walls,
# fixtures in reach; the assembled wardrobe's box (86 cm) will not pass the 80 cm bedroom door.
HOME: list[tuple[str, str, tuple[float, float], float]] = [
    ("sofa", "SOFA-3-GREY", (0.54, 2.5), 90.0),
    ("floor-lamp", "LAMP-FLOOR", (0.35, 1.1), 0.0),
    ("dishwasher", "DW-60", (9.0, 0.385), 0.0),
    ("coffee", "CM-100", (8.45, 0.3), 0.0),
    ("bed", "BED-180", (2.0, 7.855), 180.0),
    ("wardrobe", "WARDROBE-150", (0.515, 6.0), 90.0),
    ("toilet", "WC-300", (5.0, 8.57), 180.0),
    ("washer", "WM-8", (4.33, 5.6), 90.0),
    ("guest-bed", "BED-150", (8.2, 7.855), 180.0),
    ("bedside-lamp", "LAMP-TABLE", (9.6, 8.3), 0.0),
]


def home() -> list[Placement]:
    return [Placement(id=pid, sku=sku, position=pos, rotation=rot) for pid, sku, pos, rot in HOME]


def furnished(count: int = 40) -> list[Placement]:
    """``count`` placements for the three-bedroom plan: a furnished home, repeated SKUs."""
    base = [
        ("SOFA-3-GREY", (3.0, 4.4), 180.0), ("SOFA-2-BEIGE", (0.6, 2.6), 90.0),
        ("LAMP-FLOOR", (0.4, 4.5), 0.0), ("LAMP-FLOOR", (4.4, 4.6), 0.0),
        ("DW-60", (9.0, 0.4), 0.0), ("CM-100", (8.4, 0.35), 0.0),
        ("BED-180", (2.0, 7.8), 180.0), ("LAMP-TABLE", (0.5, 8.6), 0.0),
        ("LAMP-TABLE", (3.5, 8.6), 0.0), ("WARDROBE-100-FLAT", (0.45, 6.2), 90.0),
        ("WC-300", (5.0, 8.55), 180.0), ("WM-8", (4.45, 5.45), 0.0),
        ("BED-150", (8.2, 7.9), 180.0), ("LAMP-TABLE", (9.6, 8.6), 0.0),
        ("WARDROBE-100-FLAT", (9.55, 6.0), 270.0), ("BED-150", (9.1, 3.7), 270.0),
    ]
    out: list[Placement] = []
    i = 0
    while len(out) < count:
        sku, (x, y), rot = base[i % len(base)]
        if i >= len(base):  # more of the small things, spread along the living room's front
            k = i - len(base)
            sku, (x, y), rot = ("LAMP-TABLE" if k % 2 else "LAMP-FLOOR",
                                (0.5 + (k % 12) * 0.55, 0.35 + (k // 12) * 0.5), 0.0)
        out.append(Placement(id=f"p{i + 1}", sku=sku, position=(x, y), rotation=rot))
        i += 1
    return out
