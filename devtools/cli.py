"""The development tools' commands: ``homeloop demo``, ``homeloop simulate``, ``homeloop bench
<name>`` and ``homeloop auth emulator``.

:func:`attach` adds them to the product's CLI (:mod:`homeloop.cli` calls it where ``devtools``
is installed). Each imports its tool inside the command, so ``homeloop --help`` stays quick.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from homeloop.cli_support import command_settings, development_settings, fail, setup_logging
from homeloop.errors import HomeloopError
from homeloop.settings import GATEWAY_SECRETS

bench_app = typer.Typer(help="Benchmarks that print figures against a peer or a limit.",
                        no_args_is_help=True)


def attach(app: typer.Typer, auth_app: typer.Typer) -> None:
    """Add the development commands to the ``homeloop`` CLI (``app``) and its ``auth`` group."""
    app.command()(simulate)
    app.command()(demo)
    auth_app.command("emulator")(auth_emulator)
    app.add_typer(bench_app, name="bench")


def auth_emulator(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 59099,
) -> None:
    """Run the local Firebase Auth emulator stand-in (development only).

    Point the API at it with FIREBASE_AUTH_EMULATOR_HOST=127.0.0.1:<port>."""
    import threading

    from devtools.auth_emulator import AuthEmulator

    emulator = AuthEmulator(command_settings().firebase_project_id, port=port).start()
    typer.echo(f"Firebase Auth emulator stand-in on {emulator.address}; Ctrl-C stops it")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()


def simulate(
    devices: Annotated[int, typer.Option(help="How many simulated tags")] = 20,
    rate: Annotated[float, typer.Option(help="Readings messages per second, whole fleet")] = 50.0,
    duration: Annotated[float, typer.Option(help="Seconds to run (0: until Ctrl-C)")] = 60.0,
    credentials: Annotated[Path | None, typer.Option(help="JSON from devices provision")] = None,
) -> None:
    """Publish realistic readings with each device's own credentials."""
    from devtools.simulator import run_simulation

    setup_logging()
    sent = run_simulation(command_settings(GATEWAY_SECRETS), devices=devices, rate=rate,
                          duration=duration, credentials=credentials)
    typer.echo(f"published {sent} messages")


def demo() -> None:
    """The whole system with a simulated fleet: services, schema, seed, api, gateway, fleet."""
    from devtools.demo.run import run_demo

    setup_logging()
    try:
        run_demo(development_settings())
    except HomeloopError as exc:
        raise fail(exc) from exc


@bench_app.command("ingest")
def bench_ingest(
    devices: int = 200,
    seconds: float = 10.0,
    gateways: int = 2,
) -> None:
    """Readings/s end to end against a naive gateway and the broker's own QoS 1 limit."""
    from devtools.bench.ingest import run_ingest_bench

    setup_logging("WARNING")
    run_ingest_bench(command_settings(GATEWAY_SECRETS), devices=devices, seconds=seconds,
                     gateways=gateways)


@bench_app.command("convert")
def bench_convert(
    against: Annotated[str | None, typer.Option(
        help="Also time this git revision's converter, rounds alternating")] = None,
    rounds: int = 7,
    repeat: int = 5,
) -> None:
    """CPU per reading of the gateway's converter alone: SenML packs against compact
    readings, and against another revision's converter."""
    from devtools.bench.convert import run_convert_bench

    run_convert_bench(against=against, rounds=rounds, repeat=repeat, say=typer.echo)
@bench_app.command("fleet")
def bench_fleet(
    devices: Annotated[int, typer.Option(help="Tags to provision")] = 1_000_000,
    connected: Annotated[int, typer.Option(help="Tags connected at once")] = 19_900,
    period: Annotated[float, typer.Option(help="Seconds between one tag's readings")] = 10.0,
    keep: Annotated[bool, typer.Option(help="Keep the bench database afterwards")] = False,
) -> None:
    """Provision a fleet, revoke one tag under load, restart the broker: seconds and stalls."""
    from devtools.bench.fleet import run_fleet_bench

    setup_logging("WARNING")
    try:
        ok = run_fleet_bench(command_settings(GATEWAY_SECRETS), devices=devices,
                             connected=connected, period=period, keep=keep, say=typer.echo)
    except HomeloopError as exc:
        raise fail(exc) from exc
    if not ok:
        raise typer.Exit(1)


