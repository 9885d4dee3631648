"""Floor plans, community layouts, designs, checks, bills of materials, handoffs and scenes.

Transport only: parse, authorise (``ensure_may_use`` on every plan and design in a path: whoever
may act for its owner; a design no customer owns yet is held by the store whose kiosk started
it), call :mod:`floorplans.service`, format.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import FileResponse, HTMLResponse

from api.auth import (
    AnonymousRateLimited,
    CatalogEditor,
    CurrentCustomer,
    CurrentPrincipal,
    Principal,
    ensure_may_act_for,
    ensure_may_use,
)
from api.deps import ConnDep, SettingsDep
from api.language import LangDep
from customers import store as customers
from floorplans import scenes, service, store
from floorplans.schemas import (
    Bom,
    Community,
    CommunityBody,
    Design,
    DesignBody,
    DesignEdit,
    DesignVersion,
    Finding,
    FloorPlan,
    Handoff,
    Layout,
    LayoutBody,
    PlanInfo,
)
from homeloop import clock
from homeloop.db import Conn
from homeloop.errors import Forbidden, thing
from identity.access import ANYONE, SIGNED_IN, needs

router = APIRouter(prefix="/v1", tags=["floor plans and designs"])
IfMatch = Annotated[str | None, Header(description="The design's ETag (required to change it)")]
IfNoneMatch = Annotated[str | None, Header()]
NOT_YOURS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not yours, and no consent or grant to act for its owner"},
    404: {"description": "No such thing"}}


def _store_of(principal: Principal) -> str | None:
    return None if principal.store_id is None else str(principal.store_id)


def _acting_as(conn: Conn, principal: Principal,
               customer_id: int | None) -> tuple[int | None, str | None]:
    """(owner, store) of something the principal creates."""
    if principal.kind == "customer":
        if customer_id is not None and customer_id != principal.customer_id:
            ensure_may_act_for(conn, principal, customer_id, thing("customer", customer_id))
        return principal.customer_id, None
    if customer_id is not None:
        ensure_may_act_for(conn, principal, customer_id, thing("customer", customer_id))
        return customer_id, _store_of(principal)
    if _store_of(principal) is None:
        raise Forbidden("name the customer (customer_id): only a store session may hold "
                        "a design or plan without one")
    return None, _store_of(principal)


def _plan_info(row: store.PlanRow) -> PlanInfo:
    return PlanInfo(id=row.id, name=row.name, owner_id=row.owner_id, store_id=row.store_id,
                    source=row.source, layout_id=row.layout_id, area_m2=row.area_m2,
                    rooms=len(row.plan.rooms), notes=row.plan.notes,
                    created_at=row.created_at)


def _readable_plan(conn: Conn, principal: Principal, plan_id: int) -> store.PlanRow:
    """The plan, if the caller may use it; another customer's answers as a missing one."""
    row = store.get_plan(conn, plan_id)
    ensure_may_use(conn, principal, row.owner_id, row.store_id, thing("floor plan", plan_id))
    return row


def _readable_design(conn: Conn, principal: Principal, design_id: str) -> store.DesignRow:
    """The design, if the caller may use it; another customer's answers as a missing one."""
    design = store.get_design(conn, design_id)
    ensure_may_use(conn, principal, design.owner_id, design.store_id, thing("design", design_id))
    return design


def _design(design: store.DesignRow, response: Response | None) -> Design:
    if response is not None:
        response.headers["ETag"] = service.etag(design)
    return Design(id=design.id, name=design.name, floor_plan_id=design.floor_plan_id,
                  owner_id=design.owner_id, store_id=design.store_id, version=design.version,
                  placements=design.placements, created_at=design.created_at,
                  updated_at=design.updated_at)


# --- floor plans ---

async def _plan_bytes(request: Request, settings: SettingsDep) -> bytes:
    """The body as its bytes arrive, refused (413) as soon as they pass the limit: the limit
    is on what is received, whatever JSON it holds (spaces included)."""
    limit = settings.plan_max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise service.too_large(limit)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise service.too_large(limit)
    return bytes(body)


