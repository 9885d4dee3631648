"""``homeloop bench assist``: what an assistant waits for, on a store chain's worth of data.

Isolation: a database of its own (``homeloop_bench_assist``, dropped and re-created, migrated
and seeded), dropped again at the end unless ``--keep``.

Data, generated set-based in SQL (fixed ``setseed``):

- 50 stores (the seed's four and 46 more around Shanghai, Beijing, Guangzhou, Chengdu and
  Hangzhou); 20,000 SKUs in 40 categories (8 rooms of 5: a sofa, a rug, a lamp, ...), each
  in one of 8 styles, 6 materials and 10 colours, named in English and Chinese
  ("Nordic oak sofa 17" / "北欧 灰色 沙发 17"); stock at each physical store for about 30 %
  of the SKUs, online for 80 %;
- 100,000 customers, each with a style and a room they are furnishing (hidden from the
  recommender), a home store, the store's consent, a profile, a registered product with
  two forecasts, and 5 in-store views in the last 30 days;
- 250,000 orders of 4 lines (1,000,000 order lines): each line a category of the
  customer's room, their style 8 times in 10, and within a category and style a popular
  model far more often than the rest (rank ~ 62·u³);
- the last order of one customer in 50 (2,000) is held out (deleted before anything is
  computed); its last line is the purchase to predict. Co-purchase counts are then
  refreshed from what is left.

Measured (in this process, on one connection, the same service calls the API makes, after
``VACUUM ANALYZE``): the customer profile (:func:`clienteling.service.profile`), search
(:func:`clienteling.catalog.search`: Chinese and English words, facets, stock here or
nearby, size limits), recommendations for a customer at their home store
(:func:`clienteling.service.customer_recommendations`): p50 and p95 over 300 calls each.
Hit rate at 10 over the 2,000 held-out customers: the held-out SKU among their 10 recommendations,
against a popularity baseline (the 10 most bought SKUs they do not have yet, also only
what can be had) in the same run.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg

from catalog.availability import availability
from clienteling import catalog, recs_store, service
from devtools.bench.db import bench_settings, drop, recreate
from homeloop import clock
from homeloop.settings import Settings

__all__ = ["BENCH_DB", "run_assist_bench"]

BENCH_DB = "homeloop_bench_assist"
TARGETS = {"profile": 50.0, "search": 50.0, "recs": 100.0, "ratio": 2.0}

ROOMS = [  # 8 rooms x 5 categories: (category, 中文)
    [("sofa", "沙发"), ("rug", "地毯"), ("floor_lamp", "落地灯"), ("coffee_table", "茶几"),
     ("cushion", "靠垫")],
    [("bed", "床"), ("mattress", "床垫"), ("wardrobe", "衣柜"), ("bedside_table", "床头柜"),
     ("table_lamp", "台灯")],
    [("dining_table", "餐桌"), ("dining_chair", "餐椅"), ("sideboard", "餐边柜"),
     ("pendant_lamp", "吊灯"), ("tableware", "餐具")],
    [("desk", "书桌"), ("office_chair", "办公椅"), ("bookcase", "书柜"), ("desk_lamp", "书桌灯"),
     ("shelf", "置物架")],
    [("toilet", "马桶"), ("basin", "洗手盆"), ("shower", "淋浴"), ("mirror_cabinet", "镜柜"),
     ("towel_rail", "毛巾架")],
    [("cooker_hood", "油烟机"), ("hob", "灶台"), ("oven", "烤箱"), ("kitchen_sink", "水槽"),
     ("kitchen_tap", "龙头")],
    [("kids_bed", "儿童床"), ("kids_desk", "儿童书桌"), ("toy_storage", "玩具收纳"),
     ("night_light", "小夜灯"), ("play_mat", "游戏垫")],
    [("outdoor_chair", "户外椅"), ("outdoor_table", "户外桌"), ("parasol", "遮阳伞"),
     ("planter", "花盆"), ("string_light", "灯串")],
]
STYLES = [("nordic", "Nordic", "北欧"), ("modern", "Modern", "现代"),
          ("classic", "Classic", "古典"),
          ("industrial", "Industrial", "工业"), ("japanese", "Japanese", "日式"),
          ("chinese", "Chinese", "新中式"), ("rustic", "Rustic", "田园"),
          ("minimal", "Minimal", "极简")]
MATERIALS = ["oak", "walnut", "fabric", "leather", "metal", "ceramic"]
COLOURS = [("grey", "灰色"), ("beige", "米色"), ("white", "白色"), ("black", "黑色"),
           ("blue", "蓝色"), ("green", "绿色"), ("brown", "棕色"), ("red", "红色"),
           ("yellow", "黄色"), ("pink", "粉色")]
CITIES = [("Shanghai", 31.23, 121.47), ("Beijing", 39.90, 116.40), ("Guangzhou", 23.13, 113.26),
          ("Chengdu", 30.57, 104.07), ("Hangzhou", 30.27, 120.15)]

SKUS, CUSTOMERS, ORDERS, LINES_PER_ORDER = 20_000, 100_000, 250_000, 4


def _vocab(conn: psycopg.Connection[Any]) -> None:
    cats = [(i, c, zh, 100_00 * (3 + (i * 7) % 40)) for i, (c, zh) in
            enumerate(x for room in ROOMS for x in room)]
    conn.execute("CREATE TEMP TABLE v_cat (k int, name text, zh text, base int)")
    conn.execute("CREATE TEMP TABLE v_style (k int, code text, en text, zh text)")
    conn.execute("CREATE TEMP TABLE v_colour (k int, en text, zh text)")
    conn.execute("CREATE TEMP TABLE v_material (k int, name text)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO v_cat VALUES (%s, %s, %s, %s)", cats)
        cur.executemany("INSERT INTO v_style VALUES (%s, %s, %s, %s)",
                        [(i, *s) for i, s in enumerate(STYLES)])
        cur.executemany("INSERT INTO v_colour VALUES (%s, %s, %s)",
                        [(i, *c) for i, c in enumerate(COLOURS)])
        cur.executemany("INSERT INTO v_material VALUES (%s, %s)", list(enumerate(MATERIALS)))


GENERATE = [
    ("stores", """
