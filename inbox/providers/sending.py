"""Sending through the provider's API: Gmail `messages.send`, Graph `sendMail` with MIME.

The bytes are the ones composed and sealed when the message was queued: our own Message-ID,
In-Reply-To and References. Gmail answers with the id of its sent copy, which becomes the
provider key of the filed message, so the sync recognises it; Graph answers 202 with no id,
so the message is filed under "sent:<pk>" and its copy in Sent Items is recognised, when it
syncs back, by its Message-ID (`ApiSync.without_filed_copies`).

Outcomes map to the delivery state machine (`inbox.sending.delivery`): a refusal or a
throttle that never ended left nothing (`_Refused`); a broken connection or a server error
after the request went out may or may not have sent it (`_Interrupted`).
"""

from __future__ import annotations

import base64

import requests
from django.utils.translation import gettext as _

from inbox.models import Outgoing, Provider
from inbox.providers import ProviderError, ReconnectNeeded
from inbox.providers.api import Throttled, Unsure
from inbox.providers.gmail import UNITS, USER, gmail_api
from inbox.providers.graph import graph_api
from inbox.sending.delivery import _Delivery, _Interrupted, _Refused


def api_deliver(outgoing: Outgoing, raw: bytes) -> tuple[_Delivery, str | None]:
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
            return _Delivery(refused={}), str(response.json()["id"])
        api = graph_api(mailbox)
        api.call(
            "POST",
            "/v1.0/me/sendMail",
            data=base64.b64encode(raw),
            headers={"Content-Type": "text/plain"},
            ok=(202,),
            retry_broken=False,
        )
        return _Delivery(refused={}), None
    except ReconnectNeeded as error:
        raise _Refused(str(error), temporary=False) from error
    except Throttled as error:
        raise _Refused(str(error), temporary=True) from error
    except Unsure as error:
        raise _Interrupted(str(error)) from error
    except requests.ConnectionError as error:
        if isinstance(error, requests.ConnectTimeout) or _never_connected(error):
            raise _Refused(
                _("The provider could not be reached; Trupeo will retry."), temporary=True
            ) from error
        raise _Interrupted(type(error).__name__) from error
    except requests.RequestException as error:
        raise _Interrupted(type(error).__name__) from error
    except ProviderError as error:
        raise _Refused(str(error), temporary=False) from error


def _never_connected(error: requests.ConnectionError) -> bool:
    cause = error.args[0] if error.args else None
    return "NewConnectionError" in type(getattr(cause, "reason", None)).__name__
