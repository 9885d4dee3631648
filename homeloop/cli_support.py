"""What every command of the ``homeloop`` CLI shares: its settings, checked before anything
connects anywhere; logging; failing with a message.

Here rather than in :mod:`homeloop.cli` so that commands defined elsewhere (the development
tools' commands, :mod:`devtools.cli`) use them without importing the CLI they are attached to.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable

import typer
from pydantic import ValidationError

from homeloop.errors import ConfigError, HomeloopError
from homeloop.settings import Settings, require_secrets


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def fail(exc: HomeloopError) -> typer.Exit:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    return typer.Exit(1)


def command_settings(needs: Iterable[str] = ()) -> Settings:
    """The command's settings. Exits saying why when they are invalid, or when in production
    a secret the command ``needs`` is unsafe: before anything connects anywhere."""
    try:
        settings = Settings()
        require_secrets(settings, needs)
    except ValidationError as exc:
        typer.secho(f"error: invalid settings: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc
    except ConfigError as exc:
        raise fail(exc) from exc
    return settings


def development_settings() -> Settings:
    """Settings of the local runner and the demo: development, always (and for the processes
    they start), with this install's own secrets."""
    os.environ["HOMELOOP_ENV"] = "development"
    return command_settings()
