"""The ``homeloop`` command line. Each command builds its own settings and resources.

The development tools' commands (``demo``, ``simulate``, ``bench ...``, ``auth emulator``) are
defined in :mod:`devtools.cli` and attached at the end of this module where ``devtools`` is
installed; the production image has no ``devtools``, and its ``homeloop`` works without them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from homeloop.cli_support import command_settings, development_settings, fail, setup_logging
from homeloop.errors import HomeloopError
from homeloop.settings import (
    API_SECRETS,
    GATEWAY_SECRETS,
    WORKER_SECRETS,
    broker_secrets,
    require_secrets,
)

app = typer.Typer(help="Homeloop: tags, timelines, offers and 3D for smart home products.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
services_app = typer.Typer(help="Local PostgreSQL, Mosquitto and Redis on loopback.",
                           no_args_is_help=True)
devices_app = typer.Typer(help="Provision and revoke product tags.", no_args_is_help=True)
auth_app = typer.Typer(help="Staff accounts, kiosks, session tokens (in development: the "
                            "Auth emulator).", no_args_is_help=True)
offers_app = typer.Typer(help="Replenishment and maintenance offers.", no_args_is_help=True)
app.add_typer(services_app, name="services")
app.add_typer(devices_app, name="devices")
app.add_typer(auth_app, name="auth")
app.add_typer(offers_app, name="offers")
quality_app = typer.Typer(help="Fleet quality alerts.", no_args_is_help=True)
app.add_typer(quality_app, name="quality")


@services_app.command("up")
def services_up() -> None:
    """Start the services (installing Debian packages when missing). Safe to run twice."""
    from homeloop import services

    try:
        for name, state in services.up(development_settings()):
            typer.echo(f"{name:10} {state}")
    except HomeloopError as exc:
        raise fail(exc) from exc


@services_app.command("down")
def services_down() -> None:
    """Stop the services; their data stays under the state folder."""
    from homeloop import services

    try:
        for name, state in services.down(command_settings()):
            typer.echo(f"{name:10} {state}")
    except HomeloopError as exc:
        raise fail(exc) from exc


@services_app.command("status")
def services_status() -> None:
    """Say which services answer on their ports."""
    from homeloop import services

    rows = services.status(command_settings())
    for row in rows:
        state = "running" if row.running else "stopped"
        typer.echo(f"{row.name:10} {state:8} 127.0.0.1:{row.port}  {row.detail}")
    if not all(row.running for row in rows):
        raise typer.Exit(3)


@app.command()
def migrate(revision: str = "head") -> None:
    """Bring the database schema up to a revision (Alembic)."""
    from homeloop import migrate as migrations

    migrations.upgrade(command_settings(), revision)
    typer.echo(f"schema at {revision}")


@app.command()
def seed() -> None:
    """Load the seed catalog, stores and stock (idempotent)."""
    from catalog.seed import seed as load
    from homeloop.db import connect

    with connect(command_settings()) as conn:
        load(conn)
    typer.echo("seed catalog loaded")


@app.command()
def forecast() -> None:
    """Forecast every claimed product now (what the hourly Celery task does), batch by batch."""
    from replenishment.tasks import run_all

    setup_logging("WARNING")
    done = run_all(command_settings())
    typer.echo(f"{done.forecasts} forecasts stored for {done.products} products"
               + (f"; {done.pruned} of released products dropped" if done.pruned else "")
               + (f"; {done.fitted} ordered consumables now fitted" if done.fitted else ""))


@offers_app.command("evaluate")
def offers_evaluate() -> None:
    """Decide offers from the stored forecasts now (what the 15-minute Celery task does)."""
    from replenishment.tasks import run_offers

    setup_logging("WARNING")
    done = run_offers(command_settings())
    typer.echo(f"{done.created} offers created: {done.pending} pending, {done.deferred} "
               f"deferred to the end of quiet hours, {done.suppressed} suppressed; "
               f"{done.expired} expired, {done.released} released after quiet hours")


@quality_app.command("scan")
def quality_scan() -> None:
    """Raise fleet quality alerts and notices now (what the daily Celery task does)."""
    from replenishment.tasks import run_quality_scan

    setup_logging("WARNING")
    done = run_quality_scan(command_settings())
    typer.echo(f"{done.skus} SKUs scanned: {done.alerts} new alerts, "
               f"{done.offers} quality offers created")


@offers_app.command("push")
def offers_push() -> None:
    """Queue the pending offers' pushes and send one batch (what the per-minute task does)."""
    from notifications.fcm import open_sender
    from replenishment.tasks import run_pushes

    setup_logging("WARNING")
    settings = command_settings()
    sender = open_sender(settings)
    try:
        done = run_pushes(settings, sender)
    except HomeloopError as exc:
        raise fail(exc) from exc
    finally:
        if sender is not None:
            sender.close()
    typer.echo(f"{done.queued} pushes queued")
    if done.delivered is None:
        typer.echo("not sent: set HOMELOOP_FCM_CREDENTIALS_FILE (a service-account JSON)")
        return
    d = done.delivered
    typer.echo(f"{d.claimed} claimed: {d.sent} sent, {d.retrying} to retry, {d.dead} dead, "
               f"{d.failed} failed; {d.pruned_tokens} tokens pruned")


