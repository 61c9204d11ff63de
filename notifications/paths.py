"""Site paths for mail, reversed once per process: a confirmation names several (each ticket's
QR image, the order, its receipt and invoices) and Django's reverse() is slow enough to show in
the worker's profile at thousands of mails a minute."""

import functools
from urllib.parse import quote

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import RFC3986_SUBDELIMS

# Stands in for the one argument while the pattern is reversed; valid for <uuid:> and <str:>.
_MARKER = "00000000-0000-4000-8000-00000000abcd"


@functools.cache
def _pattern(name: str, argument: str, prefix: str, urlconf: str | None) -> tuple[str, str]:
    before, after = reverse(name, kwargs={argument: _MARKER}, urlconf=urlconf).split(_MARKER)
    return before, after


def path_to(name: str, argument: str, value: object) -> str:
    """reverse(name, kwargs={argument: value}) for a route with that one argument."""
    before, after = _pattern(name, argument, get_script_prefix(), get_urlconf())
    # What reverse() does to the argument (<uuid:> and <str:> convert by str()).
    return f"{before}{quote(str(value), safe=RFC3986_SUBDELIMS + '/~:@')}{after}"
