from django import forms
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from accounts.models import MAX_RECIPIENTS_CEILING, MAX_UNDO_SECONDS, Role, User, Workspace


class SignupExtraForm(forms.Form):
    """Fields added to allauth's sign-up form."""

    name = forms.CharField(label=_("Your name"), max_length=150)

    def signup(self, request, user: User) -> None:
        user.name = self.cleaned_data["name"]
        user.save(update_fields=["name"])


class WorkspaceForm(forms.Form):
    name = forms.CharField(
        label=_("Workspace name"),
        max_length=120,
        help_text=_("Usually your school, agency or company."),
    )
    slug = forms.SlugField(
        label=_("Short name"),
        max_length=60,
        required=False,
        help_text=_("Letters, digits and dashes. Left empty, it is made from the name."),
    )
    accept_terms = forms.BooleanField(
        label=_("I accept the data-processing terms on behalf of my organisation"),
        help_text=_(
            "Trupeo processes the mail you bring only on your instructions, as its processor "
            "(privacy policy, section 10)."
        ),
        error_messages={"required": _("Accept the data-processing terms to continue.")},
    )

    def clean(self):
        data = super().clean()
        if "name" in data:
            slug = data.get("slug") or slugify(data["name"])[:60]
            if not slug:
                raise forms.ValidationError(_("Choose a short name made of letters or digits."))
            if Workspace.objects.filter(slug=slug).exists():
                self.add_error("slug", _("This short name is already taken."))
            data["slug"] = slug
        return data


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    role = forms.ChoiceField(
        label=_("Role"), choices=[(Role.AGENT, Role.AGENT.label), (Role.ADMIN, Role.ADMIN.label)]
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class RoleForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role"), choices=[(Role.AGENT, Role.AGENT.label), (Role.ADMIN, Role.ADMIN.label)]
    )


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name", "language"]


class StaffMfaCodeForm(forms.Form):
    """The code mailed to a staff address before its first second factor."""

    code = forms.CharField(
        label=_("Code received by email"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class UndoDelayForm(forms.Form):
    undo_send_seconds = forms.IntegerField(
        label=_("Seconds to undo a send"),
        min_value=0,
        max_value=MAX_UNDO_SECONDS,
        help_text=_(
            "A sent message waits this long before leaving; “Undo” brings it back. 0: none."
        ),
    )


class RecipientLimitForm(forms.Form):
    max_recipients = forms.IntegerField(
        label=_("Most recipients per message"),
        min_value=1,
        max_value=MAX_RECIPIENTS_CEILING,
        help_text=_("To, Cc and Bcc together. Mail providers refuse more than 500 to 1,000."),
    )
