"""Why an offer cannot be answered, in Simplified Chinese and English (the problem's detail;
the text's id is its ``code``). The offers' own sentences are in :mod:`offer_reasons`."""

from __future__ import annotations

from homeloop.i18n import Catalogue, Pair, Text

PROBLEMS = Catalogue("replenishment", {
    "offer.closed": ("推荐 {id} {status}，无法再{verb}。",
                     "offer {id} is {status}; it can no longer be {verb}"),
    "offer.out_of_stock": ("{store}现在没有 {skus} 的库存。",
                           "{store} does not have {skus} in stock now"),
    "offer.no_online_store": ("没有网上商城。", "there is no online store"),
    "offer.visit_only": ("服务由技师上门完成，不能自提或送货。",
                         "a service is a technician's visit, not a pickup or delivery"),
    "offer.which_technician_store": ("请选择派技师上门的门店。",
                                     "say which store should send the technician"),
    "offer.visit_for_services": ("上门只适用于服务；请选择自提或送货。",
                                 "a visit is for services; pick pickup or delivery"),
    "offer.which_pickup_store": ("请选择自提的门店。", "say which store to pick it up at"),
})

STATUS = {
    "pending": Pair("尚未发送", "pending"), "deferred": Pair("已推迟", "deferred"),
    "sent": Pair("已发送", "sent"), "opened": Pair("已打开", "opened"),
    "snoozed": Pair("已暂缓", "snoozed"), "accepted": Pair("已接受", "accepted"),
    "dismissed": Pair("已忽略", "dismissed"), "already_bought": Pair("已标记为已购买",
                                                                   "already bought"),
    "expired": Pair("已过期", "expired"), "suppressed": Pair("未发出", "suppressed"),
}
VERBS = {"dismissed": Pair("忽略", "dismissed"), "opened": Pair("打开", "opened"),
         "snoozed": Pair("暂缓", "snoozed"), "marked bought": Pair("标记为已购买", "marked bought"),
         "accepted": Pair("接受", "accepted")}


def closed(offer_id: int, status: str, verb: str) -> Text:
    """"offer 12 is expired; it can no longer be accepted" / "推荐 12 已过期，无法再接受。"."""
    return PROBLEMS("offer.closed", id=offer_id,
                    status=STATUS.get(status, Pair(status, status.replace("_", " "))),
                    verb=VERBS.get(verb, Pair(verb, verb)))
