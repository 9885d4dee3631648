"""The instants tests run at, so that no test depends on the hour it is run.

Every test runs with the test process's clock (``homeloop.clock.now``, ``datetime.now``,
``time.time``) moved by time-machine to an instant it states, ticking on from there: by
default :data:`DEFAULT`, a Wednesday morning in Shanghai. The ``now`` fixture gives a test
that instant. A test marked ``clock`` (time-sensitive: offers, quiet hours, caps, budgets,
delivery slots, forecasts, sessions, hand-offs) runs at every instant of :data:`INSTANTS`
too when pytest is given ``--instants``, as ``make test`` does: both sides of the
customers' quiet hours, the ends of a day, a week and a month, and the minute before a
daylight-saving change in a customer zone that has one.

A test that needs the real clock is marked ``real_clock`` with the reason: one whose other
processes (a gateway, a Celery worker, an API server) or the database's own ``now()``
stamp what it checks cannot share a moved clock.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")

DEFAULT = datetime(2026, 6, 10, 10, 0, tzinfo=SHANGHAI)  # a Wednesday, 10:00

INSTANTS = {
    "sh-0300": datetime(2026, 6, 10, 3, 0, tzinfo=SHANGHAI),  # quiet hours; UTC's yesterday
    "sh-1200": datetime(2026, 6, 10, 12, 0, tzinfo=SHANGHAI),
    "sh-1430": datetime(2026, 6, 10, 14, 30, tzinfo=SHANGHAI),
    "sh-2230": datetime(2026, 6, 10, 22, 30, tzinfo=SHANGHAI),  # quiet hours began at 22:00
    "sh-2359": datetime(2026, 6, 10, 23, 59, 30, tzinfo=SHANGHAI),  # the day's last minute
    "monday-0000": datetime(2026, 6, 15, 0, 0, tzinfo=SHANGHAI),  # a week begins
    "month-end": datetime(2026, 6, 30, 23, 59, 30, tzinfo=SHANGHAI),  # June's last minute
    # Berlin springs forward at 02:00 on 28 March 2027: this is 01:59:30 CET.
    "berlin-dst": datetime(2027, 3, 28, 1, 59, 30, tzinfo=BERLIN),
}
