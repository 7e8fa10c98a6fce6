"""Contacts and organisations: who writes to a workspace, sealed, found through blind tokens.

Every name, address, domain and note is sealed with the workspace key (`contacts.sealing`
names the rows); lookups go through keyed digests (an address, a domain) and searches
through the blind index (`inbox.mail.search` tokens), so nothing here is readable at rest.
"""

from django.conf import settings
from django.db import models

from accounts.models import Workspace
from inbox.fields import TokenArrayField
from inbox.models import Conversation


class Organisation(models.Model):
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # Blind token of the normalised domain ("org:" + domain): one organisation per domain.
    domain_token = models.BigIntegerField()
    domain_sealed = models.BinaryField()
    name_sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "domain_token"], name="organisation_domain_unique"
            )
        ]


class Contact(models.Model):
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    name_sealed = models.BinaryField()
    # False while no mail gave a display name: a later one fills it without decrypting.
    named = models.BooleanField(default=False)
    # The team's shared note about the person (None: no note).
    note_sealed = models.BinaryField(null=True)
    note_updated_at = models.DateTimeField(null=True, blank=True)
    note_updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Blind index of the name and every address (words and address parts).
    search_tokens = TokenArrayField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["workspace", "-id"])]


class ContactAddress(models.Model):
    """One address of a contact; a merged contact has several."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="addresses")
    # Keyed digest of the normalised address (`WorkspaceKeys.person_digest`, as the person
    # erasure and its ledger compute it): the lookup key, and how an erasure finds the row.
    digest = models.CharField(max_length=64)
    # Sealed bound to the digest, so a merge moves the row to another contact as it is.
    address_sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "digest"], name="contact_address_digest_unique"
            )
        ]


class ContactConversation(models.Model):
    """A contact took part in a conversation (ids only), kept by the pipeline's signal."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="+", db_index=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "conversation"], name="contact_conversation_unique"
            )
        ]
