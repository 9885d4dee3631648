"""Floor plan and design units of work: import, copy, create, edit with versions, undo, checks,
the bill of materials and the kiosk→phone handoff. Services never commit.

Who may act is decided by the transport (``api/routes/floorplans.py``) before it calls these;
here only the owner and store the caller acts as are passed in.
"""

from __future__ import annotations

import html
import json
import secrets
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import segno
from pydantic import ValidationError

from ar_assets import service as assets
from catalog.availability import Source, availability
from floorplans import checks, store
from floorplans.geometry import Product
from floorplans.roomplan import looks_like_roomplan, parse_plan
from floorplans.schemas import (
    Bom,
    BomColour,
    BomLine,
    BomSource,
    BomStock,
    DesignBody,
    DesignEdit,
    Finding,
    FloorPlan,
    Handoff,
    Limits,
    Placement,
)
from floorplans.texts import IMPORT
from floorplans.validation import invalid
from homeloop.db import Conn
from homeloop.errors import (
    Conflict,
    Gone,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    TooLarge,
)
from homeloop.i18n import DEFAULT, Lang
from homeloop.i18n import price as written_price
from homeloop.settings import Settings

MAX_UPLOAD = 20 * 1024 * 1024  # the setting's default (plan_max_upload_bytes)
HANDOFF_TTL = timedelta(minutes=10)
# No 0/O, 1/I/L: read off a screen or typed by hand as well as scanned.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def limits(settings: Settings) -> Limits:
    """The numbers a house can have, as this install's settings say (``plan_*``)."""
    return Limits(coordinate_m=settings.plan_max_coordinate_m, size_m=settings.plan_max_size_m,
                  lowest_storey=settings.plan_lowest_storey,
                  highest_storey=settings.plan_highest_storey, rooms=settings.plan_max_rooms,
                  walls=settings.plan_max_walls, openings=settings.plan_max_openings,
                  items=settings.plan_max_items)


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"a floor plan file is at most {limit:,} bytes")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json(raw: bytes) -> Any:
    """The document, as RFC 8259 has it: NaN and the infinities are not numbers."""
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except RecursionError as exc:
        raise InvalidInput(IMPORT("floorplan.too_deep")) from exc
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise InvalidInput(IMPORT("floorplan.not_json", why=str(exc))) from exc


def import_plan(conn: Conn, raw: bytes, name: str | None, *, owner_id: int | None,
                store_id: str | None, limits: Limits | None = None,
                max_bytes: int = MAX_UPLOAD) -> store.PlanRow:
    """Our JSON or a RoomPlan export; a RoomPlan file is kept as uploaded beside the plan."""
    if len(raw) > max_bytes:
        raise too_large(max_bytes)
    doc = read_json(raw)
    plan = parse_plan(doc, name, limits)
    if isinstance(doc, dict) and looks_like_roomplan(doc):
        return store.insert_plan(conn, plan, owner_id=owner_id, store_id=store_id,
                                 source="roomplan", raw=raw)
    return store.insert_plan(conn, plan, owner_id=owner_id, store_id=store_id, source="json")


def checked_plan(plan: FloorPlan, limits: Limits) -> FloorPlan:
    """A plan the transport parsed, against this install's limits (422 naming the field)."""
    try:
        return FloorPlan.model_validate(plan.model_dump(mode="json"), context=limits.context())
    except ValidationError as exc:
        raise invalid("invalid floor plan", exc) from exc


def add_layout(conn: Conn, community_id: int, unit_type: str, name: str, plan: FloorPlan,
               limits: Limits | None = None) -> dict[str, Any]:
    """Share a unit type's plan with its community (again: replaced)."""
    return store.insert_layout(conn, community_id, unit_type, name,
                               checked_plan(plan, limits or Limits()))


def copy_layout(conn: Conn, layout_id: int, *, owner_id: int | None,
                store_id: str | None) -> store.PlanRow:
    """A private copy of a community layout: the customer's own to edit."""
    layout, plan = store.get_layout_plan(conn, layout_id)
    plan = plan.model_copy(update={"name": f"{layout['community']} {layout['unit_type']}"})
    return store.insert_plan(conn, plan, owner_id=owner_id, store_id=store_id, source="layout",
                             layout_id=layout_id)


def _check_placements(conn: Conn, placements: list[Placement],
                      limits: Limits) -> dict[str, Product]:
    """Placements the transport parsed, against this install's limits and the catalog."""
    if len(placements) > limits.items:
        raise InvalidInput(IMPORT("design.too_many_items", cap=f"{limits.items:,}"))
    for i, p in enumerate(placements):
        try:
            Placement.model_validate(p.model_dump(), context=limits.context())
        except ValidationError as exc:
            raise invalid(f"placement {p.id!r} is not valid", exc, ("placements", i)) from exc
    dupes = [i for i, n in Counter(p.id for p in placements).items() if n > 1]
    if dupes:
        raise InvalidInput(IMPORT("design.duplicate_ids", ids=", ".join(sorted(dupes))))
    skus = {p.sku for p in placements}
    found = store.products(conn, skus)
    missing = sorted(skus - set(found))
    if missing:
        raise InvalidInput(IMPORT("design.not_placeable", skus=", ".join(missing)))
    return found