INSERT INTO stores (id, name, city, online, lat, lon, lead_days)
SELECT 'ST-' || lpad(g::text, 2, '0'), 'Store ' || g, c.city,
       false, c.lat + (random() - 0.5) * 0.4, c.lon + (random() - 0.5) * 0.4, 0
FROM generate_series(1, 46) g
JOIN (VALUES (0, 'Shanghai', 31.23, 121.47), (1, 'Beijing', 39.90, 116.40),
             (2, 'Guangzhou', 23.13, 113.26), (3, 'Chengdu', 30.57, 104.07),
             (4, 'Hangzhou', 30.27, 120.15)) AS c(k, city, lat, lon) ON c.k = mod(g, 5)
"""),
    ("skus", """
INSERT INTO skus (sku, name, name_zh, category, grade, price_cents, width_mm, depth_mm,
                  height_mm, attrs)
SELECT 'B' || lpad(i::text, 5, '0'),
       st.en || ' ' || m.name || ' ' || replace(ca.name, '_', ' ') || ' ' || (i / 320),
       st.zh || ' ' || co.zh || ' ' || ca.zh || ' ' || (i / 320),
       ca.name, CASE WHEN mod(i / 320, 4) = 0 THEN 'premium' ELSE 'standard' END,
       ca.base * (10 + mod(i / 320, 7)) / 10,
       300 + mod(i * 37, 2500), 200 + mod(i * 53, 900), 100 + mod(i * 71, 2000),
       jsonb_build_object('style', st.code, 'material', m.name, 'colours',
                          jsonb_build_array(co.en))
FROM generate_series(0, %(skus)s - 1) i
JOIN v_cat ca ON ca.k = mod(i, 40)
JOIN v_style st ON st.k = mod(i / 40, 8)
JOIN v_material m ON m.k = mod(i / 7, 6)
JOIN v_colour co ON co.k = mod(i / 11, 10)
"""),
    ("inventory", """
