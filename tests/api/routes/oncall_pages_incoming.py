"""Access-control classes of the On Call incoming pages (see tests/api/test_access_control.py).

The receiving dealer's own list of cars being towed in (DEALER); the owner appears only under the
owner's service-reminders grant, checked in tests/assist/test_dispatch_incoming.py.
"""

from __future__ import annotations

from tests.api.acl_rules import DEALER, Rule
from tests.api.routes.oncall_dispatch import dispatch_to_a

ROUTES: dict = {
    ("GET", "/workspace/incoming"): Rule(DEALER),
    ("POST", "/workspace/incoming/{dispatch_id}/arrived"): Rule(DEALER, params=dispatch_to_a, ok=(303,)),
}
