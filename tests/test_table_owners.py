"""Each table has one owner package; no other package writes it, and no other package reads
the catalog's stores and stock at all.

The owner map below is the only copy (docs/ARCHITECTURE.md, "Who owns which table", shows
it; a test keeps the two equal). The scan reads every string in the production packages'
modules (docstrings left out, SQL comments and quoted literals removed) and looks for SQL
naming a table that migrations create:

- ``INSERT INTO``, ``UPDATE``, ``DELETE FROM``, ``TRUNCATE``, ``COPY``, ``MERGE INTO`` of a
  table outside its owner package fail;
- for :data:`CATALOG_ONLY` (``stores``, ``inventory``), any mention in SQL outside
  ``catalog`` fails: where things can be had is ``catalog.availability``'s answer, and a
  statement that must join stock set-based embeds ``catalog.store``'s fragments.

Reading another package's tables through its public functions is the rule; a read in SQL is
tolerated for the other tables (joins for one set-based statement). A truly needed exception
goes into :data:`ALLOWED`, with why; an allowance nothing needs any more fails too.

Not scanned: SQL built from PostgreSQL's own catalog at run time — identity's merge and
deletion move or clear every column that refers to ``customers``, whatever package owns its
table, so that a table added later is covered too (``identity/merge.py``,
``identity/privacy.py``; see docs/ARCHITECTURE.md). And the development tools
(``devtools/``: benchmarks, demo data, the fleet simulator, the Auth emulator stand-in): they
seed and measure the tables of several packages at once to build a world to show or measure,
own no table, and are not a production package; the product never imports them
(tests/test_devtools_apart.py).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from homeloop.settings import PROJECT_ROOT
from tests.packages import DEVTOOLS, PRODUCT_PACKAGES

OWNERS: dict[str, tuple[str, ...]] = {
    "catalog": ("skus", "sku_consumables", "sku_services", "sku_related", "stores",
                "inventory"),
    "customers": ("customers", "product_instances", "ownership_changes", "customer_consents",
                  "consent_changes"),
    "device_gateway": ("devices", "readings", "events", "dead_letters", "readings_hourly",
                       "readings_daily", "senml_anchors", "sum_bounds", "device_state",
                       "broker_accounts", "broker_credentials", "broker_acl"),
    "replenishment": ("instance_forecasts", "offer_kinds", "offers", "offer_lines", "outbox",
                      "quality_alerts", "order_requests", "household_timing"),
    "notifications": ("push_tokens",),
    "identity": ("customer_identities", "phone_codes", "customer_merges", "merge_requests",
                 "staff_members",
                 "kiosks", "kiosk_handoffs", "kiosk_grants", "store_consents",
                 "privacy_consents", "access_audit", "consent_requests"),
    "ar_assets": ("assets", "asset_files"),
    "floorplans": ("communities", "community_layouts", "floor_plans", "floor_plan_sources",
                   "designs", "design_versions", "handoff_codes"),
    "orders": ("orders", "order_lines", "order_events", "delivery_slots", "installer_companies",
               "installers", "installation_ratings", "assistant_inbox"),
    "clienteling": ("customer_profiles", "customer_tags", "customer_notes", "tag_queue",
                    "product_views", "assistant_bindings", "sku_copurchase", "assistant_tasks",
                    "assistant_budgets", "discounts", "discount_events", "points_awards",
                    "customer_searches", "carts"),
}
OWNER = {table: package for package, tables in OWNERS.items() for table in tables}

# Not even read outside their owner.
CATALOG_ONLY = ("stores", "inventory")

# (module, table): why. None today.
ALLOWED: dict[tuple[str, str], str] = {}

# The production packages (pyproject's, but devtools: not scanned, see above).
PACKAGES = PRODUCT_PACKAGES

WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?|COPY"
                   r"|MERGE\s+INTO)\s+(?:ONLY\s+)?(\w+)")
SQL_WORD = re.compile(r"\b(?:SELECT|FROM|JOIN|INSERT|UPDATE|DELETE)\b")


def created_tables() -> set[str]:
    found: set[str] = set()
    for path in (PROJECT_ROOT / "homeloop" / "migrations" / "versions").glob("*.py"):
        found |= set(re.findall(
            r"CREATE\s+(?:TABLE|(?:MATERIALIZED\s+)?VIEW)\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)",
            path.read_text()))
    return found


def strings(source: str) -> Iterator[tuple[int, str]]:
    """Every string of a module but its docstrings (f-strings with their holes as ``{}``)."""
    tree = ast.parse(source)
    docs = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) \
                and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant):
            docs.add(id(node.body[0].value))
    inside_fstrings = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                       for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docs and id(node) not in inside_fstrings:
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            yield node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{}"
                                       for v in node.values)


def _sql(text: str) -> str:
    text = re.sub(r"--[^\n]*", "", text)
    return re.sub(r"'[^']*'", "''", text)


def violations(package: str, module: str, source: str) -> list[str]:
    """What ``module`` (of ``package``) does to tables it does not own."""
    found = []
    for line, raw in strings(source):
        text = _sql(raw)
        for match in WRITE.finditer(text):
            table = match.group(1)
            if table in OWNER and OWNER[table] != package:
                found.append(f"{module}:{line} writes {table} (owned by {OWNER[table]})")
        if package != "catalog" and SQL_WORD.search(text):
            for table in CATALOG_ONLY:
                if re.search(rf"\b{table}\b", text):
                    found.append(f"{module}:{line} reads {table} (catalog's: ask "
                                 "catalog.availability or catalog.store)")
    return sorted(set(found))


def product_modules() -> Iterator[tuple[str, str, Path]]:
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            module = path.relative_to(PROJECT_ROOT).as_posix()
            if "/migrations/" in module:
                continue
            yield package, module, path


def test_every_table_has_one_owner() -> None:
    tables = created_tables()
    listed = [t for ts in OWNERS.values() for t in ts]
    assert len(listed) == len(set(listed)), "a table listed under two owners"
    assert tables - set(listed) == set(), "tables without an owner: add them to OWNERS"
    assert set(listed) - tables == set(), "owners of tables no migration creates"
    assert set(OWNERS) <= set(PACKAGES)
    assert DEVTOOLS not in OWNERS, "the development tools own no table"


def _allowed(violation: str, module: str, table: str) -> bool:
    return violation.startswith(f"{module}:") and f" {table} " in violation


def test_no_package_writes_a_table_it_does_not_own_nor_reads_the_stock() -> None:
    found: list[str] = []
    for package, module, path in product_modules():
        found += violations(package, module, path.read_text())
    assert [v for v in found if not any(_allowed(v, m, t) for m, t in ALLOWED)] == []
    unused = [k for k in ALLOWED if not any(_allowed(v, *k) for v in found)]
    assert unused == [], "allowances nothing needs any more"


def test_the_scan_sees_what_it_looks_for() -> None:
    # the catalog's own statements are found, and are its own
    catalog_store = (PROJECT_ROOT / "catalog" / "store.py").read_text()
    assert violations("orders", "catalog/store.py", catalog_store)
    assert violations("catalog", "catalog/store.py", catalog_store) == []
    planted = '''
"""A docstring may say UPDATE customers or FROM stores."""
X = "UPDATE customers SET points = points + 1 WHERE id = %s"
Y = f"SELECT s.id FROM {'x'} JOIN stores s ON s.id = x.store_id"
Z = ("INSERT INTO outbox (customer_id, topic) "
     "VALUES (%s, 'UPDATE offers')")
'''
    assert violations("orders", "orders/x.py", planted) == [
        "orders/x.py:3 writes customers (owned by customers)",
        "orders/x.py:4 reads stores (catalog's: ask catalog.availability or catalog.store)",
        "orders/x.py:5 writes outbox (owned by replenishment)",
    ]


def test_the_architecture_shows_the_same_owners() -> None:
    text = (PROJECT_ROOT / "docs" / "ARCHITECTURE.md").read_text()
    section = text.split("### Who owns which table", 1)[1].split("\n## ", 1)[0]
    shown = {m.group(1): tuple(t.strip(" `") for t in m.group(2).split(","))
             for m in re.finditer(r"^\| `(\w+)/` \| ([^|]+) \|$", section, re.M)}
    assert {p: sorted(ts) for p, ts in shown.items()} == \
        {p: sorted(ts) for p, ts in OWNERS.items()}