@devices_app.command("provision")
def devices_provision(
    sku: Annotated[str, typer.Option(help="Catalog SKU of the tagged product")],
    count: Annotated[int, typer.Option(help="How many tags")] = 1,
    batch: Annotated[str | None, typer.Option(help="Production batch (lot) of the products")]
    = None,
    out: Annotated[Path | None, typer.Option(help="Write credentials as JSON here")] = None,
) -> None:
    """Create tags with their own MQTT credentials. Passwords are shown once."""
    from device_gateway.provisioning import after_provisioning, provision
    from homeloop.db import connect

    settings = command_settings(GATEWAY_SECRETS)
    try:
        with connect(settings) as conn:
            made = provision(conn, sku, count, batch)
            conn.commit()
            after_provisioning(conn, settings)
    except HomeloopError as exc:
        raise fail(exc) from exc
    rows = [{"device_id": c.device_id, "password": c.password, "tag_uid": c.tag_uid,
             "product_id": c.instance_id, "sku": c.sku, "batch": c.batch} for c in made]
    if out:
        out.write_text(json.dumps(rows, indent=1))
        out.chmod(0o600)
        typer.echo(f"{len(rows)} devices provisioned; credentials in {out}")
    else:
        typer.echo(json.dumps(rows, indent=1))


@devices_app.command("revoke")
def devices_revoke(device_id: str) -> None:
    """Revoke a tag: the broker drops it at once, without a restart.

    With EMQX, when its API cannot be reached the tag stays revoked (it can no longer sign
    in) and the command says so and exits 1: run it again to close the connection."""
    from device_gateway.provisioning import after_revocation, revoke
    from homeloop.db import connect

    settings = command_settings(GATEWAY_SECRETS)
    try:
        require_secrets(settings, broker_secrets(settings))
        with connect(settings) as conn:
            revoke(conn, device_id)
            conn.commit()
            after_revocation(conn, settings, device_id)
    except HomeloopError as exc:
        raise fail(exc) from exc
    typer.echo(f"{device_id} revoked")


@devices_app.command("sync-broker")
def devices_sync_broker() -> None:
    """Render the broker's password and ACL files from the active devices."""
    from device_gateway.provisioning import sync_broker
    from homeloop.db import connect

    settings = command_settings(GATEWAY_SECRETS)
    if settings.broker == "emqx":
        typer.echo("the broker is EMQX: it reads devices from the database, nothing to render")
        return
    with connect(settings) as conn:
        count = sync_broker(conn, settings)
    typer.echo(f"broker auth files hold {count} active devices")


@devices_app.command("broker-accounts")
def devices_broker_accounts() -> None:
    """For a broker that checks credentials in the database (EMQX, deploy/scale): store the
    gateway's account there. Devices need nothing: the broker reads them from ``devices``."""
    from device_gateway.broker_db import store_gateway_account
    from homeloop.db import connect

    settings = command_settings(GATEWAY_SECRETS)
    with connect(settings) as conn:
        written = store_gateway_account(conn, settings)
        conn.commit()
    typer.echo("gateway account " + ("stored" if written else "already up to date"))


@app.command()
def worker(concurrency: int | None = None) -> None:
    """Run a Celery worker on Redis.

    Without ``--concurrency``: as many processes as HOMELOOP_WORKER_MEMORY_MB holds at the
    measured worst 3D processing tree (``ar_assets.service.WORST_TREE_MB``), at most one per
    CPU, at least one.
    """
    from homeloop.worker import make_celery, worker_concurrency

    settings = command_settings(WORKER_SECRETS)
    make_celery(settings).worker_main(
        ["worker", "--loglevel=INFO",
         f"--concurrency={concurrency or worker_concurrency(settings)}"])


@app.command()
def beat() -> None:
    """Run Celery beat: the periodic tasks (raw retention, ...). It holds no secrets."""
    from homeloop.worker import make_celery

    settings = command_settings()
    schedule = settings.state_dir / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    make_celery(settings).start(["beat", "--loglevel=INFO", f"--schedule={schedule}"])


@app.command("worker-ping")
def worker_ping() -> None:
    """Exit 0 when at least one worker answers (a health check)."""
    from homeloop.worker import make_celery

    replies = make_celery(command_settings()).control.ping(timeout=5)
    if not replies:
        typer.secho("no worker answered", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(replies)} worker(s) answered")


@app.command()
def gateway(
    client_id: Annotated[str, typer.Option("--id", help="MQTT client id (persistent session)")]
    = "homeloop-gateway-1",
) -> None:
    """Run one gateway process (several share the load through $share subscriptions)."""
    from device_gateway.gateway import run_gateway

    settings = command_settings(GATEWAY_SECRETS)
    setup_logging()
    try:
        run_gateway(settings, client_id)
    except HomeloopError as exc:
        raise fail(exc) from exc


