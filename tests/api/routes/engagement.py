"""Access-control classes of the coordinated-engagement routes (see tests/api/test_access_control.py).

A partner's offers are its own organization's (STEWARD: another organization's offer is 404). The driver's
inbox, acceptance and choice of channels (on the privacy page) are SELF; a message names customer A's own thing. Starting a
composition over every driver and reading its progress is the carmaker's (ADMIN).
"""

from __future__ import annotations

from datetime import date, timedelta

from forecourt.core.clock import now
from forecourt.engagement.models import ComposeRun, Message, MessageItem, Occasion, Offer
from tests.api.acl_rules import ADMIN, SELF, STEWARD, Rule


def offer_json(w=None) -> dict:
    return {"title": "Winter tyres fitted", "purpose": "service_reminders", "occasion_kinds": ["service_due"],
            "benefit": "Free storage", "valid_from": date.today().isoformat(),
            "valid_until": (date.today() + timedelta(days=60)).isoformat(), "action": "book_service",
            "action_code": "tyres", "relevance": 70}


def _offer(w) -> Offer:
    if not hasattr(w, "_engagement_offer"):
        offer = Offer(organization_id=w.dealer.id, title="Ask us", purpose="sales_contact",
                      occasion_kinds=["birthday_4"], models=[], markets=[], benefit="A quote",
                      valid_from=date.today(), valid_until=date.today() + timedelta(days=30), action="ask_quote")
        w.session.add(offer)
        w.session.commit()
        w._engagement_offer = offer
    return w._engagement_offer


def _message(w) -> dict:
    """A sent message to customer A about their car turning four, with the dealer's offer in it."""
    if not hasattr(w, "_engagement_message"):
        offer = _offer(w)
        occasion = Occasion(kind="birthday_4", vehicle_id=w.vehicle.id, customer_id=w.customer.id,
                            window_starts_on=date.today(), window_ends_on=date.today() + timedelta(days=30),
                            market="DE", model_code=w.vehicle.trim.model.code, car_age_years=4)
        w.session.add(occasion)
        w.session.flush()
        message = Message(occasion_id=occasion.id, customer_id=w.customer.id, status="sent", sent_at=now())
        w.session.add(message)
        w.session.flush()
        occasion.message_id = message.id
        item = MessageItem(message_id=message.id, offer_id=offer.id, occasion_id=occasion.id,
                           sender_id=w.dealer.id, position=1)
        w.session.add(item)
        w.session.commit()
        w._engagement_message = {"message_id": message.id, "item_id": item.id}
    return w._engagement_message


def _run(w) -> dict:
    run = ComposeRun(kind="all", status="done")
    w.session.add(run)
    w.session.commit()
    return {"run_id": run.id}


ROUTES: dict = {
    ("GET", "/api/offers"): Rule(STEWARD),
    ("POST", "/api/offers"): Rule(STEWARD, json=offer_json, ok=(201,)),
    ("GET", "/api/offers/{offer_id}"): Rule(STEWARD, params=lambda w: {"offer_id": _offer(w).id}),
    ("PUT", "/api/offers/{offer_id}"): Rule(STEWARD, params=lambda w: {"offer_id": _offer(w).id}, json=offer_json),
    ("POST", "/api/offers/{offer_id}/withdraw"): Rule(STEWARD, params=lambda w: {"offer_id": _offer(w).id}),
    ("GET", "/api/me/offers"): Rule(SELF),
    ("POST", "/api/me/offers/{message_id}/open"): Rule(SELF, params=_message, ok=(204,)),
    ("POST", "/api/me/offers/{message_id}/items/{item_id}/accept"): Rule(SELF, params=_message, json=lambda w: {},
                                                                           ok=(201,)),
    ("GET", "/api/me/contact-choice"): Rule(SELF),
    ("PUT", "/api/me/contact-choice"): Rule(SELF, json=lambda w: {"email": False, "per_month": 1}),
    ("POST", "/api/admin/engagement/compositions"): Rule(ADMIN, json=lambda w: {"kind": "all"}, ok=(202,)),
    # the pages
    ("GET", "/workspace/offers"): Rule(STEWARD),
    ("POST", "/workspace/offers"): Rule(STEWARD, form=lambda w: offer_json() | {"occasion_kinds": "service_due"},
                                       ok=(303,)),
    ("GET", "/workspace/offers/{offer_id}"): Rule(STEWARD, params=lambda w: {"offer_id": _offer(w).id}),
    ("POST", "/workspace/offers/{offer_id}"): Rule(STEWARD, params=lambda w: {"offer_id": _offer(w).id},
                                                   form=lambda w: offer_json() | {"occasion_kinds": "service_due"},
                                                   ok=(303,)),
    ("POST", "/workspace/offers/{offer_id}/withdraw"): Rule(STEWARD, params=lambda w: {"offer_id": _offer(w).id},
                                                            ok=(303,)),
    ("GET", "/me/offers"): Rule(SELF),
    ("POST", "/me/offers/{message_id}/items/{item_id}/accept"): Rule(SELF, params=_message, ok=(303,)),
    ("POST", "/me/offers/stop"): Rule(SELF, form=lambda w: {"organization_id": str(w.dealer.id),
                                                            "purpose": "sales_contact"}, ok=(303,)),
    ("POST", "/me/privacy/contact-choice"): Rule(SELF, form=lambda w: {"email": "on", "per_month": "1"}, ok=(303,)),
    ("GET", "/admin/engagement"): Rule(ADMIN),
    ("GET", "/admin/engagement.csv"): Rule(ADMIN),
    ("POST", "/admin/engagement/compositions"): Rule(ADMIN, form=lambda w: {"kind": "all"}, ok=(303,)),
    ("GET", "/api/admin/engagement/compositions/{run_id}"): Rule(ADMIN, params=_run),
}
