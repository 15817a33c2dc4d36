"""The kinds of occasions and of responses to an offer, with the words a person reads for them."""

from __future__ import annotations

from forecourt.core.i18n import N_

WARRANTY_60, WARRANTY_30 = "warranty_ends_60", "warranty_ends_30"
SERVICE_DUE, ON_CALL_ENDS, RECALL_OPEN = "service_due", "on_call_ends", "recall_open"
BIRTHDAY_4, BIRTHDAY_6, DELIVERY_ANNIVERSARY = "birthday_4", "birthday_6", "delivery_anniversary"
FINANCE_ENDS = "finance_ends"  # 90 days before a finance contract (``sales.finance``) ends

OCCASIONS: dict[str, str] = {
    WARRANTY_60: N_("Your warranty ends in two months"),
    WARRANTY_30: N_("Your warranty ends next month"),
    SERVICE_DUE: N_("Your car's service is due"),
    ON_CALL_ENDS: N_("Your On Call subscription ends soon"),
    RECALL_OPEN: N_("A safety recall on your car is still open"),
    BIRTHDAY_4: N_("Your car turns four"),
    BIRTHDAY_6: N_("Your car turns six"),
    DELIVERY_ANNIVERSARY: N_("A year since you took delivery of your car"),
    FINANCE_ENDS: N_("Your finance contract ends soon"),
}
LEGAL_KINDS = {RECALL_OPEN}

# What accepting an offer does, in one click.
BOOK_SERVICE, BUY_EXTENSION, ASK_QUOTE = "book_service", "buy_extension", "ask_quote"
ACTIONS: dict[str, str] = {
    BOOK_SERVICE: N_("Book a visit"),
    BUY_EXTENSION: N_("Buy the extension"),
    ASK_QUOTE: N_("Ask for a quote"),
}

# Consent purposes an offer may rest on: the driver must have granted it to the offer's organization.
OFFER_PURPOSES = ("marketing_offers", "service_reminders", "sales_contact", "driving_behaviour_insurance")
USAGE_BASED = "driving_behaviour_insurance"  # only an insurer's usage-based quote rests on it
