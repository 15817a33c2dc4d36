"""Rendering pages with the caller, their CSRF token and flash messages available to every template."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    context.setdefault("principal", getattr(request.state, "principal", None))
    context.setdefault("csrf_token", getattr(request.state, "csrf_token", ""))
    context.setdefault("flash", request.query_params.get("flash"))
    return request.app.state.templates.TemplateResponse(request, template, context, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def home_for(principal) -> str:
    if principal is None:
        return "/login"
    # A call-centre agent reads customers only through a case, never from a list: their home is the console.
    homes = {"customer": "/me", "carmaker_admin": "/admin/organizations", "dealer_cashier": "/till",
             "call_centre_agent": "/console"}
    return homes.get(principal.role.value, "/workspace/customers")
