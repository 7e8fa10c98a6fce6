"""Rules of a mailbox, applied at ingestion to conversations a customer starts.

In position order: "match" rules tag and/or assign when the sender, a recipient or the
subject contains their text (case and accents ignored); a "round-robin" rule assigns to the
next of its agents who is still a member and not away. A conversation assigned by an earlier
rule is not reassigned by a later one. Patterns are sealed (they are often addresses); admins
write rules through inbox.actions.rules.
"""

from dataclasses import dataclass

from accounts.keys import keys_for
from accounts.models import Membership, User
from inbox.mail.parsing import ParsedMessage
from inbox.mail.sealing import rule_row
from inbox.mail.search import fold
from inbox.mail.signals import Arrivals, TrailLine
from inbox.models import (
    ActivityKind,
    Conversation,
    ConversationTag,
    Mailbox,
    Rule,
    RuleField,
    RuleKind,
)
from trupeo.crypto import WorkspaceKeys


def rule_pattern(keys: WorkspaceKeys, rule: Rule) -> str:
    return keys.open_text(rule.pattern_sealed, field="rule.pattern", row=rule_row(rule.pk)) or ""


@dataclass
class NewConversation:
    conversation: Conversation
    parsed: ParsedMessage


def _haystack(field: str, p: ParsedMessage) -> str:
    if field == RuleField.FROM:
        addresses = [p.from_] if p.from_ else []
    elif field == RuleField.TO:
        addresses = [*p.to, *p.cc]
    else:
        return fold(p.subject or "")
    return " ".join(fold(f"{a.name} {a.address}") for a in addresses)


def rules_apply(*, mailbox: Mailbox, started: list[NewConversation], arrivals: Arrivals) -> None:
    """Called by ingestion, inside its transaction, once per batch with new conversations;
    what people must see is added to `arrivals`."""
    if not started:
        return
    rules = list(Rule.objects.filter(mailbox=mailbox, enabled=True).prefetch_related("agents"))
    if not rules:
        return
    keys = keys_for(mailbox.workspace)
    patterns = {r.pk: fold(rule_pattern(keys, r)) for r in rules if r.kind == RuleKind.MATCH}
    away = set(
        Membership.objects.filter(workspace_id=mailbox.workspace_id, is_away=True).values_list(
            "user_id", flat=True
        )
    )
    members = set(
        Membership.objects.filter(workspace_id=mailbox.workspace_id).values_list(
            "user_id", flat=True
        )
    )
    for new in started:
        conversation = new.conversation
        for rule in rules:
            if rule.kind == RuleKind.MATCH:
                if patterns[rule.pk] not in _haystack(rule.field, new.parsed):
                    continue
                if rule.tag_id:
                    _, created = ConversationTag.objects.get_or_create(
                        conversation=conversation, tag_id=rule.tag_id
                    )
                    if created:
                        arrivals.trail.append(
                            TrailLine(conversation, ActivityKind.TAGGED, {"tag_id": rule.tag_id})
                        )
                if (
                    rule.assignee_id
                    and conversation.assignee_id is None
                    and rule.assignee_id in members - away
                ):
                    _assign(conversation, rule.assignee, arrivals)
            elif conversation.assignee_id is None:
                agent = _next_agent(rule, members - away)
                if agent is not None:
                    _assign(conversation, agent, arrivals)


def _next_agent(rule: Rule, available: set[int]) -> User | None:
    """The agent after the last one served, in a stable order; turns are kept under a lock."""
    locked = Rule.objects.select_for_update().get(pk=rule.pk)
    agents = sorted((a for a in rule.agents.all() if a.pk in available), key=lambda a: a.pk)
    if not agents:
        return None
    following = [a for a in agents if locked.last_assigned_id and a.pk > locked.last_assigned_id]
    agent = following[0] if following else agents[0]
    Rule.objects.filter(pk=rule.pk).update(last_assigned=agent)
    rule.last_assigned = agent
    return agent


def _assign(conversation: Conversation, user: User, arrivals: Arrivals) -> None:
    Conversation.objects.filter(pk=conversation.pk).update(assignee=user)
    conversation.assignee = user
    arrivals.trail.append(TrailLine(conversation, ActivityKind.ASSIGNED, {"assignee": user}))
    arrivals.assigned.append((conversation, user))
