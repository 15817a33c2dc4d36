"""Access-control classes of the warranty and service-book routes (see tests/api/test_access_control.py).

A dealer reads a car's warranty and its complete service book only with the owner's consent (service
reminders or vehicle health sharing: both cover service history; sales contact does not), so those
are CUSTOMER_DATA for dealers; offering the owner an extended warranty opens the same door. Recording a
work order or offering an extension also needs the dealer's real relationship with the car (dealer A sold
customer A's car; dealer B, holding every consent, is refused: tests/api/test_write_access.py): DEALER. The owner's own pages, and the
owner's answer to an offer, are SELF; the products on sale are PUBLIC; the carmaker sets the terms
(ADMIN).
"""

from __future__ import annotations

from datetime import date

from datetime import timedelta

from forecourt.core.clock import now
from forecourt.vehicles import warranty
from forecourt.vehicles.models import WarrantyOffer, WarrantyProduct
from tests.api.acl_rules import ADMIN, CUSTOMER_DATA, DEALER, PUBLIC, SELF, Rule


def on_sale(session, model_code: str, *, years: int = 3, km: int = 100_000) -> WarrantyProduct:
    """Terms for the model and one extension on sale for every model (idempotent per model)."""
    warranty.set_terms(session=session, model_code=model_code, years=years, km=km,
                       components=[{"component": "battery", "years": 8, "km": 160_000,
                                    "propulsion": ["electric"]}])
    code = f"EXT-{model_code}"[:32]
    product = session.query(WarrantyProduct).filter_by(code=code).first()
    if product is None:
        product = WarrantyProduct(code=code, name="Extra Care 2", years=2, km=50_000, price=890, components=[])
        session.add(product)
        session.flush()
    return product


def _sale_json(w) -> dict:
    product = on_sale(w.session, w.vehicle.trim.model.code)
    w.session.commit()
    return {"product_code": product.code}


def _sale_form(w) -> dict:
    return _sale_json(w)


def _offer(w) -> dict:
    """An extended warranty the dealer offered customer A (one per test)."""
    if not hasattr(w, "_warranty_offer"):
        product = on_sale(w.session, w.vehicle.trim.model.code)
        offered = WarrantyOffer(vehicle_id=w.vehicle.id, product_id=product.id, customer_id=w.customer.id,
                                dealer_id=w.dealer.id, price=890, expires_at=now() + timedelta(days=30))
        w.session.add(offered)
        w.session.commit()
        w._warranty_offer = offered
    return {"offer_id": w._warranty_offer.id}


def _work_order(w) -> dict:
    return {"performed_on": date.today().isoformat(), "odometer_km": 16_000, "kind": "repair",
            "summary": "Brake pads replaced", "operations": [{"description": "Replace front pads", "hours": 1.2}],
            "parts": [{"number": "BP-100", "name": "Brake pad set", "quantity": 1, "unit_price": 89.9}],
            "warranty_amount": 0, "customer_amount": 197.5}


def _work_order_form(w) -> dict:
    return {"performed_on": date.today().isoformat(), "odometer_km": "16000", "kind": "repair",
            "summary": "Brake pads replaced", "operations": "Replace front pads; 1.2",
            "parts": "BP-100; Brake pad set; 1; 89.90", "customer_amount": "197.50"}


def _model(w) -> dict:
    return {"model_code": w.vehicle.trim.model.code}


def _read(**kwargs) -> Rule:
    return Rule(CUSTOMER_DATA, purpose="service_reminders", not_covering="sales_contact", dealers_only=True, **kwargs)


ROUTES: dict = {
    # dealers, behind the owner's consent
    ("GET", "/api/vehicles/{vin}/warranty"): _read(),
    ("GET", "/api/vehicles/{vin}/service-book"): _read(),
    ("GET", "/workspace/vehicles/{vin}/service-book"): _read(),
    ("POST", "/api/vehicles/{vin}/extended-warranty"): _read(json=_sale_json, ok=(201,)),
    ("POST", "/workspace/vehicles/{vin}/extended-warranty"): _read(form=_sale_form, ok=(303,)),
    # a dealer with a real relationship with the car (booked in, sold or serviced there, its stock)
    ("POST", "/api/vehicles/{vin}/work-orders"): Rule(DEALER, json=_work_order, ok=(201,)),
    ("GET", "/workspace/vehicles/{vin}/work-orders/new"): Rule(DEALER),
    ("POST", "/workspace/vehicles/{vin}/work-orders"): Rule(DEALER, form=_work_order_form, ok=(200,)),
    # the owner
    ("GET", "/api/me/vehicles/{vin}/warranty"): Rule(SELF),
    ("GET", "/api/me/vehicles/{vin}/service-book"): Rule(SELF),
    ("GET", "/me/vehicles/{vin}/service-book"): Rule(SELF),
    ("GET", "/api/me/warranty-offers"): Rule(SELF),
    ("POST", "/api/me/warranty-offers/{offer_id}/accept"): Rule(SELF, params=_offer),
    ("POST", "/api/me/warranty-offers/{offer_id}/decline"): Rule(SELF, params=_offer),
    ("POST", "/me/warranty-offers/{offer_id}"): Rule(SELF, params=_offer, form=lambda w: {"decision": "decline"},
                                                     ok=(303,)),
    # everyone, and the carmaker
    ("GET", "/api/warranty/products"): Rule(PUBLIC),
    ("PUT", "/api/admin/warranty-terms/{model_code}"): Rule(ADMIN, params=_model, json=lambda w: {"years": 3,
                                                                                             "km": 100_000}),
}
