"""A realistic seed catalog: stores, SKUs with their consumables and services, stock.

Prices are in fen (CNY cents). Dimensions are the product's own (not the box) in millimetres.
Running :func:`seed` twice leaves the same rows.
"""

from __future__ import annotations

import json
from typing import Any

from homeloop.db import Conn

STORES: list[tuple[str, str, str, bool, float | None, float | None, int]] = [
    # id, name, city, online, lat, lon, lead_days
    ("SH-XUHUI", "Shanghai Xuhui", "Shanghai", False, 31.1886, 121.4365, 0),
    ("SH-PUDONG", "Shanghai Pudong", "Shanghai", False, 31.2213, 121.5440, 0),
    ("BJ-SIYUAN", "Beijing Siyuanqiao", "Beijing", False, 39.9681, 116.4770, 0),
    ("ONLINE", "Online store", "Shanghai", True, None, None, 3),
]

# sku, name, name_zh, category, grade, price_cents, (w, d, h) mm, tagged, attrs
SKUS: list[tuple[str, str, str, str, str, int, tuple[int, int, int] | None, bool, dict[str, Any]]] = [
    ("WP-500", "AQUA 500G RO water purifier", "AQUA 500G 反渗透净水器", "water_purifier",
     "standard", 299900, (180, 450, 420), True, {"needs": ["water", "drain", "power"]}),
    ("FLT-PP-1", "PP cotton pre-filter", "PP棉前置滤芯", "water_filter", "standard", 9900,
     (70, 70, 260), False, {}),
    ("FLT-RO-1", "RO membrane filter 500G", "RO反渗透膜滤芯 500G", "water_filter", "standard",
     59900, (90, 90, 320), False, {}),
    ("FLT-RO-XL", "RO membrane filter 800G long-life", "RO反渗透膜滤芯 800G 长效",
     "water_filter", "premium", 89900, (90, 90, 380), False, {}),
    ("DW-60", "NORDVIK 60 cm dishwasher", "NORDVIK 60厘米洗碗机", "dishwasher", "standard",
     399900, (598, 570, 818), True, {"needs": ["water", "drain", "power"]}),
    ("DET-TAB-30", "Dishwasher tablets, 30 pack", "洗碗机洗涤块 30粒", "dishwasher_detergent",
     "standard", 6900, (120, 90, 150), False, {"pack_uses": 30}),
    ("DET-TAB-90", "Dishwasher tablets, 90 pack", "洗碗机洗涤块 90粒", "dishwasher_detergent",
     "standard", 17900, (200, 120, 180), False, {"pack_uses": 90}),
    ("RINSE-500", "Rinse aid 500 ml", "洗碗机光亮剂 500毫升", "dishwasher_detergent",
     "standard", 3900, (70, 70, 200), False, {}),
    ("LD-DISP", "SMART laundry detergent dispenser", "智能洗衣液投放器", "detergent_dispenser",
     "standard", 49900, (160, 160, 300), True, {"needs": ["power"]}),
    ("DET-LIQ-2L", "Laundry liquid 2 L", "洗衣液 2升", "laundry_detergent", "standard", 4990,
     (160, 90, 260), False, {}),
    ("DET-LIQ-5L", "Laundry liquid 5 L", "洗衣液 5升", "laundry_detergent", "standard", 9990,
     (220, 140, 320), False, {}),
    ("CM-100", "KAFFE capsule coffee machine", "KAFFE 胶囊咖啡机", "coffee_machine", "standard",
     129900, (150, 400, 300), True, {"needs": ["power"]}),
    ("POD-ESP-50", "Espresso pods, 50", "意式咖啡胶囊 50粒", "coffee_pods", "standard", 14900,
     (200, 110, 110), False, {"pack_uses": 50}),
    ("POD-ESP-100", "Espresso pods, 100", "意式咖啡胶囊 100粒", "coffee_pods", "standard",
     26900, (220, 220, 110), False, {"pack_uses": 100}),
    ("DESC-1", "Coffee machine descaler", "咖啡机除垢剂", "descaler", "standard", 5900,
     (60, 60, 180), False, {}),
    ("SVC-DESCALE", "Descaling service", "咖啡机除垢服务", "service", "standard", 9900, None,
     False, {}),
    ("WC-300", "TOFTA wall-hung toilet, 300 mm rough-in", "TOFTA 马桶 坑距300毫米", "toilet",
     "standard", 189900, (370, 660, 760), False, {"rough_in_mm": 300, "needs": ["water", "drain"]}),
    ("WC-400", "TOFTA floor toilet, 400 mm rough-in", "TOFTA 马桶 坑距400毫米", "toilet",
     "standard", 179900, (380, 720, 770), False, {"rough_in_mm": 400, "needs": ["water", "drain"]}),
    ("WC-300-SMART", "TOFTA smart toilet, 300 mm rough-in", "TOFTA 智能马桶 坑距300毫米",
     "toilet", "premium", 599900, (400, 690, 520), True,
     {"rough_in_mm": 300, "needs": ["water", "drain", "power"]}),
    ("FLT-WC-1", "Smart toilet water filter", "智能马桶滤芯", "toilet_filter", "standard", 7900,
     (50, 50, 120), False, {}),
    ("FLOOR-OAK", "Oak engineered wood floor, per m²", "橡木复合地板 每平方米", "floor",
     "standard", 32900, (1900, 190, 14), True, {"unit": "m2"}),
    ("SVC-FLOOR-CARE", "Wood floor care service", "木地板养护服务", "service", "standard",
     59900, None, False, {}),
    ("SOFA-3-GREY", "SÖDER 3-seat sofa, grey", "SÖDER 三人沙发 灰色", "sofa", "standard",
     499900, (2180, 880, 780), False, {"colours": ["grey", "beige"], "material": "fabric",
                                       "style": "nordic"}),
    ("SOFA-2-BEIGE", "SÖDER 2-seat sofa, beige", "SÖDER 双人沙发 米色", "sofa", "standard",
     369900, (1680, 880, 780), False, {"colours": ["beige", "grey"], "material": "fabric",
                                       "style": "nordic"}),
    ("SOFA-CORNER", "SÖDER corner sofa, dark grey", "SÖDER 转角沙发 深灰", "sofa", "premium",
     899900, (2850, 1950, 780), False, {"colours": ["dark grey"], "material": "fabric",
                                        "style": "nordic"}),
    ("BED-180", "MALM bed 180×200, oak", "MALM 双人床 180×200 橡木", "bed", "standard", 259900,
     (1960, 2090, 1000), False, {"material": "oak veneer", "style": "nordic"}),
    ("BED-150", "MALM bed 150×200, white", "MALM 双人床 150×200 白色", "bed", "standard",
     199900, (1660, 2090, 1000), False, {"material": "particleboard", "style": "nordic"}),
    ("LAMP-FLOOR", "HEKTAR floor lamp", "HEKTAR 落地灯", "lamp", "standard", 49900,
     (420, 420, 1810), False, {"needs": ["power"]}),
    ("LAMP-TABLE", "HEKTAR table lamp", "HEKTAR 台灯", "lamp", "standard", 19900,
     (220, 220, 460), False, {"needs": ["power"]}),
    ("WM-8", "TVÄTT 8 kg front-loading washing machine", "TVÄTT 8公斤滚筒洗衣机",
     "washing_machine", "standard", 329900, (595, 565, 850), False,
     {"needs": ["water", "drain", "power"]}),
    ("WARDROBE-150", "PAX wardrobe 150 cm, delivered assembled", "PAX 衣柜 150厘米 整装配送",
     "wardrobe", "standard", 329900, (1500, 830, 2010), False, {"style": "nordic"}),
    ("WARDROBE-100-FLAT", "PAX wardrobe 100 cm, flat-packed", "PAX 衣柜 100厘米 平板包装",
     "wardrobe", "standard", 149900, (1000, 580, 2010), False, {"style": "nordic"}),
]

