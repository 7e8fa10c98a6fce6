"""Admins' writes: register, change, enable, test and delete endpoints; rotate a secret."""

from django.db import transaction

from accounts.keys import keys_for
from accounts.models import User, Workspace
from webhooks.emit import event_emit
from webhooks.models import Delivery, Endpoint, Event
from webhooks.selectors import SECRET_FIELD, URL_FIELD, endpoint_row
from webhooks.signing import secret_new


def _seal_url_and_secret(endpoint: Endpoint, url: str, secret: str | None) -> None:
    keys, row = keys_for(endpoint.workspace), endpoint_row(endpoint.pk)
    endpoint.url_sealed = keys.seal_text(url, field=URL_FIELD, row=row)
    if secret is not None:
        endpoint.secret_sealed = keys.seal_text(secret, field=SECRET_FIELD, row=row)


@transaction.atomic
def endpoint_create(
    *,
    workspace: Workspace,
    actor: User,
    name: str,
    url: str,
    preset: str,
    events: list[str],
    include_content: bool,
) -> tuple[Endpoint, str]:
    """The new endpoint and its signing secret, which is shown once."""
    endpoint = Endpoint.objects.create(
        workspace=workspace,
        name=name,
        url_sealed=b"",
        secret_sealed=b"",
        preset=preset,
        events=sorted(set(events)),
        include_content=include_content,
        created_by=actor,
    )
    secret = secret_new()
    _seal_url_and_secret(endpoint, url, secret)
    endpoint.save(update_fields=["url_sealed", "secret_sealed"])
    return endpoint, secret


def endpoint_update(
    *,
    endpoint: Endpoint,
    name: str,
    url: str,
    preset: str,
    events: list[str],
    include_content: bool,
) -> None:
    endpoint.name, endpoint.preset = name, preset
    endpoint.events, endpoint.include_content = sorted(set(events)), include_content
    _seal_url_and_secret(endpoint, url, None)
    endpoint.save(update_fields=["name", "preset", "events", "include_content", "url_sealed"])


def endpoint_secret_rotate(*, endpoint: Endpoint) -> str:
    secret = secret_new()
    keys = keys_for(endpoint.workspace)
    endpoint.secret_sealed = keys.seal_text(
        secret, field=SECRET_FIELD, row=endpoint_row(endpoint.pk)
    )
    endpoint.save(update_fields=["secret_sealed"])
    return secret


def endpoint_enable(*, endpoint: Endpoint) -> None:
    endpoint.is_enabled, endpoint.failing_since, endpoint.disabled_at = True, None, None
    endpoint.save(update_fields=["is_enabled", "failing_since", "disabled_at"])


def endpoint_delete(*, endpoint: Endpoint) -> None:
    endpoint.delete()


@transaction.atomic
def endpoint_ping(*, endpoint: Endpoint, actor: User) -> Delivery | None:
    """A test delivery, so the admin sees the endpoint answer before real events flow."""
    if not endpoint.is_enabled:
        return None
    made = event_emit(
        workspace=endpoint.workspace,
        event=Event.PING,
        data=lambda _content: {"endpoint_id": endpoint.pk, "sent_by": actor.pk},
        endpoints=[endpoint],
    )
    return made[0]
