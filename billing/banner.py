"""What the app-wide billing banner says for a workspace."""

from dataclasses import dataclass
from datetime import datetime

from accounts.models import Workspace
from billing.models import Status, Subscription
from billing.states import grace_ends_at, is_local_trial, should_be_read_only
from billing.stripe_api import billing_enabled


@dataclass(frozen=True)
class Banner:
    kind: str  # "trial", "past_due" or "read_only"
    days_left: int = 0
    until: datetime | None = None
    trial_ended: bool = False


def banner_for(workspace: Workspace) -> Banner | None:
    if not billing_enabled():
        return None
    subscription = Subscription.objects.filter(workspace=workspace).first()
    # The flag is refreshed every 15 minutes; the banner tells the truth at once.
    if workspace.is_read_only or (subscription and should_be_read_only(subscription)):
        trial_ended = subscription is not None and (
            is_local_trial(subscription) or subscription.status == Status.INCOMPLETE
        )
        return Banner(kind="read_only", trial_ended=trial_ended)
    if subscription is None:
        return None
    if is_local_trial(subscription):
        return Banner(kind="trial", days_left=subscription.trial_days_left)
    if subscription.status == Status.PAST_DUE:
        return Banner(kind="past_due", until=grace_ends_at(subscription))
    return None
