"""What other domains ask of parties and vehicles instead of reading their tables: the providers on the
map, names and cars in bulk. Each answers a whole list in one query (On Call's nearest-help search and
its lists call them per page, not per row)."""

from __future__ import annotations

from sqlalchemy import event

from forecourt.parties import service as parties_service
from forecourt.vehicles import service as vehicles_service


def _counting(session):
    statements = []
    event.listen(session.get_bind(), "before_cursor_execute",
                 lambda *args, **kwargs: statements.append(args[2]))
    return statements


def test_located_organizations_are_the_active_ones_on_the_map(make, session):
    dealer = make.dealer()
    make.dealer(service_bays=0)
    make.dealer(latitude=None, longitude=None)
    make.dealer(is_active=False)
    towing = make.partner("roadside")
    make.partner("insurance")
    session.flush()

    dealers = parties_service.located_organizations(session=session, kind="dealer", with_service_bays=True)
    partners = parties_service.located_organizations(session=session, kind="partner", partner_kind="roadside")

    assert dealer in dealers and all(d.service_bays > 0 and d.is_active and d.latitude is not None
                                     for d in dealers)
    assert len([d for d in parties_service.located_organizations(session=session, kind="dealer")
                if d.service_bays == 0]) >= 1
    assert towing in partners and {p.partner_kind for p in partners} == {"roadside"}


def test_names_and_cars_come_in_one_query_each(make, session):
    first, second = make.dealer(), make.partner("roadside")
    cars = [make.vehicle(dealer=first) for _ in range(3)]
    session.flush()
    expected_names = {first.id: first.name, second.id: second.name}
    vins = {c.id: c.vin for c in cars}
    session.expire_all()
    statements = _counting(session)

    names = parties_service.names_of(session=session, organization_ids=[*expected_names, None, *expected_names])
    found = vehicles_service.get_many(session=session, vehicle_ids=[*vins, None])
    assert len(statements) == 2
    assert names == expected_names
    assert {i: v.vin for i, v in found.items()} == vins
    assert all(v.trim.model.name for v in found.values())  # joined with the car: no query per row
    assert parties_service.names_of(session=session, organization_ids=[]) == {}
    assert vehicles_service.get_many(session=session, vehicle_ids=[None]) == {}
    assert vehicles_service.vehicle_or_none(session=session, vehicle_id=None) is None
    assert len(statements) == 2
