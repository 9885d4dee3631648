"""The FastAPI application, built by :func:`create_app` with its resources in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api import problems
from api.routes import assets, offers, products, staff
from homeloop.db import open_pool
from homeloop.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or Settings()
        app.state.pool = open_pool(app.state.settings, max_size=20)
        try:
            yield
        finally:
            app.state.pool.close()

    app = FastAPI(title="Homeloop API", version="0.1.0", lifespan=lifespan,
                  description="Products, timelines and fleet for the home app, kiosks and staff. "
                              "Errors are RFC 9457 problem+json.")
    problems.install(app)
    app.include_router(products.router)
    app.include_router(offers.router)
    app.include_router(staff.router)
    app.include_router(assets.router)

    @app.get("/healthz", tags=["ops"], summary="Liveness and database reachability")
    def healthz() -> dict[str, str]:
        with app.state.pool.connection() as conn:
            conn.execute("SELECT 1")
        return {"status": "ok"}

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
