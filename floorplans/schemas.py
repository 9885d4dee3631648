"""The floor plan, design and check shapes (pydantic), in metres and degrees.

Plan coordinates are metres on the floor, ``(x, y)``; in a 3D scene ``x`` is glTF X and ``y`` is
glTF Z, with Y up. A placement's ``rotation`` (degrees) turns it about Y; its front is its local
+Z, so a product at rotation 0 faces +y on the plan.

Numbers a house can have: every number is a JSON number (a string is refused, as are NaN and
the infinities), every coordinate, size and storey lies within :class:`Limits`, and every list
within its count. The limits a request is checked against come in the validation context
(``model_validate(..., context=limits.context())``: the settings' ``plan_*``); without one, the
wide :data:`SANE` bounds apply, within which every computation on a plan stays finite. A number
out of range is an error naming its field (``rooms.0.polygon.2``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    model_validator,
)


@dataclass(frozen=True, slots=True)
class Limits:
    """The numbers a house can have; anything outside is refused with the field named."""

    coordinate_m: float = 1_000.0  # how far any point may lie from the plan's origin (x and y)
    size_m: float = 100.0  # any width, height, depth, length, thickness or offset
    lowest_storey: int = -5
    highest_storey: int = 100
    rooms: int = 500
    walls: int = 5_000
    openings: int = 5_000  # doors, windows and open passages
    items: int = 5_000  # fixtures, detected objects, a design's placements (each list)
    corners: int = 2_000  # of one room's outline
    rotation_deg: float = 360.0  # either way

    def context(self) -> dict[str, Any]:
        """The validation context that checks a model against these limits."""
        return {"limits": self}


# Without a context (plans read back from the database, bodies FastAPI parses before the
# service checks them against the settings): wide bounds that keep all arithmetic finite
# (areas, float32 scene vertices). The settings' limits can only be narrower.
SANE = Limits(coordinate_m=100_000.0, size_m=10_000.0, lowest_storey=-1_000,
              highest_storey=1_000, rooms=100_000, walls=1_000_000, openings=1_000_000,
              items=1_000_000, corners=100_000, rotation_deg=1e6)


def limits_of(info: ValidationInfo) -> Limits:
    context = info.context
    found = context.get("limits") if isinstance(context, dict) else None
    return found if isinstance(found, Limits) else SANE


def _point(value: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
    bound = limits_of(info).coordinate_m
    for axis, v in zip("xy", value, strict=True):
        if abs(v) > bound:
            raise ValueError(f"{axis} = {v:g} m is out of range: a point lies at most "
                             f"{bound:,g} m from the plan's origin")
    return value


def _size(value: float, info: ValidationInfo) -> float:
    bound = limits_of(info).size_m
    if abs(value) > bound:
        raise ValueError(f"{value:g} m is out of range: a size or distance is at most "
                         f"{bound:,g} m")
    return value


def _storey(value: int, info: ValidationInfo) -> int:
    limits = limits_of(info)
    if not limits.lowest_storey <= value <= limits.highest_storey:
        raise ValueError(f"storey {value} is out of range: from {limits.lowest_storey} to "
                         f"{limits.highest_storey}")
    return value


def _degrees(value: float, info: ValidationInfo) -> float:
    bound = limits_of(info).rotation_deg
    if abs(value) > bound:
        raise ValueError(f"{value:g}° is out of range: a rotation is from -{bound:g}° to "
                         f"{bound:g}°")
    return value


def at_most(what: str, attr: str) -> BeforeValidator:
    """A list's count against its limit, checked before its items are."""
    def check(value: Any, info: ValidationInfo) -> Any:
        cap: int = getattr(limits_of(info), attr)
        if isinstance(value, list | tuple) and len(value) > cap:
            raise ValueError(f"at most {cap:,} {what}; this has {len(value):,}")
        return value
    return BeforeValidator(check)


