"""What the webhook pages show, opened with the workspace key only for the rows on the page."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db.models import OuterRef, Subquery

from accounts.keys import keys_for
from accounts.models import Workspace
from trupeo.crypto import WorkspaceKeys
from webhooks.models import Delivery, Endpoint, Event

URL_FIELD, SECRET_FIELD = "webhook.url", "webhook.secret"
PAGE = 50


def endpoint_row(endpoint_id: int) -> str:
    return f"webhook_endpoint:{endpoint_id}"


def endpoint_url(keys: WorkspaceKeys, endpoint: Endpoint) -> str:
    return keys.open_text(endpoint.url_sealed, field=URL_FIELD, row=endpoint_row(endpoint.pk)) or ""


def endpoint_secret(keys: WorkspaceKeys, endpoint: Endpoint) -> str:
    return (
        keys.open_text(endpoint.secret_sealed, field=SECRET_FIELD, row=endpoint_row(endpoint.pk))
        or ""
    )


@dataclass(frozen=True)
class EndpointView:
    endpoint: Endpoint
    host: str  # never the whole URL on a list: Slack's and Teams' carry their secret
    events: list[str]
    last: Delivery | None


def endpoints_for(*, workspace: Workspace) -> list[EndpointView]:
    endpoints = list(
        Endpoint.objects.filter(workspace=workspace)
        .annotate(
            last_id=Subquery(
                Delivery.objects.filter(endpoint=OuterRef("pk")).order_by("-id").values("pk")[:1]
            )
        )
        .order_by("name", "pk")
    )
    if not endpoints:
        return []
    keys = keys_for(workspace)
    last = Delivery.objects.in_bulk([e.last_id for e in endpoints if e.last_id])
    return [
        EndpointView(
            endpoint=e,
            host=urlsplit(endpoint_url(keys, e)).hostname or "",
            events=[str(Event(v).label) for v in e.events if v in Event.values],
            last=last.get(e.last_id),
        )
        for e in endpoints
    ]


def deliveries_page(*, endpoint: Endpoint, before: int | None) -> tuple[list[Delivery], int | None]:
    """One page of the log, newest first, by id (keyset); the id to continue before."""
    qs = Delivery.objects.filter(endpoint=endpoint).order_by("-id")
    if before is not None:
        qs = qs.filter(pk__lt=before)
    rows = list(qs[: PAGE + 1])
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return rows, (rows[-1].pk if more else None)