PLAN_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "additionalProperties": True,
               "description": "Our floor plan JSON (format homeloop.floorplan), or an Apple "
                              "RoomPlan export: a CapturedRoom (one scan) or a "
                              "CapturedStructure (several rooms and storeys, iOS 17)"}}}}}


@router.post("/floorplans", status_code=201, response_model=PlanInfo, openapi_extra=PLAN_BODY,
             responses={413: {"description": "Over the size limit (plan_max_upload_bytes)"},
                        422: {"description": "Not a plan we can read, or an invalid one: "
                                             "`errors` names each field"}})
@needs("customer", "kiosk", "assistant", "store_manager")
def import_plan(principal: CurrentPrincipal, raw: Annotated[bytes, Depends(_plan_bytes)],
                conn: ConnDep, settings: SettingsDep,
                name: str | None = None, customer_id: int | None = None) -> PlanInfo:
    """Import a floor plan; a RoomPlan export is also kept as uploaded."""
    # The parameters' order is the dependencies': who is calling is known before the body is
    # read, and the body is read before a database connection is taken.
    owner, store_id = _acting_as(conn, principal, customer_id)
    return _plan_info(service.import_plan(conn, raw, name, owner_id=owner, store_id=store_id,
                                          limits=service.limits(settings),
                                          max_bytes=settings.plan_max_upload_bytes))


@router.get("/me/floorplans", response_model=list[PlanInfo])
@needs("customer")
def my_plans(customer: CurrentCustomer, conn: ConnDep) -> list[PlanInfo]:
    return [_plan_info(r) for r in store.plans_of(conn, customer)]


@router.get("/floorplans/{plan_id}", response_model=PlanInfo, responses=NOT_YOURS)
@needs(*SIGNED_IN, of="customer")
def get_plan(plan_id: int, principal: CurrentPrincipal, conn: ConnDep) -> PlanInfo:
    return _plan_info(_readable_plan(conn, principal, plan_id))


@router.get("/floorplans/{plan_id}/plan.json", response_model=FloorPlan, responses=NOT_YOURS)
@needs(*SIGNED_IN, of="customer")
def export_plan(plan_id: int, principal: CurrentPrincipal, conn: ConnDep) -> FloorPlan:
    """The plan in our JSON, as ``POST /v1/floorplans`` takes it back."""
    return _readable_plan(conn, principal, plan_id).plan


# --- communities ---

@router.post("/communities", status_code=201, response_model=Community)
@needs("catalog_editor", "admin")
def add_community(body: CommunityBody, editor: CatalogEditor, conn: ConnDep) -> Community:
    """Add a residential community (catalog staff)."""
    return Community.model_validate(store.insert_community(conn, body.name, body.city,
                                                           body.address))


@router.post("/communities/layouts", status_code=201, response_model=Layout)
@needs("catalog_editor", "admin")
def add_layout(body: LayoutBody, editor: CatalogEditor, conn: ConnDep,
               settings: SettingsDep) -> Layout:
    """Share a unit type's plan with its residential community (again: replaced; catalog
    staff)."""
    return Layout.model_validate(service.add_layout(conn, body.community_id, body.unit_type,
                                                    body.name, body.plan,
                                                    service.limits(settings)))


@router.get("/communities/layouts", response_model=list[Layout])
@needs(*SIGNED_IN)
def search_layouts(principal: CurrentPrincipal, conn: ConnDep,
                   q: Annotated[str | None, Query(description="Community name or address")] = None,
                   city: str | None = None, unit_type: str | None = None) -> list[Layout]:
    del principal  # any signed-in principal
    return [Layout.model_validate(r) for r in store.search_layouts(conn, q, city, unit_type)]


@router.get("/communities/layouts/{layout_id}/plan.json", response_model=FloorPlan)
@needs(*SIGNED_IN)
def layout_plan(layout_id: int, principal: CurrentPrincipal, conn: ConnDep) -> FloorPlan:
    del principal
    return store.get_layout_plan(conn, layout_id)[1]


@router.post("/communities/layouts/{layout_id}/copy", status_code=201, response_model=PlanInfo)
@needs("customer", "kiosk", "assistant", "store_manager")
def copy_layout(layout_id: int, principal: CurrentPrincipal, conn: ConnDep,
                customer_id: int | None = None) -> PlanInfo:
    """A private copy of the layout, the customer's own to edit."""
    owner, store_id = _acting_as(conn, principal, customer_id)
    return _plan_info(service.copy_layout(conn, layout_id, owner_id=owner, store_id=store_id))


