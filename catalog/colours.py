"""The catalog's colour names in both languages: what a model's colour variant is called.

A variant is named by its colour in English (``grey``, as a supplier marks it or as
``KHR_materials_variants`` names it); a person sees it in Simplified Chinese first. A supplier
may give the Chinese name with the model (``colour:grey=灰色``); otherwise it comes from here,
and a colour we have no name for is shown as the supplier wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass

CHINESE = {
    "grey": "灰色", "gray": "灰色", "dark grey": "深灰色", "light grey": "浅灰色",
    "beige": "米色", "white": "白色", "black": "黑色", "oak": "橡木色", "walnut": "胡桃木色",
    "brown": "棕色", "blue": "蓝色", "dark blue": "深蓝色", "green": "绿色", "red": "红色",
    "yellow": "黄色", "pink": "粉色", "natural": "原木色", "cream": "奶油色",
}


@dataclass(frozen=True, slots=True)
class Colour:
    name: str  # the variant's own name, what a design stores
    en: str
    zh: str


def colour(name: str, zh: str | None = None) -> Colour:
    """A variant ``name`` in both languages (``zh``: the supplier's Chinese name, if any)."""
    return Colour(name, name, zh or CHINESE.get(name.strip().lower(), name))
