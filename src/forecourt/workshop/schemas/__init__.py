"""Pydantic shapes of the workshop API, one module per area (inputs forbid unknown fields): the
owner's booking and proposals (`booking`), the service advisor's calendar, brief, loaners and check-in
(`advisor`)."""
