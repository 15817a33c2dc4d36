"""A position in words: the nearest town offline, the street from a reverse geocoding service when one
is set, and the town alone when that service fails."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from forecourt.core import places
from forecourt.core.i18n import use_locale


def test_the_nearest_town_with_distance_and_direction():
    place = places.nearest_town(53.5600, 10.0000)  # Hamburg, by the Außenalster
    assert (place.town.name, place.town.country, place.direction) == ("St. Georg", "DE", "NW")
    assert place.distance_km == pytest.approx(1.0, abs=0.1)
    assert place.in_words("en") == "1 km north-west of St. Georg (DE)"


def test_words_follow_the_viewers_language_and_korean_towns_keep_their_korean_names():
    busan = places.nearest_town(35.10, 129.04)
    assert busan.town.name == "Busan" and busan.town.called("ko") == "부산"
    with use_locale("ko"):
        assert busan.in_words("ko") == "부산 (KR) 시내"
    far = places.nearest_town(52.42, 13.32)  # between Berlin's south-western districts
    with use_locale("de"):
        assert "km" in far.in_words("de") and " von " in far.in_words("de")
    with use_locale("ko"):
        assert "에서" in far.in_words("ko") and "쪽으로" in far.in_words("ko")


def test_nowhere_near_a_town_or_off_the_globe_says_nothing():
    assert places.nearest_town(0.0, -30.0).town is None  # the middle of the Atlantic
    assert places.nearest_town(91.0, 0.0).town is None
    assert places.describe(None, None) == ""
    assert places.describe(0.0, -30.0) == ""


def test_the_date_line_does_not_hide_towns_on_the_other_side():
    assert places.nearest_town(-18.13, 178.43).town.country == "FJ"  # Suva, Fiji
    assert places.nearest_town(64.84, -147.72).town is not None  # Fairbanks


class _Geocoder(BaseHTTPRequestHandler):
    answers: list = []
    asked: list = []

    def do_GET(self):  # noqa: N802 - the standard library's name
        type(self).asked.append(parse_qs(urlparse(self.path).query) | {"path": [urlparse(self.path).path]})
        status, body = type(self).answers.pop(0) if type(self).answers else (200, {})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def geocoder():
    _Geocoder.answers, _Geocoder.asked = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Geocoder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    places._street.cache_clear()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Geocoder
    server.shutdown()
    places._street.cache_clear()


def test_a_geocoding_service_adds_the_street_in_the_viewers_language(geocoder):
    url, service = geocoder
    service.answers.append((200, {"display_name": "Lange Reihe 40, St. Georg, Hamburg",
                                  "address": {"road": "Lange Reihe", "house_number": "40"}}))
    said = places.describe(53.5600, 10.0000, language="de", geocoder_url=url)
    assert said.startswith("Lange Reihe 40 · ") and "St. Georg (DE)" in said
    assert service.asked[0]["path"] == ["/reverse"] and service.asked[0]["accept-language"] == ["de"]
    assert service.asked[0]["format"] == ["jsonv2"]
    places.describe(53.5600, 10.0000, language="de", geocoder_url=url)
    assert len(service.asked) == 1, "the same position is asked once"


def test_a_failing_service_leaves_the_town_and_is_asked_again_next_time(geocoder):
    url, service = geocoder
    service.answers += [(503, {"error": "overloaded"}), (200, {"address": {"road": "Lange Reihe"}})]
    assert places.describe(53.5600, 10.0000, geocoder_url=url) == "1 km north-west of St. Georg (DE)"
    assert places.describe(53.5600, 10.0000, geocoder_url=url) == "Lange Reihe · 1 km north-west of St. Georg (DE)"
    assert len(service.asked) == 2


def test_a_service_nobody_answers_on_leaves_the_town(monkeypatch):
    places._street.cache_clear()
    monkeypatch.setattr(places, "GEOCODER_TIMEOUT_SECONDS", 0.5)
    # a port nobody listens on: refused at once, the town answers
    assert places.describe(53.5600, 10.0000, geocoder_url="http://127.0.0.1:9") == "1 km north-west of St. Georg (DE)"
