"""The whole sale in a real Chromium, as the people in it see it: a driver configures a car and gets a
code, asks a Berlin dealer about it, the dealer's rep turns the lead into an opportunity and wins it, the
driver orders the car online and pays at the dealer's till (its cashier records it), the rep confirms, assigns a car, schedules and hands it over, and
the car is the driver's. Configure → code → lead at a dealer → opportunity won → order → delivery."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from forecourt.assist import subscriptions
from forecourt.assist.models import Subscription
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.db import transaction
from forecourt.customers import service as customers_service
from forecourt.demo.options import build_options
from forecourt.parties import service as parties_service
from forecourt.sales import orders as orders_service
from forecourt.sales.models import Opportunity, Order
from forecourt.sales.stages import ensure_default_stages
from forecourt.vehicles import service as vehicles_service
from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.browser

OPEN_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat")


@dataclass
class Scene:
    dealer_id: int
    dealer_name: str
    rep_email: str
    cashier_email: str
    customer_id: int
    customer_email: str
    customer_full_name: str
    model_name: str
    trim_name: str
    base_price: int
    vin: str


@pytest.fixture
def scene(seed_sessions) -> Scene:
    tag = uuid.uuid4().hex[:6].upper()
    digits = f"{int(tag, 16) % 1_000_000:06d}"
    with transaction(seed_sessions) as session:
        ensure_default_stages(session=session)
        dealer = parties_service.create_organization(session=session, values=dict(
            kind="dealer", code=f"BER-{tag}", name=f"Autohaus Spree {tag}", street="Invalidenstraße 12",
            postcode="10115", city="Berlin", latitude=52.531, longitude=13.384, phone="+49 30 1234567",
            opening_hours={day: [["08:00", "18:00"]] for day in OPEN_DAYS}, service_bays=6))
        rep = parties_service.create_user(session=session, email=f"rep-{tag.lower()}@spree.example",
                                          password=PASSWORD, display_name="Ronja Rep", role=Role.DEALER_SALES,
                                          organization_id=dealer.id)
        cashier = parties_service.create_user(session=session, email=f"till-{tag.lower()}@spree.example",
                                              password=PASSWORD, display_name="Carla Cashier",
                                              role=Role.DEALER_CASHIER, organization_id=dealer.id)
        customer = customers_service.sign_up(session=session, email=f"jonas-{tag.lower()}@driver.example",
                                             password=PASSWORD,
                                             profile=dict(first_name="Jonas", last_name=f"Berg{tag}",
                                                          postcode="10117", city="Berlin"))
        model = vehicles_service.create_model(session=session, code=f"SL{tag}", name=f"Solara {tag}",
                                              body="hatchback", year_from=2022)
        trim = vehicles_service.create_trim(session=session, model_id=model.id, code=f"SL{tag}-E",
                                            name="e-Solara 77 kWh", propulsion="electric", year_from=2022,
                                            base_price=41_000)
        session.expire_all()  # the model's trims, for the options
        build_options(session=session)
        return Scene(dealer_id=dealer.id, dealer_name=dealer.name, rep_email=rep.email,
                     cashier_email=cashier.email, customer_id=customer.id,
                     customer_email=customer.email, customer_full_name=f"Jonas Berg{tag}", model_name=model.name,
                     trim_name=trim.name, base_price=41_000,
                     vin=vehicles_service.with_check_digit(f"WFC1D2E30RD{digits}"))


def _csp_violations(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda message: found.append(message.text)
            if "Content Security Policy" in message.text else None)
    return found


def _page(new_context):
    """A page in its own profile; map tiles are refused at once (no internet needed, no waiting)."""
    context = new_context()
    context.route(re.compile(r"^https://[a-z]\.tile\.openstreetmap\.org/"), lambda route: route.abort())
    return context.new_page()


def _next_open_weekday() -> date:
    """Two days ahead at least, Monday to Friday (the dealer is open 08:00–18:00 then)."""
    day = now().astimezone(ZoneInfo("Europe/Berlin")).date() + timedelta(days=2)
    while day.weekday() > 4:
        day += timedelta(days=1)
    return day


def _flash(page):
    return page.locator("p.flash[role=status]")


def test_from_configuration_to_delivery(new_context, scene, seed_sessions):
    driver = _page(new_context)
    driver_csp = _csp_violations(driver)
    log_in(driver, scene.customer_email)
    expect(driver).to_have_url(re.compile(r"/me$"))

    # --- 1. configure: model, trim, options; a missing requirement is explained live, then fixed ---------
    driver.goto("/configure")
    expect(driver.get_by_role("heading", name="Configure your car")).to_be_visible()
    card = driver.locator("section.card", has=driver.get_by_role("heading", name=scene.model_name))
    expect(card).to_contain_text("from €41,000")
    card.get_by_role("link", name=scene.trim_name).click()
    expect(driver).to_have_url(re.compile(r"/configure/SL[0-9A-F]{6}-E$"))
    expect(driver.get_by_role("heading", name=f"{scene.model_name} {scene.trim_name}", level=1)).to_be_visible()
    summary = driver.locator("#summary")
    expect(summary.locator("#total")).to_have_text("€41,000")

    driver.get_by_role("radio", name=re.compile(r"^Fjord blue metallic")).check()
    expect(summary).to_contain_text("Fjord blue metallic")
    expect(summary.locator("#total")).to_have_text("€41,790")
    driver.get_by_role("checkbox", name=re.compile(r"^Heat pump")).check()
    expect(summary.locator("#total")).to_have_text("€42,780")
    driver.evaluate("window.__sameConfigurator = true")
    driver.get_by_role("checkbox", name=re.compile(r"^Winter package")).check()
    problem = summary.get_by_role("alert")
    expect(problem).to_contain_text("This combination cannot be built yet")
    expect(problem).to_contain_text("The Winter package needs Heated front seats; add it or remove the package.")
    driver.get_by_role("checkbox", name=re.compile(r"^Heated front seats")).check()
    expect(summary.get_by_role("alert")).to_have_count(0)
    expect(summary.locator("#total")).to_have_text("€43,760")  # 41,000 + 790 + 990 + 590 + 390
    assert driver.evaluate("window.__sameConfigurator === true"), "the live check reloaded the page"

    with driver.expect_response(lambda r: r.url.endswith("/qr.svg")) as qr:
        driver.get_by_role("button", name="Save and get my code").click()
    expect(driver).to_have_url(re.compile(r"/c/[0-9A-Z]{4}-[0-9A-Z]{4}$"))
    code = driver.url.rsplit("/", 1)[1]
    expect(driver.get_by_role("heading", name="Your code")).to_be_visible()
    expect(driver.locator(".code-large")).to_have_text(code)
    expect(driver.get_by_text("Bring this code to any dealer: they see exactly this car.")).to_be_visible()
    expect(driver.locator(".price-lines")).to_contain_text("€43,760")
    assert qr.value.status == 200
    assert qr.value.headers["content-type"].startswith("image/svg+xml")
    image = driver.get_by_role("img", name=re.compile(r"^QR code for "))
    expect(image).to_be_visible()
    driver.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    configuration_url = driver.url

    # --- 2. ask the Berlin dealer about it -----------------------------------------------------------------
    driver.get_by_role("link", name="Ask a dealer / book a test drive").click()
    expect(driver).to_have_url(re.compile(r"/leads/new\?code=[0-9A-Z]{8}$"))
    expect(driver.get_by_role("heading", name="Talk to a dealer")).to_be_visible()
    expect(driver.locator("p.notice")).to_contain_text(f"About your configuration {code}")
    expect(driver.get_by_label("Given name(s)")).to_have_value("Jonas")
    expect(driver.get_by_label("E-mail", exact=True)).to_have_value(scene.customer_email)
    dealer_select = driver.get_by_role("combobox", name="Dealer", exact=True)
    expect(dealer_select.locator("option", has_text=scene.dealer_name)).to_contain_text("Berlin")
    dealer_select.select_option(value=str(scene.dealer_id))
    driver.get_by_label(re.compile(r"to contact me about this request")).check()
    driver.get_by_role("button", name="Send request").click()
    expect(driver.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(driver.get_by_text(f"{scene.dealer_name} in Berlin has your request.")).to_be_visible()
    expect(driver.get_by_text(f"You allowed {scene.dealer_name} to contact you about it")).to_be_visible()

    # --- 3. the rep takes the lead on, works the opportunity and wins it -------------------------------------
    rep = _page(new_context)
    rep_csp = _csp_violations(rep)
    log_in(rep, scene.rep_email)
    rep.get_by_role("link", name="Leads", exact=True).click()
    expect(rep.get_by_role("heading", name=f"Leads of {scene.dealer_name}")).to_be_visible()
    rep.get_by_role("link", name=scene.customer_full_name).click()
    expect(rep).to_have_url(re.compile(r"/workspace/leads/\d+$"))
    expect(rep.get_by_role("heading", name=scene.customer_full_name, level=1)).to_be_visible()
    expect(rep.get_by_role("link", name=code)).to_be_visible()  # the configuration, by its code
    expect(rep.locator("dl.facts")).to_contain_text(scene.model_name)
    rep.get_by_role("button", name="Create opportunity").click()
    expect(rep).to_have_url(re.compile(r"/workspace/opportunities/\d+\?flash="))
    opportunity_id = int(re.search(r"/workspace/opportunities/(\d+)", rep.url).group(1))
    expect(_flash(rep)).to_have_text("The lead is now an opportunity.")
    heading = rep.get_by_role("heading", level=1)
    expect(heading).to_contain_text(scene.model_name)
    expect(heading.locator(".pill")).to_have_text("open")
    expect(rep.locator(".page-head")).to_contain_text(scene.customer_full_name)
    expect(rep.locator(".page-head")).to_contain_text("€43,760.00")
    current_stage = rep.locator(".stage-bar [aria-current=step]")
    expect(current_stage).to_have_text("New · 10 %")
    for stage, probability in (("Qualified", 25), ("Offer", 60)):
        rep.get_by_label("Move to").select_option(label=stage)
        rep.get_by_role("button", name="Move", exact=True).click()
        expect(_flash(rep)).to_have_text("The deal has moved.")
        expect(current_stage).to_have_text(f"{stage} · {probability} %")
    rep.get_by_role("button", name="Mark as won").click()
    expect(_flash(rep)).to_have_text("Congratulations: the deal is won.")
    expect(heading.locator(".pill")).to_have_text("won")
    expect(rep.get_by_role("button", name="Mark as won")).to_have_count(0)

    # --- 4. the driver orders the configuration online and pays the deposit -----------------------------------
    driver.goto(configuration_url)
    driver.get_by_role("link", name="Order online").click()
    expect(driver).to_have_url(re.compile(rf"/c/{code}/order$"))
    expect(driver.get_by_role("heading", name=f"Order your {scene.model_name} {scene.trim_name}")).to_be_visible()
    expect(driver.locator("#order-form")).to_contain_text(scene.dealer_name)
    driver.get_by_role("radio", name=re.compile(re.escape(scene.dealer_name))).check()
    expect(driver.locator("#contact-dealer")).to_have_text(scene.dealer_name)
    driver.get_by_role("checkbox", name=re.compile(r"to contact me about this order")).check()
    place = driver.get_by_role("button", name=re.compile(r"^Place order — deposit €4,376\.00$"))
    place.click()
    expect(driver).to_have_url(re.compile(r"/me/orders/FO-[0-9A-Z]{3}-[0-9A-Z]{3}\?flash="))
    number = re.search(r"/me/orders/(FO-[0-9A-Z]{3}-[0-9A-Z]{3})", driver.url).group(1)
    order_url = f"/me/orders/{number}"
    expect(driver.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    expect(_flash(driver)).to_contain_text(f"Order {number} is placed; pay the deposit to reserve your car.")
    expect(driver.get_by_text(f"delivered by {scene.dealer_name}")).to_be_visible()
    expect(driver.get_by_text("Pay the deposit of €4,376.00 to reserve your car.")).to_be_visible()
    expect(driver.get_by_text(re.compile(rf"Pay at {re.escape(scene.dealer_name)}: at its till"))).to_be_visible()
    expect(driver.get_by_role("button", name=re.compile("^Pay"))).to_have_count(0)  # nothing to click: the till records it

    # the buyer pays at the dealer's desk; its cashier records the deposit
    till = _page(new_context)
    till_csp = _csp_violations(till)
    log_in(till, scene.cashier_email)
    expect(till).to_have_url(re.compile(r"/till$"))
    till.get_by_role("row", name=re.compile(re.escape(number))).get_by_role("link", name=number).click()
    expect(till.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    expect(till.locator("main")).not_to_contain_text(scene.customer_email)  # the till shows no buyer
    expect(till.get_by_label("Amount received (€)")).to_have_value("4376.00")
    till.get_by_label("How").select_option("card_terminal")
    till.get_by_role("button", name="Record receipt").click()
    expect(_flash(till)).to_have_text("Receipt recorded; the buyer sees the payment in their portal.")
    driver.reload()
    expect(driver.get_by_text("The balance of €39,384.00 is due before the hand-over.")).to_be_visible()
    expect(driver.get_by_text(re.compile(r"Received €4,376\.00"))).to_be_visible()

    # --- 5. the rep confirms, assigns the car and schedules the delivery --------------------------------------
    rep.get_by_role("link", name="Deliveries", exact=True).click()
    expect(rep.get_by_role("heading", name="Deliveries", level=1)).to_be_visible()
    row = rep.get_by_role("row", name=re.compile(re.escape(number)))
    expect(row).to_contain_text("Order placed")
    expect(row).to_contain_text("Deposit paid")
    expect(row).to_contain_text("to schedule")
    row.get_by_role("link", name=number).click()
    expect(rep).to_have_url(re.compile(rf"/workspace/orders/{number}$"))
    expect(rep.get_by_role("heading", name=f"Order {number}")).to_be_visible()
    expect(rep.locator("dl.facts").first).to_contain_text(code)
    expect(rep.get_by_role("region", name="Buyer")).to_contain_text(scene.customer_email)
    rep.get_by_role("button", name="Confirm order").click()
    expect(_flash(rep)).to_have_text("Order confirmed; the buyer sees it in their portal.")
    rep.get_by_label("VIN").fill(scene.vin.lower())  # typed as it comes; the server normalises
    rep.get_by_role("button", name="Assign car").click()
    expect(_flash(rep)).to_have_text("Car assigned to the order.")
    expect(rep.get_by_role("region", name="Progress")).to_contain_text(scene.vin)

    # a Sunday is refused in words, then an open weekday at 10:00 is taken
    day = _next_open_weekday()
    sunday = day + timedelta(days=6 - day.weekday())
    rep.get_by_label("Date", exact=True).fill(sunday.isoformat())
    rep.get_by_label("Time", exact=True).fill("10:00")
    rep.get_by_role("button", name="Schedule delivery").click()
    expect(rep.get_by_role("alert")).to_contain_text(f"{scene.dealer_name} is closed on Sunday")
    rep.get_by_label("Date", exact=True).fill(day.isoformat())
    rep.get_by_label("Time", exact=True).fill("10:00")
    rep.get_by_role("button", name="Schedule delivery").click()
    expect(_flash(rep)).to_have_text("Delivery scheduled; the buyer sees the appointment in their portal.")
    appointment = f"{day.strftime('%A %d %B %Y')}, 10:00"
    expect(rep.get_by_role("region", name="Progress")).to_contain_text(appointment)
    expect(rep.get_by_role("button", name="Hand over the car")).to_be_disabled()

    # --- 6. the driver sees the appointment and pays the balance; the rep hands the car over ------------------
    driver.goto(order_url)
    progress = driver.get_by_role("region", name="Progress")
    expect(progress).to_contain_text("✓ Delivery scheduled")
    expect(progress).to_contain_text(appointment)
    expect(progress).to_contain_text(scene.vin)
    till.reload()
    expect(till.get_by_label("Amount received (€)")).to_have_value("39384.00")
    till.get_by_label("How").select_option("transfer")
    till.get_by_role("button", name="Record receipt").click()
    expect(_flash(till)).to_have_text("Receipt recorded; the buyer sees the payment in their portal.")
    driver.reload()
    expect(driver.get_by_text("Paid in full. Thank you!")).to_be_visible()

    rep.reload()
    expect(rep.get_by_text("Paid in full: the car becomes the buyer's when you hand it over.")).to_be_visible()
    rep.get_by_role("button", name="Hand over the car").click()
    expect(_flash(rep)).to_have_text("Handed over: the car is now registered to the buyer.")
    expect(rep.get_by_role("region", name="Progress")).to_contain_text("✓ Handed over")
    expect(rep.get_by_role("heading", name="Next steps")).to_have_count(0)

    # --- 7. the driver's order is delivered and the car is theirs -----------------------------------------------
    driver.goto(order_url)
    expect(driver.get_by_text("Paid and delivered. Enjoy your car!")).to_be_visible()
    expect(driver.get_by_role("region", name="Progress")).to_contain_text("✓ Handed over")
    expect(driver.get_by_role("button", name=re.compile("^Pay"))).to_have_count(0)
    driver.get_by_role("link", name="My cars").click()
    expect(driver).to_have_url(re.compile(r"/me$"))
    car = driver.locator("article.car", has=driver.get_by_text(scene.vin))
    expect(car.get_by_role("heading", level=2)).to_contain_text(scene.model_name)
    expect(car).to_contain_text(scene.trim_name)
    expect(car).to_contain_text("Fjord blue metallic")
    expect(car).to_contain_text(scene.dealer_name)  # sold by
    # On Call came with the car at the hand-over
    driver.get_by_role("link", name="On Call", exact=True).click()
    expect(driver).to_have_url(re.compile(r"/me/on-call$"))
    on_call = driver.locator("section.card", has=driver.get_by_text(scene.vin))
    expect(on_call).to_contain_text("Active · Included with the car")
    with transaction(seed_sessions) as session:
        sold = vehicles_service.get_by_vin(session=session, vin=scene.vin)
        years = subscriptions.terms_for(session=session, model_id=sold.trim.model_id,
                                        market=subscriptions.market_of(session=session, vehicle=sold)).included_years
    ends = subscriptions.add_years(now().date(), years) - timedelta(days=1)
    expect(on_call).to_contain_text(f"({ends.day} {ends:%B %Y})")

    assert driver_csp == [] and rep_csp == [] and till_csp == []

    with transaction(seed_sessions) as session:
        order = session.scalars(select(Order).where(Order.number == number)).one()
        assert order.status == "delivered"
        assert orders_service.money_of(session=session, order=order)["state"] == "paid_in_full"
        assert order.dealer_id == scene.dealer_id and order.customer_id == scene.customer_id
        vehicle = vehicles_service.get_by_vin(session=session, vin=scene.vin)
        assert order.vehicle_id == vehicle.id
        assert vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id) == scene.customer_id
        opportunity = session.get(Opportunity, opportunity_id)
        assert opportunity.status == "won" and opportunity.customer_id == scene.customer_id
        assert opportunity.configuration_id == order.configuration_id
        [included] = session.scalars(select(Subscription).where(Subscription.vehicle_id == vehicle.id)).all()
        assert (included.plan, included.customer_id) == ("included", scene.customer_id)
