"""The map-tile server is one setting: every page hands it to the maps and allows it in its CSP."""

from __future__ import annotations

from fastapi.testclient import TestClient

from forecourt.core.config import get_settings
from forecourt.web.app import create_app, tile_origin


def test_tile_origins_for_the_content_security_policy():
    assert tile_origin("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://*.tile.openstreetmap.org"
    assert tile_origin("https://tiles.example.net:8443/osm/{z}/{x}/{y}.png") == "https://tiles.example.net:8443"
    assert tile_origin("https://a{s}.maps.example/{z}/{x}/{y}.png") == "https://*.maps.example"
    assert tile_origin("/tiles/{z}/{x}/{y}.png") == ""  # served by this site: 'self' covers it


def test_a_configured_tile_server_reaches_every_page_and_its_policy(database_url):
    url = "https://tiles.example.net/osm/{z}/{x}/{y}.png"
    app = create_app(get_settings(database_url=database_url, map_tile_url=url, map_tile_subdomains="",
                                  map_tile_attribution="© Example Tiles"))
    with TestClient(app) as client:
        page = client.get("/login")
    assert f'<meta name="forecourt-map-tiles" content="{url}"' in page.text
    assert 'data-attribution="© Example Tiles"' in page.text
    policy = page.headers["content-security-policy"]
    assert "img-src 'self' data: https://tiles.example.net;" in policy
    assert "openstreetmap" not in policy