def create_design(conn: Conn, body: DesignBody, *, owner_id: int | None,
                  store_id: str | None, author: str,
                  limits: Limits | None = None) -> store.DesignRow:
    """A design on a plan the caller may use (checked by the caller) or on a layout's copy."""
    if body.layout_id is not None:
        plan_id = copy_layout(conn, body.layout_id, owner_id=owner_id, store_id=store_id).id
    else:
        assert body.floor_plan_id is not None
        plan_id = body.floor_plan_id
    _check_placements(conn, body.placements, limits or Limits())
    return store.insert_design(conn, plan_id, owner_id, store_id, body.name, body.placements,
                               author)


def etag(design: store.DesignRow) -> str:
    return f'"v{design.version}"'


def expected_version(if_match: str | None, design: store.DesignRow) -> int:
    """The version an ``If-Match`` names (strong comparison), or 412/428."""
    if if_match is None:
        raise PreconditionRequired(
            "send If-Match with the design's ETag, so that an edit made elsewhere in the "
            "meantime is not overwritten")
    tags = [t.strip() for t in if_match.split(",")]
    if "*" in tags:
        return design.version
    if etag(design) in tags:
        return design.version
    raise PreconditionFailed(
        f"the design was changed elsewhere (now version {design.version}); reload it and "
        "make your change again")


def edit_design(conn: Conn, design: store.DesignRow, if_match: str | None, edit: DesignEdit,
                author: str, limits: Limits | None = None) -> store.DesignRow:
    version = expected_version(if_match, design)
    _check_placements(conn, edit.placements, limits or Limits())
    done = store.update_design(conn, design.id, version, edit.name or design.name,
                               edit.placements, "edit", None, author)
    if done is None:  # another edit committed between our read and our write
        raise PreconditionFailed("the design was changed elsewhere; reload it and make your "
                                 "change again")
    return done


def undo(conn: Conn, design: store.DesignRow, if_match: str | None,
         author: str) -> store.DesignRow:
    """A new version holding what the design was before its last change."""
    version = expected_version(if_match, design)
    current = store.version(conn, design.id, version)
    assert current is not None
    before = store.version(conn, design.id, current["content_of"] - 1)
    if before is None:
        raise Conflict("nothing to undo: this is the design as it was created")
    done = store.update_design(conn, design.id, version, before["name"],
                               [Placement.model_validate(p) for p in before["placements"]],
                               "undo", before["content_of"], author)
    if done is None:
        raise PreconditionFailed("the design was changed elsewhere; reload it first")
    return done


def findings(conn: Conn, design: store.DesignRow, lang: Lang = DEFAULT) -> list[Finding]:
    plan = store.get_plan(conn, design.floor_plan_id).plan
    products = store.products(conn, {p.sku for p in design.placements})
    placements = [p for p in design.placements if p.sku in products]
    return checks.run_all(plan, placements, products, lang)


def bill_of_materials(conn: Conn, design: store.DesignRow, store_id: str | None, *,
                      nearby_km: float, lang: Lang = DEFAULT) -> Bom:
    """Items, quantities and prices, with stock here (``store_id``, where the customer is),
    online and at the stores nearby: the catalog's answer for the design's quantities."""
    counts = Counter((p.sku, p.variant) for p in design.placements)
    per_sku = Counter[str]()
    for (sku, _), n in counts.items():
        per_sku[sku] += n
    price = store.prices(conn, set(per_sku))
    found = availability(conn, sorted(per_sku.items()), store_id=store_id, nearby_km=nearby_km)
    lines: list[BomLine] = []
    for (sku, variant), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        p = price[sku]
        line = found.line(sku)
        stock = {kind: [BomStock(store_id=s.store_id, store=_store_name(s, lang),
                                 on_hand=on_hand,
                                 distance_km=_km(s), days=s.days)
                        for s, on_hand in line.stock if s.kind == kind]
                 for kind in ("here", "nearby", "online")}
        here = next(iter(stock["here"]), None)
        # the online store that has the whole quantity, else the first (with what it has)
        online = next((s for s in stock["online"] if s.on_hand >= line.quantity),
                      next(iter(stock["online"]), None))
        nearby = [s for s in stock["nearby"] if s.on_hand > 0]
        name = p["name_zh"] if lang == "zh-CN" and p["name_zh"] else p["name"]
        named = (None if variant is None else
                 BomColour(**asdict(assets.sku_colour(conn, sku, variant))))
        lines.append(BomLine(sku=sku, variant=variant, colour=named, name=name, quantity=n,
                             unit_price_cents=p["price_cents"],
                             total_cents=n * p["price_cents"], currency=p["currency"],
                             unit_price=written_price(p["price_cents"], lang, p["currency"]),
                             total=written_price(n * p["price_cents"], lang, p["currency"]),
                             here=here, online=online, nearby=nearby,
                             source=_source(line.best(), lang)))
    currency = lines[0].currency if lines else "CNY"
    total = sum(line.total_cents for line in lines)
    return Bom(design_id=design.id, version=design.version, lines=lines,
               total_cents=total, currency=currency, total=written_price(total, lang, currency),
               lang=lang, store_id=store_id, all_at=_source(found.all_at, lang))


