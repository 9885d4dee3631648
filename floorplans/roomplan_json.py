"""Apple RoomPlan's Codable JSON, as the importer reads it (pydantic models, pure).

What Apple writes when an app encodes a ``CapturedRoom`` (one scan, iOS 16+) or a
``CapturedStructure`` (iOS 17+: ``StructureBuilder.capturedStructure(from:)`` merges several
scans of one home) with ``JSONEncoder``:

- ``CapturedRoom``: ``identifier``, ``story``, ``version``, the surfaces ``walls``, ``doors``,
  ``windows``, ``openings`` and ``floors``, the ``objects``, the ``sections`` (room types with
  a centre and a story) and the opaque ``coreModel``.
- ``CapturedStructure``: ``identifier``, ``rooms`` (each a ``CapturedRoom`` with its own floors,
  sections and story) and the structure's own ``walls``, ``doors``, ``windows``, ``openings``,
  ``floors``, ``objects`` and ``sections``, where what two rooms share (a wall, its door)
  is one element.
- A surface (``CapturedRoom.Surface``): ``identifier``, ``parentIdentifier`` (a door's wall),
  ``category`` (an object with one key: ``{"door": {"isOpen": false}}``, ``{"wall": {}}``),
  ``confidence``, ``dimensions`` ([width, height, depth], metres), ``transform`` (4×4,
  column-major, Y up), ``polygonCorners`` (its outline in its own plane), ``completedEdges``,
  ``curve`` (start and end angles, radius, centre) and ``story``. An object has
  ``attributes`` in place of the outline.

Every number must be a JSON number, finite and within the :class:`~floorplans.schemas.Limits`
of the validation context; unknown members are ignored (Apple adds some with each release),
and the ``coreModel`` is never read.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from floorplans.schemas import Id, Number, Size, Storey, at_most, limits_of

ROTATION = (0, 1, 2, 4, 5, 6, 8, 9, 10)  # the rotation part of a column-major matrix


def _transform(value: list[float], info: ValidationInfo) -> list[float]:
    bound = limits_of(info).coordinate_m
    for i, axis in zip((12, 13, 14), "xyz", strict=True):
        if abs(value[i]) > bound:
            raise ValueError(f"its position's {axis} (element {i}) = {value[i]:g} m is out of "
                             f"range: at most {bound:,g} m from the scan's origin")
    for i in ROTATION:
        if abs(value[i]) > 1.5:
            raise ValueError(f"element {i} = {value[i]:g} is not part of a rotation (whose "
                             "numbers lie between -1 and 1)")
    return value


def _dimensions(value: list[float], info: ValidationInfo) -> list[float]:
    bound = limits_of(info).size_m
    for v, what in zip(value, ("width", "height", "depth"), strict=True):
        if v < 0:
            raise ValueError(f"the {what} is {v:g} m: a size cannot be negative")
        if v > bound:
            raise ValueError(f"the {what} = {v:g} m is out of range: at most {bound:,g} m")
    return value


def _local(value: list[float], info: ValidationInfo) -> list[float]:
    bound = limits_of(info).size_m
    if any(abs(v) > bound for v in value):
        raise ValueError(f"{value} is out of range: a corner lies at most {bound:,g} m from "
                         "its surface's centre")
    return value


def _world(value: list[float], info: ValidationInfo) -> list[float]:
    bound = limits_of(info).coordinate_m
    if any(abs(v) > bound for v in value):
        raise ValueError(f"{value} is out of range: a point lies at most {bound:,g} m from the "
                         "scan's origin")
    return value


Transform = Annotated[list[Number], Field(min_length=16, max_length=16),
                      AfterValidator(_transform)]
Dimensions = Annotated[list[Number], Field(min_length=3, max_length=3),
                       AfterValidator(_dimensions)]
LocalPoint = Annotated[list[Number], Field(min_length=2, max_length=3), AfterValidator(_local)]
WorldPoint = Annotated[list[Number], Field(min_length=3, max_length=3), AfterValidator(_world)]


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, frozen=True)


class Measurement(_In):
    """A Foundation ``Measurement<UnitAngle>`` as Codable writes it."""

    value: Number
    unit: dict[str, Any] | str | None = None


class Curve(_In):
    """A curved surface (Apple's member names, as everywhere in this module)."""

    startAngle: Number | Measurement
    endAngle: Number | Measurement
    radius: Size = Field(ge=0)
    center: LocalPoint | None = None


class Surface(_In):
    identifier: Id | None = None
    parentIdentifier: Id | None = None
    category: dict[str, Any] | str | None = None
    dimensions: Dimensions
    transform: Transform
    polygonCorners: Annotated[list[LocalPoint], at_most("corners", "corners")] = []
    completedEdges: list[Any] = []
    curve: Curve | None = None
    story: Storey = 0

    def kind(self) -> str:
        """The category's case: ``door``, ``wall``, ``chair``."""
        if isinstance(self.category, dict) and self.category:
            return str(next(iter(self.category)))
        return str(self.category or "")

    def door_open(self) -> bool | None:
        """A door's ``isOpen``, where the category says."""
        found = self.category.get("door") if isinstance(self.category, dict) else None
        is_open = found.get("isOpen") if isinstance(found, dict) else None
        return is_open if isinstance(is_open, bool) else None


class Section(_In):
    label: str = Field(default="unidentified", max_length=100)
    center: WorldPoint
    story: Storey = 0


Surfaces = list[Surface]


class CapturedRoom(_In):
    identifier: Id | None = None
    story: Storey = 0
    walls: Annotated[Surfaces, at_most("walls", "walls")] = []
    doors: Annotated[Surfaces, at_most("doors", "openings")] = []
    windows: Annotated[Surfaces, at_most("windows", "openings")] = []
    openings: Annotated[Surfaces, at_most("openings", "openings")] = []
    floors: Annotated[Surfaces, at_most("floors", "rooms")] = []
    objects: Annotated[Surfaces, at_most("objects", "items")] = []
    sections: Annotated[list[Section], at_most("sections", "items")] = []


class CapturedStructure(CapturedRoom):
    rooms: Annotated[list[CapturedRoom], at_most("rooms", "rooms")] = []


__all__ = ["CapturedRoom", "CapturedStructure", "Curve", "Measurement", "Section", "Surface"]