INSERT INTO inventory (store_id, sku, on_hand)
SELECT s.id, k.sku, 1 + mod(abs(hashtext(s.id || k.sku)), 9)
FROM stores s CROSS JOIN skus k
WHERE k.sku ~ '^B[0-9]'
  AND mod(abs(hashtext(s.id || k.sku)), 100) < CASE WHEN s.online THEN 80 ELSE 30 END
"""),
    ("customers", """
INSERT INTO customers (id, display_name, home_store_id, points, created_at)
SELECT c, 'Customer ' || c,
       (SELECT id FROM stores WHERE NOT online ORDER BY id OFFSET mod(c, 49) LIMIT 1),
       mod(c * 13, 5000), %(now)s - interval '2 years'
FROM generate_series(1, %(customers)s) c;
SELECT setval('customers_id_seq', %(customers)s);
CREATE TABLE bench_prefs AS
SELECT c AS customer_id, floor(random() * 8)::int AS style, floor(random() * 8)::int AS room
FROM generate_series(1, %(customers)s) c;
CREATE UNIQUE INDEX ON bench_prefs (customer_id);
INSERT INTO store_consents (customer_id, store_id, granted)
SELECT id, home_store_id, true FROM customers WHERE id <= %(customers)s;
INSERT INTO customer_profiles (customer_id, age_band, city, move_in_date, home_style,
                               budget_cents)
SELECT c.id, (ARRAY['20-29', '30-39', '40-49', '50-59'])[1 + mod(c.id, 4)], 'Shanghai',
       (%(now)s - mod(c.id, 400) * interval '1 day')::date,
       (ARRAY['nordic', 'modern', 'japanese'])[1 + mod(c.id, 3)],
       500000 + mod(c.id, 20) * 50000
FROM customers c WHERE c.id <= %(customers)s
"""),
    ("orders", """
INSERT INTO orders (id, customer_id, store_id, assistant, fulfil_store_id, status,
                    total_cents, created_at, updated_at)
SELECT o, 1 + mod(o - 1, %(customers)s), c.home_store_id, NULL, c.home_store_id, 'closed', 0,
       %(now)s - interval '700 days' + (o::float / %(orders)s) * interval '690 days',
       %(now)s
FROM generate_series(1, %(orders)s) o
JOIN customers c ON c.id = 1 + mod(o - 1, %(customers)s);
SELECT setval('orders_id_seq', %(orders)s);
INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price_cents, discount_cents)
SELECT x.o, x.n, k.sku, 1, k.price_cents,
       CASE WHEN random() < 0.2 THEN k.price_cents / 10 ELSE 0 END
FROM (
    SELECT o, n, p.room * 5 + floor(random() * 5)::int AS cat,
           CASE WHEN random() < 0.8 THEN p.style ELSE floor(random() * 8)::int END AS style,
           floor(62 * power(random(), 3))::int AS rank
    FROM generate_series(1, %(orders)s) o
    CROSS JOIN generate_series(1, %(lines)s) n
    JOIN bench_prefs p ON p.customer_id = 1 + mod(o - 1, %(customers)s)
) x
JOIN skus k ON k.sku = 'B' || lpad((x.rank * 320 + x.style * 40 + x.cat)::text, 5, '0')
ON CONFLICT DO NOTHING;
UPDATE orders o SET total_cents = t.total
FROM (SELECT order_id, sum(unit_price_cents - discount_cents) AS total FROM order_lines
      GROUP BY order_id) t WHERE t.order_id = o.id
"""),
    ("hold out the last order of one customer in 50", """
CREATE TABLE bench_heldout AS
SELECT DISTINCT ON (o.customer_id) o.customer_id, o.id AS order_id, l.sku
FROM orders o JOIN order_lines l ON l.order_id = o.id
WHERE mod(o.customer_id, 50) = 7
ORDER BY o.customer_id, o.created_at DESC, o.id DESC, l.line_no DESC;
DELETE FROM order_lines WHERE order_id IN (SELECT order_id FROM bench_heldout);
DELETE FROM orders WHERE id IN (SELECT order_id FROM bench_heldout)
"""),
    ("products and forecasts", """
INSERT INTO product_instances (id, sku, tag_uid, owner_id, claimed_at, created_at)
SELECT c, (ARRAY['WP-500', 'DW-60', 'CM-100'])[1 + mod(c, 3)], 'BENCH-' || c, c,
       %(now)s - interval '90 days', %(now)s - interval '90 days'