# --- designs ---

@router.post("/designs", status_code=201, response_model=Design,
             responses={422: {"description": "Unknown SKU or duplicate placement id"}})
@needs("customer", "kiosk", "assistant", "store_manager")
def create_design(body: DesignBody, principal: CurrentPrincipal, conn: ConnDep,
                  settings: SettingsDep, response: Response) -> Design:
    """Start a design on a floor plan, or on a private copy of a community layout.

    A kiosk that names no customer holds the design for its store until a customer claims
    it with a handoff code.
    """
    owner, store_id = _acting_as(conn, principal, body.customer_id)
    if body.floor_plan_id is not None:
        _readable_plan(conn, principal, body.floor_plan_id)
    design = service.create_design(conn, body, owner_id=owner, store_id=store_id,
                                   author=principal.actor, limits=service.limits(settings))
    return _design(design, response)


@router.get("/me/designs", response_model=list[Design])
@needs("customer")
def my_designs(customer: CurrentCustomer, conn: ConnDep) -> list[Design]:
    """The customer's designs, last changed first."""
    return [_design(d, None) for d in store.designs_of(conn, customer)]


@router.get("/customers/{customer_id}/designs", response_model=list[Design],
            responses=NOT_YOURS)
@needs(*SIGNED_IN, of="customer")
def customer_designs(customer_id: int, principal: CurrentPrincipal,
                     conn: ConnDep) -> list[Design]:
    """A customer's designs, for whoever may act for them: a kiosk the customer let in, an
    assistant of a store they consented to, an admin (audited), or the customer."""
    ensure_may_act_for(conn, principal, customer_id, thing("customer", customer_id))
    return [_design(d, None) for d in store.designs_of(conn, customer_id)]


@router.get("/designs/{design_id}", response_model=Design, responses=NOT_YOURS)
@needs(*SIGNED_IN, of="customer")
def get_design(design_id: str, principal: CurrentPrincipal, conn: ConnDep,
               response: Response, if_none_match: IfNoneMatch = None) -> Any:
    design = _readable_design(conn, principal, design_id)
    if if_none_match == service.etag(design):
        return Response(status_code=304, headers={"ETag": service.etag(design)})
    return _design(design, response)


@router.put("/designs/{design_id}", response_model=Design,
            responses={**NOT_YOURS, 412: {"description": "Changed elsewhere since your ETag"},
                       428: {"description": "If-Match missing"}})
@needs(*SIGNED_IN, of="customer")
def edit_design(design_id: str, body: DesignEdit, principal: CurrentPrincipal, conn: ConnDep,
                settings: SettingsDep, response: Response, if_match: IfMatch = None) -> Design:
    """Replace the placements (a new version); send the ETag you read as If-Match."""
    design = _readable_design(conn, principal, design_id)
    return _design(service.edit_design(conn, design, if_match, body, principal.actor,
                                       service.limits(settings)), response)


@router.post("/designs/{design_id}/undo", response_model=Design,
             responses={**NOT_YOURS, 409: {"description": "Nothing to undo"},
                        412: {"description": "Changed elsewhere since your ETag"}})
@needs(*SIGNED_IN, of="customer")
def undo_design(design_id: str, principal: CurrentPrincipal, conn: ConnDep,
                response: Response, if_match: IfMatch = None) -> Design:
    """Go back to before the last change, as a new version (undo again to go further)."""
    design = _readable_design(conn, principal, design_id)
    return _design(service.undo(conn, design, if_match, principal.actor), response)


@router.get("/designs/{design_id}/history", response_model=list[DesignVersion],
            responses=NOT_YOURS)
@needs(*SIGNED_IN, of="customer")
def design_history(design_id: str, principal: CurrentPrincipal,
                   conn: ConnDep) -> list[DesignVersion]:
    _readable_design(conn, principal, design_id)
    return [DesignVersion.model_validate(v) for v in store.versions(conn, design_id)]