@bench_app.command("forecast")
def bench_forecast(
    households: int = 400, seed: int = 11,
    tune: Annotated[bool, typer.Option(help="Sweep the category thresholds too")] = False,
) -> None:
    """The forecast's error against a category-average baseline, and when offers reach the
    customer: our risk rule, the old rule and a forecast told the true pace."""
    from devtools.bench.forecast import run_forecast_bench

    run_forecast_bench(households=households, seed=seed, tune=tune)


@bench_app.command("offers")
def bench_offers(
    instances: Annotated[int, typer.Option(help="How many product instances")] = 1_000_000,
    keep: Annotated[bool, typer.Option(help="Keep the bench database afterwards")] = False,
    workers: Annotated[int, typer.Option(help="Run as chunks of customers on this many "
                                              "Celery worker processes (0: in this process, "
                                              "one transaction)")] = 0,
    chunk: Annotated[int | None, typer.Option(help="Customers per chunk (default: the "
                                                    "fleet_chunk_customers setting)")] = None,
    forecast_sample: Annotated[int, typer.Option(help="With --workers: products whose "
                                                      "timelines are seeded and forecast "
                                                      "on the workers")] = 20_000,
) -> None:
    """One full offer evaluation over N instances: seconds and memory against the targets;
    with --workers, the fleet's offers and a sample of its forecasts as chunks on workers."""
    from devtools.bench.offers import run_offers_bench

    setup_logging("WARNING")
    try:
        run_offers_bench(command_settings(), instances, keep=keep, say=typer.echo,
                         workers=workers, chunk=chunk, forecast_sample=forecast_sample)
    except HomeloopError as exc:
        raise fail(exc) from exc


@bench_app.command("assets")
def bench_assets(
    big: Annotated[bool, typer.Option(help="Also measure the worst inputs the limits accept "
                                           "(peak memory of API, worker and tools)")] = False,
) -> None:
    """Every profile of the sample and generated models: validity, budgets, size vs gltfpack."""
    from devtools.bench.assets import run_assets_bench

    setup_logging("WARNING")
    settings = command_settings()
    try:
        ok = run_assets_bench(settings, say=typer.echo, big=big)
    except HomeloopError as exc:
        raise fail(exc) from exc
    if not ok:
        raise typer.Exit(1)


@bench_app.command("scenes")
def bench_scenes(
    placements: Annotated[int, typer.Option(help="Products placed in the home")] = 40,
    keep: Annotated[bool, typer.Option(help="Keep the bench database afterwards")] = False,
    import_only: Annotated[bool, typer.Option(
        help="Only the RoomPlan import's growth with the walls (no database, no models)")] = False,
    import_walls: Annotated[str, typer.Option(
        help="Wall pieces of the imported homes, comma-separated")] = "1000,5000,20000,50000",
) -> None:
    """How the RoomPlan import grows with the walls; a furnished three-bedroom design's scenes
    per profile: cold, cached, size vs naive."""
    from devtools.bench.scenes import run_scenes_bench

    setup_logging("WARNING")
    try:
        walls = [int(w) for w in import_walls.split(",") if w.strip()]
        ok = run_scenes_bench(command_settings(), typer.echo, placements, keep=keep,
                              import_only=import_only, import_walls=walls)
    except HomeloopError as exc:
        raise fail(exc) from exc
    if not ok:
        raise typer.Exit(1)


@bench_app.command("kiosk")
def bench_kiosk(
    keep: Annotated[bool, typer.Option(help="Keep the bench database afterwards")] = False,
) -> None:
    """The room designer in headless Chromium: first rendered frame, requests and bytes."""
    from devtools.bench.kiosk import run_kiosk_bench

    setup_logging("WARNING")
    try:
        ok = run_kiosk_bench(command_settings(), say=typer.echo, keep=keep)
    except HomeloopError as exc:
        raise fail(exc) from exc
    if not ok:
        raise typer.Exit(1)


@bench_app.command("assist")
def bench_assist(
    keep: Annotated[bool, typer.Option(help="Keep the bench database afterwards")] = False,
) -> None:
    """A store chain's data: profile, search and recommendation latency, hit rate vs popular."""
    from devtools.bench.assist import run_assist_bench

    setup_logging("WARNING")
    try:
        run_assist_bench(command_settings(), keep=keep, say=typer.echo)
    except HomeloopError as exc:
        raise fail(exc) from exc
