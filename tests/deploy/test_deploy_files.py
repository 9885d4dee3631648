"""Every deployment file, checked by the engine's own checker or its specification's schema,
so that a typo never reaches a deployer: no container registry is reachable here, so the
compose stacks cannot be started in a test.

- compose files: the Compose Specification's JSON schema, as check-jsonschema ships it;
- EMQX's HOCON: parsed (pyhocon), and the keys the stack relies on checked, against the
  compose file that starts the nodes as well;
- Mosquitto's configuration: Mosquitto itself starts on it (on a free loopback port);
- HAProxy's: ``haproxy -c``;
- the shell scripts the containers run: ``sh -n``.

Each checker is also shown a copy with one typo, and must catch it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyhocon import ConfigFactory
from pyhocon.exceptions import ConfigException
from pyparsing import ParseBaseException

from device_gateway.broker_auth import hash_password
from homeloop.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
COMPOSE_FILES = [PROJECT_ROOT / "docker-compose.yml", *sorted(DEPLOY.rglob("docker-compose*.yml"))]
EMQX_FILES = sorted((DEPLOY / "emqx").glob("*.conf"))
MOSQUITTO_FILES = sorted((DEPLOY / "mosquitto").glob("*.conf"))
HAPROXY_FILES = sorted(DEPLOY.rglob("haproxy.cfg"))
SHELL_FILES = sorted(DEPLOY.rglob("*.sh"))
SCALE_COMPOSE = DEPLOY / "scale" / "docker-compose.yml"
# EMQX 5.8's choices (emqx_schema, mqtt.shared_subscription_strategy).
SHARED_STRATEGIES = {"random", "round_robin", "round_robin_per_group", "sticky", "local",
                     "hash_topic", "hash_clientid"}


def name(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


def typo(src: Path, dst: Path, old: str, new: str) -> Path:
    text = src.read_text()
    assert old in text, f"{name(src)} no longer holds {old!r}: pick another typo"
    dst.write_text(text.replace(old, new, 1))
    return dst


# --- compose ---------------------------------------------------------------------------

def compose_faults(path: Path) -> str | None:
    done = subprocess.run([sys.executable, "-m", "check_jsonschema",
                           "--builtin-schema", "vendor.compose-spec", str(path)],
                          capture_output=True, text=True, check=False)
    return None if done.returncode == 0 else done.stdout + done.stderr


def test_the_deployments_are_all_here() -> None:
    assert SCALE_COMPOSE in COMPOSE_FILES and len(COMPOSE_FILES) >= 2
    assert EMQX_FILES and MOSQUITTO_FILES and HAPROXY_FILES and SHELL_FILES


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=name)
def test_compose_files_follow_the_compose_specification(path: Path) -> None:
    assert compose_faults(path) is None, compose_faults(path)


def test_the_compose_check_catches_a_typo(tmp_path: Path) -> None:
    broken = typo(SCALE_COMPOSE, tmp_path / "docker-compose.yml",
                  "    environment:\n", "    enviroment:\n")
    assert compose_faults(broken) is not None
    broken = typo(PROJECT_ROOT / "docker-compose.yml", tmp_path / "root.yml",
                  "condition: service_healthy", "condition: service_healty")
    assert compose_faults(broken) is not None


def missing_mounts(path: Path, base: Path | None = None) -> list[str]:
    """Files and folders a compose file mounts or builds from that are not in the project
    (relative to ``base``, the compose file's folder unless given)."""
    base = base or path.parent
    services = yaml.safe_load(path.read_text())["services"]
    missing = []
    for service_name, service in services.items():
        build = service.get("build")
        context = build.get("context", ".") if isinstance(build, dict) else build
        sources = [context] if context else []
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0] if isinstance(volume, str) else volume.get("source")
            if source and source.startswith("."):
                sources.append(source)
        missing += [f"{service_name}: {source}" for source in sources
                    if not (base / source).exists()]
    return missing


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=name)
def test_what_compose_files_mount_is_in_the_project(path: Path) -> None:
    assert missing_mounts(path) == []


def test_the_mount_check_catches_a_typo(tmp_path: Path) -> None:
    broken = typo(SCALE_COMPOSE, tmp_path / "docker-compose.yml",
                  "./haproxy.cfg:", "./haproxy.cgf:")
    assert missing_mounts(broken, SCALE_COMPOSE.parent) == ["lb: ./haproxy.cgf"]


# --- EMQX ------------------------------------------------------------------------------

