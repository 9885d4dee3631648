"""How the API serves the built web client at /kiosk/ (no browser needed)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from homeloop.settings import Settings


def client(web_dir: Path) -> TestClient:
    return TestClient(create_app(Settings(web_dir=web_dir)), raise_server_exceptions=False)


def test_the_client_is_served_gzipped_and_revalidated(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>designer</title>")
    (tmp_path / "app.js").write_text("console.log('room');\n" * 200)
    (tmp_path.parent / "secret.txt").write_text("not for the web")
    web = client(tmp_path)
    moved = web.get("/kiosk", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/kiosk/"
    page = web.get("/kiosk/")
    assert page.status_code == 200 and "designer" in page.text
    assert page.headers["cache-control"] == "no-cache"
    script = web.get("/kiosk/app.js", headers={"Accept-Encoding": "gzip"})
    assert script.headers["content-encoding"] == "gzip"
    assert script.headers["content-type"].startswith("text/javascript")
    assert web.get("/kiosk/../secret.txt").status_code == 404
    assert web.get("/kiosk/%2e%2e/secret.txt").status_code == 404


def test_the_fonts_parts_are_kept_a_year_as_their_names_change_with_them(
        tmp_path: Path) -> None:
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "noto-sans-sc-7-wght-normal-ABC123.woff2").write_bytes(b"wOF2" * 300)
    (tmp_path / "style.css").write_text("@font-face { font-family: x; }")
    web = client(tmp_path)
    part = web.get("/kiosk/fonts/noto-sans-sc-7-wght-normal-ABC123.woff2")
    assert part.status_code == 200 and part.headers["content-type"] == "font/woff2"
    assert part.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert web.get("/kiosk/style.css").headers["cache-control"] == "no-cache"


def test_a_missing_build_is_a_404_that_says_how_to_build_it(tmp_path: Path) -> None:
    answer = client(tmp_path / "dist").get("/kiosk/")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert "make install" in answer.json()["detail"]