# What the floor plan checks need: the box it is delivered in (w, d, h mm), a toilet's
# rough-in (drain centre to finished wall) and the services it must be near.
INSTALL: dict[str, tuple[tuple[int, int, int] | None, int | None, list[str]]] = {
    "WP-500": ((260, 520, 500), None, ["water", "drain", "power"]),
    "DW-60": ((650, 640, 880), None, ["water", "drain", "power"]),
    "LD-DISP": ((220, 220, 360), None, ["power"]),
    "CM-100": ((220, 470, 370), None, ["power"]),
    "WC-300": ((450, 740, 830), 300, ["water", "drain"]),
    "WC-400": ((460, 800, 840), 400, ["water", "drain"]),
    "WC-300-SMART": ((480, 770, 600), 300, ["water", "drain", "power"]),
    "SOFA-3-GREY": ((2250, 950, 850), None, []),
    "SOFA-2-BEIGE": ((1750, 950, 850), None, []),
    "SOFA-CORNER": ((2100, 1000, 850), None, []),  # comes in two parts; the larger box
    "BED-180": ((2100, 600, 200), None, []),
    "BED-150": ((2100, 500, 200), None, []),
    "LAMP-FLOOR": ((500, 160, 1000), None, ["power"]),
    "LAMP-TABLE": ((300, 300, 520), None, ["power"]),
    "WM-8": ((660, 650, 900), None, ["water", "drain", "power"]),
    "WARDROBE-150": ((1560, 860, 2080), None, []),
    "WARDROBE-100-FLAT": ((2060, 620, 220), None, []),
}

# device sku, consumable sku, litres, uses, months, level-based
CONSUMABLES: list[tuple[str, str, float | None, int | None, int | None, bool]] = [
    ("WP-500", "FLT-PP-1", 2000.0, None, 6, False),
    ("WP-500", "FLT-RO-1", 6000.0, None, 24, False),
    ("WP-500", "FLT-RO-XL", 9600.0, None, 36, False),
    ("DW-60", "DET-TAB-30", None, 30, None, False),
    ("DW-60", "DET-TAB-90", None, 90, None, False),
    ("DW-60", "RINSE-500", None, None, None, True),
    ("LD-DISP", "DET-LIQ-2L", None, None, None, True),
    ("LD-DISP", "DET-LIQ-5L", None, None, None, True),
    ("CM-100", "POD-ESP-50", None, 50, None, False),
    ("CM-100", "POD-ESP-100", None, 100, None, False),
    ("CM-100", "DESC-1", None, 500, 3, False),
    ("WC-300-SMART", "FLT-WC-1", 1500.0, None, 12, False),
]