def emqx_faults(path: Path, compose: Path = SCALE_COMPOSE) -> list[str]:
    """What is wrong with an EMQX node configuration for the scale stack."""
    try:
        conf = ConfigFactory.parse_file(str(path))
    except (ConfigException, ParseBaseException) as exc:
        return [f"does not parse: {exc}"]
    faults = []

    def get(key: str, default: Any = None) -> Any:
        try:
            return conf.get(key)
        except (ConfigException, KeyError):
            faults.append(f"{key} is missing")
            return default
    authn = get("authentication", [])
    # The compose file gives the database password to authentication.1 and sources.1.
    if not authn or authn[0].get("backend", None) != "postgresql" \
            or authn[0].get("mechanism", None) != "password_based":
        faults.append("authentication.1 is not password_based with backend postgresql")
    else:
        algorithm = authn[0].get("password_hash_algorithm", {})
        if algorithm.get("name", None) != "pbkdf2":
            faults.append("authentication.1 does not hash with pbkdf2")
        if "${username}" not in authn[0].get("query", ""):
            faults.append("authentication.1's query does not look the client up")
    sources = get("authorization.sources", [])
    if not sources or sources[0].get("type", None) != "postgresql" \
            or "${username}" not in sources[0].get("query", ""):
        faults.append("authorization.sources.1 is not a postgresql query of the client")
    if get("authorization.no_match") != "deny":
        faults.append("authorization.no_match is not deny")
    if get("mqtt.shared_subscription_strategy") not in SHARED_STRATEGIES:
        faults.append("mqtt.shared_subscription_strategy is not one of EMQX's")
    if get("cluster.discovery_strategy") != "static":
        faults.append("cluster.discovery_strategy is not static")
    seeds = set(get("cluster.static.seeds", []))
    services = yaml.safe_load(compose.read_text())["services"]
    nodes = {s["environment"]["EMQX_NODE__NAME"] for s in services.values()
             if isinstance(s.get("environment"), dict) and "EMQX_NODE__NAME" in s["environment"]}
    if len(nodes) < 3 or nodes != seeds:
        faults.append(f"the cluster's seeds {sorted(seeds)} are not the compose file's "
                      f"nodes {sorted(nodes)}")
    for node in nodes:
        host = node.split("@", 1)[1]
        if host not in services or services[host].get("hostname") != host:
            faults.append(f"node {node}: no service with hostname {host}")
    bind = str(get("listeners.tcp.default.bind", ""))
    if not bind.endswith(":1883"):
        faults.append("listeners.tcp.default does not listen on 1883")
    faults += api_key_faults(str(get("api_key.bootstrap_file", "")), services,
                             str(get("dashboard.listeners.http.bind", "")))
    return faults


def api_key_faults(bootstrap: str, services: dict[str, Any], api_port: str) -> list[str]:
    """Revocation closes connections through EMQX's REST API with the key EMQX bootstraps
    from a file: every node must be given that file, and what revokes must use EMQX."""
    faults = []
    for host, service in services.items():
        if "EMQX_NODE__NAME" not in (service.get("environment") or {}):
            continue
        targets = [c.get("target") for c in service.get("configs", []) if isinstance(c, dict)]
        if bootstrap not in targets:
            faults.append(f"{host}: api_key.bootstrap_file {bootstrap!r} is not mounted")
    api = services.get("api", {}).get("environment", {})
    if api.get("HOMELOOP_BROKER") != "emqx" or "HOMELOOP_EMQX_API_SECRET" not in api:
        faults.append("the api service does not revoke through EMQX with the API key")
    elif not api.get("HOMELOOP_EMQX_API_URL", "").endswith(f":{api_port}"):
        faults.append("HOMELOOP_EMQX_API_URL is not EMQX's REST API port")
    return faults


@pytest.mark.parametrize("path", EMQX_FILES, ids=name)
def test_emqx_configuration_holds_what_the_stack_relies_on(path: Path) -> None:
    assert emqx_faults(path) == []


def test_the_emqx_check_catches_a_typo(tmp_path: Path) -> None:
    [conf] = EMQX_FILES
    assert emqx_faults(typo(conf, tmp_path / "a.conf", "authentication = [",
                            "authentcation = [")) != []
    assert emqx_faults(typo(conf, tmp_path / "b.conf", "no_match = deny",
                            "no_match = dney")) != []
    assert emqx_faults(typo(conf, tmp_path / "c.conf", "cluster {", "cluster ")) != []
    assert emqx_faults(typo(conf, tmp_path / "d.conf", '"emqx@emqx3"]',
                            '"emqx@emqx4"]')) != []
    assert emqx_faults(typo(conf, tmp_path / "e.conf", "homeloop_api_key.bootstrap",
                            "homeloop_api_key.bootstrp")) != []
    compose = typo(SCALE_COMPOSE, tmp_path / "docker-compose.yml",
                   "HOMELOOP_BROKER: emqx", "HOMELOOP_BROKER: mosquitto")
    assert emqx_faults(conf, compose) == [
        "the api service does not revoke through EMQX with the API key"]


