"""The public site's forms: contact and waitlist. Turnstile is checked by the view."""

from django import forms
from django.utils.translation import gettext_lazy as _

from privacy.models import Audience, ContactSubject, Right


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Your email address"), max_length=254)
    subject = forms.ChoiceField(label=_("Subject"), choices=[("", "—"), *ContactSubject.choices])
    gdpr_right = forms.ChoiceField(
        label=_("Which right do you wish to exercise?"),
        choices=[("", "—"), *Right.choices],
        required=False,
        help_text=_("Only for a GDPR request. We answer within one month."),
    )
    message = forms.CharField(
        label=_("Your message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 7}),
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()

    def clean(self):
        data = super().clean()
        if data.get("subject") == ContactSubject.GDPR:
            if not data.get("gdpr_right"):
                self.add_error("gdpr_right", _("Choose the right you wish to exercise."))
        else:
            data["gdpr_right"] = ""
        return data


class WaitlistForm(forms.Form):
    email = forms.EmailField(label=_("Your professional email address"), max_length=254)
    audience = forms.ChoiceField(label=_("You are"), choices=[("", "—"), *Audience.choices])

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()