def _km(source: Source) -> float | None:
    return None if source.km is None else round(source.km, 1)


def _store_name(source: Source, lang: Lang) -> str:
    return source.store_name_zh if lang == "zh-CN" and source.store_name_zh \
        else source.store_name


def _source(source: Source | None, lang: Lang) -> BomSource | None:
    if source is None:
        return None
    return BomSource(kind=source.kind, store_id=source.store_id,
                     store=_store_name(source, lang),
                     distance_km=_km(source), days=source.days)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def start_handoff(conn: Conn, design: store.DesignRow, *, store_id: str | None,
                  kiosk_id: int | None, now: datetime, link: str) -> Handoff:
    """A short-lived, single-use code (and its QR code) that puts the design on a phone."""
    code = new_code()
    expires = now + HANDOFF_TTL
    store.insert_handoff(conn, code, design.id, store_id, kiosk_id, expires)
    qr = segno.make(f"{link}{code}", error="m").svg_inline(scale=4)
    return Handoff(code=code, design_id=design.id, expires_at=expires, qr_svg=qr)


HANDOFF_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Homeloop</title>
<style>body{{font:18px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:28rem;padding:0 1rem;
color:#111;background:#fff}}a.open{{display:block;margin:1.5rem 0;padding:1rem;border-radius:.5rem;
background:#0b5cad;color:#fff;text-align:center;text-decoration:none;font-weight:600}}
code{{font-size:1.3rem;letter-spacing:.15rem}}</style></head>
<body><main>
{body}
</main></body></html>
"""

HANDOFF_OPEN = """<h1>在 Homeloop 应用中继续您的设计</h1>
<p lang="en">Continue your design in the Homeloop app.</p>
<a class="open" href="homeloop://design-handoff?code={code}">打开应用 · Open the app</a>
<p>如果应用没有打开，请在应用中输入代码 <code>{code}</code>（{minutes} 分钟内有效）。</p>
<p lang="en">If the app does not open, enter the code <code>{code}</code> in the app
(valid for {minutes} more minutes).</p>"""

HANDOFF_CLOSED = {
    "used": ("这个代码已经用过了。", "This code has already been used."),
    "expired": ("这个代码已过期，请在展台上重新生成。",
                "This code has expired: ask the kiosk for a new one."),
    "unknown": ("没有这个代码。", "There is no such code."),
}


def handoff_page(conn: Conn, code: str, now: datetime) -> tuple[int, str]:
    """The page a phone's camera opens from the kiosk's QR code: (HTTP status, HTML).

    It says nothing about the design; it opens the app (which claims the code once signed in)
    or shows the code to type in. The code itself is not claimed here.
    """
    code = code.strip().upper()
    state, expires = store.handoff_state(conn, code, now) if len(code) <= 32 else ("unknown", None)
    if expires is not None:
        minutes = max(1, int((expires - now).total_seconds() // 60))
        body = HANDOFF_OPEN.format(code=html.escape(code), minutes=minutes)
        return 200, HANDOFF_PAGE.format(body=body)
    zh, en = HANDOFF_CLOSED[state]
    body = f'<h1>{zh}</h1>\n<p lang="en">{en}</p>'
    return (404 if state == "unknown" else 410), HANDOFF_PAGE.format(body=body)


def claim_handoff(conn: Conn, code: str, customer_id: int, now: datetime) -> store.DesignRow:
    """The design joins the customer's account (and its floor plan with it)."""
    design_id, why = store.claim_handoff(conn, code.strip().upper(), customer_id, now)
    if design_id is None:
        if why == "unknown":
            raise NotFound("no such handoff code")
        raise Gone("this code was already used" if why == "used" else
                   "this code has expired: ask the kiosk for a new one")
    design = store.get_design(conn, design_id)
    if design.owner_id is not None and design.owner_id != customer_id:
        raise Conflict("this design belongs to another customer")
    store.give_design_to(conn, design.id, customer_id)
    store.give_plan_to(conn, design.floor_plan_id, customer_id)
    return store.get_design(conn, design.id)
