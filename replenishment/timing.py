"""What a household's answers and its own packs teach about when to offer it. Pure.

Per household, product and item (the customer who owns it now: a product sold on starts
again), two numbers move; no household's data moves another's, whose offers keep to the
category's threshold and the catalog's pack until their own answers and packs say otherwise:

1. **Its threshold** (:mod:`replenishment.risk`), as a shift in standard normal units from the
   category's (``+`` = later offers). The answers say it directly:

   - "I still have some" on an offer: it came too early for them → ``+STEP`` (about half the
     forecast's spread later, next time);
   - "Already bought": it came too late → ``-STEP``.

   A pack that ends without an answer is judged when it ends (the refill or new pack the
   tag reports, whether we sold it or not): late when the new one could not have been there
   in time (no offer before it ran out, an offer that arrived less than its lead time
   before the end, an order ready only after it) → ``-STEP``; in time → ``+STEP x q / (1 -
   q)``, ``q`` = :data:`replenishment.risk.TARGET_LATE`. Those two steps balance when one
   pack in 20 is late, so each household's threshold settles where its own packs are late at
   the target rate: a household whose packs are regular gets later offers, one whose use
   jumps about earlier ones. An answered pack is not judged again at its end.

2. **Its pack factor** (:mod:`replenishment.forecast`, step 5): the share of the rated amount
   the household gets through before a pack is empty to them, from the tag's count of what
   each pack gave (``used_share``: used at the refill over the rated amount). The geometric
   mean of the packs seen, with the catalog's amount (1) counted as :data:`PRIOR_PACKS` pack,
   so one pack moves it half way. A pack refilled before it ran out because our order had
   arrived says only that it lasted *at least* that long: it counts only if it gave more than
   the rated amount. Shares under a half or over two are not a pack's end (a swap, a tag
   that missed a refill) and count for nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

from replenishment.risk import SHIFT_LIMIT, TARGET_LATE

__all__ = ["PACK_RANGE", "PRIOR_PACKS", "STEP", "Answer", "Timing", "answered", "pack_ended"]

STEP = 0.5
PRIOR_PACKS = 1.0
PACK_RANGE = (0.5, 2.0)
IN_TIME_STEP = STEP * TARGET_LATE / (1.0 - TARGET_LATE)

Answer = Literal["still_have_some", "already_bought"]


@dataclass(frozen=True, slots=True)
class Timing:
    """A household's learnt timing for one item: its threshold ``shift`` and the packs
    behind its pack factor (``log_pack_sum`` over ``packs``)."""

    shift: float = 0.0
    log_pack_sum: float = 0.0
    packs: int = 0

    @property
    def pack_factor(self) -> float:
        return math.exp(self.log_pack_sum / (self.packs + PRIOR_PACKS))


def _shifted(timing: Timing, by: float) -> Timing:
    return replace(timing, shift=max(-SHIFT_LIMIT, min(SHIFT_LIMIT, timing.shift + by)))


def answered(timing: Timing, answer: Answer) -> Timing:
    """The customer said the offer came too early ("still have some") or too late."""
    return _shifted(timing, STEP if answer == "still_have_some" else -STEP)


def pack_ended(timing: Timing, *, late: bool | None, used_share: float | None = None,
               prompted: bool = False) -> Timing:
    """A pack ended (a new one was fitted).

    ``late``: whether a new one could not have reached them in time (None: an answer on its
    offer already counted, or nothing to judge). ``used_share``: what the tag saw it give,
    over the rated amount (None: not measured, or a time limit ended it). ``prompted``: our
    order had arrived before it ended, so it may have been refilled before it ran out.
    """
    if late is not None:
        timing = _shifted(timing, -STEP if late else IN_TIME_STEP)
    if used_share is None or not PACK_RANGE[0] <= used_share <= PACK_RANGE[1]:
        return timing
    if prompted and used_share < 1.0:
        return timing
    return replace(timing, log_pack_sum=timing.log_pack_sum + math.log(used_share),
                   packs=timing.packs + 1)
