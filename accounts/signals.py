"""Signals sent by accounts, for the apps that build on it (accounts imports none of them).

`workspace_created(workspace, user, terms_version, terms_ip)`: sent inside the creating
transaction, once the owner's membership exists. `user` is None when an operator creates the
workspace for an invited owner; `terms_version` is the version of the data-processing terms
the user accepted (from the address `terms_ip`), or None when nobody accepted them in person
(operator commands, demo data).

`master_key_rotated()`: sent by `master_key_rotate` once every workspace key is re-wrapped,
so other keys wrapped by the master keys (the public site's) follow the rotation.
"""

from django.dispatch import Signal

workspace_created = Signal()
master_key_rotated = Signal()

# `processor_terms_accepted(workspace, user, terms_version, terms_ip)`: the invited owner of a
# workspace an operator created accepted the data-processing terms when joining it. Sent by
# `manage.py workspace_create` too, with `operator` (who ran it) and `email` (the owner's, whose
# account may not exist yet): a record made by the operator on behalf of the client.
processor_terms_accepted = Signal()
