"""The queries EMQX runs to check a device, read from deploy/emqx/emqx.conf and run against
our schema the way EMQX runs them.

EMQX cannot be installed here, so what it does with a query is followed from its source
(EMQX 5.8, apps/emqx_auth and emqx_auth_postgresql):

- each ``${var}`` of the query (with any double quotes around it) becomes ``$1``, ``$2``, ...
  in order; the statement is prepared once and executed with the client's values as untyped
  parameters; columns come back as the driver (epgsql) decodes them: text and bytea as their
  bytes;
- password-based authentication takes the first row's ``password_hash`` and ``salt`` and,
  for ``pbkdf2``, compares ``hex(pbkdf2_hmac(mac_fun, password, salt, iterations,
  dk_length))`` in lower case with ``password_hash``; no row means "not this authenticator's
  user", and with no other authenticator the client is refused;
- authorisation matches the rows (``permission``, ``action``, ``topic``) in order and takes
  the first that matches; ``no_match = deny``; a shared subscription is checked with its
  topic filter without ``$share/{group}/``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from pyhocon import ConfigFactory, ConfigTree

from device_gateway import broker_auth
from device_gateway.broker_db import store_gateway_account
from device_gateway.gateway import SUBSCRIPTIONS
from device_gateway.provisioning import Credentials, revoke
from homeloop.settings import PROJECT_ROOT, Settings

EMQX_CONF = PROJECT_ROOT / "deploy" / "emqx" / "emqx.conf"
PLACEHOLDER = re.compile(r'"?\$\{([A-Za-z_][A-Za-z0-9_.]*)\}"?')
AUTHN_VARS = {"username", "clientid", "password", "peerhost", "cert_subject",
              "cert_common_name", "client_attrs"}
AUTHZ_VARS = {"username", "clientid", "peerhost", "cert_common_name", "cert_subject"}


def emqx_conf() -> ConfigTree:
    return ConfigFactory.parse_file(str(EMQX_CONF))


def postgresql_authn(conf: ConfigTree) -> ConfigTree:
    [authn] = [a for a in conf["authentication"] if a["backend"] == "postgresql"]
    return authn


def postgresql_authz(conf: ConfigTree) -> ConfigTree:
    [authz] = [s for s in conf["authorization"]["sources"] if s["type"] == "postgresql"]
    return authz


def prepared(query: str, allowed: set[str]) -> tuple[str, list[str]]:
    """The statement EMQX prepares from ``query`` and the variables of its parameters."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        assert match.group(1) in allowed, f"EMQX does not fill ${{{match.group(1)}}} here"
        names.append(match.group(1))
        return f"${len(names)}"
    return PLACEHOLDER.sub(number, query), names


Row = dict[str, bytes | None]


def run_as_emqx(conn: psycopg.Connection[Any], query: str, allowed: set[str],
                client: dict[str, str]) -> list[Row]:
    """Prepare ``query`` as EMQX does and run it as the broker's role, for ``client``."""
    statement, names = prepared(query, allowed)
    conn.execute("SET ROLE homeloop_broker")
    try:
        pg = conn.pgconn
        pg.prepare(b"", statement.encode())
        result = pg.exec_prepared(b"", [client[n].encode() for n in names], result_format=1)
        if result.status != psycopg.pq.ExecStatus.TUPLES_OK:
            raise AssertionError(result.error_message.decode())
        columns = [result.fname(i).decode() for i in range(result.nfields)]  # type: ignore[union-attr]
        return [{c: result.get_value(r, i) for i, c in enumerate(columns)}
                for r in range(result.ntuples)]
    finally:
        conn.execute("RESET ROLE")


def emqx_checks_password(algorithm: ConfigTree, row: Row, password: str) -> bool:
    """emqx_passwd:check_pass({pbkdf2, MacFun, Salt, Iterations, DKLength}, Hash, Password)."""
    assert algorithm["name"] == "pbkdf2"
    salt = row.get("salt") or b""
    derived = hashlib.pbkdf2_hmac(algorithm["mac_fun"], password.encode(), salt,
                                  algorithm["iterations"], algorithm.get("dk_length", None))
    return derived.hex().lower().encode() == row["password_hash"]


