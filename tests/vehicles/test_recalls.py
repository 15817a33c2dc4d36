"""Recall campaigns: which cars they reach, who is told, remedies per dealer, flags at check-in, progress."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.errors import Conflict, Invalid, NotFound
from forecourt.core.outbox import OutboxMessage
from forecourt.privacy import rights
from forecourt.vehicles import recalls
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles.models import RecallVehicle, ServiceRecord
from tests.vehicles.recall_scene import build, principal_of


@pytest.fixture
def scene(make):
    return build(make)


def _open(session, scene, code, *scopes, notify=True):
    return recalls.open_campaign(session=session, principal=scene.admin_principal, code=code,
                                 title="Brake hose may chafe", description="It can leak brake fluid.",
                                 remedy="Fit a new brake hose.", severity="high", labour_minutes=45,
                                 scopes=list(scopes), notify=notify)


def _affected(session, campaign) -> set[str]:
    return set(session.scalars(select(vehicles_service.Vehicle.vin).join(
        RecallVehicle, RecallVehicle.vehicle_id == vehicles_service.Vehicle.id)
        .where(RecallVehicle.campaign_id == campaign.id)))


def _names(scene, *names) -> set[str]:
    return {scene.cars[n].vin for n in names}


def test_matching_by_model_trim_vin_range_and_production_dates(session, scene):
    by_model = _open(session, scene, "RC-M", {"model_code": scene.models["A"].code}, notify=False)
    assert _affected(session, by_model["campaign"]) == _names(scene, "a1_early", "a1_mid", "a2_mid", "a2_late")
    assert by_model["affected"] == 4

    by_trim = _open(session, scene, "RC-T", {"trim_code": scene.trims["A2"].code}, notify=False)
    assert _affected(session, by_trim["campaign"]) == _names(scene, "a2_mid", "a2_late")

    # VIN ranges ignore the check digit, which jumps about between consecutive cars
    by_vin = _open(session, scene, "RC-V", {"vin_from": scene.vin(200), "vin_to": scene.vin(400)}, notify=False)
    assert _affected(session, by_vin["campaign"]) == _names(scene, "a1_mid", "a2_mid", "a2_late")

    by_dates = _open(session, scene, "RC-D", {"produced_from": date(2023, 6, 1), "produced_to": date(2023, 6, 30)},
                     notify=False)
    assert _affected(session, by_dates["campaign"]) == _names(scene, "a1_mid", "a2_mid", "b1_mid")

    # limits of one scope combine; two scopes add up
    mixed = _open(session, scene, "RC-X",
                  {"model_code": scene.models["A"].code, "produced_from": "2023-06-01", "produced_to": "2023-06-30"},
                  {"vin_from": scene.vin(600), "vin_to": scene.vin(600)}, notify=False)
    assert _affected(session, mixed["campaign"]) == _names(scene, "a1_mid", "a2_mid", "b1_stock")


def test_bad_scopes_are_refused_in_words(session, scene):
    with pytest.raises(Invalid, match="no limit"):
        _open(session, scene, "RC-E1", {"model_code": None})
    with pytest.raises(Invalid, match="ends before it starts"):
        _open(session, scene, "RC-E2", {"vin_from": scene.vin(400), "vin_to": scene.vin(200)})
    with pytest.raises(Invalid, match="production ends"):
        _open(session, scene, "RC-E3", {"produced_from": "2024-01-01", "produced_to": "2023-01-01"})
    with pytest.raises(Invalid, match="check digit"):
        _open(session, scene, "RC-E4", {"vin_from": scene.vin(200)[:8] + "Y" + scene.vin(200)[9:]})
    with pytest.raises(Invalid, match="no model"):
        _open(session, scene, "RC-E5", {"model_code": "NOPE"})
    with pytest.raises(Invalid, match="is not a"):
        _open(session, scene, "RC-E6", {"model_code": scene.models["B"].code, "trim_code": scene.trims["A1"].code})
    with pytest.raises(Invalid, match="at least one scope"):
        _open(session, scene, "RC-E7")
    _open(session, scene, "RC-DUP", {"model_code": scene.models["B"].code})
    with pytest.raises(Conflict, match="already a campaign"):
        _open(session, scene, "rc-dup", {"model_code": scene.models["B"].code})


def test_owners_are_notified_by_email_and_in_app_whatever_their_marketing_choices(session, scene):
    # nobody in the scene gave any consent at all: a recall is a legal obligation
    result = _open(session, scene, "RC-N", {"model_code": scene.models["B"].code})
    assert (result["affected"], result["notified"], result["owner_unknown"]) == (2, 1, 1)  # b1_stock is unsold
    owner = scene.owners["b1_mid"]
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == owner.id)).all()
    assert sorted(m.channel for m in messages) == ["email", "in_app"]
    for message in messages:
        assert (message.topic, message.basis) == ("recall", "legal_obligation")
        assert "Brake hose may chafe" in message.subject
        assert "book it at any dealer" in message.body.lower() and "Fit a new brake hose." in message.body
        assert scene.cars["b1_mid"].vin in message.body and message.link == f"/me/vehicles/{scene.cars['b1_mid'].vin}"
    states = dict(session.execute(select(RecallVehicle.vehicle_id, RecallVehicle.state)
                                  .where(RecallVehicle.campaign_id == result["campaign"].id)).all())
    assert states == {scene.cars["b1_mid"].id: "notified", scene.cars["b1_stock"].id: "open"}
    # reading the owner's contact for the recall is in their access log, with the campaign code
    entry = session.scalars(select(AccessLogEntry).where(AccessLogEntry.customer_id == owner.id)).one()
    assert (entry.purpose_code, entry.legal_basis, entry.reference, entry.organization_id) == (
        "safety_recalls", "legal_obligation", "RC-N", scene.admin.organization_id)


def test_rerunning_notification_writes_nothing_twice(session, scene):
    result = _open(session, scene, "RC-R", {"model_code": scene.models["A"].code})
    count = session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.dedupe_key.like("recall:RC-R:%")))
    assert count == 8
    again = recalls.notify_owners(session=session, principal=scene.admin_principal, campaign=result["campaign"])
    assert again["messages"] == 0
    assert session.scalar(select(func.count(OutboxMessage.id)).where(
        OutboxMessage.dedupe_key.like("recall:RC-R:%"))) == 8


def test_a_resold_car_reaches_its_new_owner_not_the_old_one(session, scene, make):
    car, seller = scene.cars["a1_early"], scene.owners["a1_early"]
    buyer = make.customer()
    vehicles_service.transfer(session=session, vehicle_id=car.id, customer_id=buyer.id, at=now() - timedelta(days=5))
    _open(session, scene, "RC-S", {"vin_from": scene.vin(100), "vin_to": scene.vin(100)})
    assert {m.channel for m in session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == buyer.id))} == {
        "email", "in_app"}
    assert session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == seller.id)).all() == []


def test_erased_owner_counts_as_owner_unknown(session, scene):
    rights.erase(session=session, customer_id=scene.owners["b1_mid"].id)
    result = _open(session, scene, "RC-U", {"model_code": scene.models["B"].code})
    assert (result["affected"], result["notified"], result["owner_unknown"]) == (2, 0, 2)
    assert session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.dedupe_key.like("recall:RC-U:%"))) == 0
    progress = recalls.campaign_progress(session=session, campaign_id=result["campaign"].id)
    assert progress["owner_unknown"] == 2


def test_remedy_tracking_and_refusals(session, scene, make):
    dealer = make.dealer()
    advisor = principal_of(make.staff(dealer, Role.DEALER_SERVICE), Role.DEALER_SERVICE)
    _open(session, scene, "RC-F", {"trim_code": scene.trims["A2"].code})
    vin = scene.cars["a2_mid"].vin
    record = recalls.record_remedy(session=session, principal=advisor, campaign_code="rc-f", vin=vin.lower(),
                                   performed_on=date.today(), odometer_km=23000)
    assert (record.kind, record.dealer_id, record.odometer_km) == ("recall", dealer.id, 23000)
    assert record.recall_campaign_id is not None and record.customer_id == scene.owners["a2_mid"].id
    row = session.scalars(select(RecallVehicle).where(RecallVehicle.vehicle_id == scene.cars["a2_mid"].id)).one()
    assert (row.state, row.remedied_by_dealer_id) == ("remedied", dealer.id) and row.remedied_at is not None

    with pytest.raises(Conflict, match="already remedied"):
        recalls.record_remedy(session=session, principal=advisor, campaign_code="RC-F", vin=vin,
                              performed_on=date.today(), odometer_km=23001)
    with pytest.raises(Invalid, match="not affected by recall RC-F"):
        recalls.record_remedy(session=session, principal=advisor, campaign_code="RC-F", vin=scene.cars["b1_mid"].vin,
                              performed_on=date.today(), odometer_km=1000)
    late = scene.cars["a2_late"].vin
    with pytest.raises(Invalid, match="has not come yet"):
        recalls.record_remedy(session=session, principal=advisor, campaign_code="RC-F", vin=late,
                              performed_on=date.today() + timedelta(days=2), odometer_km=1000)
    with pytest.raises(Invalid, match="before that"):
        recalls.record_remedy(session=session, principal=advisor, campaign_code="RC-F", vin=late,
                              performed_on=date.today() - timedelta(days=30), odometer_km=1000)
    with pytest.raises(Invalid, match="odometer"):
        recalls.record_remedy(session=session, principal=advisor, campaign_code="RC-F", vin=late,
                              performed_on=date.today(), odometer_km=-5)
    with pytest.raises(NotFound):
        recalls.record_remedy(session=session, principal=advisor, campaign_code="RC-NONE", vin=late,
                              performed_on=date.today(), odometer_km=1000)
    assert session.scalar(select(func.count(ServiceRecord.id)).where(ServiceRecord.kind == "recall",
                                                                      ServiceRecord.vehicle_id.in_(
                                                                          [c.id for c in scene.cars.values()]))) == 1


def test_check_in_flags_and_open_recalls(session, scene, make):
    _open(session, scene, "RC-C1", {"model_code": scene.models["A"].code})
    critical = recalls.open_campaign(session=session, principal=scene.admin_principal, code="RC-C2",
                                     title="Airbag may not deploy", remedy="Replace the airbag module.",
                                     severity="critical", scopes=[{"trim_code": scene.trims["A1"].code}])
    flags = recalls.check_in_flags(session=session, vin=scene.cars["a1_mid"].vin)
    assert [f["message"] for f in flags] == ["This car has an open recall: Airbag may not deploy (critical)",
                                             "This car has an open recall: Brake hose may chafe (high)"]
    assert recalls.check_in_flags(session=session, vin=scene.cars["b1_mid"].vin) == []
    dealer = principal_of(make.staff(make.dealer(), Role.DEALER_SERVICE), Role.DEALER_SERVICE)
    recalls.record_remedy(session=session, principal=dealer, campaign_code="RC-C2", vin=scene.cars["a1_mid"].vin,
                          performed_on=date.today(), odometer_km=100)
    assert [c.code for c in recalls.open_recalls_for(session=session, vehicle_id=scene.cars["a1_mid"].id)] == ["RC-C1"]
    critical["campaign"].closed_at = now()
    assert [c.code for c in recalls.open_recalls_for(session=session, vehicle_id=scene.cars["a1_early"].id)] == [
        "RC-C1"]
    with pytest.raises(NotFound):
        recalls.check_in_flags(session=session, vin="WFC00000000000000")


def test_progress_over_time_per_dealer(session, scene, make, monkeypatch):
    opened_at = now() - timedelta(days=30)
    monkeypatch.setattr(recalls, "now", lambda: opened_at)
    result = _open(session, scene, "RC-P", {"model_code": scene.models["A"].code})
    monkeypatch.undo()
    first, second = make.dealer(name="Alpha Motors"), make.dealer(name="Beta Autos")
    one, two = (principal_of(make.staff(d, Role.DEALER_SERVICE), Role.DEALER_SERVICE) for d in (first, second))
    for who, car, days_ago in ((one, "a1_early", 25), (one, "a1_mid", 10), (two, "a2_mid", 1)):
        recalls.record_remedy(session=session, principal=who, campaign_code="RC-P", vin=scene.cars[car].vin,
                              performed_on=date.today() - timedelta(days=days_ago), odometer_km=5000)
    progress = recalls.campaign_progress(session=session, campaign_id=result["campaign"].id)
    assert (progress["affected"], progress["notified"], progress["remedied"], progress["open"]) == (4, 4, 3, 1)
    assert progress["completion"] == 0.75
    assert [(r["dealer"], r["remedied"]) for r in progress["per_dealer"]] == [("Alpha Motors", 2), ("Beta Autos", 1)]
    curve = [p["remedied"] for p in progress["over_time"]]
    assert curve[0] == 0 and curve[-1] == 3 and curve == sorted(curve)
    assert curve[1] == 1  # a week after opening only the first remedy was done
    assert progress["over_time"][-1]["share"] == 0.75
    listed = {c["code"]: c for c in recalls.list_campaigns(session=session)}
    assert (listed["RC-P"]["remedied"], listed["RC-P"]["affected"]) == (3, 4)
