"""A dealer, the carmaker, a driver with a car and the grants NPS asks for; a helper that answers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from forecourt.core.outbox import OutboxMessage
from forecourt.engagement.nps import surveys
from forecourt.engagement.nps.models import Survey
from forecourt.engagement.nps.policy import Policy

POLICY = Policy()


@dataclass
class Scene:
    dealer: object
    carmaker: object
    driver: object
    car: object


def scene(make, *, grant: bool = True, **driver) -> Scene:
    dealer = make.dealer(name="Autohaus Hafen")
    carmaker = make.carmaker()
    owner = make.customer(**driver)
    car = make.vehicle(owner=owner, dealer=dealer)
    make.service_record(car, dealer)
    if grant:
        make.grant(owner, dealer, "service_reminders")
    return Scene(dealer=dealer, carmaker=carmaker, driver=owner, car=car)


def invite(session, s: Scene, key: str = "service_record:1", at=None):
    """A survey after a service visit, and the token its e-mail carries."""
    survey = surveys.invite(session=session, touchpoint="service_visit", subject_key=key, customer_id=s.driver.id,
                            vehicle_id=s.car.id, organization_id=s.dealer.id, policy=POLICY, at=at)
    session.commit()
    return survey, token_of(session, survey)


def token_of(session, survey: Survey | None) -> str | None:
    if survey is None:
        return None
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.id == survey.outbox_message_id))
    return message.link.rsplit("/", 1)[1]
