"""The installable app: manifest, icons, service worker and offline page are served and valid."""

from __future__ import annotations

import json
import re
import struct

import pytest
from django.test import Client

from webmail.webpush import shell

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _body(response: object) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.content  # type: ignore[attr-defined,no-any-return]


def test_pages_link_the_manifest_and_the_worker(client: Client) -> None:
    html = client.get("/login/").content.decode()
    assert re.search(r'<link rel="manifest" href="/manifest.webmanifest">', html)
    assert 'data-worker="/sw.js"' in html
    assert '<meta name="theme-color"' in html
    touch = re.search(r'<link rel="apple-touch-icon" href="([^"]+)">', html)
    assert touch and _png_size(_body(client.get(touch.group(1)))) == (180, 180)


def test_manifest_fields_and_icons(client: Client) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] and manifest["short_name"]
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/mail/"
    assert manifest["scope"] == "/"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["background_color"])
    seen: set[tuple[str, str]] = set()
    for icon in manifest["icons"]:
        got = client.get(icon["src"])
        assert got.status_code == 200, icon["src"]
        if icon["type"] == "image/png":
            width, height = _png_size(_body(got))
            assert icon["sizes"] == f"{width}x{height}", icon
            seen.add((icon["sizes"], icon["purpose"]))
    # What browsers need to offer the install: 192 and 512, and maskable ones for Android launchers.
    assert {("192x192", "any"), ("512x512", "any"), ("192x192", "maskable"), ("512x512", "maskable")} <= seen


def test_manifest_speaks_the_page_language(client: Client) -> None:
    client.cookies["django_language"] = "fr"
    manifest = json.loads(client.get("/manifest.webmanifest").content)
    assert manifest["lang"] == "fr"
    assert manifest["description"] == "Votre courrier, dans le navigateur."


def test_service_worker_served_at_the_root_with_the_shell(client: Client) -> None:
    response = client.get("/sw.js?lang=fr")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    script = response.content.decode()
    assert '"/offline/?lang=fr"' in script
    for url in shell.urls():
        assert json.dumps(url) in script
        assert client.get(url).status_code == 200, url  # every file of the shell exists
    # Pages are never put in the cache: only the shell list and the offline page are.
    assert "cache.put(request, response)" in script and "storable(response)" in script
    # An unknown language falls back to the default rather than reaching the page.
    assert '"/offline/?lang=en"' in client.get("/sw.js?lang=<x>").content.decode()


def test_csp_allows_our_worker_and_manifest_only(client: Client) -> None:
    csp = client.get("/login/")["Content-Security-Policy"]
    assert "worker-src 'self'" in csp
    assert "manifest-src 'self'" in csp
    assert "default-src 'none'" in csp


def test_offline_page_storable_and_translated(client: Client) -> None:
    response = client.get("/offline/?lang=fr")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Vous êtes hors ligne" in text
    assert "csrfmiddlewaretoken" not in text
    # Fetched without cookies by the worker: nothing marks it no-store, so the worker may keep it.
    assert "no-store" not in response.get("Cache-Control", "")
    assert "You are offline" in client.get("/offline/?lang=en").content.decode()


def test_signed_in_pages_stay_no_store(signed_in: tuple[Client, object]) -> None:
    """The worker refuses to store these; the rule it keeps is the header they carry."""
    client, _user = signed_in
    assert "no-store" in client.get("/mail/")["Cache-Control"]
