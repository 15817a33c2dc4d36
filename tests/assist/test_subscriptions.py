"""On Call subscriptions: terms per model and market, status, the 45-day reminder, renewal, phone app."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from forecourt.assist import subscriptions
from forecourt.assist.models import Subscription
from forecourt.core.clock import frozen_at
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.outbox import OutboxMessage
from forecourt.payments import desk
from forecourt.payments.providers import Gateway
from forecourt.telematics import devices
from forecourt.telematics.readings import Source

SOLD = date(2023, 5, 10)


def _received(make, payment):
    """The carmaker's admin records the owner's bank transfer for ``payment``."""
    admin = make.principal(make.staff(make.carmaker()))
    desk.desk_receipt(session=make.session, principal=admin, reference=payment.reference,
                                  amount=payment.amount, method="transfer", key=f"bank-{payment.reference}")


def _car(make, *, dealer=None, embedded=True, sold_on=SOLD):
    owner = make.customer()
    vehicle = make.vehicle(owner=owner, dealer=dealer)
    if embedded:
        devices.register(session=make.session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    subscriptions.included_on_sale(session=make.session, vehicle_id=vehicle.id, customer_id=owner.id,
                                   sold_on=sold_on)
    return owner, vehicle


def test_terms_of_the_model_win_over_the_market_default_and_the_fallback(make, session):
    model_id = make.trim().model_id
    assert subscriptions.terms_for(session=session, model_id=model_id, market="FR").included_years == 3
    subscriptions.set_terms(session=session, model_id=None, market="FR", included_years=2, renewal_price=79)
    subscriptions.set_terms(session=session, model_id=model_id, market="FR", included_years=5, renewal_price=120)
    subscriptions.set_terms(session=session, model_id=None, market="FR", included_years=1, renewal_price=89)  # edit
    assert subscriptions.terms_for(session=session, model_id=model_id, market="fr").included_years == 5
    other = subscriptions.terms_for(session=session, model_id=None, market="FR")
    assert (other.included_years, other.renewal_price) == (1, 89)
    with pytest.raises(Invalid):
        subscriptions.set_terms(session=session, model_id=None, market="France", included_years=1, renewal_price=1)


def test_included_years_follow_the_selling_dealers_market(make, session):
    model_id = make.trim().model_id
    subscriptions.set_terms(session=session, model_id=model_id, market="AT", included_years=4, renewal_price=99)
    _, vehicle = _car(make, dealer=make.dealer(country="AT"))
    subscription = subscriptions.latest(session=session, vehicle_id=vehicle.id)
    assert (subscription.plan, subscription.starts_on, subscription.ends_on) == ("included", SOLD, date(2027, 5, 9))
    again = subscriptions.included_on_sale(session=session, vehicle_id=vehicle.id, customer_id=None,
                                           sold_on=date(2025, 1, 1))
    assert again.id == subscription.id  # a resale does not include another period


def test_status_moves_from_active_to_expiring_to_expired(make, session):
    _, vehicle = _car(make)  # three years: ends 9 May 2026

    def state(day):
        return subscriptions.status_of(session=session, vehicle_id=vehicle.id, today=day)

    assert state(date(2025, 1, 1))["state"] == "active"
    expiring = state(date(2026, 3, 25))
    assert (expiring["state"], expiring["days_left"]) == ("expiring", 45)
    assert "ends in 45 days (9 May 2026)" == expiring["in_words"]
    assert state(date(2026, 3, 24))["state"] == "active"
    assert state(date(2026, 5, 9))["in_words"].startswith("ends today")
    expired = state(date(2026, 5, 12))
    assert (expired["state"], expired["in_words"]) == ("expired", "ended 3 days ago (9 May 2026)")
    assert subscriptions.status_of(session=session, vehicle_id=make.vehicle().id, today=SOLD)["state"] == "none"


def test_one_reminder_45_days_before_the_end(make, session):
    owner, vehicle = _car(make)
    with frozen_at(datetime(2026, 3, 24, 6, tzinfo=UTC)):
        assert subscriptions.remind_due(session=session, today=date(2026, 3, 24)) == []  # 46 days: too early
    with frozen_at(datetime(2026, 3, 25, 6, tzinfo=UTC)):
        sent = subscriptions.remind_due(session=session, today=date(2026, 3, 25))
    assert [(m.customer_id, m.topic, m.basis, m.link) for m in sent] == [
        (owner.id, "on_call_renewal", "contract", "/me/on-call")]
    assert "9 May 2026" in sent[0].subject and "SOS and crash alerts" in sent[0].body
    subscription = subscriptions.latest(session=session, vehicle_id=vehicle.id)
    assert subscription.reminded_at == datetime(2026, 3, 25, 6, tzinfo=UTC).replace(tzinfo=subscription.reminded_at.tzinfo)
    with frozen_at(datetime(2026, 3, 26, 6, tzinfo=UTC)):
        assert subscriptions.remind_due(session=session, today=date(2026, 3, 26)) == []
    subscription.reminded_at = None  # even if the mark were lost, the outbox keeps one message
    subscriptions.remind_due(session=session, today=date(2026, 3, 27))
    count = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "on_call_renewal",
                                                        OutboxMessage.customer_id == owner.id)).all()
    assert len(count) == 1


def test_a_renewed_car_gets_no_reminder(make, session):
    make.carmaker()
    paid_owner, paid_car = _car(make)
    unpaid_owner, unpaid_car = _car(make)
    with frozen_at(datetime(2026, 1, 1, tzinfo=UTC)):
        for owner, vehicle in ((paid_owner, paid_car), (unpaid_owner, unpaid_car)):
            _, payment = subscriptions.renew(session=session, gateway=Gateway(), customer_id=owner.id,
                                             vehicle_id=vehicle.id, years=1)
        _received(make, subscriptions.renew(session=session, gateway=Gateway(), customer_id=paid_owner.id,
                                            vehicle_id=paid_car.id, years=1)[1])
    reminded = [m.customer_id for m in subscriptions.remind_due(session=session, today=date(2026, 4, 1))]
    assert paid_owner.id not in reminded
    assert reminded.count(unpaid_owner.id) == 1  # asked for a renewal, never paid: still reminded


def test_renewal_extends_from_the_end_date_once_paid_and_a_reload_asks_once(make, session):
    owner, vehicle = _car(make)
    make.carmaker()
    first, payment = subscriptions.renew(session=session, gateway=Gateway(), customer_id=owner.id,
                                         vehicle_id=vehicle.id, years=2, today=date(2026, 4, 1))
    assert (first.starts_on, first.ends_on, first.price) == (date(2026, 5, 10), date(2028, 5, 9), 198.0)
    assert (payment.amount, payment.status, payment.provider) == (198, "open", "manual")
    assert subscriptions.latest(session=session, vehicle_id=vehicle.id).plan == "included"  # not paid yet
    again, same = subscriptions.renew(session=session, gateway=Gateway(), customer_id=owner.id,
                                      vehicle_id=vehicle.id, years=2, today=date(2026, 4, 2))
    assert (again.id, same.id) == (first.id, payment.id)
    assert len(session.scalars(select(Subscription).where(Subscription.vehicle_id == vehicle.id)).all()) == 2
    _received(make, payment)
    assert subscriptions.latest(session=session, vehicle_id=vehicle.id).id == first.id
    other_owner, other_car = _car(make)
    with pytest.raises(Invalid):
        subscriptions.renew(session=session, gateway=Gateway(), customer_id=owner.id, vehicle_id=vehicle.id,
                            years=0)
    with pytest.raises(NotFound):  # not their car
        subscriptions.renew(session=session, gateway=Gateway(), customer_id=other_owner.id, vehicle_id=vehicle.id,
                            years=1)


def test_a_lapsed_subscription_renews_from_today(make, session):
    owner, vehicle = _car(make)
    make.carmaker()
    renewal, _ = subscriptions.renew(session=session, gateway=Gateway(), customer_id=owner.id, vehicle_id=vehicle.id,
                                     years=1, today=date(2026, 9, 1))
    assert (renewal.starts_on, renewal.ends_on) == (date(2026, 9, 1), date(2027, 8, 31))


def test_the_phone_app_plan_needs_a_registered_phone_and_no_embedded_unit(make, session):
    owner, vehicle = _car(make, embedded=False)
    make.carmaker()
    with pytest.raises(Invalid, match="Register your phone"):
        subscriptions.phone_app_plan(session=session, gateway=Gateway(), customer_id=owner.id, vehicle_id=vehicle.id)
    devices.register(session=session, kind=Source.PHONE, identifier=f"phone-{vehicle.id}-x", vehicle_id=vehicle.id)
    plan, payment = subscriptions.phone_app_plan(session=session, gateway=Gateway(), customer_id=owner.id,
                                                 vehicle_id=vehicle.id, today=date(2027, 1, 1))
    assert (plan.plan, plan.starts_on, plan.price, float(payment.amount)) == ("phone_app", date(2027, 1, 1), 39.0, 39.0)
    embedded_owner, embedded_car = _car(make)
    devices.register(session=session, kind=Source.PHONE, identifier=f"phone-{embedded_car.id}-y",
                     vehicle_id=embedded_car.id)
    with pytest.raises(Invalid, match="embedded"):
        subscriptions.phone_app_plan(session=session, gateway=Gateway(), customer_id=embedded_owner.id,
                                     vehicle_id=embedded_car.id)


def test_convenience_stops_after_expiry_but_a_crash_still_opens_a_case(make, session):
    from forecourt.assist import intake

    _, vehicle = _car(make)
    assert subscriptions.convenience_allowed(session=session, vehicle_id=vehicle.id, today=date(2026, 5, 9))
    assert not subscriptions.convenience_allowed(session=session, vehicle_id=vehicle.id, today=date(2026, 5, 10))
    with frozen_at(datetime(2026, 6, 1, 12, tzinfo=UTC)):
        case = intake.raise_alert(session=session, vehicle_id=vehicle.id, kind="crash", source="mqtt",
                                  latitude=52.5, longitude=13.4)
    assert (case.vehicle_id, case.kind, case.status) == (vehicle.id, "crash", "open")


def test_a_korean_car_is_offered_on_call_in_won(make, session):
    """A car a Seoul dealer sold: the fallback renewal and the phone app are priced in won, never in euros."""
    seoul = make.dealer(market="KR", country="KR", street="강남구 도산대로 318", postcode="06054", city="서울특별시",
                        phone="02-3445-2688")
    terms = subscriptions.terms_for(session=session, model_id=None, market="KR")
    assert (terms.currency, terms.renewal_price) == ("KRW", 129_000)
    owner, vehicle = _car(make, dealer=seoul, embedded=False)
    make.carmaker()
    devices.register(session=session, kind=Source.PHONE, identifier=f"phone-{vehicle.id}-kr", vehicle_id=vehicle.id)
    plan, payment = subscriptions.phone_app_plan(session=session, gateway=Gateway(), customer_id=owner.id,
                                                 vehicle_id=vehicle.id, today=date(2027, 1, 1))
    assert (plan.price, plan.currency, payment.amount, payment.currency) == (49_000, "KRW", 49_000, "KRW")
    (row,) = subscriptions.overview_for_owner(session=session, customer_id=owner.id, today=date(2027, 1, 1))
    assert (row["currency"], row["phone_app_price"]) == ("KRW", 49_000)
