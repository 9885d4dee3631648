"""``make demo``: the whole system on this machine with a simulated fleet.

Services, schema, seed catalog, three demo customers who own the simulated products (the
first also has a furnished design on a copy of a residential community's layout), the API,
two gateway processes sharing the subscription, a Celery worker and beat, and the fleet
simulator replaying two days of backlog before reporting live. The worker is asked for a
first forecast once the backlog should be in; beat repeats it hourly. Ctrl-C stops it all;
data stays under ``.local/``. It runs in development (``HOMELOOP_ENV``), it and its processes
with the install's own secrets (``.local/secrets.env``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from catalog.seed import seed
from customers import store as customers
from devtools.auth_emulator import Account, AuthEmulator, id_token
from devtools.demo.community import seed_floorplans
from devtools.demo.models import seed_models
from devtools.demo.shop_floor import seed_clienteling
from devtools.demo.tablet import CARDS, PASSWORDS, seed_tablet
from devtools.simulator import provision_fleet, run_simulation
from homeloop import migrate, services
from homeloop.db import Conn, connect
from homeloop.errors import ServiceError
from homeloop.settings import Settings
from homeloop.worker import make_celery
from identity import sessions
from identity.keys import identity_hash
from identity.staff import create_staff

DEMO_CUSTOMERS = [("Li Wei", "zh-CN", "SH-XUHUI"), ("Wang Fang", "zh-CN", "SH-PUDONG"),
                  ("Emma Schultz", "en", "BJ-SIYUAN")]
FLEET = 25
PURIFIER_AGE_DAYS = 181
HISTORY_DAYS = 2.0
RATE = 100.0  # messages per second, whole fleet
AUTH_EMULATOR_PORT = 59099  # the Firebase Auth emulator stand-in the demo's API trusts
STEPS_PER_DAY = 96  # the simulator reports every 15 minutes of its time


def _demo_customer(conn: Conn, name: str, locale: str, store: str) -> int:
    found = conn.execute("SELECT id FROM customers WHERE display_name = %s ORDER BY id LIMIT 1",
                         (name,)).fetchone()
    if found:
        return int(found[0])
    return customers.create_customer(conn, name, locale=locale, home_store_id=store)


def _demo_identities(settings: Settings, emulator: AuthEmulator,
                     owners: list[int]) -> tuple[str, str, str]:
    """Sign-ins for the demo: the first customer's Firebase ID token (from the emulator),
    an admin's session and a Xuhui kiosk's session."""
    with connect(settings) as conn:
        for owner in owners:
            uid = f"demo-customer-{owner}"
            emulator.accounts[uid] = Account(uid, None, None, None)
            conn.execute(
                "INSERT INTO customer_identities (customer_id, kind, key_hash, hint, proof) "
                "VALUES (%s, 'firebase', %s, 'app account', 'firebase_sign_in') "
                "ON CONFLICT (kind, key_hash) DO NOTHING",
                (owner, identity_hash(settings, "firebase", uid)))
        admin = conn.execute("SELECT id FROM staff_members WHERE username = 'demo-admin'"
                             ).fetchone()
        admin_id = int(admin[0]) if admin else create_staff(
            conn, "demo-admin", "Demo admin", "admin")[0].id
        kiosk = conn.execute("SELECT id FROM kiosks WHERE store_id = 'SH-XUHUI' AND "
                             "revoked_at IS NULL ORDER BY id LIMIT 1").fetchone()
        if kiosk is None:
            kiosk = conn.execute(
                "INSERT INTO kiosks (store_id, name, secret_hash, created_by) "
                "VALUES ('SH-XUHUI', 'demo kiosk', '\\x00', 'demo') RETURNING id").fetchone()
        assert kiosk is not None
        conn.commit()
    customer = id_token(settings.firebase_project_id, f"demo-customer-{owners[0]}",
                        name="Li Wei", lifetime_s=12 * 3600)
    staff, _ = sessions.issue(settings, "staff", admin_id, seconds=12 * 3600, role="admin")
    kiosk_token, _ = sessions.issue(settings, "kiosk", int(kiosk[0]), seconds=12 * 3600,
                                    store_id="SH-XUHUI")
    return customer, staff, kiosk_token


def _demo_fleet(settings: Settings, owners: list[int]) -> tuple[list[tuple[str, str, str]], bool]:
    """The demo's tags: provisioned and claimed once, their credentials kept under .local/.

    Says whether the fleet is new: only a new fleet replays a backlog of history.
    """
    saved = settings.state_dir / "demo-fleet.json"
    if saved.exists():
        fleet = [tuple(row) for row in json.loads(saved.read_text())]
        with connect(settings) as conn:
            active = conn.execute("SELECT count(*) FROM devices WHERE id = ANY(%s) "
                                  "AND revoked_at IS NULL", ([f[0] for f in fleet],)).fetchone()
        if active and active[0] == len(fleet):
            return fleet, False
    fleet = provision_fleet(settings, FLEET)
    with connect(settings) as conn:
        for i, (device_id, _, _) in enumerate(fleet):
            customers.claim(conn, owners[i % len(owners)], device_id=device_id, via="nfc_tap")
        # The first customer has had their purifier for almost six months: its pre-filter
        # (six months at most) is nearly due, so the demo shows an offer from the start.
        conn.execute(
            "UPDATE product_instances SET claimed_at = now() - make_interval(days => %s) "
            "WHERE id = (SELECT min(id) FROM product_instances "
            "            WHERE owner_id = %s AND sku = 'WP-500')",
            (PURIFIER_AGE_DAYS, owners[0]))
        conn.commit()
    saved.write_text(json.dumps(fleet))
    saved.chmod(0o600)
    return fleet, True


def _start(cmd: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


def _wait_until_subscribed(logs: list[Path], timeout_s: float = 30.0) -> None:
    """Tags publishing before the gateways' first subscription exists would go unheard."""
    sizes = {log: log.stat().st_size for log in logs}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all("subscribed" in log.read_bytes()[sizes[log]:].decode(errors="replace")
               for log in logs):
            return
        time.sleep(0.2)
    raise ServiceError(f"the gateways did not subscribe within {timeout_s:.0f} s; see {logs}")


