from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import Organization, User
from accounts.selectors import organizations_managed_by
from invoicing.models import Document


def documents_of_order(order_id: Any) -> QuerySet[Document]:
    """An order's invoice and credit notes, invoice first."""
    return Document.objects.filter(order_id=order_id).order_by("kind", "number")


def document_for(user: User, document_id: Any) -> Document:
    """A document its buyer or one of the organizer's managers may read; else a 404."""
    try:
        return Document.objects.select_related("order").get(
            Q(order__buyer=user) | Q(organization__in=organizations_managed_by(user)),
            pk=document_id,
        )
    except (Document.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such document") from exc


def organization_managed_by(user: User, organization_id: Any) -> Organization:
    try:
        return organizations_managed_by(user).get(pk=organization_id)
    except (Organization.DoesNotExist, ValidationError, ValueError) as exc:
        raise Http404("No such organization") from exc
