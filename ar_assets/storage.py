"""Content-addressed blob storage: a file's name is the sha256 of its bytes.

:class:`BlobStore` is the interface the service and the API use. :class:`LocalBlobStore` keeps
blobs in a folder (``settings.asset_dir``; ``ab/cd/<sha256>``) shared by the API and the
workers — the default, and in the compose stack a volume. :class:`S3BlobStore` is the
production option for several hosts: an S3-compatible bucket (``asset_s3_bucket``, and
``asset_s3_endpoint_url`` for one that is not AWS) holds every blob as ``<prefix><sha256>``,
and each host keeps a read-through cache of the blobs it used in its own folder (a blob never
changes, so a cached copy is never stale), at most ``asset_cache_max_bytes``: each use
touches the copy's modification time, and whenever a blob comes into the cache the least
recently used ones go until the cache fits again. :func:`open_blob_store` picks one from
settings.

Writing is crash-safe: bytes go to a temporary file in the store, are hashed while written,
then renamed into place (the same content twice is stored once).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import IO, Any, Protocol

from homeloop.errors import TooLarge
from homeloop.settings import Settings

SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobStore(Protocol):
    def put(self, path: Path) -> str: ...
    def open(self, sha256: str) -> IO[bytes]: ...
    def size(self, sha256: str) -> int | None: ...
    def local_path(self, sha256: str) -> Path | None: ...
    def delete(self, sha256: str) -> None: ...


class BlobWriter:
    """Bytes written in pieces, hashed on the way, refused past ``limit``; then committed."""

    def __init__(self, store: LocalBlobStore, limit: int) -> None:
        self.store, self.limit = store, limit
        self.tmp = store.root / "tmp" / uuid.uuid4().hex
        self.tmp.parent.mkdir(parents=True, exist_ok=True)
        self.file: IO[bytes] = self.tmp.open("wb")
        self.hash = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.sha256 = ""

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            self.abort()
            raise TooLarge(f"the upload is over the limit of {self.limit:,} bytes")
        if len(self.head) < 64:
            self.head += data[:64 - len(self.head)]
        self.hash.update(data)
        self.file.write(data)

    def finish(self) -> str:
        """Close the file; the sha256 of its bytes (not in the store until :meth:`place`)."""
        self.file.close()
        self.sha256 = self.hash.hexdigest()
        return self.sha256

    def place(self) -> None:
        """Put the finished bytes into the store under their sha256."""
        self.store.place(self.tmp, self.sha256)

    def commit(self) -> str:
        sha = self.finish()
        self.place()
        return sha

    def abort(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalBlobStore:
        return cls(settings.asset_dir)

    def _path(self, sha256: str) -> Path:
        if not SHA256.match(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def place(self, tmp: Path, sha256: str) -> None:
        target = self._path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, target)

    def writer(self, limit: int) -> BlobWriter:
        return BlobWriter(self, limit)

    def put(self, path: Path) -> str:
        writer = BlobWriter(self, limit=1 << 62)
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                writer.write(chunk)
        return writer.commit()

    def open(self, sha256: str) -> IO[bytes]:
        return self._path(sha256).open("rb")

    def size(self, sha256: str) -> int | None:
        try:
            return self._path(sha256).stat().st_size
        except (FileNotFoundError, ValueError):
            return None

    def local_path(self, sha256: str) -> Path | None:
        path = self._path(sha256)
        return path if path.is_file() else None

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)

    def copy_to(self, sha256: str, dest: Path) -> None:
        with self.open(sha256) as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)


class S3BlobStore(LocalBlobStore):
    """Blobs in an S3-compatible bucket; this host's copies in ``cache`` (a LocalBlobStore's
    layout), fetched on first use. Writes go to the bucket first, then into the cache."""

    def __init__(self, cache: Path, bucket: str, client: Any, prefix: str = "assets/",
                 cache_max_bytes: int = 10 * 1024**3) -> None:
        super().__init__(cache)
        self.bucket, self.client, self.prefix = bucket, client, prefix
        self.cache_max_bytes = cache_max_bytes

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        import boto3

        assert settings.asset_s3_bucket is not None
        client = boto3.client("s3", endpoint_url=settings.asset_s3_endpoint_url,
                              region_name=settings.asset_s3_region)
        return cls(settings.asset_dir, settings.asset_s3_bucket, client,
                   settings.asset_s3_prefix, settings.asset_cache_max_bytes)

    def _key(self, sha256: str) -> str:
        if not SHA256.match(sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.prefix + sha256

    def _missing(self, exc: Exception) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def place(self, tmp: Path, sha256: str) -> None:
        if self.size(sha256) is None:  # the same content twice is stored once
            self.client.upload_file(str(tmp), self.bucket, self._key(sha256))
        super().place(tmp, sha256)
        self.trim_cache(keep=sha256)

    def size(self, sha256: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as exc:
            if self._missing(exc):
                return None
            raise
        except ValueError:
            return None
        return int(head["ContentLength"])

    def local_path(self, sha256: str) -> Path | None:
        from botocore.exceptions import ClientError

        cached = super().local_path(sha256)
        if cached is not None:
            try:
                os.utime(cached)  # recently used: the last to be evicted
            except FileNotFoundError:  # evicted by another process just now: fetch again
                return self.local_path(sha256)
            return cached
        tmp = self.root / "tmp" / uuid.uuid4().hex
        tmp.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client.download_file(self.bucket, self._key(sha256), str(tmp))
        except ClientError as exc:
            tmp.unlink(missing_ok=True)
            if self._missing(exc):
                return None
            raise
        super().place(tmp, sha256)
        self.trim_cache(keep=sha256)
        return super().local_path(sha256)

    def trim_cache(self, keep: str = "") -> int:
        """Evict least recently used copies until the cache fits; bytes freed.

        Every blob is in the bucket, so an evicted copy is only fetched again when next used.
        A copy another process is reading stays readable until it closes it (POSIX unlink).
        """
        copies: list[tuple[float, int, Path]] = []
        total = 0
        for path in self.root.glob("??/??/*"):
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            total += st.st_size
            if path.name != keep:
                copies.append((st.st_mtime, st.st_size, path))
        freed = 0
        for _, size, path in sorted(copies):
            if total - freed <= self.cache_max_bytes:
                break
            path.unlink(missing_ok=True)
            freed += size
        return freed

    def open(self, sha256: str) -> IO[bytes]:
        path = self.local_path(sha256)
        if path is None:
            raise FileNotFoundError(f"no blob {sha256} in bucket {self.bucket}")
        return path.open("rb")

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))
        super().delete(sha256)


def open_blob_store(settings: Settings) -> LocalBlobStore:
    """The bucket when ``asset_s3_bucket`` is set, else the local folder."""
    if settings.asset_s3_bucket:
        return S3BlobStore.from_settings(settings)
    return LocalBlobStore.from_settings(settings)
