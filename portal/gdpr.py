"""What a person's erasure (`privacy.gdpr.deletion.person_erase`) does to the portal: their
profile (the name they gave), their sessions and sign-in links, and every delegation to them
or of their address to someone else. Public so privacy can call it; nothing is decrypted but
the workspace's delegations (their targets have no blind token), a short list."""

from django.db import transaction
from django.db.models import Q

from accounts.keys import keys_for
from accounts.models import Workspace
from portal.addresses import address_token, normalise
from portal.models import Delegation, PortalProfile, PortalSession, SignInLink
from portal.selectors import delegation_content


@transaction.atomic
def person_portal_erase(*, workspace: Workspace, address: str) -> int:
    """Delete the portal's rows of `address` in `workspace`; returns how many went."""
    keys = keys_for(workspace)
    address = normalise(address)
    token = address_token(keys, address)
    deleted = 0
    for model in (PortalProfile, PortalSession, SignInLink):
        count, _ = model.objects.filter(workspace=workspace, address_token=token).delete()
        deleted += count
    # Delegations to them are found by token; of their address, by opening each one.
    doomed = []
    for delegation in Delegation.objects.filter(workspace=workspace).exclude(delegate_token=token):
        if delegation_content(keys, delegation).get("target") == address:
            doomed.append(delegation.pk)
    count, _ = Delegation.objects.filter(
        Q(delegate_token=token) | Q(pk__in=doomed), workspace=workspace
    ).delete()
    return deleted + count
