"""Subscribes every domain's durable event handlers (beside the layers, like ``forecourt.models``).

Every process that publishes durable events calls ``subscribe_all`` at start-up — the web app, the
ingest worker's store and detector processes, the Teltonika listener, ``forecourt worker`` — so
whoever delivers an event runs all of its handlers, and the fast lane works wherever an event is
raised.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from forecourt.core import events
from forecourt.core.config import Settings


def retry_policy(settings: Settings) -> events.RetryPolicy:
    return events.RetryPolicy(max_attempts=settings.event_max_attempts, first_delay=settings.event_retry_seconds)


def subscribe_all(factory: Callable[[], Session], settings: Settings | None = None, *,
                  registry: events.Handlers | None = None) -> events.Handlers:
    """``factory``: where delivery opens its sessions; read at delivery time, so tests may swap it."""
    from forecourt.assist import handlers as assist_handlers
    from forecourt.engagement import handlers as engagement_handlers
    from forecourt.engagement.nps import handlers as nps_handlers
    from forecourt.engagement.nps.policy import Policy
    from forecourt.models import load_all
    from forecourt.sales import trials as sales_trials
    from forecourt.sharing import handlers as sharing_handlers
    from forecourt.telematics import commands  # noqa: F401  declares the durable outcomes of commands to cars
    from forecourt.workshop import handlers as workshop_handlers

    load_all()  # every domain's tables, for the handlers' foreign keys
    registry = registry or events.handlers
    assist_handlers.subscribe_handlers(registry)  # SOS and crash open On Call cases
    workshop_handlers.subscribe_handlers(registry)  # a new fault or service due proposes a visit
    nps_handlers.subscribe_handlers(registry, Policy.from_settings(settings))  # touchpoints become surveys
    sales_trials.subscribe_handlers(registry)  # a day-long test drive is a lead, then a follow-up
    sharing_handlers.subscribe_handlers(registry)  # an unlock the car never acknowledged is on the trip
    # a recall, a car's own service due, a delivery or a finance contract opens its occasion at once
    engagement_handlers.subscribe_handlers(registry, settings.engagement_control_share if settings is not None else 0.0)
    registry.configure(factory, policy=retry_policy(settings) if settings is not None else None)
    return registry