def topic_matches(topic: str, pattern: str) -> bool:
    """emqx_topic:match/2 for the filters our rows hold (``+``; no ``#`` is granted)."""
    words, wanted = topic.split("/"), pattern.split("/")
    if topic.startswith("$") and wanted[0] in ("+", "#"):
        return False
    return len(words) == len(wanted) and all(
        w == "+" or w == t for t, w in zip(words, wanted, strict=True))


def emqx_allows(rows: list[Row], action: str, topic: str, no_match: str) -> bool:
    if topic.startswith("$share/"):
        topic = topic.split("/", 2)[2]
    for row in rows:
        assert row["permission"] in (b"allow", b"deny")
        assert row["action"] in (b"publish", b"subscribe", b"all")
        if row["action"] in (action.encode(), b"all") and topic_matches(
                topic, (row["topic"] or b"").decode()):
            return row["permission"] == b"allow"
    return no_match == "allow"


@pytest.fixture
def broker_db(settings: Settings, db: psycopg.Connection[Any]) -> psycopg.Connection[Any]:
    with psycopg.connect(settings.database_url) as conn:
        store_gateway_account(conn, settings)
        conn.commit()
    return db


def test_the_hash_algorithm_is_what_devices_store() -> None:
    algorithm = postgresql_authn(emqx_conf())["password_hash_algorithm"]
    stored = broker_auth.hash_password("x")
    _, alg, iterations, _, digest = stored.split("$")
    assert alg == "7"
    assert algorithm["mac_fun"] == "sha512"
    assert algorithm["iterations"] == int(iterations) == broker_auth.ITERATIONS
    assert algorithm["dk_length"] == hashlib.sha512().digest_size == len(
        broker_auth.base64.b64decode(digest))


def test_a_device_signs_in_with_its_own_password_only(
        settings: Settings, broker_db: psycopg.Connection[Any],
        provisioned: Callable[..., list[Credentials]]) -> None:
    conf = emqx_conf()
    authn = postgresql_authn(conf)
    one, other = provisioned(count=2)
    rows = run_as_emqx(broker_db, authn["query"], AUTHN_VARS,
                       {"username": one.device_id, "clientid": one.device_id,
                        "password": one.password})
    assert len(rows) == 1
    row = rows[0]
    assert isinstance(row["salt"], bytes) and len(row["salt"]) == 12
    assert emqx_checks_password(authn["password_hash_algorithm"], row, one.password)
    assert not emqx_checks_password(authn["password_hash_algorithm"], row, other.password)
    assert not emqx_checks_password(authn["password_hash_algorithm"], row, one.password + "x")
    assert row["is_superuser"] == b"\x00"  # boolean false, binary
    # The gateway signs in with its password, from its account row.
    gateway = run_as_emqx(broker_db, authn["query"], AUTHN_VARS,
                          {"username": settings.gateway_username})
    assert emqx_checks_password(authn["password_hash_algorithm"], gateway[0],
                                settings.gateway_password)
    # Nobody else has a row: EMQX refuses them.
    assert run_as_emqx(broker_db, authn["query"], AUTHN_VARS,
                       {"username": "hl-nobody"}) == []
    assert run_as_emqx(broker_db, authn["query"], AUTHN_VARS,
                       {"username": "' OR '1'='1"}) == []


def test_a_revoked_device_has_no_row_to_sign_in_or_publish_with(
        settings: Settings, broker_db: psycopg.Connection[Any],
        provisioned: Callable[..., list[Credentials]]) -> None:
    conf = emqx_conf()
    device, kept = provisioned(count=2)
    revoke(broker_db, device.device_id)
    client = {"username": device.device_id, "clientid": device.device_id}
    assert run_as_emqx(broker_db, postgresql_authn(conf)["query"], AUTHN_VARS, client) == []
    assert run_as_emqx(broker_db, postgresql_authz(conf)["query"], AUTHZ_VARS, client) == []
    assert len(run_as_emqx(broker_db, postgresql_authn(conf)["query"], AUTHN_VARS,
                           {"username": kept.device_id})) == 1


