"""The Django admin's own parameters, checked before its views read them.

Some reach Python or the database unchecked in Django itself and answer a 500: ticked rows
(`_selected_action`, filtered with `pk__in`) that are not ids, a date drill-down
(`<field>__year=`) too large for a date, a filter on a relation with a number beyond 64 bits. Garbage there is a 400; everything else the admin
already answers itself (unknown filters and orderings bring back the list with `?e=1`).
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.admin import helpers
from django.contrib.admin.sites import AdminSite
from django.core.exceptions import BadRequest

from trupeo.params import MAX_ID, parse_id

_DATE_PARTS = ("__year", "__month", "__day")


def _check(request) -> None:
    if request.method == "POST":
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        if any(parse_id(value) is None for value in selected):
            raise BadRequest("Ticked rows must be ids.")
    for key, values in request.GET.lists():
        if key.endswith(_DATE_PARTS) and not all(
            v.isascii() and v.isdigit() and len(v) <= 4 for v in values
        ):
            raise BadRequest("A date filter must be a number.")
        if any(_beyond_64_bits(v) for v in values):
            raise BadRequest("No id or count is that large.")


def _beyond_64_bits(value: str) -> bool:
    # A filter on a relation (`workspace__id__exact=`) is not bounds-checked like one on an
    # integer column: SQLite refuses the number, PostgreSQL compares it as a numeric.
    digits = value.removeprefix("-")
    return digits.isascii() and digits.isdigit() and (len(digits) > 19 or int(digits) > MAX_ID)


def guard_admin_views(site: AdminSite) -> None:
    """Every admin view of `site` (its models' too: they are wrapped per request) checked."""
    admin_view = site.admin_view

    def guarded_admin_view(view: Callable, cacheable: bool = False) -> Callable:
        @wraps(view)
        def checked(request, *args, **kwargs):
            _check(request)
            return view(request, *args, **kwargs)

        return admin_view(checked, cacheable)

    site.admin_view = guarded_admin_view  # type: ignore[method-assign]
