"""The floor plan, design and check shapes (pydantic), in metres and degrees.

Plan coordinates are metres on the floor, ``(x, y)``; in a 3D scene ``x`` is glTF X and ``y`` is
glTF Z, with Y up. A placement's ``rotation`` (degrees) turns it about Y; its front is its local
+Z, so a product at rotation 0 faces +y on the plan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Point = tuple[float, float]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Room(_Model):
    id: str
    name: str
    storey: int = 0
    polygon: list[Point] = Field(min_length=3, description="Corners in order, metres")


class Wall(_Model):
    id: str
    start: Point
    end: Point
    thickness: float = Field(default=0.1, gt=0, le=2)
    height: float = Field(default=2.6, gt=0, le=20)
    storey: int = 0


class Opening(_Model):
    """A door, window or open passage in a wall, placed by its centre's distance along it."""

    id: str
    wall_id: str
    kind: Literal["door", "window", "opening"]
    offset: float = Field(description="From the wall's start to the opening's centre, metres")
    width: float = Field(gt=0)
    height: float = Field(gt=0)
    sill: float = Field(default=0.0, ge=0, description="Height of the bottom above the floor")
    hinge: Literal["start", "end"] = Field(
        default="start",
        description="Door: the hinge is on the jamb nearer the wall's start or end")
    swing: Literal["left", "right"] = Field(
        default="left",
        description="Door: the side of the wall (looking from start to end) it opens to")
    entrance: bool = Field(default=False,
                           description="The home's front door (deliveries come in here)")


class Fixture(_Model):
    """A service point: a drain (with its distance from the wall), water, a power outlet, gas."""

    id: str
    kind: Literal["drain", "water", "power", "gas"]
    position: Point
    storey: int = 0
    wall_distance: float | None = Field(
        default=None, ge=0,
        description="Drain: centre's distance from the finished wall (rough-in)")
    source: str | None = Field(default=None,
                               description="What it came from, e.g. roomplan:toilet")


class DetectedObject(_Model):
    """Furniture a scan found (kept for reference; not placements)."""

    category: str
    position: Point
    size: tuple[float, float, float]
    rotation: float = 0.0
    storey: int = 0


class FloorPlan(_Model):
    format: Literal["homeloop.floorplan"] = "homeloop.floorplan"
    version: Literal[1] = 1
    name: str = "Home"
    rooms: list[Room] = Field(min_length=1)
    walls: list[Wall] = []
    openings: list[Opening] = []
    fixtures: list[Fixture] = []
    objects: list[DetectedObject] = []
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
    position: Point
    rotation: float = Field(default=0.0, description="Degrees about Y")
    storey: int = 0


class DesignBody(_Model):
    """Create a design: on a floor plan, or on a private copy of a community layout."""

    name: str = "My design"
    floor_plan_id: int | None = None
    layout_id: int | None = None
    customer_id: int | None = Field(
        default=None, description="Kiosk or staff: the customer it is for (needs their consent)")
    placements: list[Placement] = []

    @model_validator(mode="after")
    def _one_base(self) -> DesignBody:
        if (self.floor_plan_id is None) == (self.layout_id is None):
            raise ValueError("give exactly one of floor_plan_id and layout_id")
        return self


class DesignEdit(_Model):
    name: str | None = None
    placements: list[Placement]


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
    store: str
    on_hand: int
    distance_km: float | None = None
    days: int = Field(description="Until the customer can have it from this store (0: today)")


class BomSource(BaseModel):
    """Where something can be had, and when (the catalog's answer)."""

    kind: Literal["here", "nearby", "online"]
    store_id: str
    store: str
    distance_km: float | None = None
    days: int = Field(description="Until the customer can have it (0: today)")


class BomLine(BaseModel):
    sku: str
    variant: str | None
    name: str
    quantity: int
    unit_price_cents: int
    total_cents: int
    currency: str
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
    store_id: str | None
    all_at: BomSource | None = Field(
        description="The nearest store with every item in its quantity: here, else the "
                    "nearest store nearby, else online; none: no one store has it all")


class Handoff(BaseModel):
    code: str
    design_id: str
    expires_at: datetime
    qr_svg: str = Field(description="The code as a QR code, SVG")
