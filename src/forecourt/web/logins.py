"""A password login, shared by the API's token login and the login page.

The password is checked before the request takes the database's write turn, so that no other write
waits for a slow hash; the outcome is written after.
"""

from __future__ import annotations

from forecourt.core.errors import Invalid
from forecourt.parties import service as parties_service
from forecourt.web.deps import begin_writing


def check_password(session, settings, email: str, password: str, address: str):
    """The password is checked (slow on purpose) before the request takes the database's write turn,
    so no other write waits for it; then the outcome is written. A failed attempt must be kept even
    though the request fails, or rate limiting forgets it."""
    check = parties_service.check_login(session=session, email=email, password=password, address=address,
                                        max_failures=settings.login_max_failures,
                                        window_seconds=settings.login_window_seconds,
                                        backoff_seconds=settings.login_backoff_seconds)
    begin_writing(session, settings)
    try:
        return parties_service.record_login(session=session, check=check, password=password)
    except Invalid:
        session.commit()
        raise
