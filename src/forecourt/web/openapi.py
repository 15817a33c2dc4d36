"""The OpenAPI document says what each operation can really answer.

FastAPI documents the success and, where there are parameters, 422. Everything else an operation
may answer comes from how the app is built, so it is added here from the same facts, in one place:

* 401 — the operation reads the caller's token (a wrong one is refused even where logging in is
  optional); a page without a login redirects (303) instead.
* 403 — a change made with a browser session must carry the session's CSRF token.
* 404 — a role gate hides the route from other roles, or a path names something that may not exist
  (or not for this caller: consent answers 404, never 403).
* 409 — a change may clash with what exists: taken, already done, or in a state that forbids it.
* 413 — the operation takes a body, and every body has a limit (``web.limits``).
* 422 — the input breaks a rule (schema or service).
* 503 — the operation uses the database; when its write turn does not come in time (overload) it asks to be repeated.
* Anything else (400 and 401 of device endpoints, 429 of logins) is listed on the route with ``answers``.

Pages answer HTML; their errors are HTML pages, except the few a service raises on a form post,
which are the same JSON as the API's. Both are declared, so a client is never told JSON and sent HTML.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from forecourt.web import deps

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"anyOf": [
        {"type": "string"},
        {"type": "array", "items": {"type": "object", "properties": {
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "msg": {"type": "string"}, "type": {"type": "string"}}}}]}},
}
JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
HTML = {"text/html": {"schema": {"type": "string"}}}
CSV = {200: {"description": "A CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}}}
WHY = {
    303: "Redirect: to the login page when not logged in, or back to the page after a form",
    400: "The body could not be read",
    401: "Not logged in, or the token or device secret is wrong",
    403: "Not allowed (an expired form, or an action the caller's plan does not include)",
    404: "Not found, or not for this caller",
    409: "The request clashes with what exists (taken, already done)",
    413: "The request body is larger than this operation accepts; nothing was stored",
    422: "The input breaks a rule; the error names the field",
    429: "Too many attempts; wait for Retry-After seconds",
    503: "The database is overloaded; nothing was changed, repeat the request (Retry-After)",
}
API_LOGIN = {deps.api_principal}
PAGE_LOGIN = {deps.page_principal}
ANY_CALLER = {deps.api_principal, deps.page_principal, deps.optional_principal}


def answers(*codes: int) -> dict[int | str, dict]:
    """``responses=`` for a route that can answer more than its construction shows (the content is added
    with the rest of the document)."""
    return {code: {"description": WHY[code]} for code in codes}


def _calls(dependant) -> Iterable:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _route_facts(route: APIRoute) -> dict:
    calls = set(_calls(route.dependant))
    return {
        "api_login": bool(calls & API_LOGIN),
        "page_login": bool(calls & PAGE_LOGIN),
        "caller": bool(calls & ANY_CALLER),
        "database": deps.get_session in calls,
        "path_params": "{" in route.path_format,
        "body": route.body_field is not None,
    }


def _is_page(path: str) -> bool:
    return not path.startswith("/api/") and path != "/osmand"


def _statuses(path: str, method: str, facts: dict, operation: dict) -> set[int]:
    found = {422} if operation.get("parameters") else set()
    if facts["body"] or "requestBody" in operation or method in ("post", "put", "patch"):
        found |= {413, 422}
    if facts["database"]:
        found.add(503)
    if facts["caller"]:
        found.add(401)
    if facts["api_login"]:
        found.add(404)
    if facts["page_login"]:
        found |= {303, 404}
    if facts["path_params"]:
        found.add(404)
    if method != "get":
        found.add(409)
        if facts["caller"]:
            found.add(403)
    if _is_page(path) and method == "post":
        found |= {303, 400, 403}  # a form answers with a redirect, or shows itself again with what is wrong
    if "requestBody" in operation and not _is_page(path):
        found.add(400)  # a body FastAPI cannot parse (not JSON at all)
    return found


def _declare(document: dict, facts_by_operation: dict) -> dict:
    document.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for path, item in document["paths"].items():
        for method, operation in item.items():
            facts = facts_by_operation.get((method.upper(), path))
            if facts is None:
                continue
            page = _is_page(path)
            responses = operation.setdefault("responses", {})
            ok = next((code for code in responses if code.startswith("2")), None)
            content = (responses[ok].get("content") or {}) if ok else {}
            if page and list(content) == ["application/json"] and not content["application/json"].get("schema"):
                responses[ok]["content"] = HTML  # a page without a declared answer renders a template
            for status in _statuses(path, method, facts, operation):
                responses.setdefault(str(status), {"description": WHY[status]})
            for status, declared in responses.items():
                if status[0] in "45":
                    content = declared.setdefault("content", {})
                    content.setdefault("application/json", JSON_ERROR["application/json"])
                    if page:  # an error page, or the JSON a service's refusal is answered with
                        content.update(HTML)
    return document


def install(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Makes ``app.openapi`` add the answers each operation can give to what FastAPI documents."""
    facts = {(method, route.path_format): _route_facts(route)
             for router in routers for route in router.routes if isinstance(route, APIRoute)
             for method in route.methods}
    documented = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = _declare(documented(), facts)
        return app.openapi_schema

    app.openapi = openapi
