"""Admins create, toggle and delete the rules of a mailbox (inbox.mail.rules applies them).

A rule's pattern is sealed (it is often an address); its agents and assignee must be members.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.keys import keys_for
from accounts.models import Membership, User
from inbox.mail.sealing import rule_row
from inbox.models import Mailbox, Rule, RuleField, RuleKind, Tag


@transaction.atomic
def rule_create(
    *,
    mailbox: Mailbox,
    kind: str,
    field: str = "",
    pattern: str = "",
    tag: Tag | None = None,
    assignee: User | None = None,
    agents: list[User] | None = None,
) -> Rule:
    members = set(
        Membership.objects.filter(workspace_id=mailbox.workspace_id).values_list(
            "user_id", flat=True
        )
    )
    if tag is not None and tag.workspace_id != mailbox.workspace_id:
        raise ValidationError(_("That tag belongs to another workspace."))
    if assignee is not None and assignee.pk not in members:
        raise ValidationError(_("That person is not a member of this workspace."))
    agents = agents or []
    if any(agent.pk not in members for agent in agents):
        raise ValidationError(_("That person is not a member of this workspace."))
    pattern = " ".join(pattern.split())
    if kind == RuleKind.MATCH:
        if field not in RuleField.values or not pattern:
            raise ValidationError(_("Say which field must contain which text."))
        if tag is None and assignee is None:
            raise ValidationError(_("A rule must add a tag or assign someone."))
    elif kind == RuleKind.ROUND_ROBIN:
        if not agents:
            raise ValidationError(_("Choose the teammates who take turns."))
        field, pattern, tag, assignee = "", "", None, None
    else:
        raise ValidationError(_("Unknown kind of rule."))
    last = Rule.objects.filter(mailbox=mailbox).order_by("-position").first()
    rule = Rule.objects.create(
        workspace_id=mailbox.workspace_id,
        mailbox=mailbox,
        kind=kind,
        field=field,
        tag=tag,
        assignee=assignee,
        position=(last.position + 1) if last else 0,
    )
    if pattern:
        rule.pattern_sealed = keys_for(mailbox.workspace).seal_text(
            pattern, field="rule.pattern", row=rule_row(rule.pk)
        )
        rule.save(update_fields=["pattern_sealed"])
    rule.agents.set(agents)
    return rule


def rule_delete(*, rule: Rule) -> None:
    rule.delete()


def rule_toggle(*, rule: Rule) -> None:
    rule.enabled = not rule.enabled
    rule.save(update_fields=["enabled"])
