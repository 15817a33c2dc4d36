"""Who reaches the pipeline routes (kind ``sales_figures`` in tests/api/routes/sales_pipeline.py).

Runs over the same ``World`` and route table as the access-control suite, so a pipeline route
added without a classification, or classified but unreachable, fails here and there alike.
"""

from __future__ import annotations

import pytest

from forecourt.core.auth import Role
from tests.api.routes.sales_pipeline import SALES_FIGURES
from tests.api.test_access_control import ROUTES, assert_no_leak, assert_present, keys_of, published, w  # noqa: F401

KEYS = keys_of(SALES_FIGURES)


def test_every_pipeline_route_has_the_kind():
    assert len(KEYS) == 10  # five JSON dashboards, the insights (JSON, page, CSV), the page and its CSV


@pytest.mark.parametrize("key", KEYS)
def test_pipeline_routes_are_for_sales_reps_and_the_carmaker(published, w, key):  # noqa: F811
    assert_present(published, key)
    w.grant(w.dealer, "sales_contact")  # even with a grant, no customer appears in figures
    for caller in (w.rep, w.admin):
        response = w.call(key, caller)
        assert response.status_code == 200, (caller.email, response.text[:300])
        assert_no_leak(w, response)
    for caller in (w.analyst, w.agent, w.me, w.make.staff(w.dealer, Role.DEALER_SERVICE)):
        assert w.call(key, caller).status_code == 404, caller.email
    anonymous = w.call(key, None)
    assert anonymous.status_code == (401 if key[1].startswith("/api/") else 303)


@pytest.mark.parametrize("key", KEYS)
def test_a_rep_asking_for_another_dealer_gets_404(published, w, key):  # noqa: F811
    method, path = key
    client = w.client if path.startswith("/api/") else w.browser(w.rep)
    headers = w.rep.headers if path.startswith("/api/") else {}
    response = client.request(method, path, params={"dealer_id": w.dealer_b.id}, headers=headers,
                              follow_redirects=False)
    assert response.status_code == 404
    assert client.request(method, path, params={"rep_id": w.rep_b.user_id}, headers=headers,
                          follow_redirects=False).status_code == 404
