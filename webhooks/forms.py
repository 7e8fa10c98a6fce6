"""The form of an endpoint: where, what for, and whether content may leave."""

from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext_lazy as _

from inbox.mail.network import host_problem, private_hosts_allowed
from inbox.models import Security
from webhooks.models import Event, Preset
from webhooks.transport import url_problem

SUBSCRIBABLE = [(value, label) for value, label in Event.choices if value != Event.PING]


class EndpointForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    url = forms.CharField(
        label=_("Address (URL)"),
        max_length=2000,
        help_text=_("An https:// address that accepts POST requests."),
    )
    preset = forms.ChoiceField(label=_("Format"), choices=Preset.choices, initial=Preset.GENERIC)
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=SUBSCRIBABLE, widget=forms.CheckboxSelectMultiple
    )
    include_content = forms.BooleanField(
        label=_("Include message content (subject, sender, text, note text)"),
        required=False,
        help_text=_(
            "Off by default. When on, this content leaves Trupeo's encryption: it is sent in "
            "clear to this address and kept by whoever runs it."
        ),
    )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        problem = url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        parts = urlsplit(url)
        host = parts.hostname or ""
        allow = private_hosts_allowed()
        if parts.scheme == "http":
            if host_problem(host, security=Security.NONE, allow_private=allow):
                raise forms.ValidationError(
                    _("Plain http:// is only for a receiver on this machine; use https://.")
                )
        else:
            problem = host_problem(host, security=Security.TLS, allow_private=allow)
            if problem:
                raise forms.ValidationError(problem)
        return url
