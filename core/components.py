"""`{% component %}`: a design-system piece from templates/components/ wrapped around a body.

Django's `{% include %}` cannot take a body, so a card, a tab panel or a scrollable table would be
copied page by page; this tag renders the body first and hands it to the piece as `slot`.
Registered as a template builtin (config/settings.py), so pages need no `{% load %}`.
"""

from typing import Any

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.template.context import Context
from django.utils.safestring import mark_safe

register = template.Library()


class ComponentNode(template.Node):
    def __init__(self, name: FilterExpression, params: dict[str, FilterExpression], body: NodeList):
        self.name = name
        self.params = params
        self.body = body

    def render(self, context: Context) -> str:
        name = self.name.resolve(context)
        values: dict[str, Any] = {key: value.resolve(context) for key, value in self.params.items()}
        values["slot"] = self.body.render(context)
        piece = context.template.engine.get_template(f"components/{name}.html")  # type: ignore[union-attr]
        with context.push(**values):
            return piece.render(context)


@register.tag("component")
def do_component(parser: Parser, token: Token) -> ComponentNode:
    """{% component "card" heading="Tickets" %}…{% endcomponent %}"""
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError("component needs the piece's name")
    params: dict[str, FilterExpression] = {}
    for bit in bits[2:]:
        key, sep, value = bit.partition("=")
        if not sep:
            raise template.TemplateSyntaxError(f"component arguments are key=value, not {bit!r}")
        params[key] = parser.compile_filter(value)
    body = parser.parse(("endcomponent",))
    parser.delete_first_token()
    return ComponentNode(parser.compile_filter(bits[1]), params, body)


@register.simple_tag(takes_context=True)
def current_for(context: Context, url: str, exact: bool = False) -> str:
    """` aria-current="page"` on the navigation link for the section the page belongs to."""
    request = context.get("request")
    path = getattr(request, "path", "")
    here = path == url if exact else path.startswith(url)
    return mark_safe(' aria-current="page"') if here else ""  # nosec B308 - a constant
