"""Requests that carry what no field of ours can hold are refused whole, with a 400.

A NUL character is never part of a name, an address, a note or a search: browsers do not send
one, and PostgreSQL refuses it in any text column or query ("A string literal cannot contain NUL
(0x00) characters"), so it would surface as a 500 from whichever view reads it first. Forms'
CharFields already refuse it (ProhibitNullCharactersValidator); the many plain `request.GET` /
`request.POST` reads are covered here, once, with the path and parameter names.
"""

from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, QueryDict

NUL = "\x00"


def has_nul(data: QueryDict) -> bool:
    return any(NUL in key or any(NUL in v for v in values) for key, values in data.lists())


class NulRefusingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path_info or has_nul(request.GET):
            raise BadRequest("NUL character in the address.")
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> None:
        # Only forms: a view exempt from CSRF (the Stripe webhook) reads its raw body itself,
        # which reading request.POST here would consume.
        form = request.method == "POST" and not getattr(view, "csrf_exempt", False)
        if form and has_nul(request.POST):
            raise BadRequest("NUL character in the form.")
