"""Access-control classes of the On Call incoming pages (see tests/api/test_access_control.py)."""

from __future__ import annotations

from tests.api.acl_rules import Rule  # noqa: F401

ROUTES: dict = {}
