"""Sending through the provider's API: Gmail `messages.send`, Graph `sendMail` with MIME.

The bytes are the ones composed and sealed when the message was queued: our own Message-ID,
In-Reply-To and References. Gmail answers with the id of its sent copy, which becomes the
provider key of the filed message, so the sync recognises it; Graph answers 202 with no id,
so the message is filed under "sent:<pk>" and its copy in Sent Items is recognised, when it
syncs back, by its Message-ID (`ApiSync.without_filed_copies`).

`api_find_sent` looks for the provider's copy by Message-ID (Gmail `rfc822msgid:` among SENT,
Graph `internetMessageId` in Sent Items): how the recovery settles a send whose worker died.

Outcomes map to the delivery state machine (`inbox.mail.sending.delivery`, outcomes in `.outcomes`): a refusal or a
throttle that never ended left nothing (`Refused`, a throttle or an unreachable provider is
retried later); a broken connection or a server error after the request went out may or may
not have sent it (`Interrupted`, checkable: the next attempt looks in Sent by Message-ID
before sending again, so it is retried without ever being sent twice).
"""

from __future__ import annotations

import base64

import requests
from django.utils.translation import gettext as _

from inbox.mail.providers import ProviderError, ReconnectNeeded
from inbox.mail.providers.api import Throttled, Unsure
from inbox.mail.providers.gmail import (
    UNITS,
    USER,
    gmail_api,
    internal_date,
    message_get_raw,
    raw_bytes,
)
from inbox.mail.providers.graph import IMMUTABLE, WELL_KNOWN, graph_api, received
from inbox.mail.sending.outcomes import Delivery, Interrupted, Refused, SentCopy
from inbox.models import Direction, FolderRole, Mailbox, Message, Outgoing, Provider


def api_deliver(outgoing: Outgoing, raw: bytes) -> tuple[Delivery, str | None]:
    """Send `raw`; returns the delivery and the provider key of the sent copy, if known."""
    mailbox = outgoing.mailbox
    try:
        if mailbox.provider == Provider.GOOGLE:
            api = gmail_api(mailbox)
            body = {"raw": base64.urlsafe_b64encode(raw).decode("ascii")}
            thread = outgoing.conversation.provider_thread_id if outgoing.conversation else ""
            if thread:
                body["threadId"] = thread  # Gmail files the reply in the customer's thread
            response = api.call(
                "POST", f"{USER}/messages/send", units=UNITS["send"], json=body, retry_broken=False
            )
            return Delivery(refused={}), str(response.json()["id"])
        api = graph_api(mailbox)
        api.call(
            "POST",
            "/v1.0/me/sendMail",
            data=base64.b64encode(raw),
            headers={"Content-Type": "text/plain"},
            ok=(202,),
            retry_broken=False,
        )
        return Delivery(refused={}), None
    except ReconnectNeeded as error:
        raise Refused(str(error), temporary=False) from error
    except Throttled as error:  # its own sentence speaks of the sync
        raise Refused(
            _("The provider asked Trupeo to slow down or was unavailable."), temporary=True
        ) from error
    except Unsure as error:
        raise Interrupted(str(error), checkable=True) from error
    except requests.ConnectionError as error:
        if isinstance(error, requests.ConnectTimeout) or _never_connected(error):
            raise Refused(
                _("The provider could not be reached; Trupeo will retry."), temporary=True
            ) from error
        raise Interrupted(_unanswered(), checkable=True) from error
    except requests.RequestException as error:
        raise Interrupted(_unanswered(), checkable=True) from error
    except ProviderError as error:
        # The sign-in service unreachable while renewing the token: nothing was sent yet.
        unreachable = isinstance(error.__cause__, requests.RequestException)
        raise Refused(str(error), temporary=unreachable) from error


def _unanswered() -> str:
    return _("The provider did not answer the request to send.")


def _never_connected(error: requests.ConnectionError) -> bool:
    cause = error.args[0] if error.args else None
    return "NewConnectionError" in type(getattr(cause, "reason", None)).__name__


def api_find_sent(mailbox: Mailbox, message_id: str, *, token: int | None) -> SentCopy | None:
    """The provider's copy of a message we sent, found by its Message-ID, or None.

    A copy the sync already stored (under the provider's id) is found here first, without
    asking: filing under that key links it instead of storing the message a second time.
    Raises (ProviderError, requests' errors) when the provider could not be asked.
    """
    if token is not None:
        stored = (
            Message.objects.filter(
                mailbox=mailbox,
                message_id_token=token,
                outgoing__isnull=True,
                direction=Direction.OUTBOUND,  # not a copy that came back to us (Cc, Bcc)
            )
            .exclude(provider_key__startswith="sent:")
            .order_by("pk")
            .first()
        )
        if stored is not None:
            return SentCopy(stored.provider_key, internal_date=stored.received_at)
    wanted = message_id.strip()
    if not wanted:
        return None
    if mailbox.provider == Provider.GOOGLE:
        return _gmail_find_sent(mailbox, wanted)
    return _graph_find_sent(mailbox, wanted, well_known=WELL_KNOWN[FolderRole.SENT])


def _gmail_find_sent(mailbox: Mailbox, message_id: str) -> SentCopy | None:
    api = gmail_api(mailbox)
    listing = api.call(
        "GET",
        f"{USER}/messages",
        units=UNITS["list"],
        params={"labelIds": "SENT", "q": f"rfc822msgid:{message_id}", "maxResults": 10},
    ).json()
    for entry in listing.get("messages", []):
        body = message_get_raw(api, entry["id"])
        if body is None:
            continue  # deleted between the search and the read
        return SentCopy(str(body["id"]), raw=raw_bytes(body), internal_date=internal_date(body))
    return None


def _graph_find_sent(mailbox: Mailbox, message_id: str, *, well_known: str) -> SentCopy | None:
    api = graph_api(mailbox)
    quoted = message_id.replace("'", "''")  # OData string literal
    listing = api.call(
        "GET",
        f"/v1.0/me/mailFolders/{well_known}/messages",
        headers={"Prefer": IMMUTABLE},  # the id the delta sync knows the copy by
        params={
            "$filter": f"internetMessageId eq '{quoted}'",
            "$select": "id,internetMessageId,receivedDateTime",
        },
    ).json()
    for item in listing.get("value", []):
        response = api.call(
            "GET",
            f"/v1.0/me/messages/{item['id']}/$value",
            headers={"Prefer": IMMUTABLE},
            passthrough=(404,),
        )
        if response.status_code == 404:
            continue
        return SentCopy(
            item["id"], raw=response.content, internal_date=received(item.get("receivedDateTime"))
        )
    return None
