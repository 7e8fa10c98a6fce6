"""Every URL pattern of the project, flattened: what the isolation and hostile-input walks go
through, so a new URL is covered by both without being listed anywhere."""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern
from django.utils import translation

_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
# The named groups of the regex patterns we meet (admin's app list, allauth's keys): no nesting.
_REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>[^()]*\)")


@dataclass(frozen=True)
class Route:
    template: str  # "inbox/c/{conversation_id}/": the path, parameters left to fill in
    name: str | None
    params: dict[str, str]  # parameter -> converter ("int", "str", "path", "regex"…)
    namespaces: tuple[str, ...]
    modules: tuple[str, ...]  # the urlconf modules included on the way

    def path(self, **values: str) -> str:
        return "/" + self.template.format(**values)


def _piece(pattern) -> tuple[str, dict[str, str]]:
    if isinstance(pattern, RoutePattern):
        route = str(pattern)
        params = {m["name"]: m["converter"] or "str" for m in _ROUTE_PARAM.finditer(route)}
        return _ROUTE_PARAM.sub(lambda m: "{" + m["name"] + "}", route), params
    assert isinstance(pattern, RegexPattern), pattern
    regex = str(pattern).removeprefix("^").removesuffix("$")
    params = {m["name"]: "regex" for m in _REGEX_PARAM.finditer(regex)}
    template = _REGEX_PARAM.sub(lambda m: "{" + m["name"] + "}", regex)
    assert not re.search(r"[\\^$*+?()\[\]|]", template), f"cannot walk the regex {regex!r}"
    return template, params


def walk_urls(
    resolver: URLResolver | None = None,
    prefix: str = "",
    params: dict[str, str] | None = None,
    namespaces: tuple[str, ...] = (),
    modules: tuple[str, ...] = (),
) -> Iterator[Route]:
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry.pattern, LocalePrefixPattern):
            # i18n_patterns: the same routes once per language, their segments translated.
            for code, _name in settings.LANGUAGES:
                with translation.override(code):
                    routes = list(walk_urls(entry, f"{prefix}{code}/", params, namespaces, modules))
                yield from routes
            continue
        template, own = _piece(entry.pattern)
        found = {**(params or {}), **own}
        if isinstance(entry, URLResolver):
            yield from walk_urls(
                entry,
                prefix + template,
                found,
                namespaces + ((entry.namespace,) if entry.namespace else ()),
                (*modules, getattr(entry.urlconf_module, "__name__", "")),
            )
        elif isinstance(entry, URLPattern):
            yield Route(prefix + template, entry.name, found, namespaces, modules)
