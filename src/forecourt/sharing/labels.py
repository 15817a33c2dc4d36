"""What car sharing's codes are called in the reader's language."""

from __future__ import annotations

from forecourt.core.i18n import N_, Labels

STATUS = Labels({"held": N_("Held free"), "booked": N_("Booked"), "active": N_("On the road"),
                 "returned": N_("Returned"), "closed": N_("Closed"), "cancelled": N_("Cancelled"),
                 "expired": N_("Hold expired")})
PROPULSION = Labels({"petrol": N_("Petrol"), "diesel": N_("Diesel"), "hybrid": N_("Hybrid"),
                     "plug_in_hybrid": N_("Plug-in hybrid"), "electric": N_("Electric")})
NEEDS = Labels({"clean": N_("Clean"), "charge": N_("Charge"), "refuel": N_("Refuel")})
BILL_LINES = Labels({"unlock_fee": N_("Unlock fee"), "driving": N_("Minutes driving"),
                     "parked": N_("Minutes parked"), "daily_cap": N_("Daily cap"),
                     "km_over": N_("Kilometres over the allowance"), "late_return": N_("Late return"),
                     "low_energy": N_("Low fuel or charge"), "outside_return": N_("Return outside the area")})
WHY_SHOWN = Labels({"free": N_("Free"), "late": N_("Late"), "consent": N_("Renter allows it"),
                    "stolen": N_("Reported stolen"), "crash": N_("Crash recorded")})
DAMAGE_STATUS = Labels({"reported": N_("Reported"), "repairing": N_("Being repaired"), "fixed": N_("Fixed")})
PHOTO_STAGES = Labels({"check_out": N_("At pick-up"), "return": N_("At return"), "damage": N_("Damage")})
COMMAND_FAILURES = Labels({"timed_out": N_("the car did not answer in time"), "refused": N_("the car refused")})
