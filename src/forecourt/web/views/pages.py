"""Collects the HTML routers of every area of the site."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    from forecourt.web.views import account

    found = [account.router]
    for name in ("portal", "workspace", "admin", "vehicles", "fleet", "configurator", "leads", "opportunities", "pipeline",
                 "pipeline_insights", "orders", "warranty", "recalls", "recall_work", "workshop", "bookings",
                 "messages",
                 "console", "incoming", "on_call", "unsubscribe", "mailsink", "till", "commission", "payments_desk",
                 "phones", "remote_lock", "email_links", "background", "transfers", "follow_ups", "nps", "sharing",
                 "engagement", "offer_pages", "contact_choice"):
        try:
            module = __import__(f"forecourt.web.views.{name}", fromlist=["router"])
        except ModuleNotFoundError:
            continue
        found.append(module.router)
    return found
