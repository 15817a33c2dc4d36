"""Languages: how a reader's language is chosen, and every page and e-mail read in each of them.

The crawl opens every HTML page of the site (the access-control table knows how to call each one and
who may) as its rightful reader in English, German and Korean. Each page must answer, carry its
language in ``<html lang>``, and a Korean page must hold no English words outside proper names and
codes: what the catalogues miss, or a value shown raw, is found here rather than by a reader.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from datetime import date

import pytest
from sqlalchemy import select, update

from forecourt.core import outbox
from forecourt.core.i18n import use_locale
from forecourt.customers import email_links
from forecourt.customers.models import Customer
from forecourt.parties.models import User
from forecourt.vehicles import recalls
from forecourt.core.auth import Role
from forecourt.customers.models import Customer as CustomerRow
from forecourt.core.outbox import OutboxMessage
from tests.api.acl_rules import (ADMIN, AGENT, AUTH, CASHIER, CUSTOMER_DATA, CUSTOMER_LIST, DEALER, NPS_FIGURES,
                                 PUBLIC, SALES_FIGURES, SELF, SERVICE, STEWARD)
from tests.api.test_access_control import PARTNER_KIND_FOR, ROUTES, World
from tests.api.routes.lifecycle_advisor import _loaner_booking
from tests.api.routes.lifecycle_warranty import _work_order_form
from tests.factories import form_token_of

LANGUAGES = ("en", "de", "ko")

# Proper names, codes and units that stay as they are in a Korean page.
ALLOWED = {
    "Forecourt", "VIN", "SOS", "DTC", "DTCs", "ABS", "API", "CSV", "PDF", "JSON", "HTML", "QR", "URL", "RFP", "IMEI",
    "KST", "UTC", "CET", "CEST", "EVAP", "NOx", "SCR", "ECM", "eCall", "POST", "OpenStreetMap", "Traccar", "Client",
    "JavaScript", "IANA", "GDPR", "HGB", "AO", "ISO", "EUR", "KRW", "YYYY", "MM", "DD", "HH", "NUL", "km", "kW",
    "kWh", "kPa", "English", "Deutsch", "Europe", "Berlin", "Asia", "Seoul", "make", "run", "https", "http",
    "www", "example", "test", "whsec", "DE", "KR", "KBS", "SWR3", "Bytes", "PM", "AM", "CO", "CO2",
}
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")


# Attributes a person reads or hears: a tooltip, a screen reader's label, a field's hint, an image's words.
READ_ATTRIBUTES = re.compile(r'\s(?:title|aria-label|placeholder|alt)="([^"]*)"', re.I)


def visible_text(page: str) -> str:
    """What a reader sees or hears: the text between tags and the attributes read aloud or shown on
    hover, without scripts, styles and codes in <code>."""
    page = re.sub(r"<(script|style|code|svg|textarea)\b.*?</\1>", " ", page, flags=re.S | re.I)
    spoken = " ".join(READ_ATTRIBUTES.findall(page))
    page = re.sub(r"<[^>]+>", " ", page) + " " + spoken
    text = html.unescape(page)
    text = re.sub(r"\S+@\S+", " ", text)  # e-mail addresses
    text = re.sub(r"https?://\S+|/[\w/.-]+", " ", text)  # addresses and paths
    return text


def english_words(page: str, allowed: set[str]) -> list[str]:
    """ASCII words in a page that are neither allowed names nor codes (a word with digits is a code)."""
    words = []
    for token in re.split(r"\s+", visible_text(page)):
        if re.search(r"\d", token) or not token:
            continue
        for word in WORD.findall(token):
            if word not in ALLOWED and word not in allowed and not word.isupper():
                words.append(word)
    return words


# --- choosing the language -------------------------------------------------------------------------

def test_the_browser_decides_for_a_visitor_and_html_lang_follows(client):
    assert '<html lang="ko">' in client.get("/login", headers={"Accept-Language": "ko-KR,ko;q=0.9"}).text
    assert '<html lang="de">' in client.get("/login", headers={"Accept-Language": "de-AT"}).text
    page = client.get("/login", headers={"Accept-Language": "en"}).text
    assert '<html lang="en">' in page and ">Log in<" in page


def test_without_a_language_we_speak_the_market_decides(client):
    # the visitors' market is Germany
    assert '<html lang="de">' in client.get("/login", headers={"Accept-Language": "fr-FR,it;q=0.5"}).text


def test_the_switch_keeps_a_visitors_choice_in_a_cookie(client):
    answer = client.post("/language", data={"language": "ko", "next": "/login"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert client.cookies.get("fc_lang") == "ko"
    page = client.get("/login").text  # the cookie beats the browser's English
    assert '<html lang="ko">' in page and "로그인" in page


def test_an_unknown_language_falls_back_and_says_so(client):
    answer = client.post("/language", data={"language": "xx", "next": "/login"}, follow_redirects=True)
    assert '<html lang="en">' in answer.text and "&#39;xx&#39; is not a language Forecourt speaks" in answer.text
    client.cookies.set("fc_lang", "tlh")
    page = client.get("/login").text
    assert '<html lang="en">' in page and "tlh is not a language Forecourt speaks; this page is in English." in page


def test_a_customers_saved_language_wins_and_the_switch_saves_it(make, session, visit):
    customer = make.customer(language="ko")
    session.commit()
    driver = visit(customer.email)
    driver.client.headers["Accept-Language"] = "de"
    page = driver.get("/me").text
    assert '<html lang="ko">' in page and "내 차량" in page
    assert driver.post("/language", {"language": "de", "next": "/me"}).status_code == 303
    session.expire_all()
    assert session.get(Customer, customer.id).language == "de"
    assert '<html lang="de">' in driver.get("/me").text


def test_staff_read_in_their_own_setting(make, session, visit):
    dealer = make.dealer()
    rep = make.staff(dealer)
    session.commit()
    browser = visit(rep.email)
    assert '<html lang="en">' in browser.get("/workspace/customers").text  # no setting: the browser's
    assert browser.post("/language", {"language": "ko", "next": "/workspace/customers"}).status_code == 303
    session.expire_all()
    assert session.get(User, rep.user_id).language == "ko"
    browser.client.cookies.clear()
    browser.client.cookies.set("fc_session", browser.client.cookies.get("fc_session") or "")
    page = visit(rep.email).get("/workspace/customers").text  # a fresh browser: the setting follows the person
    assert '<html lang="ko">' in page and "고객" in page


def test_a_setting_names_only_a_language_we_speak(make, session, client):
    customer = make.customer()
    me = make.customer_login(customer)
    answer = client.patch("/api/me", headers=me.headers, json={"language": "fr"})
    assert answer.status_code == 422
    assert "'fr' is not a language Forecourt speaks; choose one of English, Deutsch, 한국어." in answer.text
    assert client.patch("/api/me", headers=me.headers, json={"language": "ko-KR"}).json()["language"] == "ko"
    # a language stored before (or by hand) that we do not speak falls back without failing the page
    session.execute(update(Customer).where(Customer.id == customer.id).values(language="fr"))
    session.commit()
    assert client.get("/api/me", headers=me.headers).status_code == 200


def test_api_details_a_person_reads_follow_the_language(make, client):
    me = make.customer_login(make.customer(language="ko"))
    answer = client.get("/api/me/vehicles/WAUZZZ00000000000/service-history", headers=me.headers)
    assert answer.status_code == 404 and answer.json()["detail"] == "찾을 수 없습니다"


# --- every page, in every language -----------------------------------------------------------------

def _reader(w: World, kind: str, rule):
    if kind == SELF:
        return w.me
    if kind == ADMIN:
        return w.admin
    if kind == AGENT:
        return w.agent
    if kind in (DEALER, SALES_FIGURES, NPS_FIGURES, STEWARD):
        return w.rep
    if kind == SERVICE:
        return w.advisor
    if kind == CASHIER:
        if not hasattr(w, "_cashier"):
            w._cashier = w.make.staff(w.dealer, Role.DEALER_CASHIER)
        return w._cashier
    if kind in (CUSTOMER_DATA, CUSTOMER_LIST):
        organization, reader = (w.reader(rule.purpose) if rule.purpose not in PARTNER_KIND_FOR or
                                rule.purpose in {"sales_contact", "service_reminders", "vehicle_health_sharing",
                                                 "location_services"}
                                else w.partner_reader(PARTNER_KIND_FOR[rule.purpose]))
        w.grant(organization, rule.purpose)
        return reader
    return None


PAGES = sorted(key for key, rule in ROUTES.items()
               if key[0] == "GET" and not key[1].startswith(("/api/", "/openapi", "/docs", "/redoc", "/static"))
               and rule.kind in (SELF, ADMIN, AGENT, DEALER, SALES_FIGURES, NPS_FIGURES, CUSTOMER_DATA,
                                 CUSTOMER_LIST, PUBLIC, AUTH, CASHIER, SERVICE, STEWARD))


@pytest.fixture
def w(make, session, client) -> World:
    world = World(make=make, session=session, client=client)
    world.vehicle  # noqa: B018 - customer A owns a car with a service record
    return world


def _speak(w: World, language: str) -> None:
    """Every person of the world reads in ``language`` (their own setting), visitors by cookie."""
    w.session.execute(update(Customer).values(language=language))
    w.session.execute(update(User).where(User.customer_id.is_(None)).values(language=language))
    w.session.commit()
    w.client.cookies.set("fc_lang", language)


# Texts people typed or that were recorded at the time in the language of that moment (a recall's
# wording, a case's timeline, a deal's history, what an access was for): data, shown as written.
RECORDED = {"recall_campaigns": ("title", "description", "remedy"), "vehicles": ("colour",),
            "service_records": ("summary", "operations"), "sales_leads": ("message",),
            "sales_activities": ("notes",), "sales_quotes": ("lines", "note"), "sales_stage_changes": ("note",),
            "assist_case_events": ("text",), "access_log": ("what",), "sales_opportunities": ("title", "notes"),
            "sales_options": ("name",), "workshop_appointments": ("reason",), "workshop_proposals": ("reason",),
            "assist_cases": ("problems",), "sales_configurations": ("price_lines",), "sales_orders": ("lines",),
            "engagement_offers": ("title", "body", "benefit")}  # a partner types its offers


def _recorded(session) -> set[str]:
    from sqlalchemy import inspect, text

    found = set()
    columns = {table: {c["name"] for c in inspect(session.get_bind()).get_columns(table)} for table in RECORDED}
    for table, wanted in RECORDED.items():
        for column in sorted(set(wanted) & columns[table]):
            for (value,) in session.execute(text(f"select {column} from {table}")):
                found.update(WORD.findall(str(value or "")))
    return found


def _names(w: World) -> set[str]:
    """The world's own data (people, organizations, cars) is named as typed, in any language."""
    found = _recorded(w.session) | {"Caught", "Hello"}  # the test e-mail the mail sink holds
    for value in (w.customer.first_name, w.customer.last_name, w.customer.city, w.dealer.name, w.dealer_b.name,
                  w.partner.name, w.vehicle.model_name, w.vehicle.trim_name, w.vehicle.colour,
                  w.make.carmaker().name, w.other.first_name, w.other.last_name, w.other.city):
        found.update(WORD.findall(str(value or "")))
    for login in (w.rep, w.advisor, w.analyst, w.admin, w.agent):
        user = w.session.get(User, login.user_id)
        found.update(WORD.findall(user.display_name))
    return found


TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "forecourt" / "web" / "templates"


def _record_templates(app, monkeypatch) -> set[str]:
    """The names of the templates the app renders from now on (pages, the parts they include, extend or
    import)."""
    env, rendered = app.state.templates.env, set()
    load = env._load_template

    def recording(name, globals):  # noqa: A002 - Jinja's own parameter name
        rendered.add(name)
        return load(name, globals)

    monkeypatch.setattr(env, "_load_template", recording)
    return rendered


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_answers_in_each_language(w, language, monkeypatch):
    """Each page opens for its reader and says which language it is in; Korean pages hold no English."""
    checked, problems = [], {}
    readers = {key: _reader(w, ROUTES[key].kind, ROUTES[key]) for key in PAGES}
    _speak(w, language)
    rendered = _record_templates(w.client.app, monkeypatch)
    for key in PAGES:
        rule = ROUTES[key]
        response = w.call(key, readers[key], purpose=rule.purpose if rule.kind in (CUSTOMER_DATA, CUSTOMER_LIST)
                          and rule.reads_purpose else None)
        if response.status_code != 200 or "text/html" not in response.headers.get("content-type", ""):
            continue  # a redirect or a page that needs what this world lacks: its own tests open it
        checked.append(key)
        if response.text.lstrip().lower().startswith("<!doctype"):  # a whole page, not a fragment for htmx
            assert f'<html lang="{language}">' in response.text, key
        if language == "ko":
            problems[f"{key[0]} {key[1]}"] = english_words(response.text, set())
    names = _names(w)  # after the calls: some recipes create what their page shows
    problems = {page: sorted(set(words) - names)[:12] for page, words in problems.items() if set(words) - names}
    assert len(checked) >= 40, f"only {len(checked)} pages opened: {checked}"
    assert not problems, f"English left on Korean pages: {problems}"
    if language == "ko":
        after = _after_forms_and_links(w)
        typed = set(WORD.findall(" ".join(_work_order_form(w).values())))  # the parts the advisor typed
        problems = {page: sorted(set(english_words(text, set())) - _names(w) - typed)[:12]
                    for page, text in after.items()}
        problems = {page: words for page, words in problems.items() if words}
        assert not problems, f"English left on Korean pages after a form or a link: {problems}"
        every = {str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")}
        assert every <= rendered, f"templates no Korean page rendered: {sorted(every - rendered)}"


def _link(w: World, email: str, topic: str) -> str:
    w.session.expire_all()
    customer = w.session.scalars(select(CustomerRow).where(CustomerRow.email == email)).one()
    return w.session.scalars(select(OutboxMessage.link).where(OutboxMessage.customer_id == customer.id,
                                                              OutboxMessage.topic == topic)
                             .order_by(OutboxMessage.id.desc())).first()


def _after_forms_and_links(w: World) -> dict[str, str]:
    """The pages a reader reaches only by sending a form or following an e-mailed link, in Korean: each must
    answer 200 and is returned by name for the English check. The erasure comes last (it ends the login)."""
    answers = {}

    def keep(name, response, status=200):
        assert response.status_code == status and "text/html" in response.headers["content-type"], (name, response.text[:300])
        answers[name] = response.text

    keep("missing page", w.client.get("/no-such-page", headers={"Accept": "text/html"}, follow_redirects=False),
         status=404)
    # free workshop times with the symptoms a driver can tick, and a courtesy car waiting to be handed over
    keep("free times", w.browser(w.me).get(f"/me/service/book?vin={w.vehicle.vin}&job=inspection"
                                           f"&dealer_id={w.dealer.id}"))
    assert 'name="symptoms"' in answers["free times"], "the dealer has no free time to book"
    _loaner_booking(w)
    keep("courtesy car", w.browser(w.advisor).get(f"/workspace/service/loaners/{w._advisor_loaner.id}"))
    for key in (("POST", "/signup"), ("POST", "/leads/new"), ("POST", "/me/vehicles/{vin}/sale"),
                ("POST", "/workspace/vehicles/{vin}/work-orders")):
        keep(" ".join(key), w.call(key, _reader(w, ROUTES[key].kind, ROUTES[key])))
    visitor = w.make.customer(email="jiwoo.han@example.test", language="ko")
    w.session.commit()
    email_links.request_account(session=w.session, email=visitor.email, profile={})
    email_links.ask_contact(session=w.session, customer=visitor, organization=w.dealer)
    w.session.commit()
    keep("account link", w.client.get(_link(w, visitor.email, "account_link")))
    contact = _link(w, visitor.email, "contact_confirmation")
    keep("contact link", w.client.get(contact))
    keep("contact confirmed", w.client.post(contact, data={"form_token": form_token_of(w.client, contact)}))
    keep("POST /me/data/erase", w.call(("POST", "/me/data/erase"), w.me))
    return answers


# --- e-mails ----------------------------------------------------------------------------------------

def test_e_mails_are_written_in_their_readers_language(make, session):
    customer = make.customer(language="ko", email="minjun@example.test")
    session.commit()
    email_links.request_account(session=session, email=customer.email, profile={})
    campaign = recalls.RecallCampaign(code="RC-2026-001", title="브레이크 호스", description="누유 가능성",
                                      severity="high", remedy="호스를 교체합니다.", labour_minutes=45)
    with use_locale(outbox.language_of(session, customer_id=customer.id)):
        subject, body = recalls.notice_text(campaign, title="2024 Terra", vin="WAMTGE1A0R1234567")
    written = session.scalars(outbox.select(outbox.OutboxMessage).where(
        outbox.OutboxMessage.customer_id == customer.id)).all()
    assert written and all(not english_words(m.subject + " " + m.body, {"Terra"}) for m in written)
    assert "안전 리콜" in subject and not english_words(body, {"Terra"}), body
    with use_locale("de"):
        subject, _ = recalls.notice_text(campaign, title="2024 Terra", vin="WAMTGE1A0R1234567")
    assert subject.startswith("Sicherheitsrückruf für Ihren 2024 Terra")
    assert date.today()  # the composers need no request: the reader's language comes from the outbox


# --- bad input: named languages, zones and numbers we do not know ---------------------------------

def test_settings_naming_a_zone_or_market_we_do_not_know_fall_back_and_say_what_to_fix(settings, session_factory,
                                                                                       caplog):
    from fastapi.testclient import TestClient

    from forecourt.web.app import create_app

    wrong = settings.model_copy(update={"time_zone": "Asia/Atlantis", "market": "XX"})
    application = create_app(wrong)
    application.state.sessionmaker = session_factory
    with caplog.at_level("WARNING"), TestClient(application, headers={"Accept-Language": "tlh"}) as visitor:
        page = visitor.get("/login")
    assert page.status_code == 200 and '<html lang="de">' in page.text  # the default market's language
    assert "FORECOURT_TIME_ZONE: time zone 'Asia/Atlantis' is not an IANA zone known here; using Europe/Berlin" \
        in caplog.text
    assert "FORECOURT_MARKET='XX' is not a market of this network (DE, KR); serving visitors as DE." in caplog.text


def test_a_zone_or_a_phone_number_a_person_types_is_refused_in_their_words(make, client):
    me = make.customer_login(make.customer(language="ko", market="KR", country="KR", phone="010-2345-6789"))
    zone = client.patch("/api/me", headers=me.headers, json={"time_zone": "Mars/Olympus_Mons"})
    assert zone.status_code == 422 and zone.json()["detail"][0]["loc"][-1] == "time_zone"
    assert "'Mars/Olympus_Mons'은(는) 알 수 없는 시간대입니다" in zone.json()["detail"][0]["msg"]
    phone = client.patch("/api/me", headers=me.headers, json={"phone": "010-1234"})
    assert phone.status_code == 422 and phone.json()["detail"][0]["loc"][-1] == "phone"
    assert "유효한 전화번호가 아닙니다" in phone.json()["detail"][0]["msg"], phone.text
    assert not english_words(phone.json()["detail"][0]["msg"], set()), phone.text  # the country too
    fine = client.patch("/api/me", headers=me.headers, json={"phone": "010-1234-5678", "time_zone": "Asia/Seoul"})
    assert fine.status_code == 200 and fine.json()["time_zone"] == "Asia/Seoul"
    assert fine.json()["phone"] in ("+821012345678", "010-1234-5678")


def test_a_stored_zone_we_do_not_know_falls_back_to_the_market_and_the_page_opens(make, session, visit, caplog):
    customer = make.customer(language="ko", market="KR", country="KR", phone="010-2345-6789")
    session.execute(update(Customer).where(Customer.id == customer.id).values(time_zone="Asia/Atlantis"))
    session.commit()
    with caplog.at_level("WARNING"):
        page = visit(customer.email).get("/me/profile")
    assert page.status_code == 200 and '<html lang="ko">' in page.text
    assert f"Customer {customer.id}'s time zone 'Asia/Atlantis' is not an IANA zone known here; using Asia/Seoul" \
        in caplog.text
