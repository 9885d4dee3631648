"""Local service runner: PostgreSQL 15, Mosquitto 2 and Redis 7 as plain processes on loopback.

Everything lives under ``settings.state_dir`` (``.local/`` by default, git-ignored). ``up`` is
idempotent: a service already answering on its port is left alone. Missing Debian packages are
installed with apt-get when running as root; otherwise the error names the packages to install.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from homeloop.errors import ServiceError
from homeloop.settings import Settings

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_LIB = Path("/usr/lib/postgresql/15/lib")
DEBIAN_PACKAGES = {
    PG_BIN / "postgres": "postgresql-15",
    Path("/usr/sbin/mosquitto"): "mosquitto",
    Path("/usr/bin/mosquitto_pub"): "mosquitto-clients",
    Path("/usr/bin/redis-server"): "redis-server",
    # AR assets: levels of detail, and Node for the Khronos glTF-Validator (npm ci).
    Path("/usr/bin/gltfpack"): "gltfpack",
    Path("/usr/bin/node"): "nodejs",
    Path("/usr/bin/npm"): "npm",
    Path("/usr/share/assimp/models"): "assimp-testmodels",  # real broken files, for the tests
    # The room designer's end-to-end tests and `homeloop bench kiosk` drive it with Playwright.
    Path("/usr/bin/chromium"): "chromium",
    # deploy/scale's load balancer: the tests check its configuration with `haproxy -c`.
    Path("/usr/sbin/haproxy"): "haproxy",
}
PG_USER = "homeloop"
PG_PASSWORD = "homeloop"


@dataclass(frozen=True, slots=True)
class Status:
    name: str
    port: int
    running: bool
    detail: str


def timescaledb_available() -> bool:
    return (PG_LIB / "timescaledb.so").exists()


def ensure_packages() -> None:
    missing = sorted({pkg for path, pkg in DEBIAN_PACKAGES.items() if not path.exists()})
    if not missing:
        return
    if os.geteuid() != 0:
        raise ServiceError(
            "missing Debian packages: " + " ".join(missing)
            + f"; install them with: sudo apt-get install -y {' '.join(missing)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ServiceError(
                f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    still = sorted({pkg for path, pkg in DEBIAN_PACKAGES.items() if not path.exists()})
    if still:
        raise ServiceError(f"apt-get reported success but these are still missing: {still}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_port(port: int, name: str, log: Path, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-1500:] if log.exists() else "(no log)"
    raise ServiceError(f"{name} did not start listening on 127.0.0.1:{port}; log tail:\n{tail}")


def _run(cmd: list[str], *, as_postgres: bool = False) -> subprocess.CompletedProcess[str]:
    if as_postgres and os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ServiceError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done


# --- PostgreSQL -------------------------------------------------------------------------

def _pg_dirs(settings: Settings) -> tuple[Path, Path, Path]:
    base = settings.state_dir / "postgres"
    return base, base / "data", base / "postgres.log"


def postgres_up(settings: Settings) -> str:
    base, data, log = _pg_dirs(settings)
    if port_open(settings.pg_port):
        return "already running"
    base.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root: hand its folder to the postgres user.
        shutil.chown(base, "postgres", "postgres")
        for parent in [settings.state_dir, *settings.state_dir.parents]:
            if parent.stat().st_mode & 0o001 == 0:
                parent.chmod(parent.stat().st_mode | 0o001)
    if not (data / "PG_VERSION").exists():
        pwfile = base / "pwfile"
        pwfile.write_text(PG_PASSWORD + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        _run([str(PG_BIN / "initdb"), "-D", str(data), "-U", PG_USER, f"--pwfile={pwfile}",
              "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
              "--locale=C.UTF-8"], as_postgres=True)
        pwfile.unlink()
    preload = "timescaledb" if timescaledb_available() else ""
    conf = "\n".join([
        "listen_addresses = '127.0.0.1'",
        f"port = {settings.pg_port}",
        f"unix_socket_directories = '{base}'",
        f"shared_preload_libraries = '{preload}'",
        "timescaledb.telemetry_level = off" if preload else "",
        "max_connections = 200",
        "shared_buffers = 256MB",
        "synchronous_commit = on",
        "fsync = on",
        "wal_level = replica",
        "max_wal_size = 2GB",
        "timezone = 'UTC'",
        # Lets benchmarks read when each reading committed (pg_xact_commit_timestamp).
        "track_commit_timestamp = on",
        "",
    ])
    (data / "homeloop.conf").write_text(conf)
    main_conf = data / "postgresql.conf"
    if "include_if_exists = 'homeloop.conf'" not in main_conf.read_text():
        with main_conf.open("a") as fh:
            fh.write("\ninclude_if_exists = 'homeloop.conf'\n")
    if os.geteuid() == 0:
        for path in (data / "homeloop.conf", main_conf):
            shutil.chown(path, "postgres", "postgres")
    _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"],
         as_postgres=True)
    wait_port(settings.pg_port, "PostgreSQL", log)
    return "started" + (" with timescaledb preloaded" if preload else "")


def postgres_down(settings: Settings, mode: str = "fast") -> str:
    _, data, _ = _pg_dirs(settings)
    if not port_open(settings.pg_port):
        return "not running"
    pid_lines = (data / "postmaster.pid").read_text().splitlines() \
        if (data / "postmaster.pid").exists() else []
    if len(pid_lines) < 4 or pid_lines[3].strip() != str(settings.pg_port):
        # Port and state folder disagree: stopping this folder's server would stop another.
        raise ServiceError(f"the server on port {settings.pg_port} does not run from {data}; "
                           "set HOMELOOP_STATE_DIR to its state folder")
    _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "stop"], as_postgres=True)
    return "stopped"


def ensure_database(settings: Settings, name: str) -> None:
    import psycopg
    from psycopg import sql

    admin_url = settings.database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --- Mosquitto --------------------------------------------------------------------------

def mosquitto_conf(settings: Settings) -> str:
    mdir = settings.mqtt_dir
    user = pwd.getpwuid(os.geteuid()).pw_name
    return "\n".join([
        f"pid_file {settings.broker_pid_file}",
        f"user {user}",
        f"listener {settings.mqtt_port} 127.0.0.1",
        "allow_anonymous false",
        f"password_file {settings.password_file}",
        f"acl_file {settings.acl_file}",
        "persistence true",
        f"persistence_location {mdir}/data/",
        "autosave_interval 1",
        # Never drop QoS 1 messages for a subscriber that falls behind (default is 1000).
        "max_queued_messages 0",
        "max_queued_bytes 0",
        "max_inflight_messages 0",
        "max_packet_size 2097152",
        "persistent_client_expiration 14d",
        "set_tcp_nodelay true",
        f"log_dest file {mdir}/mosquitto.log",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
        "",
    ])


def mosquitto_up(settings: Settings) -> str:
    from device_gateway.broker_auth import refresh_gateway_entry, write_auth_files

    mdir = settings.mqtt_dir
    (mdir / "data").mkdir(parents=True, exist_ok=True)
    conf = mdir / "mosquitto.conf"
    conf.write_text(mosquitto_conf(settings))
    if not settings.password_file.exists():
        write_auth_files(settings, devices=[])
    elif refresh_gateway_entry(settings) and port_open(settings.mqtt_port):
        reload_broker(settings)
        return "already running (gateway password reloaded)"
    if port_open(settings.mqtt_port):
        return "already running"
    _run(["/usr/sbin/mosquitto", "-c", str(conf), "-d"])
    wait_port(settings.mqtt_port, "Mosquitto", mdir / "mosquitto.log")
    return "started"


def _kill_pidfile(pidfile: Path, port: int, name: str) -> str:
    if not pidfile.exists():
        return "not running" if not port_open(port) else f"running without {pidfile.name}"
    pid = int(pidfile.read_text().strip() or 0)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pidfile.unlink(missing_ok=True)
        return "not running (stale pid file removed)"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and port_open(port):
        time.sleep(0.1)
    if port_open(port):
        raise ServiceError(f"{name} (pid {pid}) did not stop")
    return "stopped"


def mosquitto_down(settings: Settings) -> str:
    return _kill_pidfile(settings.broker_pid_file, settings.mqtt_port, "Mosquitto")


def reload_broker(settings: Settings) -> bool:
    """Ask the running broker to re-read its password and ACL files (SIGHUP).

    Mosquitto re-checks connected clients against the new files, so a revoked device is
    disconnected without a broker restart. Returns False when no local broker is running.
    """
    pidfile = settings.broker_pid_file
    if not pidfile.exists():
        return False
    try:
        os.kill(int(pidfile.read_text().strip()), signal.SIGHUP)
    except (ProcessLookupError, ValueError):
        return False
    return True


# --- Redis ------------------------------------------------------------------------------

def _redis_dir(settings: Settings) -> Path:
    return settings.state_dir / "redis"


def redis_up(settings: Settings) -> str:
    rdir = _redis_dir(settings)
    rdir.mkdir(parents=True, exist_ok=True)
    if port_open(settings.redis_port):
        return "already running"
    _run(["/usr/bin/redis-server", "--port", str(settings.redis_port), "--bind", "127.0.0.1",
          "--dir", str(rdir), "--daemonize", "yes", "--pidfile", str(rdir / "redis.pid"),
          "--logfile", str(rdir / "redis.log"), "--appendonly", "yes", "--save", ""])
    wait_port(settings.redis_port, "Redis", rdir / "redis.log")
    return "started"


def redis_down(settings: Settings) -> str:
    return _kill_pidfile(_redis_dir(settings) / "redis.pid", settings.redis_port, "Redis")


# --- All --------------------------------------------------------------------------------

def up(settings: Settings) -> list[tuple[str, str]]:
    ensure_packages()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    results = [("postgres", postgres_up(settings))]
    ensure_database(settings, settings.database_url.rsplit("/", 1)[1].split("?")[0])
    results.append(("mosquitto", mosquitto_up(settings)))
    results.append(("redis", redis_up(settings)))
    return results


def down(settings: Settings) -> list[tuple[str, str]]:
    return [("mosquitto", mosquitto_down(settings)), ("redis", redis_down(settings)),
            ("postgres", postgres_down(settings))]


def status(settings: Settings) -> list[Status]:
    return [
        Status("postgres", settings.pg_port, port_open(settings.pg_port),
               "timescaledb available" if timescaledb_available() else "plain PostgreSQL"),
        Status("mosquitto", settings.mqtt_port, port_open(settings.mqtt_port), "MQTT 5"),
        Status("redis", settings.redis_port, port_open(settings.redis_port), "celery broker"),
    ]
