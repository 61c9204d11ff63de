from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from core.http import AuthedRequest
from invoicing import pdf, selectors, services
from invoicing.forms import InvoicingSettingsForm
from invoicing.models import InvoicingSettings
from ticketing.models import Order
from ticketing.selectors import order_of_buyer


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def receipt(request: AuthedRequest, order_id: Any) -> HttpResponse:
    """The buyer's receipt of a paid order, in the page's language."""
    order = order_of_buyer(request.user, order_id)
    if order.status != Order.Status.PAID:
        raise Http404("Only a paid order has a receipt")
    content = pdf.receipt_pdf(order, language=translation.get_language())
    return _pdf_response(content, f"receipt-{order.ref}.pdf")


@login_required
def document(request: AuthedRequest, document_id: Any) -> HttpResponse:
    """An invoice or credit note, for its buyer or the organizer's managers."""
    doc = selectors.document_for(request.user, document_id)
    content = pdf.document_pdf(doc, language=translation.get_language())
    return _pdf_response(content, f"{doc.display_number}.pdf")


@login_required
def settings_page(request: AuthedRequest, organization_id: Any) -> HttpResponse:
    """The organizer's legal details and whether paid orders get an invoice."""
    organization = selectors.organization_managed_by(request.user, organization_id)
    current = InvoicingSettings.objects.filter(organization=organization).first()
    form = InvoicingSettingsForm(
        request.POST or None,
        instance=current,
        initial={"legal_name": organization.name} if current is None else None,
    )
    if request.method == "POST" and form.is_valid():
        services.invoicing_settings_save(
            actor=request.user,
            organization=organization,
            values={name: form.cleaned_data[name] for name in form.Meta.fields},
        )
        messages.success(request, _("Invoicing settings saved."))
        return redirect("invoicing:settings", organization_id=organization.pk)
    return render(
        request,
        "invoicing/settings.html",
        {"organization": organization, "form": form},
        status=422 if form.errors else 200,
    )