# device sku, service sku, months, usage, usage metric
SERVICES: list[tuple[str, str, int | None, float | None, str | None]] = [
    ("CM-100", "SVC-DESCALE", 12, 2000.0, "count"),
    ("FLOOR-OAK", "SVC-FLOOR-CARE", 24, None, None),
]

# Items that go with an item, for cross-sell offers: what the customer may not think of.
RELATED: list[tuple[str, str]] = [
    ("POD-ESP-50", "DESC-1"), ("POD-ESP-100", "DESC-1"),
    ("DET-TAB-30", "RINSE-500"), ("DET-TAB-90", "RINSE-500"),
]
# Loyalty points that redeem an item outright.
POINTS_COST: dict[str, int] = {"DESC-1": 600, "RINSE-500": 400, "FLT-PP-1": 1000,
                               "FLT-WC-1": 800}
STORE_NAMES_ZH: dict[str, str] = {"SH-XUHUI": "上海徐汇店", "SH-PUDONG": "上海浦东店",
                                  "BJ-SIYUAN": "北京四元桥店", "ONLINE": "网上商城"}

# Stock: most things everywhere, a few gaps so lead times differ between stores.
OUT_OF_STOCK = {("SH-PUDONG", "FLT-RO-1"), ("BJ-SIYUAN", "POD-ESP-100"),
                ("SH-XUHUI", "SOFA-CORNER"), ("SH-PUDONG", "WC-400")}


def restock(conn: Conn) -> None:
    """Put the seed's stock back: 12 of each product in each store, but for a few gaps."""
    stock = [(store[0], sku[0], 0 if (store[0], sku[0]) in OUT_OF_STOCK else 12)
             for store in STORES for sku in SKUS if not sku[0].startswith("SVC-")]
    conn.cursor().executemany(
        "INSERT INTO inventory (store_id, sku, on_hand) VALUES (%s, %s, %s) "
        "ON CONFLICT (store_id, sku) DO UPDATE SET on_hand = excluded.on_hand", stock)


def seed(conn: Conn) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO stores (id, name, city, online, lat, lon, lead_days) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET "
            "name = excluded.name, city = excluded.city, online = excluded.online, "
            "lat = excluded.lat, lon = excluded.lon, lead_days = excluded.lead_days", STORES)
        cur.executemany(
            "INSERT INTO skus (sku, name, name_zh, category, grade, price_cents, width_mm, "
            "depth_mm, height_mm, tagged, attrs) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s) ON CONFLICT (sku) DO UPDATE SET name = excluded.name, "
            "name_zh = excluded.name_zh, category = excluded.category, grade = excluded.grade, "
            "price_cents = excluded.price_cents, width_mm = excluded.width_mm, "
            "depth_mm = excluded.depth_mm, height_mm = excluded.height_mm, "
            "tagged = excluded.tagged, attrs = excluded.attrs",
            [(sku, name, zh, cat, grade, price, *(dims or (None, None, None)), tagged,
              json.dumps(attrs)) for sku, name, zh, cat, grade, price, dims, tagged, attrs in SKUS])
        cur.executemany(
            "INSERT INTO sku_consumables (device_sku, consumable_sku, capacity_litres, "
            "capacity_uses, capacity_months, level_based) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (device_sku, consumable_sku) DO UPDATE SET "
            "capacity_litres = excluded.capacity_litres, capacity_uses = excluded.capacity_uses, "
            "capacity_months = excluded.capacity_months, level_based = excluded.level_based",
            CONSUMABLES)
        cur.executemany(
            "INSERT INTO sku_services (device_sku, service_sku, interval_months, interval_usage, "
            "usage_metric) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (device_sku, service_sku) "
            "DO UPDATE SET interval_months = excluded.interval_months, "
            "interval_usage = excluded.interval_usage, usage_metric = excluded.usage_metric",
            SERVICES)
        cur.executemany("INSERT INTO sku_related (sku, related_sku) VALUES (%s, %s) "
                        "ON CONFLICT DO NOTHING", RELATED)
        cur.executemany("UPDATE skus SET points_cost = %s WHERE sku = %s",
                        [(cost, sku) for sku, cost in POINTS_COST.items()])
        cur.executemany("UPDATE stores SET name_zh = %s WHERE id = %s",
                        [(zh, store) for store, zh in STORE_NAMES_ZH.items()])
        restock(conn)
        cur.executemany(
            "UPDATE skus SET box_width_mm = %s, box_depth_mm = %s, box_height_mm = %s, "
            "rough_in_mm = %s, needs = %s WHERE sku = %s",
            [(*(box or (None, None, None)), rough_in, needs, sku)
             for sku, (box, rough_in, needs) in INSTALL.items()])
