"""The project's packages as pyproject.toml lists them, for the tests that scan their modules.

The production packages are every package setuptools installs but :data:`DEVTOOLS`: the
development and measurement tools (benchmarks, demo data, the fleet simulator, the Auth
emulator stand-in), which are installed in a checkout but not deployed.
"""

from __future__ import annotations

import tomllib
from typing import Any

from homeloop.settings import PROJECT_ROOT

DEVTOOLS = "devtools"


def pyproject() -> dict[str, Any]:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())


def installed_packages() -> tuple[str, ...]:
    """The top-level packages of ``[tool.setuptools.packages.find] include`` (``"name*"``)."""
    patterns = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    assert all(p.endswith("*") and p[:-1].isidentifier() for p in patterns), patterns
    return tuple(sorted(p[:-1] for p in patterns))


PRODUCT_PACKAGES = tuple(p for p in installed_packages() if p != DEVTOOLS)