@router.get("/designs/{design_id}/checks", response_model=list[Finding], responses=NOT_YOURS)
@needs(*SIGNED_IN, of="customer")
def design_checks(design_id: str, principal: CurrentPrincipal, conn: ConnDep,
                  lang: LangDep) -> list[Finding]:
    """What does not fit or will not work: each with the placements involved and why (in the
    reader's language: the customer's locale, else Accept-Language)."""
    return service.findings(conn, _readable_design(conn, principal, design_id), lang)


@router.get("/designs/{design_id}/bom", response_model=Bom, responses=NOT_YOURS)
@needs(*SIGNED_IN, of="customer")
def design_bom(design_id: str, principal: CurrentPrincipal, conn: ConnDep,
               settings: SettingsDep, lang: LangDep, store_id: str | None = None) -> Bom:
    """Items, prices and stock: at the kiosk's store (or ``store_id``, or the customer's home
    store), online, and at the stores nearby; where each line can be had soonest, and the
    nearest store with all of them."""
    design = _readable_design(conn, principal, design_id)
    here = store_id or _store_of(principal)
    if here is None and principal.customer_id is not None:
        here = customers.home_store(conn, principal.customer_id)
    return service.bill_of_materials(conn, design, here, nearby_km=settings.nearby_store_km,
                                     lang=lang)


@router.post("/designs/{design_id}/handoff", status_code=201, response_model=Handoff,
             responses=NOT_YOURS)
@needs("kiosk", "assistant", "store_manager", "admin", of="customer")
def start_handoff(design_id: str, principal: CurrentPrincipal, conn: ConnDep,
                  request: Request) -> Handoff:
    """A kiosk's short-lived, single-use code (shown as a QR code) for the customer's app."""
    if principal.kind == "customer":
        raise Forbidden("a kiosk or an assistant hands a design over")
    design = _readable_design(conn, principal, design_id)
    link = str(request.base_url) + "v1/handoffs/"
    return service.start_handoff(conn, design, store_id=_store_of(principal),
                                 kiosk_id=principal.kiosk_id, now=clock.now(),
                                 link=link)


@router.get("/handoffs/{code}", response_class=HTMLResponse, dependencies=[AnonymousRateLimited],
            responses={200: {"content": {"text/html": {}}},
                       404: {"content": {"text/html": {}}, "description": "No such code"},
                       410: {"content": {"text/html": {}},
                             "description": "Expired or already used"}})
@needs(ANYONE)
def handoff_page(code: str, conn: ConnDep) -> HTMLResponse:
    """What a phone's camera opens from the kiosk's QR code: a page (zh-CN and en) that opens
    the app, which claims the code once the customer is signed in, or shows the code to type
    in. It tells nothing about the design and claims nothing."""
    status_code, page = service.handoff_page(conn, code, clock.now())
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})


@router.post("/handoffs/{code}/claim", response_model=Design,
             responses={404: {"description": "No such code"},
                        410: {"description": "Expired or already used"}})
@needs("customer")
def claim_handoff(code: str, customer: CurrentCustomer, conn: ConnDep,
                  response: Response) -> Design:
    """The app scanned the kiosk's code: the design (and its plan) joins this account."""
    return _design(service.claim_handoff(conn, code, customer, clock.now()), response)


# --- scenes ---

@router.get("/designs/{design_id}/scene.glb", response_class=Response, responses={
    **NOT_YOURS, 200: {"content": {"model/gltf-binary": {}}},
    304: {"description": "Not modified (If-None-Match)"}})
@needs(*SIGNED_IN, of="customer")
def design_scene(design_id: str, principal: CurrentPrincipal, conn: ConnDep,
                 settings: SettingsDep,
                 profile: Literal["phone", "planner", "vr"] = "phone",
                 if_none_match: IfNoneMatch = None) -> Response:
    """The room in 3D (GLB): walls with their openings, floors, and each placed product as a
    node whose ``extras`` carry ``sku`` and ``placement_id``. Strong ETag; 304 when unchanged."""
    design = _readable_design(conn, principal, design_id)
    inputs = scenes.gather(conn, design, profile)
    tag = scenes.etag(inputs)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if if_none_match is not None and tag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return FileResponse(scenes.scene_file(conn, settings, inputs),
                        media_type="model/gltf-binary", headers=headers)
