"""Input of the contacts pages: search, the shared note, a merge, an organisation."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from contacts.actions import NOTE_MAX
from trupeo.params import parse_id

_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}")


class ContactSearchForm(forms.Form):
    q = forms.CharField(label=_("Name or address"), max_length=200, required=False)
    after = forms.CharField(required=False, max_length=20)

    def clean_after(self) -> int | None:
        return parse_id(self.cleaned_data.get("after") or "")


class NoteForm(forms.Form):
    body = forms.CharField(
        label=_("Team note about this person"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class MergeForm(forms.Form):
    """Two contacts' ids: the one kept and the one merged into it."""

    keep = forms.CharField(max_length=20)
    other = forms.CharField(max_length=20)

    def clean(self):
        data = super().clean()
        keep, other = parse_id(data.get("keep", "")), parse_id(data.get("other", ""))
        if keep is None or other is None:
            raise ValidationError(_("Choose two contacts to merge."))
        if keep == other:
            raise ValidationError(_("Choose two different contacts."))
        data["keep"], data["other"] = keep, other
        return data


class OrganisationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    domain = forms.CharField(label=_("Domain"), max_length=253)

    def clean_domain(self) -> str:
        domain = self.cleaned_data["domain"].strip().lower()
        if not _DOMAIN.fullmatch(domain):
            raise ValidationError(_("Enter a domain such as example.fr."))
        return domain
