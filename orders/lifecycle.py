"""An order's steps, what each one tells the customer and the assistant, and reputation. Pure.

A delivery (what an assistant sells): ``placed → picked → shipped (from a store) →
out_for_delivery → delivered → installation_booked → installed → closed``; a delivered order
that needs no installation closes; an order not yet shipped may be cancelled.

A pickup (an accepted offer collected at a store): ``placed → picked`` (ready at the store,
and the customer is told so) ``→ delivered`` (collected) ``→ closed``; cancelled until it is
collected. A visit (a service): ``placed → installation_booked → installed → closed``;
cancelled until it is done. Nothing else is allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from homeloop.errors import Conflict, InvalidInput
from homeloop.i18n import Pair, price

__all__ = [
    "NEXT",
    "PROBLEMS",
    "SLOT_CAPACITY",
    "STEPS_OF",
    "Fulfilment",
    "Reputation",
    "Status",
    "check_transition",
    "customer_hears",
    "deliver_after",
    "is_low_rating",
    "message",
    "reputation",
    "slot_windows",
]

Fulfilment = Literal["delivery", "pickup", "visit"]
Status = Literal["placed", "picked", "shipped", "out_for_delivery", "delivered",
                 "installation_booked", "installed", "closed", "cancelled"]

NEXT: dict[str, frozenset[str]] = {
    "placed": frozenset({"picked", "cancelled"}),
    "picked": frozenset({"shipped", "cancelled"}),
    "shipped": frozenset({"out_for_delivery"}),
    "out_for_delivery": frozenset({"delivered"}),
    "delivered": frozenset({"installation_booked", "closed"}),
    "installation_booked": frozenset({"installed"}),
    "installed": frozenset({"closed"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}
PICKUP_NEXT: dict[str, frozenset[str]] = {
    "placed": frozenset({"picked", "cancelled"}),
    "picked": frozenset({"delivered", "cancelled"}),
    "delivered": frozenset({"closed"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}
VISIT_NEXT: dict[str, frozenset[str]] = {
    "placed": frozenset({"installation_booked", "cancelled"}),
    "installation_booked": frozenset({"installed", "cancelled"}),
    "installed": frozenset({"closed"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}
STEPS_OF: dict[str, dict[str, frozenset[str]]] = {
    "delivery": NEXT, "pickup": PICKUP_NEXT, "visit": VISIT_NEXT}

# What a customer may tick when rating an installation.
PROBLEMS = frozenset({"late", "no_show", "damage", "leak", "mess_left", "incomplete",
                      "not_explained", "rude"})
SERIOUS = frozenset({"damage", "leak", "no_show"})

# Reputation: a Bayesian average pulls an installer with few ratings towards everyone's mean.
PRIOR_WEIGHT = 5.0
PRIOR_MEAN = 4.0  # before anyone has been rated


def check_transition(current: str, new: str, *, needs_slot: bool, has_slot: bool,
                     has_installer: bool, fulfilment: str = "delivery") -> None:
    """Raise :class:`Conflict` unless ``current → new`` is a step an order may take."""
    if new not in NEXT:
        raise InvalidInput(f"unknown order status {new!r}")
    steps = STEPS_OF[fulfilment]
    if new not in steps.get(current, frozenset()):
        allowed = ", ".join(sorted(steps.get(current, ()))) or "nothing (it is finished)"
        kind = "" if fulfilment == "delivery" else f" {fulfilment}"
        raise Conflict(f"a{kind} order that is {current} cannot become {new}; next: {allowed}")
    if new == "out_for_delivery" and needs_slot and not has_slot:
        raise Conflict("book a delivery slot first: the store did not have it in stock")
    if new == "installation_booked" and not has_installer:
        raise InvalidInput("name the installer and the time of the installation")


_WORDS: dict[str, tuple[str, str]] = {
    "placed": ("Order {id} placed: {total}.", "订单 {id} 已下单：{total}。"),
    "picked": ("Order {id} is being prepared at {store}.", "订单 {id} 正在{store}备货。"),
    "shipped": ("Order {id} has shipped from {store}.", "订单 {id} 已从{store}发货。"),
    "out_for_delivery": ("Order {id} is out for delivery{slot}.", "订单 {id} 正在派送{slot}。"),
    "delivered": ("Order {id} was delivered.", "订单 {id} 已送达。"),
    "installation_booked": ("Installation of order {id}: {when}, by {installer}.",
                            "订单 {id} 的安装已预约：{when}，安装师傅 {installer}。"),
    "installed": ("Order {id} is installed. How did it go? Rate the installation.",
                  "订单 {id} 已安装完成。请为安装服务评分。"),
    "closed": ("Order {id} is complete.", "订单 {id} 已完成。"),
    "cancelled": ("Order {id} was cancelled.", "订单 {id} 已取消。"),
}
# A pickup's steps read differently: ready at the store, then collected.
_PICKUP_WORDS: dict[str, tuple[str, str]] = {
    "picked": ("Order {id} is ready for pickup at {store}.",
               "订单 {id} 已在{store}备好，可以取货。"),
    "delivered": ("Order {id} was collected.", "订单 {id} 已取货。"),
}
# A visit's: the service booked, then done.
_VISIT_WORDS: dict[str, tuple[str, str]] = {
    "installation_booked": ("The service of order {id}: {when}, by {installer}.",
                            "订单 {id} 的上门服务已预约：{when}，服务师傅 {installer}。"),
    "installed": ("The service of order {id} is done. How did it go? Rate the visit.",
                  "订单 {id} 的上门服务已完成。请为服务评分。"),
}
# The customer is told these; the assistant who sold the order is told every step after it.
CUSTOMER_HEARS = frozenset({"placed", "shipped", "out_for_delivery", "delivered",
                            "installation_booked", "installed", "cancelled"})


# An order's status in a sentence: "an order that is shipped", "订单已发货".
STATUS_WORDS: dict[str, Pair] = {
    "placed": Pair("已下单", "placed"), "picked": Pair("已备货", "picked"),
    "shipped": Pair("已发货", "shipped"), "out_for_delivery": Pair("正在派送", "out for delivery"),
    "delivered": Pair("已送达", "delivered"),
    "installation_booked": Pair("已预约安装", "installation booked"),
    "installed": Pair("已安装", "installed"), "closed": Pair("已完成", "closed"),
    "cancelled": Pair("已取消", "cancelled"),
}


def status_words(status: str) -> Pair:
    return STATUS_WORDS.get(status, Pair(status, status.replace("_", " ")))


def customer_hears(status: str, fulfilment: str = "delivery") -> bool:
    """Whether the customer is told of this step (a pickup's "ready" above all)."""
    return status in CUSTOMER_HEARS or (fulfilment == "pickup" and status == "picked")


def message(status: str, *, order_id: int, zh: bool, store: str = "", total_cents: int = 0,
            slot: str = "", when: str = "", installer: str = "",
            fulfilment: str = "delivery") -> str:
    words = {"pickup": _PICKUP_WORDS, "visit": _VISIT_WORDS}.get(fulfilment, {})
    en, cn = words.get(status) or _WORDS[status]
    total = price(total_cents, "zh-CN" if zh else "en")  # ¥1,299.00 / CN¥1,299.00
    slot_text = (f" ({slot})" if not zh else f"（{slot}）") if slot else ""
    return (cn if zh else en).format(id=order_id, store=store, total=total, slot=slot_text,
                                     when=when, installer=installer)


def deliver_after(now: datetime, tz: str, quiet_start: time, quiet_end: time) -> datetime:
    """``now``, or the end of the customer's quiet hours if ``now`` falls in them."""
    local = now.astimezone(ZoneInfo(tz))
    t = local.time().replace(tzinfo=None)
    if quiet_start == quiet_end:
        return now
    quiet = (quiet_start <= t < quiet_end if quiet_start < quiet_end
             else t >= quiet_start or t < quiet_end)
    if not quiet:
        return now
    end = local.replace(hour=quiet_end.hour, minute=quiet_end.minute, second=0, microsecond=0)
    if t >= quiet_end:
        end += timedelta(days=1)
    return end.astimezone(now.tzinfo)


def is_low_rating(stars: int, problems: Sequence[str]) -> bool:
    """Two stars or fewer, or a serious problem (damage, a leak, nobody came)."""
    return stars <= 2 or bool(SERIOUS & set(problems))


@dataclass(frozen=True, slots=True)
class Reputation:
    ratings: int
    mean: float | None
    score: float  # the Bayesian average shown to assistants


def reputation(n: int, total: float, prior_mean: float = PRIOR_MEAN,
               weight: float = PRIOR_WEIGHT) -> Reputation:
    """``(weight * prior_mean + total) / (weight + n)`` for ``n`` ratings summing ``total``."""
    score = (weight * prior_mean + total) / (weight + n)
    return Reputation(n, total / n if n else None, round(score, 3))


SLOT_HOURS = ((9, 13), (14, 18))  # delivery windows, local time
SLOT_DAYS = 7
SLOT_CAPACITY = 8  # deliveries per window and fulfilling store


def slot_windows(now: datetime, tz: str, lead_days: int,
                 days: int = SLOT_DAYS) -> list[tuple[datetime, datetime]]:
    """Delivery windows from the first day the goods can be there (``lead_days`` after
    today, at least tomorrow), ``days`` days of them, in the store's time zone."""
    zone = ZoneInfo(tz)
    first = now.astimezone(zone).date() + timedelta(days=max(lead_days, 1))
    out = []
    for d in range(days):
        day = first + timedelta(days=d)
        for start, end in SLOT_HOURS:
            out.append((datetime.combine(day, time(start), zone),
                        datetime.combine(day, time(end), zone)))
    return out


def local_time(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def local_window(start: datetime, end: datetime, tz: str) -> str:
    zone = ZoneInfo(tz)
    return (f"{start.astimezone(zone).strftime('%Y-%m-%d %H:%M')}–"
            f"{end.astimezone(zone).strftime('%H:%M')}")
