"""The bill: itemised from the trip's recorded events, the same every time it is computed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from forecourt.sharing import billing

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
TARIFF = {"currency": "EUR", "unlock_fee": "1.00", "per_minute_driving": "0.29", "per_minute_parked": "0.09",
          "included_km": 100, "per_km_over": "0.25", "daily_cap": "79.00", "late_return_fee": "15.00",
          "low_energy_fee": "10.00", "outside_return_fee": "25.00", "deposit": "100.00", "kind": "minute"}


def events(*steps):
    return [{"kind": kind, "at": T0 + timedelta(minutes=minute), "odometer_km": km, "energy_percent": energy}
            for kind, minute, km, energy in steps]


def test_driving_and_parked_minutes_km_over_and_fees_are_itemised():
    trip = events(("check_out", 0, 1000.0, 80), ("driving", 5, None, None), ("parked", 65, None, None),
                  ("driving", 95, None, None), ("return", 125, 1130.4, 20))
    bill = billing.compute(tariff=TARIFF, events=trip, ends_at=T0 + timedelta(minutes=120),
                           next_booking_at=T0 + timedelta(minutes=120), low_energy_percent=25, outside_fee_applies=True)
    lines = {line["code"]: (line["quantity"], line["amount"]) for line in bill["lines"]}
    assert lines == {"unlock_fee": ("1", "1.00"), "driving": ("90", "26.10"), "parked": ("35", "3.15"),
                     "km_over": ("31", "7.75"), "late_return": ("1", "15.00"), "low_energy": ("1", "10.00"),
                     "outside_return": ("1", "25.00")}
    assert Decimal(bill["total"]) == Decimal("88.00")
    again = billing.compute(tariff=TARIFF, events=list(trip), ends_at=T0 + timedelta(minutes=120),
                            next_booking_at=T0 + timedelta(minutes=120), low_energy_percent=25,
                            outside_fee_applies=True)
    assert again == bill


def test_the_daily_cap_limits_time_charges_and_late_without_a_next_booking_costs_nothing_extra():
    trip = events(("check_out", 0, 500.0, 90), ("driving", 0, None, None), ("return", 600, 560.0, 70))
    bill = billing.compute(tariff=TARIFF, events=trip, ends_at=T0 + timedelta(minutes=300), next_booking_at=None,
                           low_energy_percent=25, outside_fee_applies=False)
    lines = {line["code"]: line["amount"] for line in bill["lines"]}
    assert lines["driving"] == "174.00" and lines["daily_cap"] == "-95.00" and "late_return" not in lines
    assert bill["total"] == "80.00"


def test_a_korean_tariff_bills_whole_won():
    tariff = TARIFF | {"currency": "KRW", "unlock_fee": "1000", "per_minute_driving": "390", "per_minute_parked": "120",
                       "daily_cap": "99000"}
    trip = events(("check_out", 0, 10.0, 80), ("driving", 0, None, None), ("return", 10, 20.0, 80))
    bill = billing.compute(tariff=tariff, events=trip, ends_at=T0 + timedelta(hours=1), next_booking_at=None,
                           low_energy_percent=25, outside_fee_applies=False)
    assert bill["total"] == "4900"
