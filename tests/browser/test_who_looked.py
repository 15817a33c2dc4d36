""""Who looked" in Chromium: a rep paging through the customer list many times is one line the driver
can open, the opening of her file stays a line of its own, and the export still holds every read."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser
LIST_VIEWS = 6


def test_list_appearances_are_summarised_without_hiding_a_read(new_context, world):
    rep = new_context().new_page()
    log_in(rep, world.rep_email)
    for _ in range(LIST_VIEWS - 1):
        rep.goto("/workspace/customers")
    expect(rep.get_by_role("link", name=world.customer_name)).to_be_visible()
    rep.goto(f"/workspace/customers/{world.customer_id}")
    expect(rep.locator("body")).to_contain_text(world.vin)

    driver = new_context().new_page()
    log_in(driver, world.customer_email)
    driver.goto("/me/access-log")
    rows = driver.locator("tbody tr")
    expect(rows).to_have_count(2)  # the list views of today, and the opening of her file
    expect(rows.nth(0)).to_contain_text("customer 360")
    summary = rows.nth(1).locator("details.list-reads")
    expect(summary.locator("summary")).to_have_text(
        re.compile(rf"appeared in their list of customers {LIST_VIEWS} times"))
    times = summary.locator("li")
    expect(times.first).to_be_hidden()
    summary.locator("summary").click()
    expect(times).to_have_count(LIST_VIEWS)
    expect(times.first).to_be_visible()

    with driver.expect_download() as download:
        driver.goto("/me/data")
        driver.get_by_role("link", name=re.compile("Download")).first.click()
    document = json.loads(open(download.value.path(), encoding="utf-8").read())
    reads = [entry["what"] for entry in document["access_log"]]
    assert reads.count("customer list") == LIST_VIEWS and reads.count("customer 360") == 1
