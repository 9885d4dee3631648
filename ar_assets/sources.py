"""What a supplier sends, turned into one self-contained GLB file.

- GLB: checked as it is (:func:`check_glb`).
- glTF with its files, in a zip: unpacked under a fresh folder (no ``../``, absolute paths or
  links; size and file-count limits against zip bombs), then packed into one GLB: buffers and
  images are read only from inside that folder, ``data:`` URIs are decoded, anything else
  (``http://``, ``file://``, absolute paths) is refused and never fetched.
- A lone ``.gltf``: packed the same way; it can only use ``data:`` URIs.
- OBJ, STL, PLY: loaded with trimesh from bytes (an OBJ's material files are not opened)
  and exported as GLB.

Every refusal raises :class:`Rejected` with the :class:`~ar_assets.report.Report` that says why.
"""

from __future__ import annotations

import io
import json
import lzma
import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import unquote

from ar_assets.glbfile import Source, glb_sources, open_glb, rewrite
from ar_assets.gltf import (
    LIMITS,
    Limits,
    check_document,
    check_required_extensions,
    data_uri_bytes,
    image_type,
)
from ar_assets.report import Report
from ar_assets.validator import document_of_file
from homeloop.errors import InvalidInput

Format = Literal["glb", "gltf", "zip", "obj", "stl", "ply"]
FORMATS: tuple[Format, ...] = ("glb", "gltf", "zip", "obj", "stl", "ply")
MAX_ZIP_FILES = 1000
MAX_ZIP_RATIO = 200  # uncompressed / compressed, per member


class Rejected(InvalidInput):
    """The upload cannot be used; ``report`` says why (rendered in the problem+json body)."""

    def __init__(self, report: Report) -> None:
        super().__init__("the model was refused: " + report.summary(), report=report.to_json())
        self.report = report


def reject(code: str, message: str, pointer: str = "") -> Rejected:
    report = Report()
    report.error(code, message, pointer)
    return Rejected(report)


def detect(head: bytes, filename: str) -> Format:
    """The format of an upload, from its first bytes, checked against its file name."""
    ext = PurePosixPath(filename.lower()).suffix.lstrip(".")
    if head.startswith(b"glTF"):
        return "glb"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if ext == "glb":
        raise reject("WRONG_MAGIC", "the file is named .glb but does not start with 'glTF'")
    if ext == "zip":
        raise reject("WRONG_MAGIC", "the file is named .zip but is not a zip archive")
    if head.startswith(b"ply"):
        return "ply"
    if ext == "ply":
        raise reject("WRONG_MAGIC", "the file is named .ply but does not start with 'ply', as "
                     "every PLY file does")
    text = head.lstrip()
    if ext == "gltf" or (text.startswith(b"{") and b'"asset"' in head):
        return "gltf"
    if ext == "stl" or text.startswith(b"solid"):
        return "stl"
    if ext == "obj" or text.startswith((b"#", b"v ", b"o ", b"g ", b"mtllib ")):
        return "obj"
    raise reject("UNKNOWN_FORMAT", f"cannot tell the format of {filename!r}: send GLB, glTF "
                 "with its files in a zip, OBJ, STL or PLY")


def check_glb(path: Path, limits: Limits = LIMITS) -> Report:
    """Our structural checks on a GLB file; raises :class:`Rejected` on any error."""
    report, doc = document_of_file(path, limits)
    if doc is not None:
        check_required_extensions(doc, report)
    if report.errors:
        raise Rejected(report)
    return report


def _safe_member(name: str) -> PurePosixPath | None:
    if "\\" in name or name.startswith("/") or ":" in name.split("/", 1)[0]:
        return None
    path = PurePosixPath(name)
    return None if ".." in path.parts else path


# What each compression method a zip can name is, for a refusal a person understands.
ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate",
               zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}
OTHER_METHODS = {1: "shrink", 6: "implode", 9: "deflate64", 93: "Zstandard", 95: "xz",
                 96: "JPEG", 97: "WavPack", 98: "PPMd", 99: "AES encryption"}


