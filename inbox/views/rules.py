"""Admins set up tags and the rules of each mailbox."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import (
    WorkspaceRequest,
    admin_required,
    get_in_workspace,
    member_required,
    writable,
)
from accounts.keys import keys_for
from accounts.models import Membership
from inbox.actions import tags
from inbox.actions.rules import rule_create, rule_delete, rule_toggle
from inbox.mail.rules import rule_pattern
from inbox.models import Mailbox, Rule, RuleField, RuleKind, Tag, TagColor
from inbox.selectors.tags import workspace_tags


@member_required
@writable
def tags_manage(request: WorkspaceRequest) -> HttpResponse:
    """Everyone sees the tags and can create one; admins rename, recolour and delete."""
    if request.method == "POST":
        try:
            tags.tag_create(
                workspace=request.workspace,
                name=request.POST.get("name", ""),
                color=request.POST.get("color", TagColor.GREY),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Tag created."))
        return redirect("tags_manage")
    return render(
        request,
        "inbox/tags.html",
        {"tags": workspace_tags(request.workspace), "colors": TagColor.choices},
    )


@admin_required
@writable
@require_POST
def tag_edit(request: WorkspaceRequest, tag_id: int) -> HttpResponse:
    tag = get_in_workspace(request, Tag.objects.select_related("workspace"), pk=tag_id)
    try:
        if request.POST.get("action") == "delete":
            tags.tag_delete(tag=tag)
            messages.success(request, _("Tag deleted."))
        else:
            tags.tag_update(
                tag=tag,
                name=request.POST.get("name", ""),
                color=request.POST.get("color", tag.color),
            )
            messages.success(request, _("Tag saved."))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("tags_manage")


@admin_required
@writable
def mailbox_rules(request: WorkspaceRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_in_workspace(request, Mailbox.objects.select_related("workspace"), pk=mailbox_id)
    members = (
        Membership.objects.filter(workspace=request.workspace)
        .select_related("user")
        .order_by("user__name", "user__email")
    )
    if request.method == "POST":
        try:
            _create_from_post(request, mailbox, members)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Rule added. It applies to new conversations."))
        return redirect("mailbox_rules", mailbox_id=mailbox.pk)
    keys = keys_for(request.workspace)
    rules = list(
        Rule.objects.filter(mailbox=mailbox).select_related("assignee").prefetch_related("agents")
    )
    names = {t.id: t.name for t in workspace_tags(request.workspace)}
    return render(
        request,
        "inbox/rules.html",
        {
            "mailbox": mailbox,
            "rules": [
                {
                    "rule": r,
                    "pattern": rule_pattern(keys, r) if r.pattern_sealed else "",
                    "tag": names.get(r.tag_id, ""),
                }
                for r in rules
            ],
            "members": members,
            "fields": RuleField.choices,
            "tags": workspace_tags(request.workspace),
        },
    )


def _create_from_post(request: WorkspaceRequest, mailbox: Mailbox, members) -> Rule:
    by_id = {str(m.user_id): m.user for m in members}
    kind = request.POST.get("kind", "")
    tag = None
    if name := request.POST.get("tag_name", "").strip():
        tag = tags.tag_get_or_create(workspace=request.workspace, name=name)
    assignee_id = request.POST.get("assignee", "")
    if assignee_id and assignee_id not in by_id:
        raise ValidationError(_("That person is not a member of this workspace."))
    agent_ids = request.POST.getlist("agents")
    if any(a not in by_id for a in agent_ids):
        raise ValidationError(_("That person is not a member of this workspace."))
    return rule_create(
        mailbox=mailbox,
        kind=kind if kind in RuleKind.values else "",
        field=request.POST.get("field", ""),
        pattern=request.POST.get("pattern", ""),
        tag=tag,
        assignee=by_id.get(assignee_id),
        agents=[by_id[a] for a in agent_ids],
    )


@admin_required
@writable
@require_POST
def rule_edit(request: WorkspaceRequest, rule_id: int) -> HttpResponse:
    rule = get_in_workspace(request, Rule, pk=rule_id)
    if request.POST.get("action") == "delete":
        rule_delete(rule=rule)
        messages.success(request, _("Rule deleted."))
    else:
        rule_toggle(rule=rule)
    return redirect("mailbox_rules", mailbox_id=rule.mailbox_id)
