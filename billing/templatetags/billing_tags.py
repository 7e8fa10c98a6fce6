from decimal import Decimal

from django import template
from django.utils import formats

register = template.Library()

_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "CHF": "CHF"}


@register.filter
def money(cents: int | None, currency: str = "EUR") -> str:
    """Cents as a localised amount with its currency: 1234 → "12,34 €" in French."""
    if cents is None:
        return ""
    amount = formats.number_format(Decimal(cents) / 100, 2, use_l10n=True, force_grouping=True)
    currency = (currency or "EUR").upper()
    return f"{amount}\u00a0{_SYMBOLS.get(currency, currency)}"
