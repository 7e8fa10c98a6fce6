from django import forms
from django.utils.translation import gettext_lazy as _

from api.models import TokenRole, TokenScope
from api.tokens import DEFAULT_LIFETIME, LIFETIMES, MAX_NAME


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=MAX_NAME,
        help_text=_("What uses it, e.g. “CRM sync”."),
    )
    role = forms.ChoiceField(label=_("Role"), choices=TokenRole.choices, initial=TokenRole.AGENT)
    scope = forms.ChoiceField(
        label=_("Access"), choices=TokenScope.choices, initial=TokenScope.READ
    )
    lifetime = forms.TypedChoiceField(
        label=_("Expires in"),
        coerce=int,
        choices=[(days, _("%(days)d days") % {"days": days}) for days in LIFETIMES],
        initial=DEFAULT_LIFETIME,
    )