Number = Annotated[float, Strict()]
Coordinate = Annotated[tuple[Number, Number], AfterValidator(_point)]
Size = Annotated[float, Strict(), AfterValidator(_size)]
Storey = Annotated[int, Strict(), AfterValidator(_storey)]
Degrees = Annotated[float, Strict(), AfterValidator(_degrees)]
Flag = Annotated[bool, Strict()]
Id = Annotated[str, Field(min_length=1, max_length=200)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Room(_Model):
    id: Id
    name: str = Field(max_length=200, description="In English (our JSON's default language)")
    name_zh: str | None = Field(default=None, max_length=200,
                                description="In Simplified Chinese, where known")
    label: str | None = Field(default=None, max_length=100,
                              description="What a scan recognised it as (RoomPlan's section "
                                          "label: kitchen, bedroom, bathroom, …)")
    storey: Storey = 0
    polygon: Annotated[list[Coordinate], at_most("corners", "corners")] = Field(
        min_length=3, description="Corners in order, metres")
    unscanned: list[tuple[Coordinate, Coordinate]] = Field(
        default=[], description="Stretches of the outline with no wall along them (a scan "
                                "that did not cover that side), each from one end to the other")


class Wall(_Model):
    id: Id
    start: Coordinate
    end: Coordinate
    thickness: Size = Field(default=0.1, gt=0, le=2)
    height: Size = Field(default=2.6, gt=0, le=20)
    storey: Storey = 0


class Opening(_Model):
    """A door, window or open passage in a wall, placed by its centre's distance along it."""

    id: Id
    wall_id: Id
    kind: Literal["door", "window", "opening"]
    offset: Size = Field(description="From the wall's start to the opening's centre, metres")
    width: Size = Field(gt=0)
    height: Size = Field(gt=0)
    sill: Size = Field(default=0.0, ge=0, description="Height of the bottom above the floor")
    hinge: Literal["start", "end"] = Field(
        default="start",
        description="Door: the hinge is on the jamb nearer the wall's start or end")
    swing: Literal["left", "right"] = Field(
        default="left",
        description="Door: the side of the wall (looking from start to end) it opens to")
    entrance: Flag = Field(default=False,
                           description="The home's front door (deliveries come in here)")
    is_open: Flag | None = Field(default=None,
                                 description="Door: a scan saw it open (true) or closed (false)")


class Fixture(_Model):
    """A service point: a drain (with its distance from the wall), water, a power outlet, gas."""

    id: Id
    kind: Literal["drain", "water", "power", "gas"]
    position: Coordinate
    storey: Storey = 0
    wall_distance: Size | None = Field(
        default=None, ge=0,
        description="Drain: centre's distance from the finished wall (rough-in)")
    source: str | None = Field(default=None,
                               description="What it came from, e.g. roomplan:toilet")


class DetectedObject(_Model):
    """Furniture a scan found (kept for reference; not placements)."""

    category: str = Field(max_length=100)
    position: Coordinate
    size: tuple[Size, Size, Size]
    rotation: Degrees = 0.0
    storey: Storey = 0


class FloorPlan(_Model):
    format: Literal["homeloop.floorplan"] = "homeloop.floorplan"
    version: Literal[1] = 1
    name: str = "Home"
    rooms: Annotated[list[Room], at_most("rooms", "rooms")] = Field(min_length=1)
    walls: Annotated[list[Wall], at_most("walls", "walls")] = []
    openings: Annotated[list[Opening], at_most("openings", "openings")] = []
    fixtures: Annotated[list[Fixture], at_most("fixtures", "items")] = []
    objects: Annotated[list[DetectedObject], at_most("detected objects", "items")] = []
    notes: list[str] = Field(default=[], description="What the import repaired or left out")

    @model_validator(mode="after")
    def _consistent(self) -> FloorPlan:
        from floorplans.validation import problems
        found = problems(self)
        if found:
            raise ValueError("; ".join(found))
        return self


class Placement(_Model):
    id: str = Field(min_length=1, max_length=64)
    sku: str
    variant: str | None = None
    position: Coordinate
    rotation: Degrees = Field(default=0.0, description="Degrees about Y")
    storey: Storey = 0


class DesignBody(_Model):
    """Create a design: on a floor plan, or on a private copy of a community layout."""

    name: str = "My design"
    floor_plan_id: int | None = None
    layout_id: int | None = None
    customer_id: int | None = Field(
        default=None, description="Kiosk or staff: the customer it is for (needs their consent)")
    placements: Annotated[list[Placement], at_most("placements", "items")] = []

    @model_validator(mode="after")
    def _one_base(self) -> DesignBody:
        if (self.floor_plan_id is None) == (self.layout_id is None):
            raise ValueError("give exactly one of floor_plan_id and layout_id")
        return self


class DesignEdit(_Model):
    name: str | None = None
    placements: Annotated[list[Placement], at_most("placements", "items")]


class Design(BaseModel):
    id: str
    name: str
    floor_plan_id: int
    owner_id: int | None
    store_id: str | None
    version: int
    placements: list[Placement]
    created_at: datetime
    updated_at: datetime


class DesignVersion(BaseModel):
    version: int
    op: Literal["create", "edit", "undo"]
    name: str
    placements: list[Placement]
    author: str
    created_at: datetime


class Finding(BaseModel):
    check: Literal["inside_room", "wall_overlap", "product_overlap", "door_swing", "walkway",
                   "fixture", "delivery"]
    severity: Literal["error", "warning"]
    placement_ids: list[str]
    message: str


class PlanInfo(BaseModel):
    id: int
    name: str
    owner_id: int | None
    store_id: str | None
    source: str
    layout_id: int | None
    area_m2: float
    rooms: int
    notes: list[str]
    created_at: datetime


class LayoutBody(_Model):
    community_id: int
    unit_type: str
    name: str
    plan: FloorPlan


class CommunityBody(_Model):
    name: str
    city: str
    address: str = ""


class Community(BaseModel):
    id: int
    name: str
    city: str
    address: str


class Layout(BaseModel):
    id: int
    community_id: int
    community: str
    city: str
    unit_type: str
    name: str
    area_m2: float
    bedrooms: int


class BomStock(BaseModel):
    store_id: str
    store: str = Field(description="The store's name in the reader's language")
    on_hand: int
    distance_km: float | None = None
    days: int = Field(description="Until the customer can have it from this store (0: today)")


class BomSource(BaseModel):
    """Where something can be had, and when (the catalog's answer)."""

    kind: Literal["here", "nearby", "online"]
    store_id: str
    store: str = Field(description="The store's name in the reader's language")
    distance_km: float | None = None
    days: int = Field(description="Until the customer can have it (0: today)")


class BomColour(BaseModel):
    """The colour a placement chose, in both languages."""

    name: str
    en: str
    zh: str


class BomLine(BaseModel):
    sku: str
    variant: str | None
    colour: BomColour | None = Field(default=None, description="The chosen colour variant, "
                                                               "named in zh-CN and en")
    name: str = Field(description="The product's name in the reader's language")
    quantity: int
    unit_price_cents: int
    total_cents: int
    currency: str
    unit_price: str = Field(description="The unit price as the reader's language writes it "
                                        "(¥1,299.00)")
    total: str = Field(description="The line's total, written likewise")
    here: BomStock | None
    online: BomStock | None
    nearby: list[BomStock] = Field(description="Other stores within the nearby radius that "
                                               "have some, nearest first")
    source: BomSource | None = Field(
        description="Where the SKU's whole quantity in the design can be had soonest: here, "
                    "else the nearest store nearby, else online; none: nowhere")


class Bom(BaseModel):
    design_id: str
    version: int
    lines: list[BomLine]
    total_cents: int
    currency: str
    total: str = Field(description="The total as the reader's language writes it")
    lang: str = Field(description="The language of the names and amounts: zh-CN or en")
    store_id: str | None
    all_at: BomSource | None = Field(
        description="The nearest store with every item in its quantity: here, else the "
                    "nearest store nearby, else online; none: no one store has it all")


class Handoff(BaseModel):
    code: str
    design_id: str
    expires_at: datetime
    qr_svg: str = Field(description="The code as a QR code, SVG")