def _open_zip(source: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise reject("ZIP_INVALID", f"not a readable zip archive ({exc}): make the zip "
                     "again") from exc


def _check_member(info: zipfile.ZipInfo) -> None:
    """Refuse a member we could not read back, before anything is unpacked."""
    if info.flag_bits & 0x1:
        raise reject("ZIP_ENCRYPTED", f"{info.filename!r} in the zip is encrypted (password "
                     "protected): send the zip without a password")
    if info.compress_type not in ZIP_METHODS:
        method = OTHER_METHODS.get(info.compress_type, f"method {info.compress_type}")
        raise reject("ZIP_UNSUPPORTED_METHOD", f"{info.filename!r} in the zip is compressed "
                     f"with {method}, which we cannot unpack: make the zip again with the "
                     "usual compression (deflate)")


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Unpack one member, its CRC checked; a damaged member is a refusal that names it."""
    try:
        with archive.open(info) as src, target.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    except zipfile.BadZipFile as exc:
        text = str(exc)
        if "CRC" in text:
            raise reject("ZIP_BAD_CRC", f"{info.filename!r} in the zip is damaged: its "
                         "checksum (CRC-32) does not match its contents; make the zip again"
                         ) from exc
        if "differ" in text:
            raise reject("ZIP_NAME_MISMATCH", f"the zip is damaged: the entry "
                         f"{info.filename!r} of its directory has another name in its local "
                         "header; make the zip again") from exc
        raise reject("ZIP_CORRUPT_DATA", f"{info.filename!r} in the zip cannot be unpacked "
                     f"({text}); make the zip again") from exc
    except (zlib.error, lzma.LZMAError, EOFError, OSError, ValueError) as exc:
        raise reject("ZIP_CORRUPT_DATA", f"{info.filename!r} in the zip is damaged: its "
                     f"compressed data cannot be unpacked ({exc}); make the zip again"
                     ) from exc
    except (RuntimeError, NotImplementedError) as exc:  # encryption or a method seen late
        raise reject("ZIP_UNSUPPORTED", f"{info.filename!r} in the zip cannot be unpacked: "
                     f"{exc}") from exc


def unzip(source: Path, dest: Path, max_bytes: int) -> Path:
    """Unpack a zip under ``dest``; the one ``.gltf`` (or ``.glb``) in it.

    Every member is checked (path, link, size, ratio, encryption, compression method) before
    anything is written; a damaged one (bad CRC, corrupt compressed data, a local header that
    names another file than the directory) is a refusal that names it.
    """
    with _open_zip(source) as archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_FILES:
            raise reject("ZIP_TOO_MANY_FILES", f"{len(members)} files in the zip; at most "
                         f"{MAX_ZIP_FILES}")
        total = 0
        for info in members:
            path = _safe_member(info.filename)
            if path is None:
                raise reject("ZIP_UNSAFE_PATH", f"the zip holds {info.filename!r}, a path "
                             "outside the archive's folder; nothing was unpacked")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise reject("ZIP_LINK", f"the zip holds a symbolic link {info.filename!r}")
            _check_member(info)
            total += info.file_size
            if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO:
                raise reject("ZIP_BOMB", f"{info.filename!r} expands {info.file_size:,} bytes "
                             f"from {info.compress_size:,}")
        if total > max_bytes:
            raise reject("ZIP_TOO_LARGE", f"the zip expands to {total:,} bytes; at most "
                         f"{max_bytes:,}")
        for info in members:
            if info.is_dir():
                continue
            target = dest.joinpath(*PurePosixPath(info.filename).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            _extract(archive, info, target)
    models = [p for p in dest.rglob("*") if p.suffix.lower() in (".gltf", ".glb")]
    if len(models) != 1:
        raise reject("ZIP_NO_MODEL", f"the zip must hold exactly one .gltf or .glb, it holds "
                     f"{len(models)}")
    return models[0]


def _resolve(root: Path, base: Path, uri: str, pointer: str) -> Path:
    target = (base / unquote(uri)).resolve()
    if not target.is_relative_to(root.resolve()):
        raise reject("URI_OUTSIDE", f"{uri!r} points outside the upload", pointer)
    if not target.is_file():
        raise reject("URI_MISSING_FILE", f"{uri!r} is not in the upload", pointer)
    return target


def pack_gltf(gltf: Path, root: Path, out: Path, limits: Limits = LIMITS) -> None:
    """Pack a ``.gltf`` and the files it names (all under ``root``) into one GLB at ``out``.

    Streamed: only the byte ranges the buffer views reference are read from the buffers'
    files (a 400 MB ``.bin`` of which 36 bytes are used gives a GLB of a few hundred bytes),
    and images are copied from their files in pieces.
    """
    try:
        doc: Any = json.loads(gltf.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise reject("JSON_INVALID", f"{gltf.name} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise reject("JSON_INVALID", f"{gltf.name} is not a JSON object")
    report = Report()
    # The same checks as for a GLB, with relative URIs allowed (resolved below, inside root).
    check_document(doc, None, report, lambda _o, _n: b"", limits, allow_relative_uris=True)
    check_required_extensions(doc, report)
    if report.errors:
        raise Rejected(report)
    base = gltf.parent
    files: list[Source | None] = []
    buffers = doc.get("buffers", [])
    for i, buf in enumerate(buffers):
        if "uri" not in buf:
            files.append(None)  # a meshopt fallback buffer: no data by design
            continue
        path = _uri_file(root, base, buf.pop("uri"), f"/buffers/{i}/uri", out.parent, limits)
        size = path.stat().st_size
        if size < buf["byteLength"]:
            raise reject("BUFFER_LENGTH_LIES", f"buffer {i} claims {buf['byteLength']} bytes, "
                         f"its file has {size}", f"/buffers/{i}")
        files.append(Source(path, 0, buf["byteLength"]))
    for i, image in enumerate(doc.get("images", [])):
        if "uri" not in image:
            continue
        path = _uri_file(root, base, image.pop("uri"), f"/images/{i}/uri", out.parent, limits)
        with path.open("rb") as f:
            mime = image_type(f.read(16))
        if mime is None:
            raise reject("IMAGE_NOT_AN_IMAGE", f"image {i} is not a PNG, JPEG, WebP or KTX2 "
                         "image", f"/images/{i}")
        size = path.stat().st_size
        image["mimeType"] = mime
        image["bufferView"] = len(doc.setdefault("bufferViews", []))
        doc["bufferViews"].append({"buffer": len(buffers), "byteLength": size})
        buffers.append({"byteLength": size})
        files.append(Source(path, 0, size))
    doc["buffers"] = buffers
    rewrite(doc, files, out)
    check_glb(out, limits)


def compact_glb(source: Path, out: Path, limits: Limits = LIMITS) -> None:
    """A checked GLB again with only the bytes its views reference (``data:`` URIs too)."""
    doc, bin_source = open_glb(source)
    files = glb_sources(doc, bin_source)
    for i, buf in enumerate(doc.get("buffers", [])):
        if isinstance(buf.get("uri"), str):
            path = _uri_file(source.parent, source.parent, buf.pop("uri"), f"/buffers/{i}/uri",
                             out.parent, limits)
            files[i] = Source(path, 0, buf["byteLength"])
    rewrite(doc, files, out)
    check_glb(out, limits)


def _uri_file(root: Path, base: Path, uri: str, pointer: str, work: Path,
              limits: Limits) -> Path:
    """The file a URI names inside the upload; a ``data:`` URI decoded into a file."""
    if uri.startswith("data:"):
        data = data_uri_bytes(uri, limits.max_json_bytes)
        if data is None:
            raise reject("URI_INVALID", "a data: URI that is not base64 or is too large",
                         pointer)
        path = work / f"data-uri-{pointer.strip('/').replace('/', '-')}"
        path.write_bytes(data)
        return path
    return _resolve(root, base, uri, pointer)


def convert_mesh(source: Path, fmt: Format, out: Path) -> None:
    """OBJ, STL or PLY to GLB through trimesh (geometry, and vertex colours where present)."""
    import trimesh

    try:
        # From bytes, without a resolver: an OBJ's mtllib or texture names are never opened
        # (they could name any file on this machine), so an OBJ keeps only its geometry.
        scene: Any = trimesh.load(io.BytesIO(source.read_bytes()), file_type=fmt,
                                  force="scene", process=False, resolver=None)
        data = scene.export(file_type="glb")
    except Exception as exc:  # trimesh raises many types for a broken file
        raise reject("MESH_UNREADABLE", f"the {fmt.upper()} file could not be read: {exc}") from exc
    if not isinstance(scene, trimesh.Scene) or not scene.geometry:
        raise reject("MESH_EMPTY", f"the {fmt.upper()} file holds no geometry")
    out.write_bytes(data)


def to_glb(source: Path, fmt: Format, work: Path, max_unpacked: int,
           limits: Limits = LIMITS, max_model: int | None = None) -> Path:
    """Turn an upload into a checked, self-contained GLB in ``work``; its path.

    The GLB carries only the bytes the model references; past ``max_model`` bytes it is
    refused (however the model was sent, it carries at most what a GLB upload may).
    """
    out = work / "source.glb"
    if fmt == "glb":
        check_glb(source, limits)
        compact_glb(source, out, limits)
    elif fmt == "zip":
        root = work / "unzipped"
        root.mkdir()
        model = unzip(source, root, max_unpacked)
        if model.suffix.lower() == ".glb":
            check_glb(model, limits)
            compact_glb(model, out, limits)
        else:
            pack_gltf(model, root, out, limits)
    elif fmt == "gltf":
        root = work / "gltf"
        root.mkdir()
        shutil.copyfile(source, root / "model.gltf")
        pack_gltf(root / "model.gltf", root, out, limits)
    else:
        convert_mesh(source, fmt, out)
        check_glb(out, limits)
    size = out.stat().st_size
    if max_model is not None and size > max_model:
        raise reject("MODEL_TOO_LARGE", f"the model's data comes to {size:,} bytes as one GLB; "
                     f"we accept at most {max_model:,} (the upload limit), however it is sent")
    return out
