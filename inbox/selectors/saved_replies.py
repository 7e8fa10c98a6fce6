"""Saved replies as the composer reads them, and their variables.

Variables are replaced by a small explicit substitution, never by a template engine: a saved
reply is text typed by a person, and `{% … %}` or `{{ x.y }}` in it must never run anything.
Only the names in VARIABLES are known; any other `{{ … }}` is left as it is and reported, and so
is a known variable without a value (a customer without a name), so the agent fills it in."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy

from accounts.keys import keys_for
from accounts.models import User, Workspace
from inbox.mail.sealing import saved_reply_row
from inbox.models import Mailbox, SavedReply
from trupeo.crypto import WorkspaceKeys

VARIABLES = {
    "customer.first_name": gettext_lazy("the customer's first name"),
    "customer.name": gettext_lazy("the customer's full name"),
    "customer.email": gettext_lazy("the customer's address"),
    "agent.first_name": gettext_lazy("your first name"),
    "agent.name": gettext_lazy("your full name"),
    "mailbox.address": gettext_lazy("the shared address"),
    "conversation.subject": gettext_lazy("the subject of the conversation"),
}


_VARIABLE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


@dataclass(frozen=True)
class Rendered:
    text: str
    unknown: list[str]  # `{{ name }}` that is not a variable, left as typed
    empty: list[str]  # known variables without a value here, left as typed


def render_variables(text: str, values: dict[str, str]) -> Rendered:
    """Replace the known variables of `text` by `values`; leave everything else visible."""
    unknown: list[str] = []
    empty: list[str] = []

    def replace(match: re.Match) -> str:
        name = match.group(1)
        if name not in VARIABLES:
            if name not in unknown:
                unknown.append(name)
            return match.group(0)
        value = (values.get(name) or "").strip()
        if not value:
            if name not in empty:
                empty.append(name)
            return match.group(0)
        return value

    return Rendered(text=_VARIABLE.sub(replace, text or ""), unknown=unknown, empty=empty)


def unknown_variables(text: str) -> list[str]:
    names = []
    for name in _VARIABLE.findall(text or ""):
        if name not in VARIABLES and name not in names:
            names.append(name)
    return names


def variable_values(
    *, customer: dict, agent: User, mailbox: Mailbox, subject: str
) -> dict[str, str]:
    """The values of VARIABLES; `customer` is {"name", "address"} as envelopes hold them."""
    name = " ".join((customer.get("name") or "").split())
    agent_name = " ".join((agent.name or "").split())
    return {
        "customer.first_name": name.split(" ")[0] if name else "",
        "customer.name": name,
        "customer.email": customer.get("address") or "",
        "agent.first_name": agent_name.split(" ")[0] if agent_name else "",
        "agent.name": agent_name,
        "mailbox.address": mailbox.address,
        "conversation.subject": subject or "",
    }


@dataclass(frozen=True)
class SavedReplyView:
    id: int
    title: str
    body: str
    mailbox_id: int | None
    mailbox_label: str


def saved_reply_open(keys: WorkspaceKeys, saved_reply: SavedReply) -> SavedReplyView:
    row = saved_reply_row(saved_reply.pk)
    mailbox = saved_reply.mailbox if saved_reply.mailbox_id else None
    return SavedReplyView(
        id=saved_reply.pk,
        title=keys.open_text(saved_reply.title_sealed, field="saved_reply.title", row=row) or "",
        body=keys.open_text(saved_reply.body_sealed, field="saved_reply.body", row=row) or "",
        mailbox_id=saved_reply.mailbox_id,
        mailbox_label=mailbox.label if mailbox else "",
    )


def saved_replies_for(
    *, workspace: Workspace, mailbox: Mailbox | None = None
) -> list[SavedReplyView]:
    """The workspace's saved replies (for one mailbox: its own and the shared ones), by title."""
    qs = SavedReply.objects.filter(workspace=workspace).select_related("mailbox")
    if mailbox is not None:
        qs = qs.filter(Q(mailbox__isnull=True) | Q(mailbox=mailbox))
    keys = keys_for(workspace)
    return sorted((saved_reply_open(keys, s) for s in qs), key=lambda s: s.title.casefold())
