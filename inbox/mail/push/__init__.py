"""Push: the provider tells Trupeo about new mail, and a sync is queued at once.

* Gmail (`gmail.py`): `users.watch` publishes each change of the INBOX to a Google Cloud
  Pub/Sub topic; its push subscription posts to `/hooks/gmail/` with an OIDC token signed by
  Google for our service account, which is verified before anything else is read.
* Microsoft 365 (`graph.py`): a Graph subscription on the Inbox's messages posts change and
  lifecycle notifications to `/hooks/graph/`; each carries the subscription's `clientState`,
  a random secret Trupeo stores hashed and compares in constant time.

Both expire (Gmail after 7 days, Graph after at most 4,230 minutes for messages) and are
renewed by the `renew_push_subscriptions` beat task well before. Polling (the
`sync_all_mailboxes` beat task) stays on, slower while push is healthy, and catches anything
a lost notification missed.
"""

from inbox.mail.push.common import PushMalformed, PushRefused, push_configured, push_due
from inbox.mail.push.gmail import gmail_push_receive
from inbox.mail.push.graph import graph_notifications_receive
from inbox.mail.push.subscriptions import push_renew, push_start, push_stop

__all__ = [
    "PushMalformed",
    "PushRefused",
    "gmail_push_receive",
    "graph_notifications_receive",
    "push_configured",
    "push_due",
    "push_renew",
    "push_start",
    "push_stop",
]
