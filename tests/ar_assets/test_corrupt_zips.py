"""Damaged and unsupported zips, as real tools and broken transfers make them: each is a 4xx
problem+json that says which file is damaged and how, and leaves neither a blob nor an asset.

Each archive is a real sample zipped by Python, then damaged at the byte the zip format
(APPNOTE.TXT) defines for that field.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from homeloop.settings import Settings
from tests.ar_assets.conftest import sample_zip, stored_blobs, upload

Conn = psycopg.Connection[tuple[Any, ...]]
MEMBER = "wooden_table_02/wooden_table_02.bin"


def _entries(data: bytes) -> tuple[zipfile.ZipInfo, int]:
    """The member's ZipInfo and the offset of its central directory entry."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(MEMBER)
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        (name_len,) = struct.unpack_from("<H", data, pos + 28)
        if data[pos + 46:pos + 46 + name_len] == MEMBER.encode():
            return info, pos
        pos = data.find(b"PK\x01\x02", pos + 4)
    raise AssertionError("no central directory entry")


def _damaged(change: Callable[[bytearray, zipfile.ZipInfo, int], None]) -> Callable[[], bytes]:
    def make() -> bytes:
        data = bytearray(sample_zip("wooden_table_02"))
        info, central = _entries(bytes(data))
        change(data, info, central)
        return bytes(data)
    return make


def _bad_crc(data: bytearray, info: zipfile.ZipInfo, central: int) -> None:
    data[info.header_offset + 14] ^= 0xFF  # CRC-32 in the local header
    data[central + 16] ^= 0xFF  # and in the central directory: both agree, the data does not


def _corrupt_deflate(data: bytearray, info: zipfile.ZipInfo, central: int) -> None:
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    for k in range(10, 40):  # garbage in the middle of the deflate stream
        data[start + k] ^= 0x55


def _encrypted(data: bytearray, info: zipfile.ZipInfo, central: int) -> None:
    data[info.header_offset + 6] |= 1  # general purpose flag bit 0: encrypted
    data[central + 8] |= 1


def _method(number: int) -> Callable[[bytearray, zipfile.ZipInfo, int], None]:
    def change(data: bytearray, info: zipfile.ZipInfo, central: int) -> None:
        struct.pack_into("<H", data, info.header_offset + 8, number)
        struct.pack_into("<H", data, central + 10, number)
    return change


def _other_name(data: bytearray, info: zipfile.ZipInfo, central: int) -> None:
    end = info.header_offset + 30 + len(MEMBER)
    data[end - 3:end] = b"exe"  # the local header names another file than the directory


CASES = [
    ("bad CRC", _damaged(_bad_crc), "ZIP_BAD_CRC", "checksum"),
    ("corrupt deflate data", _damaged(_corrupt_deflate), "ZIP_CORRUPT_DATA", "damaged"),
    ("encrypted flag", _damaged(_encrypted), "ZIP_ENCRYPTED", "password"),
    ("Zstandard method", _damaged(_method(93)), "ZIP_UNSUPPORTED_METHOD", "Zstandard"),
    ("unknown method", _damaged(_method(77)), "ZIP_UNSUPPORTED_METHOD", "method 77"),
    ("header name differs", _damaged(_other_name), "ZIP_NAME_MISMATCH", "another name"),
]


@pytest.mark.parametrize(("make", "code", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_damaged_zip_is_refused_with_its_reason_and_leaves_no_blob(
        client: TestClient, settings: Settings, db: Conn, make: Callable[[], bytes],
        code: str, words: str) -> None:
    data = make()
    before = stored_blobs(settings)

    resp = upload(client, settings, data, "table.zip")

    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    [issue] = body["report"]["issues"]
    assert issue["code"] == code
    assert words in issue["message"] and MEMBER in issue["message"], issue
    assert stored_blobs(settings) <= before - {hashlib.sha256(data).hexdigest()}
    assert db.execute("SELECT count(*) FROM assets").fetchone() == (0,)


def test_the_same_zip_undamaged_is_accepted(client: TestClient, settings: Settings,
                                            db: Conn) -> None:
    resp = upload(client, settings, sample_zip("wooden_table_02"), "table.zip")
    assert resp.status_code == 202, resp.text


def test_a_refused_sku_leaves_no_blob(client: TestClient, settings: Settings,
                                      db: Conn) -> None:
    data = sample_zip("wooden_table_02")
    before = stored_blobs(settings)
    resp = upload(client, settings, data, "table.zip", sku="NO-SUCH-SKU")
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"
    assert stored_blobs(settings) <= before - {hashlib.sha256(data).hexdigest()}
