"""The report's period and filters, read from the query string.

Mailbox, tag and assignee are ids read as `trupeo.params.parse_id` reads them; a well-formed
id that is not this workspace's is `NOT_IN_WORKSPACE`, which the view answers with a 404 (the
same as any other workspace's object), never with figures.
"""

from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import Membership, Workspace
from inbox.models import Mailbox, Tag
from reports.durations import workspace_zone
from reports.figures import MAX_DAYS, Scope
from trupeo.params import parse_id

NOT_IN_WORKSPACE = "not_in_workspace"
GROUPS = [("day", _("Per day")), ("week", _("Per week"))]


def default_period(workspace_id: int) -> tuple[date, date]:
    """The last 30 days, today included."""
    today = timezone.now().astimezone(workspace_zone(workspace_id)).date()
    return today - timedelta(days=29), today


class ReportForm(forms.Form):
    since = forms.DateField(
        label=pgettext_lazy("period", "From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=pgettext_lazy("period", "To"), widget=forms.DateInput(attrs={"type": "date"})
    )
    mailbox = forms.CharField(label=_("Mailbox"), required=False, max_length=20)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=20)
    assignee = forms.CharField(label=_("Assigned to"), required=False, max_length=20)
    group = forms.ChoiceField(label=_("Show"), choices=GROUPS, required=False)

    def __init__(self, data, *, workspace: Workspace) -> None:
        since, until = default_period(workspace.pk)
        data = {
            "since": since.isoformat(),
            "until": until.isoformat(),
            "group": "day",
            **{k: v for k, v in data.items() if v not in ("", None)},
        }
        super().__init__(data)
        self.workspace = workspace

    def _in_workspace(self, name: str, queryset) -> int | None:
        value = self.cleaned_data.get(name) or ""
        if not value:
            return None
        pk = parse_id(value)
        if pk is None:
            raise ValidationError(_("Choose one from the list."), code="invalid")
        if not queryset.filter(pk=pk).exists():
            raise ValidationError(_("Choose one from the list."), code=NOT_IN_WORKSPACE)
        return pk

    def clean_mailbox(self) -> int | None:
        return self._in_workspace("mailbox", Mailbox.objects.filter(workspace=self.workspace))

    def clean_tag(self) -> int | None:
        return self._in_workspace("tag", Tag.objects.filter(workspace=self.workspace))

    def clean_assignee(self) -> int | None:
        members = Membership.objects.filter(workspace=self.workspace)
        value = self.cleaned_data.get("assignee") or ""
        pk = parse_id(value) if value else None
        if value and pk is None:
            raise ValidationError(_("Choose one from the list."), code="invalid")
        if pk is not None and not members.filter(user_id=pk).exists():
            raise ValidationError(_("Choose one from the list."), code=NOT_IN_WORKSPACE)
        return pk

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until:
            if since > until:
                raise ValidationError(_("The start of the period must come before its end."))
            if (until - since).days >= MAX_DAYS:
                raise ValidationError(
                    _("A report covers at most %(days)s days.") % {"days": MAX_DAYS}
                )
            if since.year < 2000 or until.year > 2100:
                raise ValidationError(_("Choose a period between the years 2000 and 2100."))
        return data

    def not_in_workspace(self) -> bool:
        return any(
            e.code == NOT_IN_WORKSPACE for errors in self.errors.as_data().values() for e in errors
        )

    def scope(self) -> Scope:
        data = self.cleaned_data
        return Scope(
            workspace_id=self.workspace.pk,
            since=data["since"],
            until=data["until"],
            mailbox_id=data["mailbox"],
            tag_id=data["tag"],
            assignee_id=data["assignee"],
            by_week=data.get("group") == "week",
        )
