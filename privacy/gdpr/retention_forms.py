"""The owner's retention form: one field per category, within the category's legal bounds."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from privacy.gdpr.retention_policies import CATEGORIES, YEAR, Category

NEVER = "never"
YEAR_STEPS = (1, 2, 3, 4, 5, 6, 8, 10)


def _year_choices(category: Category) -> list[tuple[str, str]]:
    choices = [(NEVER, _("Never deleted"))] if category.never_allowed else []
    for years in YEAR_STEPS:
        if category.minimum <= years * YEAR <= category.maximum:
            label = ngettext("%(n)d year", "%(n)d years", years) % {"n": years}
            choices.append((str(years * YEAR), label))
    return choices


def _field(category: Category) -> forms.Field:
    if category.in_years:
        return forms.ChoiceField(label=category.label, choices=_year_choices(category))
    return forms.IntegerField(
        label=category.label,
        min_value=category.minimum,
        max_value=category.maximum,
        help_text=_("days"),
    )


def initial_for(days: dict[str, int | None]) -> dict[str, str | int]:
    return {
        key: (NEVER if value is None else str(value) if BY_IN_YEARS[key] else value)
        for key, value in days.items()
    }


BY_IN_YEARS = {category.key: category.in_years for category in CATEGORIES}


class RetentionPolicyForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for category in CATEGORIES:
            self.fields[category.key] = _field(category)

    def days(self) -> dict[str, int | None]:
        """The policy in days per category (None: never), once the form is valid."""
        found: dict[str, int | None] = {}
        for category in CATEGORIES:
            value = self.cleaned_data[category.key]
            found[category.key] = None if value == NEVER else int(value)
        return found
