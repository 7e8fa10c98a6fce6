"""The form of a saved reply."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Workspace
from inbox.models import Mailbox


class SavedReplyForm(forms.Form):
    """A saved reply: its title, its text with variables, and the address it is offered for."""

    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Text"), max_length=20_000, strip=False, widget=forms.Textarea(attrs={"rows": 10})
    )
    mailbox = forms.ModelChoiceField(
        label=_("Offered for"),
        queryset=Mailbox.objects.none(),
        required=False,
        empty_label=_("Every address"),
    )

    def __init__(self, *args, workspace: Workspace, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mailbox"].queryset = Mailbox.objects.filter(workspace=workspace).order_by(
            "address"
        )
