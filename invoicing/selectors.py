from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import Organization, User
from accounts.selectors import organizations_managed_by
from core.db import row_or_raise
from invoicing.models import Document


def documents_of_order(order_id: Any) -> QuerySet[Document]:
    """An order's invoice and credit notes, invoice first."""
    return Document.objects.filter(order_id=order_id).order_by("kind", "number")


def document_for(user: User, document_id: Any) -> Document:
    """A document its buyer or one of the organizer's managers may read; else a 404."""
    return row_or_raise(
        Document.objects.select_related("order").filter(
            Q(order__buyer=user) | Q(organization__in=organizations_managed_by(user))
        ),
        Http404("No such document"),
        pk=document_id,
    )


def organization_managed_by(user: User, organization_id: Any) -> Organization:
    return row_or_raise(
        organizations_managed_by(user), Http404("No such organization"), pk=organization_id
    )