FROM generate_series(1, %(customers)s) c;
SELECT setval('product_instances_id_seq', %(customers)s);
INSERT INTO instance_forecasts (instance_id, item_sku, kind, metric, rate_per_day, used,
                                remaining, days_left, confidence, basis, data_days,
                                prior_weight, cycle_start, computed_at, due_at)
SELECT p.id, c.consumable_sku, 'consumable', NULL, 1, 50, 50, d, 0.8, 'usage', 60, 0.1,
       %(now)s - interval '60 days', %(now)s, %(now)s + d * interval '1 day'
FROM product_instances p JOIN sku_consumables c ON c.device_sku = p.sku
CROSS JOIN LATERAL (SELECT (random() * 120)::float AS d) r
"""),
    ("views", """
INSERT INTO product_views (session_id, customer_id, sku, store_id, at)
SELECT 'bench-session-' || c, c, 'B' || lpad((floor(random() * %(skus)s))::text, 5, '0'),
       'SH-XUHUI', %(now)s - random() * interval '30 days'
FROM generate_series(1, %(customers)s) c CROSS JOIN generate_series(1, 5)
"""),
    ("co-purchase counts", "SELECT 1"),
]


def _generate(bench: Settings, now: datetime, say: Callable[[str], None]) -> None:
    params = {"skus": SKUS, "customers": CUSTOMERS, "orders": ORDERS,
              "lines": LINES_PER_ORDER, "now": now}
    with psycopg.connect(bench.database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET work_mem = '64MB'")
        conn.execute("SELECT setseed(0.19)")
        _vocab(conn)
        for name, statement in GENERATE:
            start = time.perf_counter()
            with conn.transaction():
                if name == "co-purchase counts":
                    recs_store.refresh_copurchase(conn)
                else:
                    for part in statement.split(";\n"):
                        if part.strip():
                            conn.execute(part, params)
            say(f"  {name}: {time.perf_counter() - start:.1f} s")
        conn.execute("SET session_replication_role = origin")
        start = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        say(f"  vacuum analyze: {time.perf_counter() - start:.1f} s")
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM skus), "
            "(SELECT count(*) FROM stores), (SELECT count(*) FROM order_lines), "
            "(SELECT count(*) FROM bench_heldout), (SELECT count(*) FROM sku_copurchase), "
            "(SELECT count(*) FROM inventory)").fetchone()
        assert counts is not None
        say(f"  data: {counts[0]:,} customers, {counts[1]:,} SKUs, {counts[2]} stores, "
            f"{counts[3]:,} order lines after holding out {counts[4]:,} customers' last "
            f"orders, {counts[5]:,} co-purchase pairs, {counts[6]:,} stock rows")


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


SEARCHES: list[dict[str, Any]] = [
    {"q": "灰色 沙发"}, {"q": "北欧 床"}, {"q": "grey sofa"}, {"q": "oak desk"},
    {"q": "沙发", "stock": "here", "width_max": 2200}, {"q": "lamp", "stock": "nearby"},
    {"category": "wardrobe", "price_max": 400000, "stock": "here"},
    {"q": "modern", "colour": "white", "height_max": 900}, {"q": "马桶", "stock": "online"},
    {"q": "japanese walnut", "material": "walnut"},
]


def run_assist_bench(settings: Settings, *, keep: bool = False, calls: int = 300,
                     hit_customers: int = 2000, say: Callable[[str], None] = print) -> str:
    bench = bench_settings(settings, BENCH_DB)
    now = clock.now().replace(microsecond=0)
    total = time.perf_counter()
    say(f"assist bench: {CUSTOMERS:,} customers, {SKUS:,} SKUs, 50 stores, "
        f"{ORDERS * LINES_PER_ORDER:,} order lines; database {BENCH_DB}")
    recreate(settings, bench)
    try:
        _generate(bench, now, say)
        rng = random.Random(7)
        with psycopg.connect(bench.database_url, autocommit=True) as conn:
            stores = [str(r[0]) for r in conn.execute(
                "SELECT id FROM stores WHERE NOT online ORDER BY id")]
            home: dict[int, str] = {int(r[0]): str(r[1]) for r in conn.execute(
                "SELECT id, home_store_id FROM customers")}
            ids = rng.sample(range(1, CUSTOMERS + 1), calls)
            for c in ids[:10]:  # warm the caches as a running API would be
                service.profile(conn, c, now)
            profile_ms, search_ms, recs_ms = [], [], []
            for n, c in enumerate(ids):
                start = time.perf_counter()
                service.profile(conn, c, now)
                profile_ms.append((time.perf_counter() - start) * 1000)
                query = catalog.SearchQuery(**SEARCHES[n % len(SEARCHES)])
                here = rng.choice(stores)
                start = time.perf_counter()
                catalog.search(conn, query, here, nearby_km=settings.nearby_store_km)
                search_ms.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                service.customer_recommendations(conn, c, home[c], now.date(),
                                                 nearby_km=settings.nearby_store_km)
                recs_ms.append((time.perf_counter() - start) * 1000)
            say(f"  profile ms p50 {_p(profile_ms, 0.5):.1f} p95 {_p(profile_ms, 0.95):.1f}; "
                f"search ms p50 {_p(search_ms, 0.5):.1f} p95 {_p(search_ms, 0.95):.1f}; "
                f"recommendations ms p50 {_p(recs_ms, 0.5):.1f} p95 {_p(recs_ms, 0.95):.1f}")
            hits, popular_hits, tried = _hit_rates(conn, rng, home, hit_customers, now,
                                                   settings.nearby_store_km)
    finally:
        if not keep:
            drop(settings, BENCH_DB)
    hit_rate = hits / tried
    popular = popular_hits / tried
    ratio = hit_rate / popular if popular else float("inf")
    say(f"  hit rate at 10 on {tried:,} customers' held-out last purchase: recommendations "
        f"{hits} ({hit_rate:.3f}), popularity {popular_hits} ({popular:.3f})")
    met = {True: "met", False: "NOT MET"}
    p95 = {"profile": _p(profile_ms, 0.95), "search": _p(search_ms, 0.95),
           "recs": _p(recs_ms, 0.95)}
    say("targets: " + ", ".join(
        f"{k} p95 < {TARGETS[k]:.0f} ms {met[p95[k] < TARGETS[k]]}" for k in p95)
        + f", ratio >= {TARGETS['ratio']:.0f} {met[ratio >= TARGETS['ratio']]}; "
        f"{BENCH_DB} {'kept' if keep else 'dropped'}; {time.perf_counter() - total:.0f} s")
    last = (f"assist: profile_p95_ms {p95['profile']:.1f} search_p95_ms {p95['search']:.1f} "
            f"recs_p95_ms {p95['recs']:.1f} hit_rate {hit_rate:.3f} popular {popular:.3f} "
            f"ratio {ratio:.2f}")
    say(last)
    return last


def _hit_rates(conn: psycopg.Connection[Any], rng: random.Random, home: dict[int, str],
               n: int, now: datetime, nearby_km: float) -> tuple[int, int, int]:
    heldout: dict[int, str] = {int(r[0]): str(r[1]) for r in conn.execute(
        "SELECT customer_id, sku FROM bench_heldout")}
    popular = [str(r[0]) for r in conn.execute(
        "SELECT sku FROM order_lines GROUP BY sku ORDER BY count(*) DESC, sku LIMIT 200")]
    hits = popular_hits = tried = 0
    for c in rng.sample(sorted(heldout), min(n, len(heldout))):
        had, _ = recs_store.customer_seeds(conn, c)
        if not had:
            continue
        tried += 1
        recs = service.customer_recommendations(conn, c, home[c], now.date(), 10,
                                                nearby_km=nearby_km)
        hits += heldout[c] in {r.sku for r in recs}
        owned = set(had)
        found = availability(conn, [(s, 1) for s in popular[:60]], store_id=home[c],
                             nearby_km=nearby_km)
        can = {line.sku for line in found.lines if line.best() is not None}
        top = [s for s in popular if s not in owned and s in can][:10]
        popular_hits += heldout[c] in top
    return hits, popular_hits, max(tried, 1)
