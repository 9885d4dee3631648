"""The room designer's web client (``web/kiosk``, built by ``npm run build``) at ``/kiosk/``.

Static files only: the page signs in and calls the API like any other client. Not in the
OpenAPI document. A missing build answers 404 (problem+json) saying how to build it.
"""

from __future__ import annotations

import mimetypes
import os
from os import PathLike
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from identity.access import ANYONE, needs

__all__ = ["mount"]


# Python 3.11's table lacks the web font type (the Chinese font's parts are WOFF2) and the
# web app manifest's.
mimetypes.add_type("font/woff2", ".woff2")
mimetypes.add_type("application/manifest+json", ".webmanifest")  # the home app, the tablet


class _Client(StaticFiles):
    """Static files whose HTML and scripts are revalidated (their names are not hashed); the
    font's parts under ``fonts/`` are named by their content, so they are kept for a year."""

    async def check_config(self) -> None:
        """A missing build is a 404 with a hint (below), not a server error."""
        if self.directory is not None and Path(self.directory).is_dir():
            await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        if self.directory is None or not Path(self.directory).is_dir():
            raise HTTPException(404, "the room designer is not built: run `make install` "
                                     "(npm ci && npm run build in web/kiosk)")
        return await super().get_response(path, scope)

    def file_response(self, full_path: PathLike[str] | str, stat_result: os.stat_result,
                      scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        hashed = Path(full_path).parent.name == "fonts" and Path(full_path).suffix == ".woff2"
        response.headers["Cache-Control"] = ("public, max-age=31536000, immutable" if hashed
                                             else "no-cache")
        return response


def mount(app: FastAPI, directory: Path) -> None:
    @app.get("/kiosk", include_in_schema=False)
    @needs(ANYONE)
    def kiosk_root() -> RedirectResponse:
        return RedirectResponse("/kiosk/", status_code=308)

    # gzip here only: the bundles shrink to a quarter; the API's own answers are left alone.
    client = _Client(directory=directory, html=True, check_dir=False)
    app.mount("/kiosk", GZipMiddleware(client, minimum_size=1024), name="kiosk")