def test_a_device_may_use_its_own_topics_only(
        settings: Settings, broker_db: psycopg.Connection[Any],
        provisioned: Callable[..., list[Credentials]]) -> None:
    conf = emqx_conf()
    no_match = conf["authorization"]["no_match"]
    assert no_match == "deny"
    one, other = provisioned(count=2)
    rows = run_as_emqx(broker_db, postgresql_authz(conf)["query"], AUTHZ_VARS,
                       {"username": one.device_id, "clientid": one.device_id})
    mine = f"tags/{one.device_id}"
    assert sorted((r["action"], r["topic"]) for r in rows) == sorted(
        [(b"publish", f"{mine}/{k}".encode()) for k in ("readings", "events", "status")]
        + [(b"subscribe", f"{mine}/config".encode())])

    def allows(action: str, topic: str) -> bool:
        return emqx_allows(rows, action, topic, no_match)
    assert allows("publish", f"{mine}/readings")
    assert allows("publish", f"{mine}/events")
    assert allows("subscribe", f"{mine}/config")
    assert not allows("publish", f"tags/{other.device_id}/readings")
    assert not allows("publish", f"{mine}/config")  # configs come from the gateway
    assert not allows("subscribe", f"tags/{other.device_id}/config")
    assert not allows("subscribe", "tags/+/readings")
    assert not allows("subscribe", "#")


def test_the_gateway_may_take_its_shared_subscription_and_send_configs(
        settings: Settings, broker_db: psycopg.Connection[Any],
        provisioned: Callable[..., list[Credentials]]) -> None:
    conf = emqx_conf()
    no_match = conf["authorization"]["no_match"]
    [device] = provisioned()
    rows = run_as_emqx(broker_db, postgresql_authz(conf)["query"], AUTHZ_VARS,
                       {"username": settings.gateway_username, "clientid": "gateway-1"})
    group = settings.gateway_share_group
    for kind in SUBSCRIPTIONS:  # what the gateway subscribes to (device_gateway/gateway.py)
        assert emqx_allows(rows, "subscribe", f"$share/{group}/tags/+/{kind}", no_match)
    assert emqx_allows(rows, "publish", f"tags/{device.device_id}/config", no_match)
    assert not emqx_allows(rows, "subscribe", "#", no_match)
    assert not emqx_allows(rows, "publish", f"tags/{device.device_id}/readings", no_match)


def test_the_broker_role_reads_its_two_views_and_nothing_else(
        broker_db: psycopg.Connection[Any]) -> None:
    broker_db.execute("SET ROLE homeloop_broker")
    try:
        broker_db.execute("SELECT count(*) FROM broker_credentials").fetchone()
        broker_db.execute("SELECT count(*) FROM broker_acl").fetchone()
        for statement in ("SELECT * FROM devices", "SELECT * FROM broker_accounts",
                          "SELECT * FROM customers",
                          "INSERT INTO broker_accounts (username, password_hash, role) "
                          "VALUES ('x', '$7$', 'gateway')",
                          "CREATE TABLE broker_owned (x int)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                broker_db.execute(statement)
    finally:
        broker_db.execute("RESET ROLE")


def test_the_queries_are_exact_parameters_not_text() -> None:
    conf = emqx_conf()
    for query, allowed in ((postgresql_authn(conf)["query"], AUTHN_VARS),
                           (postgresql_authz(conf)["query"], AUTHZ_VARS)):
        statement, names = prepared(query, allowed)
        assert names == ["username"]
        assert "$1" in statement and "${" not in statement and "'$1'" not in statement


@pytest.mark.parametrize("which", ["authentication", "authorization"])
def test_each_query_looks_one_client_up_by_key(which: str,
                                               broker_db: psycopg.Connection[Any]) -> None:
    """What EMQX runs per connection is a primary-key lookup through the views, so it costs
    the same at any fleet size: with sequential scans priced out, the plan reads devices and
    broker_accounts by their keys (a view that hid the key behind an expression could not)."""
    conf = emqx_conf()
    query = postgresql_authn(conf)["query"] if which == "authentication" \
        else postgresql_authz(conf)["query"]
    statement, _ = prepared(query, AUTHN_VARS | AUTHZ_VARS)
    with broker_db.transaction():
        broker_db.execute("SET LOCAL enable_seqscan = off")
        broker_db.execute(f"PREPARE emqx_query AS {statement}")
        try:
            plan = "\n".join(r[0] for r in broker_db.execute(
                "EXPLAIN EXECUTE emqx_query('hl-someone')").fetchall())
        finally:
            broker_db.execute("DEALLOCATE emqx_query")
    assert "devices_pkey" in plan and "broker_accounts_pkey" in plan, plan
    assert "Seq Scan" not in plan, plan
