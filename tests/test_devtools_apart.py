"""The development tools stay apart from the product.

Benchmarks, demo data, the fleet simulator and the Auth emulator stand-in live in
``devtools/``. They import the product, never the other way round, so the production image
(which leaves ``devtools`` out) runs the code that is tested, and a reader of a production
package meets no tool. The scan parses every module of the production packages (pyproject's
packages but ``devtools``: tests/packages.py) and finds each import of ``devtools``:
``import`` and ``from ... import`` (relative ones resolved) at any depth (in a function, a
``try``, a class), and ``importlib.import_module`` or ``__import__`` of a literal name.

One exception, in :data:`ALLOWED` with its reason; it must stay guarded (inside a ``try`` that
handles a missing module), and an allowance nothing uses any more fails too.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from homeloop.settings import PROJECT_ROOT
from tests.packages import DEVTOOLS, PRODUCT_PACKAGES, installed_packages, pyproject

# (module, what it imports): why.
ALLOWED: dict[tuple[str, str], str] = {
    ("homeloop/cli.py", "devtools.cli"):
        "the CLI's one hook: it attaches `homeloop demo`, `simulate`, `bench <name>` and "
        "`auth emulator` where devtools is installed, and leaves them out where it is not",
}

# A module or package of a development tool, by its name: bench*, demo*, simulator*,
# emulator*, also after an underscore (the old kiosk_bench, bench_offers, benchdb).
DEV_TOOL_NAME = re.compile(r"(?:^|_)(?:bench|demo|simulat|emulat)")


@dataclass(frozen=True)
class Import:
    line: int
    name: str  # the module imported, absolute
    guarded: bool  # inside a try whose handler catches ImportError or ModuleNotFoundError


def _package_of(module: str) -> list[str]:
    """The package a module's relative imports start from: ``api/routes/x.py`` and
    ``api/routes/__init__.py`` -> api.routes."""
    return module.removesuffix(".py").split("/")[:-1]


def _resolve(module: str, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = _package_of(module)
    if level - 1 >= len(base):
        return ""  # beyond the top-level package: not an import Python would run
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _catches_missing_module(handler: ast.ExceptHandler) -> bool:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(k, ast.Name) and k.id in ("ImportError", "ModuleNotFoundError")
               for k in kinds)


DYNAMIC = ("import_module", "__import__")


def _called(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else \
        func.id if isinstance(func, ast.Name) else ""


def imports_of(module: str, source: str) -> list[Import]:
    """Every module ``module`` (a path relative to the project) imports, wherever it does."""
    tree = ast.parse(source)
    parent: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parent[id(child)] = node

    def guarded(node: ast.AST) -> bool:
        while id(node) in parent:
            up = parent[id(node)]
            if isinstance(up, ast.Try) and node in up.body \
                    and any(_catches_missing_module(h) for h in up.handlers):
                return True
            node = up
        return False

    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [_resolve(module, node.level, node.module)]
        elif isinstance(node, ast.Call) and _called(node.func) in DYNAMIC and node.args \
                and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            names = [node.args[0].value]
        found += [Import(node.lineno, name, guarded(node)) for name in names if name]
    return found


def is_devtools(name: str) -> bool:
    return name == DEVTOOLS or name.startswith(DEVTOOLS + ".")


def devtools_imports(module: str, source: str) -> list[Import]:
    return [i for i in imports_of(module, source) if is_devtools(i.name)]


def product_modules() -> list[tuple[str, Path]]:
    return [(path.relative_to(PROJECT_ROOT).as_posix(), path)
            for package in PRODUCT_PACKAGES
            for path in sorted((PROJECT_ROOT / package).rglob("*.py"))]


def test_the_production_packages_are_pyprojects_but_devtools() -> None:
    assert DEVTOOLS in installed_packages()
    assert DEVTOOLS not in PRODUCT_PACKAGES
    assert {"homeloop", "api", "identity", "device_gateway"} <= set(PRODUCT_PACKAGES)
    for package in (*PRODUCT_PACKAGES, DEVTOOLS):
        assert (PROJECT_ROOT / package / "__init__.py").is_file(), package


def test_no_production_module_imports_devtools() -> None:
    found = {(module, i.name): i for module, path in product_modules()
             for i in devtools_imports(module, path.read_text())}
    assert [f"{module}:{i.line} imports {name}" for (module, name), i in found.items()
            if (module, name) not in ALLOWED] == []
    assert [key for key in ALLOWED if key not in found] == [], \
        "allowances nothing uses any more"
    assert [f"{module}:{i.line}" for (module, _), i in found.items() if not i.guarded] == [], \
        "the allowed hook must stay guarded: the product runs where devtools is not installed"


def test_no_development_tool_is_left_in_a_production_package() -> None:
    left = [module for module, path in product_modules()
            if any(DEV_TOOL_NAME.search(part)
                   for part in path.relative_to(PROJECT_ROOT).with_suffix("").parts)]
    assert left == [], "development tools belong in devtools/"


def test_the_scan_sees_what_it_looks_for() -> None:
    planted = '''
"""A docstring may say devtools.bench.ingest."""
import json, devtools
import devtools.simulator as sim
from devtools.bench import db
from devtools import layouts

def seed():
    from devtools.demo.run import run_demo
    import importlib
    return importlib.import_module("devtools.auth_emulator"), __import__("devtools.cli")

class Later:
    try:
        from devtools.cli import attach
    except ModuleNotFoundError:
        attach = None

import devtoolsx
from devtools_other import x
from . import devtools
from .devtools import y
'''
    found = sorted((i.line, i.name, i.guarded)
                   for i in devtools_imports("orders/service.py", planted))
    assert found == [
        (3, "devtools", False), (4, "devtools.simulator", False),
        (5, "devtools.bench", False), (6, "devtools", False),
        (9, "devtools.demo.run", False), (11, "devtools.auth_emulator", False),
        (11, "devtools.cli", False), (15, "devtools.cli", True),
    ]
    # relative imports resolve inside their own package, never to the top-level devtools
    names = [i.name for i in imports_of("orders/service.py", planted)]
    assert "devtoolsx" in names and "devtools_other" in names
    assert "orders" in names and "orders.devtools" in names
    assert _resolve("api/routes/x.py", 2, "problems") == "api.problems"
    assert _resolve("api/routes/__init__.py", 1, "x") == "api.routes.x"
    assert all(DEV_TOOL_NAME.search(name) for name in (
        "bench", "benchdb", "bench_offers", "kiosk_bench", "demo", "simulator", "emulator"))
    assert not any(DEV_TOOL_NAME.search(name) for name in ("views", "layouts", "cli", "tasks"))


def test_devtools_is_type_checked_and_left_out_of_the_production_image() -> None:
    assert sorted(pyproject()["tool"]["mypy"]["packages"]) == sorted(installed_packages())
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    copied = re.findall(r"^COPY (\w+) \./\1$", dockerfile, re.M)
    assert sorted(copied) == sorted(PRODUCT_PACKAGES)


def test_the_dev_commands_are_attached_where_devtools_is_installed() -> None:
    from homeloop.cli import app

    runner = CliRunner()
    for command in (["demo"], ["simulate"], ["auth", "emulator"], ["bench"],
                    *(["bench", name] for name in ("ingest", "forecast", "offers", "assets",
                                                   "scenes", "kiosk", "assist"))):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_the_production_cli_works_without_devtools() -> None:
    # As in the production image: importing devtools fails, the product's commands remain.
    code = ("import sys; sys.modules['devtools'] = None\n"
            "from typer.testing import CliRunner\n"
            "from homeloop.cli import app\n"
            "for args in (['--help'], ['auth', '--help'], ['bench', '--help']):\n"
            "    r = CliRunner().invoke(app, args)\n"
            "    print(args, r.exit_code, ' '.join(r.output.split()))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=dict(os.environ),
                         capture_output=True, text=True, check=True, timeout=60).stdout
    main, auth, bench = out.splitlines()
    assert main.startswith("['--help'] 0 ") and " api " in main and " gateway " in main
    assert " demo " not in main and " simulate " not in main and " bench " not in main
    assert auth.startswith("['auth', '--help'] 0 ") and " token " in auth
    assert " emulator " not in auth
    assert bench.startswith("['bench', '--help'] 2 ")
