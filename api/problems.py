"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from asgi_correlation_id import correlation_id
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount

from api.auth import AccessRefused, HiddenRefusal, audit_refusal
from api.language import request_lang
from homeloop.errors import DETAILS, TITLES, DomainError, ServiceError
from homeloop.i18n import Lang, Text

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"


def problem(status: int, title: str | Text, detail: str | Text, instance: str,
            lang: Lang = "zh-CN", code: str | None = None, **extra: Any) -> JSONResponse:
    """``title`` and ``detail`` in ``lang`` where they are catalogue texts; ``code`` is the
    stable name of the problem (a client's or test's key; the words may change)."""
    if code is None:
        code = detail.id if isinstance(detail, Text) else (
            title.id if isinstance(title, Text) else "error")
    title = title.render(lang) if isinstance(title, Text) else title
    detail = detail.render(lang) if isinstance(detail, Text) else detail
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "code": code, "instance": instance, **extra}
    if request_id := correlation_id.get():
        body["request_id"] = request_id  # also the X-Request-ID header: quote it to support
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if status in (429, 503) and "retry_after" in extra:
        headers["Retry-After"] = str(extra["retry_after"])
    headers["Content-Language"] = lang
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "description": "RFC 9457 problem details; more members may follow (errors, report, "
                   "tries_left, …). title and detail are in the reader's language (the "
                   "customer's locale, else Accept-Language, else zh-CN); code is stable.",
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                   "status": {"type": "integer"}, "detail": {"type": "string"},
                   "code": {"type": "string", "description": "What the problem is, for "
                            "programs: not_found, floorplan.outside_rooms, …"},
                   "instance": {"type": "string"}, "request_id": {"type": "string"}},
    "additionalProperties": True}


def document(app: FastAPI) -> None:
    """Say in the OpenAPI document that every error is problem+json: each operation's error
    responses, including FastAPI's 422, and a ``default`` for any other error status. (An
    HTML page answering a browser, such as a handoff's, also documents its own error pages.)"""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        problem_content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for code, response in responses.items():
                    if code[0] in "45":  # a page's own error pages (text/html) stay documented
                        kept = {media: body for media, body in response.get("content", {}).items()
                                if media != "application/json"}
                        response["content"] = {**kept, **problem_content}
                responses["default"] = {"description": "An error, as problem+json",
                                        "content": problem_content}
        schema["components"]["schemas"].pop("HTTPValidationError", None)
        schema["components"]["schemas"].pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """The ``Allow`` of a 405: every method some route answers at this path, found by asking
    the routes as the router does. (Starlette's own names only the first route's methods,
    and a path such as ``/v1/me`` has several routes.) Mounts (the web client's files) say
    nothing: they match any method."""
    allowed = []
    for method in METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL
               for route in request.app.router.routes if not isinstance(route, Mount)):
            allowed.append(method)
    return ", ".join(allowed)


def install(app: FastAPI) -> None:
    document(app)
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        if isinstance(exc, AccessRefused | HiddenRefusal):
            await run_in_threadpool(audit_refusal, request.app.state.pool, exc)
        return problem(exc.status, exc.title, exc.detail, request.url.path,
                       request_lang(request), exc.problem_code, **exc.extra)

    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> JSONResponse:
        log.warning("service unavailable on %s: %s", request.url.path, exc)
        # what is missing, in the operator's words (an SMS gateway, FCM), under our sentence
        return problem(503, TITLES("service_unavailable"),
                       DETAILS("service_unavailable", why=str(exc)), request.url.path,
                       request_lang(request), retry_after=30)

    @app.exception_handler(psycopg.DataError)
    async def _data(request: Request, exc: psycopg.DataError) -> JSONResponse:
        # Input PostgreSQL cannot store as given: a NUL in text, a number out of range.
        why = exc.diag.message_primary or "?"
        return problem(422, TITLES("invalid_input"), DETAILS("value_not_storable", why=why),
                       request.url.path, request_lang(request))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        # the members' own messages are pydantic's (English): they name fields, for developers
        return problem(422, TITLES("invalid_request"), detail, request.url.path,
                       request_lang(request), errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 405:
            allow = allowed_methods(request)
            answer = problem(405, TITLES("method_not_allowed"),
                             DETAILS("method_not_allowed", method=request.method, allow=allow),
                             request.url.path, request_lang(request))
            answer.headers["Allow"] = allow
            return answer
        kind = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                413: "too_large", 429: "too_many_requests"}.get(exc.status_code, "error")
        said = str(exc.detail)  # Starlette's own words are its status phrase ("Not Found")
        detail: str | Text = TITLES(kind) if said == HTTPStatus(exc.status_code).phrase else said
        answer = problem(exc.status_code, TITLES(kind), detail, request.url.path,
                         request_lang(request), kind)
        answer.headers.update(exc.headers or {})  # Starlette's own, kept
        return answer

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(500, TITLES("internal_error"), DETAILS("internal_error"),
                       request.url.path, request_lang(request))
