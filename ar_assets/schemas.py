"""API bodies of AR assets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Source(BaseModel):
    name: str
    format: str
    size: int
    sha256: str


class ProfileFile(BaseModel):
    url: str  # hashed and immutable
    sha256: str
    size: int
    triangles: int
    draw_calls: int
    max_texture: int
    compression: str
    validator_errors: int
    validator_warnings: int


class Bbox(BaseModel):
    min: list[float]
    max: list[float]
    size: list[float]


class DefaultModel(BaseModel):
    asset_id: int


class ColourOut(BaseModel):
    """A colour variant: its name (what a design's placement stores) in both languages."""

    name: str
    en: str
    zh: str


class AssetOut(BaseModel):
    id: int
    sku: str | None
    status: str  # pending, processing, ready, failed
    status_url: str
    source: Source
    report: dict[str, Any]
    bbox: Bbox | None
    footprint: list[list[float]] | None  # metres on the floor, (x, z), convex
    triangles: int | None
    variants: list[str]  # KHR_materials_variants names
    colours: list[ColourOut] = Field(default=[], description="The variants, in zh-CN and en")
    placeholder: bool = Field(default=False, description="A stand-in, not how the product "
                                                         "looks (the model says so)")
    profiles: dict[str, ProfileFile]  # phone, planner, vr once ready
    created_at: datetime
    updated_at: datetime
