"""The FastAPI application, built by :func:`create_app` with its resources in the lifespan.

The lifespan refuses to start in production with an unsafe secret (``require_secrets``), and
serves the process's Prometheus metrics on their own port when ``api_metrics_port`` is set:
never on the public API, which answers 404 at ``/metrics``.

Every route declares what it needs of its caller (:func:`identity.access.needs`); the
application will not build with a route that declares nothing, and publishes each need in
the OpenAPI document as the operation's ``x-access``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from api import problems
from api.routes import (
    assets,
    assist,
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
from homeloop.settings import API_SECRETS, Settings, broker_secrets, require_secrets
from identity.access import ANYONE, need_of, needs
from identity.firebase import open_verifier


def _declared(router: APIRouter) -> APIRouter:
    """The router, each route's declared need published as its ``x-access``; a route that
    declares none stops the application from being built."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        need = need_of(route.endpoint)
        if need is None:
            raise RuntimeError(f"{sorted(route.methods or ())} {route.path} declares no need: "
                               "decorate it with identity.access.needs(...)")
        route.openapi_extra = {**(route.openapi_extra or {}), "x-access": need.as_openapi()}
    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings or Settings()
        require_secrets(app.state.settings, API_SECRETS + broker_secrets(app.state.settings))
        app.state.pool = open_pool(app.state.settings, max_size=20)
        replica = app.state.settings.database_replica_url
        app.state.replica_pool = None if replica is None else \
            open_pool(app.state.settings, max_size=20, url=replica)
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
            if app.state.replica_pool is not None:
                app.state.replica_pool.close()

    app = FastAPI(title="Homeloop API", version="0.1.0", lifespan=lifespan,
                  description="Products, timelines and fleet for the home app, kiosks and staff. "
                              "Errors are RFC 9457 problem+json.")
    problems.install(app)
    # X-Request-ID: taken from the caller when it is a UUID, else made; on every answer, in
    # problem+json bodies, in the audit log and in log lines.
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    app.include_router(_declared(identity.auth_router))
    app.include_router(_declared(identity.router))
    app.include_router(_declared(kiosk.router))
    app.include_router(_declared(staff_identity.router))
    app.include_router(_declared(products.router))
    app.include_router(_declared(offers.router))
    app.include_router(_declared(staff.router))
    app.include_router(_declared(floorplans.router))
    app.include_router(_declared(assets.router))
    app.include_router(_declared(clienteling.router))
    app.include_router(_declared(orders.router))
    app.include_router(_declared(assist.router))
    kiosk_web.mount(app, (settings or Settings()).web_dir)

    @app.get("/healthz", tags=["ops"], summary="Liveness and database reachability")
    @needs(ANYONE)
    def healthz() -> dict[str, str]:
        with app.state.pool.connection() as conn:
            conn.execute("SELECT 1")
        return {"status": "ok"}

    _declared(app.router)
    return app