# --- Mosquitto -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def mosquitto_faults(path: Path, work: Path) -> str | None:
    """Start Mosquitto on ``path`` (its container paths moved under ``work``, its listener
    to a free loopback port): None when it runs and listens, else what it said."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "auth").mkdir(exist_ok=True)
    (work / "data").mkdir(exist_ok=True)
    (work / "auth" / "passwd").write_text(f"homeloop-gateway:{hash_password('x' * 24)}\n")
    (work / "auth" / "acl").write_text("user homeloop-gateway\ntopic read tags/+/readings\n")
    port = free_port()
    text = re.sub(r"^listener 1883\b", f"listener {port} 127.0.0.1", path.read_text(),
                  flags=re.M).replace("/mosquitto/", f"{work}/")
    conf = work / "mosquitto.conf"
    # Its log to stderr (unbuffered) with the "running" line (information) added.
    conf.write_text(f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
                    f"{text.replace('log_dest stdout', 'log_dest stderr')}\n"
                    "log_type information\n")
    proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(conf)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    said = []
    try:
        assert proc.stdout is not None
        # "... running" once it listens; an error and the end of its output when it refuses
        # the file.
        for line in proc.stdout:
            said.append(line)
            if re.search(r"mosquitto version \S+ running", line):
                with socket.create_connection(("127.0.0.1", port), timeout=5):
                    return None
        proc.wait(timeout=10)
        return f"mosquitto exited ({proc.returncode}): {''.join(said)}"
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


@pytest.mark.parametrize("path", MOSQUITTO_FILES, ids=name)
def test_mosquitto_starts_on_its_configuration(path: Path, tmp_path: Path) -> None:
    assert mosquitto_faults(path, tmp_path) is None


def test_the_mosquitto_check_catches_a_typo(tmp_path: Path) -> None:
    [conf] = MOSQUITTO_FILES
    broken = typo(conf, tmp_path / "broken.conf", "max_queued_messages 0",
                  "max_queued_mesages 0")
    assert "max_queued_mesages" in (mosquitto_faults(broken, tmp_path / "run") or "")


# --- HAProxy and the containers' scripts -----------------------------------------------

def haproxy_faults(path: Path) -> str | None:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    done = subprocess.run([haproxy, "-c", "-f", str(path)], capture_output=True, text=True,
                          check=False)
    return None if done.returncode == 0 else done.stdout + done.stderr


@pytest.mark.parametrize("path", HAPROXY_FILES, ids=name)
def test_haproxy_accepts_its_configuration(path: Path) -> None:
    assert haproxy_faults(path) is None, haproxy_faults(path)


def test_haproxy_sends_to_services_the_scale_stack_runs() -> None:
    services = yaml.safe_load(SCALE_COMPOSE.read_text())["services"]
    [conf] = HAPROXY_FILES
    hosts = re.findall(r"^\s*server(?:-template)?\s+\S+\s+(?:\d+\s+)?([\w.-]+):\d+",
                       conf.read_text(), flags=re.M)
    assert set(hosts) == {"emqx1", "emqx2", "emqx3", "api"}
    assert set(hosts) <= set(services)


def test_the_haproxy_check_catches_a_typo(tmp_path: Path) -> None:
    [conf] = HAPROXY_FILES
    assert haproxy_faults(typo(conf, tmp_path / "haproxy.cfg", "balance leastconn",
                               "balanse leastconn")) is not None


def sh_faults(path: Path) -> str | None:
    done = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True, check=False)
    return None if done.returncode == 0 else done.stderr


@pytest.mark.parametrize("path", SHELL_FILES, ids=name)
def test_container_scripts_parse(path: Path) -> None:
    assert sh_faults(path) is None, sh_faults(path)


def test_the_script_check_catches_a_typo(tmp_path: Path) -> None:
    script = DEPLOY / "scale" / "db" / "replica.sh"
    assert sh_faults(typo(script, tmp_path / "replica.sh", "\nfi\n", "\nfl\n")) is not None
