"""The FastAPI application, built by :func:`create_app` with its resources in the lifespan.

The lifespan refuses to start in production with an unsafe secret (``require_secrets``), and
serves the process's Prometheus metrics on their own port when ``api_metrics_port`` is set:
never on the public API, which answers 404 at ``/metrics``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from api import problems
from api.routes import (
    assets,
    clienteling,
    floorplans,
    identity,
    kiosk,
    kiosk_web,
    offers,
    orders,
    products,
    staff,
    staff_identity,
)
from homeloop.db import open_pool
from homeloop.metrics import serve as serve_metrics
from homeloop.settings import API_SECRETS, Settings, require_secrets
from identity.firebase import open_verifier


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or Settings()
        require_secrets(app.state.settings, API_SECRETS)
        app.state.pool = open_pool(app.state.settings, max_size=20)
        app.state.firebase = open_verifier(app.state.settings)
        app.state.limiter = MovingWindowRateLimiter(
            storage_from_string(app.state.settings.redis_url))
        stop_metrics = None
        try:
            if app.state.settings.api_metrics_port:
                stop_metrics = serve_metrics(app.state.settings.api_metrics_host,
                                             app.state.settings.api_metrics_port)
            yield
        finally:
            if stop_metrics is not None:
                stop_metrics()
            app.state.firebase.close()
            app.state.pool.close()

    app = FastAPI(title="Homeloop API", version="0.1.0", lifespan=lifespan,
                  description="Products, timelines and fleet for the home app, kiosks and staff. "
                              "Errors are RFC 9457 problem+json.")
    problems.install(app)
    # X-Request-ID: taken from the caller when it is a UUID, else made; on every answer, in
    # problem+json bodies, in the audit log and in log lines.
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    app.include_router(identity.auth_router)
    app.include_router(identity.router)
    app.include_router(kiosk.router)
    app.include_router(staff_identity.router)
    app.include_router(products.router)
    app.include_router(offers.router)
    app.include_router(staff.router)
    app.include_router(floorplans.router)
    app.include_router(assets.router)
    app.include_router(clienteling.router)
    app.include_router(orders.router)
    kiosk_web.mount(app, (settings or Settings()).web_dir)

    @app.get("/healthz", tags=["ops"], summary="Liveness and database reachability")
    def healthz() -> dict[str, str]:
        with app.state.pool.connection() as conn:
            conn.execute("SELECT 1")
        return {"status": "ok"}

    return app