def _send_forecast(settings: Settings) -> None:
    """Queue a forecast of the whole fleet, each chunk of customers followed by its offer
    evaluation, on the demo's worker.

    Beat repeats them (hourly and every 15 minutes); this is the first run, once the backlog
    is in, so the customer sees forecasts and offers without waiting for the schedule.
    """
    app = make_celery(settings)
    app.send_task("replenishment.forecast_all", kwargs={"then_offers": True})
    app.close()


def run_demo(settings: Settings) -> None:
    for name, state in services.up(settings):
        print(f"{name:10} {state}")
    migrate.upgrade(settings)
    with connect(settings) as conn:
        seed(conn)
        owners = [_demo_customer(conn, n, loc, store) for n, loc, store in DEMO_CUSTOMERS]
        conn.commit()
        seed_models(conn, settings)  # 3D models of the catalog's products (first run only)
        design = seed_floorplans(conn, owners[0])  # a community's layouts, a furnished design
        conn.commit()
        # two stores' assistants, customers with a history, orders in flight (first run only)
        assistant_id = seed_clienteling(conn, owners, nearby_km=settings.nearby_store_km)
        seed_tablet(conn, settings, owners)  # the tablet's sign-ins and member codes
        conn.commit()
    fleet, fresh = _demo_fleet(settings, owners)
    with connect(settings) as conn:
        product = conn.execute("SELECT instance_id FROM devices WHERE id = %s",
                               (fleet[0][0],)).fetchone()
    # The API trusts the local Auth emulator stand-in's ID tokens (never in production).
    emulator = AuthEmulator(settings.firebase_project_id, port=AUTH_EMULATOR_PORT).start()
    os.environ["FIREBASE_AUTH_EMULATOR_HOST"] = emulator.address
    token, staff, kiosk = _demo_identities(settings, emulator, owners)
    emma = id_token(settings.firebase_project_id, f"demo-customer-{owners[2]}",
                    name="Emma Schultz", lifetime_s=12 * 3600)
    assistant, _ = sessions.issue(settings, "staff", assistant_id, seconds=12 * 3600,
                                  role="assistant", store_id="SH-XUHUI")
    exe = [sys.executable, "-m", "homeloop"]
    logs = settings.state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children = [_start([*exe, "api"], logs / "api.log")]
    gateway_logs = [logs / f"demo-gateway-{n}.log" for n in (1, 2)]
    children += [_start([*exe, "gateway", "--id", log.stem], log) for log in gateway_logs]
    children += [_start([*exe, "worker", "--concurrency", "1"], logs / "worker.log"),
                 _start([*exe, "beat"], logs / "beat.log")]
    _wait_until_subscribed(gateway_logs)
    base = f"http://{settings.api_host}:{settings.api_port}"
    pid = product[0] if product else 1
    history_days = HISTORY_DAYS if fresh else 0.0
    backlog_s = history_days * STEPS_PER_DAY * FLEET / RATE + 10.0
    first_forecast = threading.Timer(backlog_s, _send_forecast, (settings,))
    first_forecast.daemon = True
    first_forecast.start()
    print(f"""
Homeloop demo is running.
  API docs        {base}/docs
  A customer      export TOKEN={token}
                  (a Firebase ID token from the local Auth emulator on {emulator.address})
  Who they are    curl -H "Authorization: Bearer $TOKEN" {base}/v1/me
  Their products  curl -H "Authorization: Bearer $TOKEN" {base}/v1/me/products
  A timeline      curl -H "Authorization: Bearer $TOKEN" \\
                    '{base}/v1/products/{pid}/timeline?bucket=hour'
  Its forecasts   curl -H "Authorization: Bearer $TOKEN" {base}/v1/products/{pid}/forecasts
                  (first run in about {backlog_s:.0f} s, then hourly; now: homeloop forecast)
  Their offers    curl -H "Authorization: Bearer $TOKEN" {base}/v1/me/offers
                  (after the first forecast, then every 15 min; now: homeloop offers evaluate)
  Accept one      curl -X POST -H "Authorization: Bearer $TOKEN" \\
                    -H "Content-Type: application/json" -d '{{}}' \\
                    {base}/v1/me/offers/<id>/accept
                  (it places an order to follow at {base}/v1/me/orders; its order
                  request waits, queued, in {base}/v1/me/order-requests
                  until HOMELOOP_ORDER_WEBHOOK_URL names the order system)
  Their design    curl -H "Authorization: Bearer $TOKEN" {base}/v1/designs/{design}/checks
                  (also /bom, /history, and /scene.glb?profile=phone|planner|vr)
  Home app        {base}/kiosk/home.html#token={token}
                  (the customer's app, in Chinese; English: home.html?lang=en#token=…;
                  open it in a phone-sized window: products, usage charts, forecasts,
                  offers to accept, orders, coupons, designs, privacy; installable)
  Room designer   {base}/kiosk/?design={design}#token={token}
                  (in a browser, as the customer; a kiosk signs in at {base}/kiosk/)
  Product page    {base}/kiosk/product.html?sku=SOFA-3-GREY
  Layouts         curl -H "Authorization: Bearer $TOKEN" '{base}/v1/communities/layouts?q=jade'
  Staff (admin)   export STAFF={staff}
  A Xuhui kiosk   export KIOSK={kiosk}
  An assistant    export ASSIST={assistant}   (Ann, Shanghai Xuhui)
  Her day         curl -H "Authorization: Bearer $ASSIST" {base}/v1/staff/day
  A customer      curl -H "Authorization: Bearer $ASSIST" \
                    {base}/v1/staff/customers/{owners[0]}/profile
                  (also /trail and /recommendations; their orders: /v1/me/orders)
  Assistant's     {base}/kiosk/assist.html   (导购助手; a tablet-sized window)
    tablet        assistant demo-ann / {PASSWORDS["demo-ann"]}
                  manager demo-maya / {PASSWORDS["demo-maya"]}
                  Li Wei (lets Xuhui in): member code {CARDS[0][0]}, phone {CARDS[0][1]}
                  Emma Schultz (does not yet): member code {CARDS[1][0]}, phone {CARDS[1][1]}
  Emma says yes   export EMMA={emma}
    on her phone  curl -H "Authorization: Bearer $EMMA" {base}/v1/me/consent-requests
                  curl -X POST -H "Authorization: Bearer $EMMA" \\
                    -H "Content-Type: application/json" -d '{{"granted": true}}' \\
                    {base}/v1/me/consent-requests/<id>/answer
  Li Wei rates    curl -X POST -H "Authorization: Bearer $TOKEN" \\
                    -H "Content-Type: application/json" -d '{{"stars": 5}}' \\
                    {base}/v1/me/orders/<id>/rating   (once installed)
  Search          curl -G {base}/v1/search --data-urlencode 'q=灰色 沙发' -d stock=here \
                    -d store_id=SH-XUHUI
  Hand-off QR     curl -X POST -H "Authorization: Bearer $KIOSK" {base}/v1/kiosk/handoffs
  Dead letters    curl -H "Authorization: Bearer $STAFF" {base}/v1/staff/dead-letters
  Database        PGPASSWORD=homeloop psql -h 127.0.0.1 -p {settings.pg_port} -U homeloop homeloop
  Logs            {logs}/
  Ctrl-C stops the fleet, the gateways, the worker, beat and the API.
""", flush=True)
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        sent = run_simulation(settings, devices=FLEET, rate=RATE, duration=0,
                              history_days=history_days, stop=stop, fleet=fleet)
        print(f"fleet published {sent} messages")
    finally:
        first_forecast.cancel()
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(timeout=30)
        emulator.stop()
