"""Signals sent by accounts, for the apps that build on it (accounts imports none of them).

`workspace_created(workspace, user, terms_version, terms_ip)`: sent by `workspace_create`
inside the creating transaction, once the owner's membership exists. `user` is None when an
operator creates the workspace for an invited owner; `terms_version` is the version of the
data-processing terms the user accepted (from the address `terms_ip`), or None when nobody
accepted them in person (operator commands, demo data).

`master_key_rotated()`: sent by `master_key_rotate` once every workspace key is re-wrapped,
so other keys wrapped by the master keys (the public site's) follow the rotation.

`processor_terms_accepted(workspace, user, terms_version, terms_ip)`: the invited owner of a
workspace an operator created accepted the data-processing terms when joining it. Sent by
`manage.py workspace_create` too, with `operator` (who ran it) and `email` (the owner's, whose
account may not exist yet): a record made by the operator on behalf of the client.

What happens to a workspace's rows afterwards is told whoever makes the change — a service,
an operator in the admin, the deletion of an account or of the workspace (whose memberships
go with it) — so these are sent from the rows' own save and delete, below:

`workspace_changed(workspace)`: an existing workspace was saved again (renamed, a setting).
`workspace_deleting(workspace)`: a workspace is about to be deleted; its rows still exist.
`member_added(membership)`: someone became a member of a workspace.
`member_removed(membership)`: a membership ended (removed, account or workspace deleted).
"""

from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import Signal, receiver

from accounts.models import Membership, Workspace

workspace_created = Signal()
master_key_rotated = Signal()
processor_terms_accepted = Signal()
workspace_changed = Signal()
workspace_deleting = Signal()
member_added = Signal()
member_removed = Signal()


# Rows loaded from fixtures (`raw`) are copies of a state, not events: nothing is told.


@receiver(post_save, sender=Workspace, dispatch_uid="accounts_workspace_changed")
def _workspace_saved(sender, instance: Workspace, created: bool, raw: bool = False, **kwargs):
    if not created and not raw:
        workspace_changed.send(sender=Workspace, workspace=instance)


@receiver(pre_delete, sender=Workspace, dispatch_uid="accounts_workspace_deleting")
def _workspace_deleting(sender, instance: Workspace, **kwargs):
    workspace_deleting.send(sender=Workspace, workspace=instance)


@receiver(post_save, sender=Membership, dispatch_uid="accounts_member_added")
def _membership_saved(sender, instance: Membership, created: bool, raw: bool = False, **kwargs):
    if created and not raw:
        member_added.send(sender=Membership, membership=instance)


@receiver(post_delete, sender=Membership, dispatch_uid="accounts_member_removed")
def _membership_deleted(sender, instance: Membership, **kwargs):
    member_removed.send(sender=Membership, membership=instance)
