import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from accounts.models import Organization
from invoicing.models import InvoicingSettings


def pdf_text(content: bytes) -> str:
    """The text of every page of a PDF, as a reader's copy-paste would get it."""
    assert content.startswith(b"%PDF-"), content[:20]
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def invoicing_on(organization: Organization, *, tax_rate: str = "19") -> InvoicingSettings:
    return InvoicingSettings.objects.create(
        organization=organization,
        enabled=True,
        legal_name="Kulturbühne Beispiel GmbH",
        address="Hauptstraße 1\n10115 Berlin\nGermany",
        vat_id="DE123456789",
        tax_rate=Decimal(tax_rate),
        footer="IBAN DE00 1234 5678 9012 3456 78",
    )


@pytest.fixture
def invoicing(event) -> InvoicingSettings:
    return invoicing_on(event.organization)