@app.command()
def api(
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Serve the HTTP API."""
    import copy

    import uvicorn

    from api.app import create_app

    settings = command_settings(API_SECRETS)
    # Every log line of a request carries its X-Request-ID, as its problem+json answer does.
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["filters"] = {"request_id": {
        "()": "asgi_correlation_id.CorrelationIdFilter", "default_value": "-"}}
    for handler in log_config["handlers"].values():
        handler["filters"] = ["request_id"]
    log_config["formatters"]["default"]["fmt"] = "%(levelprefix)s [%(correlation_id)s] %(message)s"
    log_config["formatters"]["access"]["fmt"] = (
        '%(levelprefix)s [%(correlation_id)s] %(client_addr)s - "%(request_line)s" %(status_code)s')
    log_config["loggers"]["api"] = {"handlers": ["default"], "level": "INFO"}
    # X-Forwarded-For and -Proto are believed from the trusted proxies only (else anyone could
    # choose the address their rate limits count under); with none, they are ignored.
    uvicorn.run(create_app(settings), host=host or settings.api_host,
                port=port or settings.api_port, log_level="info", log_config=log_config,
                proxy_headers=bool(settings.trusted_proxies),
                forwarded_allow_ips=settings.trusted_proxies or None)


@auth_app.command("token")
def auth_token(
    staff: Annotated[str | None, typer.Option(help="A staff member's username")] = None,
    kiosk: Annotated[int | None, typer.Option(help="A kiosk's id")] = None,
    hours: Annotated[float, typer.Option(help="How long the session lasts")] = 8.0,
) -> None:
    """Issue a session token for a staff member or kiosk (an operator's shortcut to sign-in)."""
    from homeloop.db import connect
    from identity import kiosks, sessions
    from identity import staff as staff_store

    if (staff is None) == (kiosk is None):
        typer.secho("give exactly one of --staff or --kiosk", err=True)
        raise typer.Exit(2)
    settings = command_settings(["secret_key"])
    try:
        with connect(settings) as conn:
            if staff is not None:
                row = conn.execute("SELECT id FROM staff_members WHERE username = %s "
                                   "AND disabled_at IS NULL", (staff,)).fetchone()
                if row is None:
                    raise typer.BadParameter(f"no active staff member {staff!r}")
                member = staff_store.get_staff(conn, int(row[0]))
                token, _ = sessions.issue(settings, "staff", member.id, seconds=hours * 3600,
                                          role=member.role, store_id=member.store_id)
            else:
                assert kiosk is not None
                found = kiosks.get_kiosk(conn, kiosk)
                if found.revoked:
                    raise typer.BadParameter(f"kiosk {kiosk} is revoked")
                token, _ = sessions.issue(settings, "kiosk", found.id, seconds=hours * 3600,
                                          store_id=found.store_id)
    except HomeloopError as exc:
        raise fail(exc) from exc
    typer.echo(token)


@auth_app.command("add-staff")
def auth_add_staff(
    username: Annotated[str, typer.Option(help="Sign-in name")],
    role: Annotated[str, typer.Option(help="assistant, catalog_editor, fleet_operator, admin")],
    store: Annotated[str | None, typer.Option(help="The store of an assistant")] = None,
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
) -> None:
    """Create a staff account and print its first password (shown once)."""
    from homeloop.db import connect
    from identity import staff as staff_store

    try:
        with connect(command_settings()) as conn:
            member, password = staff_store.create_staff(conn, username, name or username,
                                                        role, store)
            conn.commit()
    except HomeloopError as exc:
        raise fail(exc) from exc
    typer.echo(f"staff {member.id} {member.username} ({member.role}) password: {password}")


@auth_app.command("add-kiosk")
def auth_add_kiosk(
    store: Annotated[str, typer.Option(help="The kiosk's store")],
    name: Annotated[str, typer.Option(help="Where it stands")] = "kiosk",
) -> None:
    """Register a store kiosk and print its id and secret (shown once)."""
    from homeloop.db import connect
    from identity import kiosks

    settings = command_settings(["identity_key"])
    try:
        with connect(settings) as conn:
            kiosk, secret = kiosks.create_kiosk(conn, settings, store, name, "cli")
            conn.commit()
    except HomeloopError as exc:
        raise fail(exc) from exc
    typer.echo(f"kiosk {kiosk.id} of {kiosk.store_id} secret: {secret}")


# The one place the product refers to the development tools: their commands, where devtools is
# installed (a checkout, `pip install -e .`); without it (the production image) they are absent.
# tests/test_devtools_apart.py allows this import and no other.
try:
    from devtools.cli import attach as _attach_devtools
except ModuleNotFoundError as exc:
    if exc.name not in ("devtools", "devtools.cli"):
        raise
else:
    _attach_devtools(app, auth_app)


def main() -> None:  # pragma: no cover - console entry point
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(app())

