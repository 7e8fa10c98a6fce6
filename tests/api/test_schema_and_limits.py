"""The API's face: its OpenAPI document and docs page, its errors, and its rate limit (with
Redis up, and down)."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from openapi_spec_validator import validate

from api.models import ApiToken
from tests.api.conftest import Api, make_token
from tests.parts.redis import own_redis  # noqa: F401
from tests.urlwalk import walk_urls
from trupeo import cache as resilient_cache

pytestmark = pytest.mark.django_db


def test_the_openapi_document_is_valid_and_lists_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    documented = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
    }
    routes = [r for r in walk_urls() if "api" in r.namespaces and r.name.startswith("api_")]
    assert len(routes) >= 10
    for route in routes:
        path = "/" + re.sub(r"\{(\w+)\}", r"{\1}", route.template)
        assert any(p == path for _m, p in documented), path
    # Every operation says how to authenticate, and what an error looks like.
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("security"), (method, path)


def test_the_docs_page_works_offline_under_our_csp(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    # Every script and stylesheet is ours (static files), none from a CDN.
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
    csp = response["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    # No inline script: only JSON data blocks, which the CSP does not need to allow.
    for attributes in re.findall(r"<script([^>]*)>", html):
        assert "src=" in attributes or 'type="application/json"' in attributes


def test_errors_are_json_with_a_sentence(alice_api, conversation):
    cases = [
        (alice_api.get("/conversations/999999"), 404),
        (alice_api.get("/nothing-here"), 404),
        (alice_api.post(f"/conversations/{conversation.pk}/status", raw="{not json"), 400),
        (alice_api.post(f"/conversations/{conversation.pk}/status", {"status": 3}), 422),
        (alice_api.post(f"/conversations/{conversation.pk}/status", {}), 422),
        (alice_api.get("/conversations", {"q": "a\x00b"}), 400),
        (Api(None).get("/conversations"), 401),
        (alice_api.client.delete("/api/v1/conversations", headers=alice_api.headers()), 405),
    ]
    for response, status in cases:
        assert response.status_code == status, (status, response.content[:200])
        error = response.json()["error"]
        assert error["code"] and error["message"].endswith((".", ")")), error


def test_validation_errors_name_the_field(alice_api, conversation):
    response = alice_api.post(f"/conversations/{conversation.pk}/status", {"status": "x"})
    error = response.json()["error"]
    assert error["code"] == "invalid" and "status" in error["message"]
    assert error["details"][0]["field"] == "status"


def test_french_when_asked(alice_api, conversation):
    response = alice_api.get("/conversations/999999", **{"accept-language": "fr"})
    assert (
        response.json()["error"]["message"]
        != alice_api.get("/conversations/999999").json()["error"]["message"]
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00" * 10,
        b"[" * 100_000,
        b"\xff\xfe\xfd",
        b'{"body": "a\\u0000b"}',
        b'{"body": ["list"]}',
        b'{"body": {"a": null}}',
        b'{"body": 12}',
        b"null",
        b"[]",
        b'"string"',
        b'{"body": "' + b"x" * 300_000 + b'"}',
    ],
)
def test_hostile_bodies_never_give_a_5xx(alice_api, conversation, raw):
    from inbox.models import Note

    for path in ("notes", "status", "assign", "tags", "replies"):
        response = alice_api.post(f"/conversations/{conversation.pk}/{path}", raw=raw)
        assert response.status_code < 500, (path, response.status_code)
        # Unknown fields are ignored: {"body": ...} is an empty change of the tags.
        assert response.status_code >= 400 or path == "tags", (path, response.status_code)
        if response.status_code >= 400:
            assert response.json()["error"]["message"]
    assert not Note.objects.exists()


def test_the_rate_limit_is_a_429_with_retry_after(workspace, alice, settings):
    settings.API_RATE_LIMIT = 5
    api = Api(make_token(workspace, alice).secret)
    other = Api(make_token(workspace, alice).secret)
    statuses = [api.get("/me").status_code for _ in range(5)]
    assert statuses == [200] * 5
    response = api.get("/me")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= settings.API_RATE_WINDOW
    assert response["X-RateLimit-Remaining"] == "0"
    # Per token: another token of the same workspace is not slowed.
    assert other.get("/me").status_code == 200


@pytest.fixture
def redis_cache(own_redis, settings, monkeypatch):  # noqa: F811
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "trupeo.cache.ResilientRedisCache",
            "LOCATION": own_redis.url,
            "OPTIONS": {
                "socket_connect_timeout": 0.5,
                "socket_timeout": 1.0,
                "LOCAL_FALLBACK_PREFIXES": ["allauth:rl:", "ratelimit:"],
            },
        },
    }
    monkeypatch.setattr(resilient_cache, "RETRY_AFTER", 0.5)
    return own_redis


def test_redis_down_the_api_keeps_serving_and_limiting(
    redis_cache, workspace, alice, conversation, settings
):
    """Decision: fail open to this process's memory. Reads keep serving while Redis is down,
    each process still enforces the limit on its own, and the answer says the limit is per
    process (`X-RateLimit-Scope: process`) until Redis is back."""
    settings.API_RATE_LIMIT = 3
    api = Api(make_token(workspace, alice).secret)
    first = api.get("/conversations")
    assert first.status_code == 200 and first["X-RateLimit-Scope"] == "token"
    redis_cache.kill()
    response = api.get("/conversations")
    assert response.status_code == 200
    assert len(response.json()["conversations"]) == 1
    assert response["X-RateLimit-Scope"] == "process"
    statuses = [api.get("/conversations").status_code for _ in range(3)]
    assert statuses[-1] == 429  # still limited, in this process
    assert ApiToken.objects.get().last_used_at is not None


def test_tokens_are_never_logged(workspace, alice, caplog, conversation):
    created = make_token(workspace, alice)
    secret_part = created.secret.rsplit("_", 1)[1]
    with caplog.at_level("DEBUG"):
        Api(created.secret).get("/conversations/999999")
        Api(created.secret + "x").get("/conversations")
        Api(None).get("/conversations", authorization="Basic " + created.secret)
    assert secret_part not in caplog.text


def test_the_tokens_page_links_the_docs(alice_client):
    page = alice_client.get(reverse("api_tokens")).content.decode()
    assert "/api/v1/docs" in page
