"""The endpoints providers post to about new mail: Gmail's Pub/Sub push and Microsoft Graph's
change notifications. No session, no CSRF token: each proves itself (a Google-signed token, a
per-subscription secret). They answer at once; the sync runs on a worker."""

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from inbox.mail.push import (
    PushMalformed,
    PushRefused,
    gmail_push_receive,
    graph_notifications_receive,
)

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Pub/Sub and Graph notifications are a few kilobytes
MAX_VALIDATION_TOKEN = 1024


def _plain(text: str, status: int) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_POST
def gmail_push(request: HttpRequest) -> HttpResponse:
    """401 for a token that does not verify (nothing read, nothing queued); 204 otherwise,
    an unknown mailbox included, so Pub/Sub stops retrying."""
    if len(request.body) > MAX_BODY:
        return _plain("too large", 413)
    try:
        gmail_push_receive(
            body=request.body, authorization=request.headers.get("Authorization", "")
        )
    except PushMalformed as refusal:
        logger.warning("gmail push ignored: %s", refusal)
        return HttpResponse(status=204)  # signed by Google but unreadable: never retried
    except PushRefused as refusal:
        logger.warning("gmail push refused: %s", refusal)
        return _plain("unauthorized", 401)
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def graph_notifications(request: HttpRequest) -> HttpResponse:
    """Graph's validation handshake (echo the token, text/plain) and its notifications
    (202, whatever they hold: a forged one learns nothing from the answer)."""
    token = request.GET.get("validationToken")
    if token is not None:
        # Echoed as plain text, never as HTML: the token is whatever the caller sent.
        return _plain(token[:MAX_VALIDATION_TOKEN], 200)
    if len(request.body) > MAX_BODY:
        return _plain("too large", 413)
    try:
        graph_notifications_receive(body=request.body)
    except PushRefused as refusal:
        logger.warning("graph notification refused: %s", refusal)
    return HttpResponse(status=202)
