"""Pages: the development mail sink, read by the carmaker's administrator (``/admin/mail``).

What ``forecourt mailsink`` caught in its maildir (``FORECOURT_MAILSINK_DIR``), newest first, and
one message at a time. A message is shown, never trusted: its text is escaped like any other text,
and an HTML part is shown in a frame sandboxed without scripts, forms or same-origin rights (the
page's own Content-Security-Policy forbids inline scripts besides).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from forecourt.core import mailsink
from forecourt.core.errors import NotFound
from forecourt.web.deps import AdminPage, AppSettings
from forecourt.web.views.render import render

router = APIRouter(prefix="/admin", tags=["pages"])


@router.get("/mail")
def mail_list(request: Request, admin: AdminPage, settings: AppSettings):
    return render(request, "mailsink/list.html", messages=mailsink.caught(directory=settings.mailsink_dir),
                  directory=settings.mailsink_dir)


@router.get("/mail/{key}")
def mail_message(request: Request, key: str, admin: AdminPage, settings: AppSettings):
    try:
        message = mailsink.read(directory=settings.mailsink_dir, key=key)
    except NotFound:
        raise HTTPException(status_code=404, detail="Not found") from None
    return render(request, "mailsink/message.html", message=message)
