"""Signals sent by accounts, for the apps that build on it (accounts imports none of them).

`workspace_created(workspace, user, terms_version)`: sent inside the creating transaction,
once the owner's membership exists. `user` is None when an operator creates the workspace
for an invited owner; `terms_version` is the version of the data-processing terms the user
accepted, or None when nobody accepted them (operator commands, demo data).

`master_key_rotated()`: sent by `master_key_rotate` once every workspace key is re-wrapped,
so other keys wrapped by the master keys (the public site's) follow the rotation.
"""

from django.dispatch import Signal

workspace_created = Signal()
master_key_rotated = Signal()

# `processor_terms_accepted(workspace, user, terms_version)`: the invited owner of a workspace an
# operator created accepted the data-processing terms when joining it.
processor_terms_accepted = Signal()
