"""The "due soon" and "late" lists, and the admins' business hours and reply goals pages."""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access import (
    WorkspaceRequest,
    admin_required,
    get_in_workspace,
    member_required,
    writable,
)
from accounts.keys import keys_for
from accounts.models import Membership
from accounts.workspace_lists import members
from inbox.models import Mailbox
from inbox.selectors.conversation_list import sidebar_context
from inbox.selectors.conversation_rows import assignee_names, conversation_rows
from inbox.selectors.mailboxes import mailboxes_listed
from sla import actions
from sla.calendars import workspace_calendars, workspace_goals
from sla.forms import CalendarForm, GoalForm, MailboxCalendarForm
from sla.selectors import DUE_SOON, LATE, clock_view, clocks_listed
from trupeo.params import parse_id

LISTS = {DUE_SOON: gettext_lazy("Due soon"), LATE: gettext_lazy("Late")}


@member_required
def due_list(request: WorkspaceRequest) -> HttpResponse:
    """Conversations by the deadline of their reply-time goal: due soon, or already late."""
    listed = request.GET.get("view", DUE_SOON)
    if listed not in (DUE_SOON, LATE):
        raise Http404("Unknown view.")
    mailbox = None
    if raw := request.GET.get("mailbox", ""):
        pk = parse_id(raw)
        mailbox = next((m for m in mailboxes_listed(request.workspace) if m.pk == pk), None)
        if mailbox is None:
            raise Http404("No such mailbox.")
    newest_first = request.GET.get("sort", "due") == "-due"
    now = timezone.now()
    clocks, next_cursor = clocks_listed(
        request.workspace,
        listed=listed,
        now=now,
        mailbox_id=mailbox.pk if mailbox else None,
        newest_first=newest_first,
        after=request.GET.get("after", ""),
    )
    conversations = [c.conversation for c in clocks]
    rows = conversation_rows(
        keys_for(request.workspace),
        conversations,
        names=assignee_names(request.workspace, conversations),
    )
    items = [
        {
            "row": row,
            "clock": clock_view(
                clock,
                workspace=request.workspace,
                mailbox_id=clock.conversation.mailbox_id,
                now=now,
            ),
        }
        for row, clock in zip(rows, clocks, strict=True)
    ]
    query = {"view": listed, "sort": "-due" if newest_first else "due"}
    if mailbox:
        query["mailbox"] = mailbox.pk
    more = request.htmx and request.htmx.target == "more"
    return render(
        request,
        "sla/due.html#rows" if more else "sla/due.html",
        {
            **sidebar_context(request.workspace, listed="", mailbox=mailbox, tag=None),
            "items": items,
            "listed": listed,
            "due_lists": LISTS,
            "title": LISTS[listed],
            "newest_first": newest_first,
            "next_cursor": next_cursor,
            "list_query": urlencode(query),
            "sort_query": urlencode({**query, "sort": "due" if newest_first else "-due"}),
        },
    )


@admin_required
@writable
def workspace_calendar(request: WorkspaceRequest) -> HttpResponse:
    """The workspace's business hours: every mailbox without its own follows them."""
    kept = workspace_calendars(request.workspace)
    form = CalendarForm(request.POST or None, initial=CalendarForm.initial_from(kept.default))
    if request.method == "POST" and form.is_valid():
        actions.calendar_save(workspace=request.workspace, settings=form.settings())
        messages.success(request, _("Business hours saved."))
        return redirect("sla_calendar")
    mailboxes = Mailbox.objects.filter(workspace=request.workspace).order_by("address")
    return render(
        request,
        "sla/calendar.html",
        {
            "form": form,
            "mailboxes": mailboxes,
            "goals": workspace_goals(request.workspace),
            "own": kept.by_mailbox,
        },
    )


@admin_required
@writable
def mailbox_goals(request: WorkspaceRequest, mailbox_id: int) -> HttpResponse:
    """A mailbox's reply-time goals, and its own business hours if it has them."""
    mailbox = get_in_workspace(request, Mailbox.objects.select_related("workspace"), pk=mailbox_id)
    kept = workspace_calendars(request.workspace)
    goal = workspace_goals(request.workspace).get(mailbox.pk)
    team = members(request.workspace)
    goal_initial = {"at_risk_percent": 80}
    if goal is not None:
        goal_initial = {
            "first_reply_minutes": goal.first_reply // 60 if goal.first_reply else None,
            "resolution_minutes": goal.resolution // 60 if goal.resolution else None,
            "at_risk_percent": goal.at_risk_percent,
            "late_recipient": goal.late_recipient_id,
        }
    calendar = kept.by_mailbox.get(mailbox.pk)
    calendar_initial = {
        **CalendarForm.initial_from(calendar or kept.default),
        "own_calendar": calendar is not None,
    }
    posted = request.POST if request.method == "POST" else None
    which = request.POST.get("form", "") if posted else ""
    goal_form = GoalForm(posted if which == "goal" else None, initial=goal_initial, members=team)
    calendar_form = MailboxCalendarForm(
        posted if which == "calendar" else None, initial=calendar_initial, prefix="cal"
    )
    if which == "goal" and goal_form.is_valid():
        data = goal_form.cleaned_data
        recipient = None
        if data["late_recipient"] is not None:
            member = (
                Membership.objects.filter(
                    workspace=request.workspace, user_id=data["late_recipient"]
                )
                .select_related("user")
                .first()
            )
            recipient = member.user if member else None
        actions.goal_save(
            mailbox=mailbox,
            first_reply_minutes=data["first_reply_minutes"],
            resolution_minutes=data["resolution_minutes"],
            at_risk_percent=data["at_risk_percent"],
            late_recipient=recipient,
        )
        messages.success(request, _("Reply-time goals saved."))
        return redirect("sla_mailbox", mailbox_id=mailbox.pk)
    if which == "calendar" and calendar_form.is_valid():
        if calendar_form.cleaned_data["own_calendar"]:
            actions.calendar_save(
                workspace=request.workspace, mailbox=mailbox, settings=calendar_form.settings()
            )
        else:
            actions.mailbox_calendar_remove(mailbox=mailbox)
        messages.success(request, _("Business hours saved."))
        return redirect("sla_mailbox", mailbox_id=mailbox.pk)
    return render(
        request,
        "sla/mailbox.html",
        {"mailbox": mailbox, "goal_form": goal_form, "calendar_form": calendar_form},
    )
