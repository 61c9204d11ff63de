from typing import Any

from django import template

from invoicing.models import Document
from invoicing.selectors import documents_of_order

register = template.Library()


@register.simple_tag
def order_documents(order: Any) -> list[Document]:
    """`{% order_documents order as documents %}`: the invoice and credit notes of an order
    (a tag, so ticketing's pages show them without ticketing importing invoicing)."""
    return list(documents_of_order(order.pk))
