"""What the floor-plan checks, the designer's hints and the bill of materials say to a person,
in Simplified Chinese and English (:class:`homeloop.i18n.Catalogue`).

Item, room and door names are made in :mod:`floorplans.checks` as :class:`homeloop.i18n.Pair`
and dropped into these sentences; the English keeps its articles ("the grey sofa"), the
Chinese needs none.
"""

from __future__ import annotations

from homeloop.i18n import Catalogue, Pair, length

CHECKS = Catalogue("floorplans.checks", {
    "outside": ("{item}在本户型的房间之外。", "The {item} is outside the rooms of this plan."),
    "sticks_out": ("{item}超出了{room}：有 {cm2} 平方厘米在墙外。",
                   "The {item} sticks out of {room}: {cm2} cm² of it is beyond the walls."),
    "wall_overlap": ("{item}碰到了{room}的墙，请把它从墙边移开。",
                     "The {item} runs into a wall of {room}; move it away from the wall."),
    "product_overlap": ("{a}和{b}重叠了。", "The {a} and the {b} overlap."),
    "door_swing": ("{item}挡住了{door}的开启范围：门无法完全打开。",
                   "The {item} blocks the swing of {door}: the door cannot open fully."),
    "walkway_door_in_room": ("{room}内{door}处的通道不足 80 厘米。",
                             "There is less than 80 cm of free floor in {room} at {door}."),
    "walkway_door": ("{door}处的通道不足 80 厘米。",
                     "There is less than 80 cm of free floor at {door}."),
    "walkway_front": ("{item}前方的通道不足 80 厘米，人走不到它跟前。",
                      "There is less than 80 cm of free floor to walk up to the front of the "
                      "{item}."),
    "fixture_none": ("{item}需要{need}，而本户型没有。",
                     "The {item} needs {need}, and this plan has none."),
    "fixture_far": ("{item}需要 {reach}以内有{need}；最近的在 {nearest}之外。",
                    "The {item} needs {need} within {reach}; the nearest is {nearest} away."),
    "rough_in": ("这款坑距 {rough_in} 毫米的{item}与您家距墙 {at} 毫米的下水口不匹配；"
                 "请选择坑距 {at} 毫米的型号。",
                 "This {rough_in} mm rough-in {item} does not match your drain at {at} mm "
                 "from the wall; choose a {at} mm rough-in model."),
    "delivery": ("包装好的{item}（{dims} 厘米）无法通过{door}（宽 {width} 厘米）。",
                 "The boxed {item} ({dims} cm) will not fit through {door}, which is "
                 "{width} cm wide."),
})

# Why an upload or an edit is refused (the problem's detail; the text's id is its ``code``).
IMPORT = Catalogue("floorplans", {
    "floorplan.too_deep": ("无法读取该户型图的 JSON：嵌套层级太深。",
                           "the floor plan is not JSON we can read: nested too deeply"),
    "floorplan.not_json": ("该户型图不是 JSON：{why}", "the floor plan is not JSON: {why}"),
    "floorplan.not_an_object": ("户型图必须是一个 JSON 对象。", "a floor plan is a JSON object"),
    "floorplan.unknown_format": (
        "无法识别的户型图格式：需要我们的 JSON（format 为 homeloop.floorplan），或 RoomPlan 导出的 "
        "CapturedRoom / CapturedStructure。",
        "unknown floor plan format: expected our JSON (format homeloop.floorplan) or a RoomPlan "
        "CapturedRoom or CapturedStructure export"),
    "floorplan.no_room": ("该 RoomPlan 导出中没有房间：没有扫描到地面轮廓，"
                          "墙体也没有围合出任何区域。",
                          "the RoomPlan export has no room: no floor outline was scanned, and "
                          "its walls enclose no area"),
    "floorplan.too_many": ("一个户型图最多有 {cap} 个{what}；该导出有 {n} 个。",
                           "a floor plan has at most {cap} {what}; this export has {n}"),
    "design.too_many_items": ("一个设计最多放 {cap} 件物品。",
                              "a design has at most {cap} placements"),
    "design.duplicate_ids": ("摆放的编号必须唯一：{ids}", "placement ids must be unique: {ids}"),
    "design.not_placeable": ("这些商品无法摆放（商品编号未知或没有尺寸）：{skus}",
                             "not placeable (unknown SKU or no dimensions): {skus}"),
})

# Names inside the sentences.
NAMES = Catalogue("floorplans.names", {
    "in_room": ("{room}里的{item}", "{item} in {room}"),
    "nth": ("{nth}{item}", "{nth} {item}"),  # "第二个台灯", "second lamp"
    "entrance_door": ("入户门", "the entrance door"),
    "your_entrance_door": ("您家的入户门", "your entrance door"),
    "door_between": ("从{start}到{end}的{nth}门", "the {nth}door from {start} to {end}"),
    "door_of": ("{room}的{nth}门", "the {nth}door of {room}"),
    "door": ("{nth}门", "the {nth}door"),
    "the_room": ("房间", "the room"),
})

NEEDS = {"water": Pair("供水", "a water supply"), "drain": Pair("下水口", "a drain"),
         "power": Pair("电源插座", "a power outlet"), "gas": Pair("燃气接口", "a gas connection")}

# A product's kind in a sentence (the catalog's category).
CATEGORY_ZH = {
    "bed": "床", "sofa": "沙发", "wardrobe": "衣柜", "lamp": "台灯", "dishwasher": "洗碗机",
    "washing_machine": "洗衣机", "water_purifier": "净水器", "water_filter": "滤芯",
    "toilet": "马桶", "toilet_filter": "马桶滤芯", "coffee_machine": "咖啡机",
    "detergent_dispenser": "洗涤剂投放器", "table": "桌子", "chair": "椅子", "desk": "书桌",
    "shelf": "搁架", "cabinet": "柜子", "fridge": "冰箱", "refrigerator": "冰箱", "oven": "烤箱",
    "tv": "电视", "tv_bench": "电视柜", "bookcase": "书柜", "dryer": "干衣机",
}
# Rooms a scan or a plan names by a common word; any other name is written as it is.
ROOM_ZH = {
    "kitchen": "厨房", "dining": "餐厅", "dining room": "餐厅", "living": "客厅",
    "living room": "客厅", "bedroom": "卧室", "master bedroom": "主卧", "guest room": "客房",
    "bathroom": "卫生间", "toilet": "卫生间", "hall": "门厅", "hallway": "走廊",
    "corridor": "走廊", "study": "书房", "office": "书房", "balcony": "阳台",
    "laundry": "洗衣房", "storage": "储藏室", "entrance": "玄关", "closet": "衣帽间",
    "garage": "车库", "nursery": "儿童房", "utility": "工作间", "pantry": "食品储藏室",
}
ZH_NUMERALS = "一二三四五六七八九十"

def metres(value: float, digits: int = 1) -> Pair:
    """A length as each language writes it ("1.5 米", "1.5 m")."""
    return Pair(length(value, "zh-CN", digits), length(value, "en", digits))


def zh_ordinal(n: int) -> str:
    return ZH_NUMERALS[n - 1] if n <= len(ZH_NUMERALS) else str(n)

