"""What an assistant sees and does, one unit of work per function. Callers own the
transaction; the transport checks who may act for the customer first (and that writes the
access audit).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from catalog import store as catalog
from catalog.availability import availability
from clienteling import recommend, recs_store, store, tags, tasks_store
from clienteling.schemas import Day, Profile, Recommendation, TrailItem
from homeloop.db import Conn

__all__ = ["assistant_day", "profile", "recommend_for", "refresh_tags", "similar_to", "trail"]

TAG_BATCH = 500


def profile(conn: Conn, customer_id: int, now: datetime) -> Profile:
    base = store.customer_base(conn, customer_id)
    zh = str(base["locale"]).lower().startswith("zh")
    products = []
    for p in store.owned_products(conn, customer_id):
        state = None
        if p["item_sku"] is not None:
            item = p["item_name_zh"] if zh else p["item_name"]
            parts = [item]
            if p["left_fraction"] is not None:
                parts.append(f"at {round(100 * p['left_fraction'])}%")
            if p["days_left"] is not None:
                parts.append(f"due in {round(p['days_left'])} days")
            state = ", ".join(parts)
        products.append({"product_id": p["id"], "sku": p["sku"],
                         "name": p["name_zh"] if zh else p["name"], "category": p["category"],
                         "registered_at": p["claimed_at"], "next_item": p["item_sku"],
                         "item_name": p["item_name"], "item_name_zh": p["item_name_zh"],
                         "kind": p["kind"], "days_left": p["days_left"], "due_at": p["due_at"],
                         "left_fraction": p["left_fraction"], "state": state})
    return Profile(
        customer_id=customer_id, name=base["display_name"],
        demographic={k: base[k] for k in ("age_band", "birthday", "city", "household")},
        consumption=store.consumption(conn, customer_id),
        membership={"tier": base["tier"], "points": base["points"],
                    "home_store_id": base["home_store_id"], "channels": base["channels"],
                    "member_since": base["created_at"], **store.membership(conn, customer_id)},
        behaviour=store.behaviour(conn, customer_id, now),
        home={k: base[k] for k in ("move_in_date", "floor_plan_id", "rough_in_mm", "home_style",
                                   "budget_cents")},
        products=products, tags=store.tags(conn, customer_id),
        notes=store.notes(conn, customer_id))


def facts(conn: Conn, customer_ids: Sequence[int], now: datetime) -> dict[int, tags.Facts]:
    rows = store.facts_rows(conn, customer_ids, now)
    orders: dict[int, list[tags.OrderFact]] = defaultdict(list)
    for c, at, total, lines, discounted in rows["orders"]:
        orders[c].append(tags.OrderFact(at, int(total), int(lines), int(discounted)))
    tagged = {int(c): int(n) for c, n in rows["tagged"]}
    due: dict[int, list[str]] = defaultdict(list)
    for c, name in rows["due"]:
        if name not in due[c]:
            due[c].append(name)
    prof = {int(c): (m, b) for c, m, b in rows["profile"]}
    views: dict[int, list[str]] = defaultdict(list)
    for c, category in rows["views"]:
        views[c].append(category)
    analytics = {int(r[0]) for r in rows["analytics"]}
    today = now.date()
    return {c: tags.Facts(today=today, orders=orders[c], tagged_products=tagged.get(c, 0),
                          due_soon=due[c], move_in_date=prof.get(c, (None, None))[0],
                          birthday=prof.get(c, (None, None))[1], viewed_categories=views[c],
                          usage_analytics=c in analytics)
            for c in customer_ids}


def refresh_tags(conn: Conn, customer_ids: Sequence[int], now: datetime) -> int:
    """Recompute the rule tags of ``customer_ids``; returns how many tags they now hold."""
    held = 0
    for c, f in facts(conn, customer_ids, now).items():
        derived = tags.derive(f)
        store.replace_rule_tags(conn, c, derived, now)
        held += len(derived)
    return held


def recommend_for(conn: Conn, seeds: Sequence[str], exclude: Sequence[str], store_id: str | None,
                  today: date, limit: int = 10, *, nearby_km: float) -> list[Recommendation]:
    """What goes with ``seeds``, for a customer in ``store_id``, only what can be had."""
    cands = recs_store.candidates(conn, seeds, exclude)
    skus = sorted({c.sku for c in cands})
    found = availability(conn, [(sku, 1) for sku in skus], store_id=store_id,
                         nearby_km=nearby_km)
    ranked = recommend.rank(cands, {line.sku: line for line in found.lines}, today, limit)
    names = _names(conn, [r.sku for r in ranked])
    stores = ({s.id: s for s in catalog.stores(conn)} if any(r.store_id for r in ranked)
              else {})  # a few dozen rows, read only when a nearby store supplies one
    return [Recommendation(name=names.get(r.sku, (r.sku, r.sku))[0],
                           name_zh=names.get(r.sku, (r.sku, r.sku))[1],
                           store_name=stores[r.store_id].name if r.store_id in stores else None,
                           store_name_zh=(stores[r.store_id].name_zh or stores[r.store_id].name
                                          if r.store_id in stores else None),
                           **_fields(r))
            for r in ranked]


def customer_recommendations(conn: Conn, customer_id: int, store_id: str | None,
                             today: date, limit: int = 10, *,
                             nearby_km: float) -> list[Recommendation]:
    had, viewed = recs_store.customer_seeds(conn, customer_id)
    return recommend_for(conn, had + [v for v in viewed if v not in had], had, store_id, today,
                         limit, nearby_km=nearby_km)


def similar_to(conn: Conn, sku: str, store_id: str | None, today: date,
               limit: int = 4, *, nearby_km: float) -> list[Recommendation]:
    return recommend_for(conn, [sku], [sku], store_id, today, limit, nearby_km=nearby_km)


def trail(conn: Conn, customer_id: int, since: datetime, store_id: str | None, *,
          with_similar: bool, nearby_km: float, today: date) -> list[TrailItem]:
    """The customer's in-store views since ``since``; with similar items that can be had
    (as of ``today``) for the customer's own "what I saw in store"."""
    items = []
    rows = store.trail(conn, customer_id, since, store_id)
    stores = {s.id: s for s in catalog.stores(conn)} if rows else {}
    for row in rows:
        similar = (similar_to(conn, row["sku"], row["store_id"], today, nearby_km=nearby_km)
                   if with_similar else [])
        seen = stores.get(row["store_id"])
        items.append(TrailItem(**row, similar=similar,
                               store_name=seen.name if seen else None,
                               store_name_zh=(seen.name_zh or seen.name) if seen else None))
    return items


def assistant_day(conn: Conn, assistant: str, store_id: str | None, now: datetime) -> Day:
    inbox = conn.execute(
        "SELECT id, customer_id, order_id, body, created_at FROM assistant_inbox "
        "WHERE assistant = %s AND read_at IS NULL ORDER BY id DESC LIMIT 100",
        (assistant,)).fetchall()
    return Day(tasks=tasks_store.open_tasks(conn, store_id, assistant),
               customers=store.bound_customers(conn, assistant, store_id,
                                               store.today_start(now)),
               inbox=[{"id": r[0], "customer_id": r[1], "order_id": r[2], "body": r[3],
                       "at": r[4]} for r in inbox])


def _names(conn: Conn, skus: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Each SKU's English and Chinese names."""
    return {str(r[0]): (str(r[1]), str(r[2])) for r in conn.execute(
        "SELECT sku, name, name_zh FROM skus WHERE sku = ANY(%s)", (list(skus),))}


def _fields(r: recommend.Recommendation) -> dict[str, Any]:
    return {"sku": r.sku, "score": r.score, "reason": r.reason, "availability": r.availability,
            "tier": r.tier, "days": r.days, "store_id": r.store_id}
