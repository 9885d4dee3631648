"""``make demo``: the whole system on this machine with a simulated fleet.

Services, schema, seed catalog, three demo customers who own the simulated products, the API,
two gateway processes sharing the subscription, and the fleet simulator replaying two days of
backlog before reporting live. Ctrl-C stops it all; data stays under ``.local/``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from types import FrameType

from api.auth import mint
from catalog.seed import seed
from customers import store as customers
from device_gateway.simulator import provision_fleet, run_simulation
from homeloop import migrate, services
from homeloop.db import connect
from homeloop.settings import Settings

DEMO_CUSTOMERS = [("Li Wei", "zh-CN", "SH-XUHUI"), ("Wang Fang", "zh-CN", "SH-PUDONG"),
                  ("Emma Schultz", "en", "BJ-SIYUAN")]
FLEET = 25


def run_demo(settings: Settings) -> None:
    for name, state in services.up(settings):
        print(f"{name:10} {state}")
    migrate.upgrade(settings)
    with connect(settings) as conn:
        seed(conn)
        owners = [customers.create_customer(conn, n, locale=loc, home_store_id=store)
                  for n, loc, store in DEMO_CUSTOMERS]
        conn.commit()
    fleet = provision_fleet(settings, FLEET)
    with connect(settings) as conn:
        for i, (device_id, _, _) in enumerate(fleet):
            customers.claim(conn, owners[i % len(owners)], device_id=device_id, via="nfc_tap")
        product = conn.execute("SELECT instance_id FROM devices WHERE id = %s",
                               (fleet[0][0],)).fetchone()
        conn.commit()
    exe = [sys.executable, "-m", "homeloop"]
    children = [subprocess.Popen([*exe, "api"]),
                subprocess.Popen([*exe, "gateway", "--id", "demo-gateway-1"]),
                subprocess.Popen([*exe, "gateway", "--id", "demo-gateway-2"])]
    token = mint(settings, f"customer:{owners[0]}", hours=24)
    staff = mint(settings, "staff:demo", hours=24)
    base = f"http://{settings.api_host}:{settings.api_port}"
    pid = product[0] if product else 1
    print(f"""
Homeloop demo is running.
  API docs        {base}/docs
  A customer      export TOKEN={token}
  Their products  curl -H "Authorization: Bearer $TOKEN" {base}/v1/me/products
  A timeline      curl -H "Authorization: Bearer $TOKEN" \\
                    '{base}/v1/products/{pid}/timeline?bucket=hour'
  Staff           export STAFF={staff}
  Dead letters    curl -H "Authorization: Bearer $STAFF" {base}/v1/staff/dead-letters
  Database        PGPASSWORD=homeloop psql -h 127.0.0.1 -p {settings.pg_port} -U homeloop homeloop
  Ctrl-C stops the fleet, the gateways and the API.
""", flush=True)
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        sent = run_simulation(settings, devices=FLEET, rate=100.0, duration=0,
                              history_days=2.0, stop=stop, fleet=fleet)
        print(f"fleet published {sent} messages")
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(timeout=30)
