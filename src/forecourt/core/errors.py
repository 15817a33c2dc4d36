"""Domain errors. The web layer maps them to HTTP; services never know about HTTP."""

from __future__ import annotations


class ForecourtError(Exception):
    """Base of every error a user can be told about."""


class NotFound(ForecourtError):
    """The object does not exist *for this principal* — also raised when consent is missing."""

    def __init__(self, what: str = "Not found"):
        super().__init__(what)
        self.what = what


class Invalid(ForecourtError):
    """Input that breaks a rule; ``field`` names where, so forms and APIs can point at it."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(ForecourtError):
    """The request clashes with existing state (duplicate e-mail, VIN already registered...)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Forbidden(ForecourtError):
    """Used only where existence is not secret (a staff user without the admin role)."""


class TooManyAttempts(ForecourtError):
    def __init__(self, retry_after: int):
        from forecourt.core.i18n import ngettext

        super().__init__(ngettext("Too many attempts; try again in %(num)s second.",
                                  "Too many attempts; try again in %(num)s seconds.", retry_after))
        self.retry_after = retry_after
