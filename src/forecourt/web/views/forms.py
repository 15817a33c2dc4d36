"""Reading HTML forms into the same input schemas the JSON API uses, with errors per field."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from forecourt.core.errors import Invalid
from forecourt.core.i18n import _
from forecourt.core.schemas import LARGEST_ID


async def read_form(request: Request) -> FormData:
    """Read once, asynchronously, so page routes can stay plain functions."""
    return await request.form()


Form = Annotated[FormData, Depends(read_form)]


def text(form: FormData, name: str) -> str | None:
    """A blank field means "not given", as an absent JSON key does."""
    value = form.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def whole_number(raw: str | None) -> int | None:
    """A whole number as typed or chosen in a form (or a header): ASCII digits within the range of
    the database's integer columns. Anything else ("²", "1e3", twenty digits) names no row."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()) or int(raw) > LARGEST_ID:
        return None
    return int(raw)


def chosen_id(value: str | None, field: str) -> int | None:
    """A filter's select sends '' for "all"; anything else must be a positive id."""
    if value is None or not value.strip():
        return None
    if not value.strip().isdigit() or not 1 <= int(value) <= LARGEST_ID:
        raise Invalid(_("Choose from the list."), field=field)
    return int(value)


def iso_day(value: str | None, field: str) -> date | None:
    """A filter's date as the browser's date input sends it ('' for none)."""
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(_("Give the date as YYYY-MM-DD."), field=field) from None


def texts(form: FormData, *names: str) -> dict:
    return {name: text(form, name) for name in names}


def field_errors(error: ValidationError) -> dict[str, str]:
    """Pydantic's errors keyed by dotted field path (``seat_position.height``), first message wins."""
    errors: dict[str, str] = {}
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "form"
        message = item["msg"].removeprefix("Value error, ")
        errors.setdefault(key, message[:1].upper() + message[1:])
    return errors


def validate(schema: type[BaseModel], values: dict) -> tuple[BaseModel | None, dict[str, str]]:
    try:
        return schema.model_validate(values), {}
    except ValidationError as error:
        return None, field_errors(error)


def back_to(url: str, *, flash: str | None = None, error: str | None = None):
    """Back to the page the action came from, with what happened said on it."""
    from urllib.parse import quote_plus

    from forecourt.web.views.render import redirect

    key, message = ("error", error) if error else ("flash", flash or "")
    return redirect(f"{url}{'&' if '?' in url else '?'}{key}={quote_plus(message)}")


def attempt(session, url: str, action, done: str):
    """Run a page action in a savepoint: a refused one leaves nothing half done and says why on the page."""
    from forecourt.core.errors import Conflict, Invalid

    try:
        with session.begin_nested():
            action()
    except (Invalid, Conflict) as problem:
        return back_to(url, error=problem.message)
    return back_to(url, flash=done)
