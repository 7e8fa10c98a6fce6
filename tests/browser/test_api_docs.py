"""The API's docs page in a real Chromium: Swagger UI renders every operation from our own
static files, with no request leaving for a CDN and no CSP violation (`new_page` fails on
any)."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_docs_page_renders_offline_under_the_csp(new_page, live_server):
    page = new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url) if not request.url.startswith(live_server.url) else None
        ),
    )
    page.goto("/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/conversations" in s.replace("\u200b", "") for s in summaries)
    assert len(summaries) >= 10
    assert outside == []
