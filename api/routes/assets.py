"""AR assets: staff upload product models; anyone reads a ready model's files.

Uploads are streamed to the blob store as they arrive (raw body, or the first file of a
multipart form), refused with 413 past ``asset_max_upload_bytes``, checked cheaply (422 with a
report) and answered 202 with the status URL; a Celery worker does the rest.

Files are served with a strong ETag (their sha256), 304 on If-None-Match, Range requests (206),
and ``Cache-Control: immutable`` on the hashed URL ``/v1/asset-files/{sha256}.glb``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from celery import Celery
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from python_multipart.multipart import MultipartParser, parse_options_header

from api.auth import AnonymousRateLimited, CatalogEditor
from api.deps import ConnDep, PoolDep, SettingsDep
from ar_assets import service, store
from ar_assets.schemas import AssetOut, Bbox, ColourOut, DefaultModel, ProfileFile, Source
from ar_assets.storage import SHA256, BlobWriter, open_blob_store
from ar_assets.tasks import TASK
from catalog import store as catalog_store
from homeloop.db import transaction
from homeloop.errors import InvalidInput, NotFound, TooLarge
from homeloop.settings import Settings
from homeloop.worker import make_celery
from identity.access import ANYONE, needs

router = APIRouter(tags=["assets"])
GLB = "model/gltf-binary"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, max-age=60, must-revalidate"  # a SKU's default model can change
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the file
Profile = Literal["phone", "planner", "vr"]


def _status_url(asset_id: int) -> str:
    return f"/v1/assets/{asset_id}"


def _out(asset: store.Asset, files: list[store.AssetFile]) -> AssetOut:
    return AssetOut(
        id=asset.id, sku=asset.sku, status=asset.status, status_url=_status_url(asset.id),
        source=Source(name=asset.source_name, format=asset.source_format,
                      size=asset.source_size, sha256=asset.source_sha256),
        report=asset.report, bbox=Bbox(**asset.bbox) if asset.bbox else None,
        footprint=asset.footprint, triangles=asset.triangles, variants=asset.variants,
        colours=[ColourOut(**asdict(c)) for c in service.colours(asset)],
        placeholder=bool(asset.report.get("placeholder")),
        profiles={f.profile: ProfileFile(
            url=f"/v1/asset-files/{f.sha256}.glb", sha256=f.sha256, size=f.size,
            triangles=f.triangles, draw_calls=f.draw_calls, max_texture=f.max_texture,
            compression=f.compression, validator_errors=int(f.validator.get("errors", 0)),
            validator_warnings=int(f.validator.get("warnings", 0)))
            for f in files if f.profile != "master"},
        created_at=asset.created_at, updated_at=asset.updated_at)


class _FirstFile:
    """python-multipart callbacks writing the first file part of a form to a blob writer."""

    def __init__(self, writer: BlobWriter) -> None:
        self.writer = writer
        self.filename: str | None = None
        self.field = b""
        self.value = b""
        self.disposition = b""
        self.active = False
        self.done = False

    def callbacks(self) -> Any:
        return {"on_header_field": self._field, "on_header_value": self._value,
                "on_header_end": self._header_end, "on_headers_finished": self._headers,
                "on_part_data": self._data, "on_part_end": self._part_end}

    def _field(self, data: bytes, start: int, end: int) -> None:
        self.field += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self.value += data[start:end]

    def _header_end(self) -> None:
        if self.field.lower() == b"content-disposition":
            self.disposition = self.value
        self.field = self.value = b""

    def _headers(self) -> None:
        _, params = parse_options_header(self.disposition)
        name = params.get(b"filename")
        self.active = name is not None and not self.done
        if self.active and name is not None:
            self.filename = name.decode("utf-8", "replace")
        self.disposition = b""

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.active:
            self.writer.write(data[start:end])

    def _part_end(self) -> None:
        if self.active:
            self.active, self.done = False, True


def _enqueue(settings: Settings, asset_id: int) -> None:
    """Queue processing (after the upload's commit); a Celery app per upload, closed after."""
    app: Celery = make_celery(settings)
    try:
        app.send_task(TASK, args=[asset_id])
    finally:
        app.close()


@router.post("/v1/assets", status_code=status.HTTP_202_ACCEPTED, response_model=AssetOut,
             responses={413: {"description": "over the upload limit"},
                        422: {"description": "refused, with a report"}})
@needs("catalog_editor", "admin")
async def upload_asset(request: Request, editor: CatalogEditor, settings: SettingsDep,
                       pool: PoolDep, sku: str | None = None,
                       unit: Literal["m", "cm", "mm", "in", "ft"] | None = None,
                       up: Literal["y", "z"] | None = None,
                       filename: str | None = None) -> JSONResponse:
    """Upload a product model: GLB, a zip of a glTF with its files, OBJ, STL or PLY.

    Send the file as the body (name it with ``filename``) or as a multipart form's file.
    ``unit`` and ``up`` say what the file's numbers mean when it is not metres, Y up (STL and
    PLY default to Z up). With ``sku``, the model becomes the SKU's default once ready.
    """
    limit = settings.asset_max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + MULTIPART_SLACK:
        raise TooLarge(f"the upload is {int(declared):,} bytes, over the limit of {limit:,}")
    writer = open_blob_store(settings).writer(limit)
    try:
        ctype, params = parse_options_header(request.headers.get("content-type", ""))
        if ctype == b"multipart/form-data":
            boundary = params.get(b"boundary")
            if not boundary:
                raise InvalidInput("a multipart body without a boundary")
            form = _FirstFile(writer)
            parser = MultipartParser(boundary, form.callbacks())
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
            if form.filename is None:
                raise InvalidInput("the form has no file part")
            name = filename or form.filename
        else:
            async for chunk in request.stream():
                writer.write(chunk)
            name = filename or "upload"
        if writer.size == 0:
            raise InvalidInput("the upload is empty")
        sha = writer.finish()
    except BaseException:
        writer.abort()
        raise

    def accept() -> tuple[store.Asset, list[store.AssetFile]]:
        with transaction(pool) as conn:  # the bytes are placed in the store under its lock
            asset_id = service.accept_upload(
                conn, settings, sha256=sha, size=writer.size, head=writer.head, filename=name,
                sku=sku, unit=unit, up=up, uploaded_by=editor.actor, place=writer.place)
            return store.get(conn, asset_id), []

    try:
        asset, files = await run_in_threadpool(accept)
    finally:
        writer.abort()  # the temporary file, if it was never placed
    await run_in_threadpool(_enqueue, settings, asset.id)  # after the commit
    body = _out(asset, files)
    return JSONResponse(body.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED,
                        headers={"Location": body.status_url})


def _serve(request: Request, settings: Settings, found: store.AssetFile,
           cache: str) -> Response:
    etag = f'"{found.sha256}"'
    headers = {"ETag": etag, "Cache-Control": cache}
    wanted = request.headers.get("if-none-match", "")
    if wanted.strip() == "*" or etag in [t.strip().removeprefix("W/") for t in wanted.split(",")]:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    path = open_blob_store(settings).local_path(found.sha256)
    if path is None:
        raise NotFound("the file is not in the blob store")
    return FileResponse(path, media_type=GLB, headers=headers,
                        filename=f"asset-{found.asset_id}-{found.profile}.glb",
                        content_disposition_type="inline")


@router.get("/v1/assets", response_model=list[AssetOut])
@needs("catalog_editor", "admin")
def list_assets(editor: CatalogEditor, conn: ConnDep, sku: str | None = None,
                status: Literal["pending", "processing", "ready", "failed"] | None = None,
                limit: Annotated[int, Query(ge=1, le=200)] = 50,
                before_id: int | None = None) -> list[AssetOut]:
    """Uploads newest first (staff), by SKU and status; page with ``before_id``."""
    assets = store.listing(conn, sku=sku, status=status, before_id=before_id, limit=limit)
    files = store.files_of(conn, [a.id for a in assets])
    return [_out(a, files[a.id]) for a in assets]


@router.get("/v1/assets/{asset_id}", response_model=AssetOut,
            dependencies=[AnonymousRateLimited],
            responses={200: {"content": {GLB: {}}, "description": "the model, with ?profile="}})
@needs(ANYONE)
def get_asset(asset_id: int, request: Request, conn: ConnDep, settings: SettingsDep,
              profile: Annotated[Profile | None, Query()] = None) -> Response | AssetOut:
    """An asset's status and what processing found; with ``profile``, its GLB at that profile.

    Public: ready models are catalog content.
    """
    if profile is None:
        return _out(store.get(conn, asset_id), store.files(conn, asset_id))
    found = store.file_for(conn, asset_id, profile)
    if found is None:
        raise NotFound(f"asset {asset_id} has no ready {profile} file")
    return _serve(request, settings, found, REVALIDATE)


@router.get("/v1/asset-files/{name}", response_class=Response,
            dependencies=[AnonymousRateLimited],
            responses={200: {"content": {GLB: {}}}})
@needs(ANYONE)
def get_asset_file(name: str, request: Request, conn: ConnDep,
                   settings: SettingsDep) -> Response:
    """A model file by its content hash (``<sha256>.glb``): never changes, cached for good."""
    sha = name.removesuffix(".glb")
    found = store.file_by_sha(conn, sha) if SHA256.match(sha) else None
    if found is None or found.profile == "master":
        raise NotFound(f"no model file {name}")
    return _serve(request, settings, found, IMMUTABLE)


@router.get("/v1/skus/{sku}/model", response_class=Response,
            dependencies=[AnonymousRateLimited],
            responses={200: {"content": {GLB: {}}}})
@needs(ANYONE)
def get_sku_model(sku: str, request: Request, conn: ConnDep, settings: SettingsDep,
                  profile: Profile = "phone") -> Response:
    """A SKU's default model (its newest ready asset) at a profile."""
    asset_id = store.default_for_sku(conn, sku)
    found = store.file_for(conn, asset_id, profile) if asset_id is not None else None
    if found is None:
        raise NotFound(f"SKU {sku} has no model")
    response = _serve(request, settings, found, REVALIDATE)
    response.headers["Content-Location"] = f"/v1/asset-files/{found.sha256}.glb"
    return response


class StoreName(BaseModel):
    """A store as a person reads it: its name in English and in Chinese."""

    name: str
    name_zh: str


class SkuOut(BaseModel):
    """One catalog item as a product page shows it, with its 3D model if it has one."""

    sku: str
    name: str
    name_zh: str
    category: str
    grade: str
    price_cents: int
    currency: str
    width_mm: int | None
    depth_mm: int | None
    height_mm: int | None
    attrs: dict[str, Any]
    in_stock_at: list[str] = Field(description="Stores that have it on hand now")
    store_names: dict[str, StoreName] = Field(description="Those stores' names, by store id")
    model: AssetOut | None = Field(description="Its default model: profiles and colour "
                                               "variants (KHR_materials_variants)")


@router.get("/v1/skus/{sku}", response_model=SkuOut, dependencies=[AnonymousRateLimited])
@needs(ANYONE)
def get_sku(sku: str, conn: ConnDep) -> SkuOut:
    """A catalog item, public: what a product page or a product's QR code shows."""
    item = catalog_store.get_sku(conn, sku)
    asset_id = store.default_for_sku(conn, sku)
    model = _out(store.get(conn, asset_id), store.files(conn, asset_id)) if asset_id else None
    return SkuOut(**asdict(item), model=model)


@router.put("/v1/skus/{sku}/model", response_model=AssetOut)
@needs("catalog_editor", "admin")
def set_sku_model(sku: str, body: DefaultModel, editor: CatalogEditor,
                  conn: ConnDep) -> AssetOut:
    """Make one of the SKU's ready models its default (a newer upload takes over again)."""
    store.make_default(conn, sku, body.asset_id)
    return _out(store.get(conn, body.asset_id), store.files(conn, body.asset_id))
