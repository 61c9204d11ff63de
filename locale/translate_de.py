# ruff: noqa: E501  # a table of translations reads best one pair a line
"""German for the strings of checkout, orders, vouchers, receipts and invoices.

Run after `manage.py makemessages -l de`, then `manage.py compilemessages`; the .po and .mo
files are committed, so running the site needs no gettext tools.
"""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

DE = {
    "Issue invoices for paid orders": "Rechnungen für bezahlte Bestellungen ausstellen",
    "Legal name": "Firmenname",
    "Address": "Anschrift",
    "VAT ID": "USt-IdNr.",
    "Tax rate included in prices (%)": "In den Preisen enthaltener Steuersatz (%)",
    "Footer (bank details, registry number)": "Fußzeile (Bankverbindung, Registernummer)",
    "An invoice needs the organizer's address.": "Eine Rechnung braucht die Anschrift des Veranstalters.",
    "Invoicing settings saved.": "Rechnungseinstellungen gespeichert.",
    "Your tickets for %(title)s": "Deine Tickets für %(title)s",
    "Language": "Sprache",
    "Change": "Wechseln",
    "Invoice": "Rechnung",
    "Credit note": "Gutschrift",
    "Date": "Datum",
    "Order": "Bestellung",
    "Corrects invoice %(number)s": "Korrigiert Rechnung %(number)s",
    "Billed to": "Rechnungsempfänger",
    "Description": "Beschreibung",
    "Quantity": "Menge",
    "Unit price": "Einzelpreis",
    "Net": "Netto",
    "Tax %(rate)s %%": "USt. %(rate)s %%",
    "Gross": "Brutto",
    "Total": "Summe",
    "Prices include the discount of voucher %(code)s": "Die Preise enthalten den Rabatt des Gutscheins %(code)s",
    "Paid in full. Prices include tax.": "Vollständig bezahlt. Die Preise enthalten die Umsatzsteuer.",
    "The amount above is refunded to the original means of payment.": "Der Betrag wird auf das ursprüngliche Zahlungsmittel erstattet.",
    "Receipt": "Quittung",
    "Paid on": "Bezahlt am",
    "Ticket": "Ticket",
    "Amount": "Betrag",
    "Discount with voucher %(code)s (included above)": "Rabatt mit Gutschein %(code)s (oben enthalten)",
    "Total paid": "Bezahlt",
    "Refunded": "Erstattet",
    "Tickets": "Tickets",
    "Reference": "Referenz",
    "Attendee": "Teilnehmer",
    "Status": "Status",
    "Seat": "Platz",
    "Valid": "Gültig",
    "Void": "Ungültig",
    "This receipt confirms your payment. It is not a tax invoice.": "Diese Quittung bestätigt deine Zahlung. Sie ist keine Rechnung im Sinne des Umsatzsteuergesetzes.",
    "Invoicing": "Rechnungen",
    "Your events": "Deine Veranstaltungen",
    "Every paid order gets a receipt. With invoicing on, it also gets an invoice with your legal details, numbered without gaps; every refund of an invoiced order gets a credit note.": "Jede bezahlte Bestellung erhält eine Quittung. Mit eingeschalteten Rechnungen erhält sie auch eine lückenlos nummerierte Rechnung mit deinen Firmenangaben; jede Erstattung einer berechneten Bestellung erhält eine Gutschrift.",
    "Save": "Speichern",
    "Hello %(name)s, your order <strong>%(code)s</strong> is confirmed.": "Hallo %(name)s, deine Bestellung <strong>%(code)s</strong> ist bestätigt.",
    "When:": "Wann:",
    "Where:": "Wo:",
    "Total:": "Summe:",
    "seat": "Platz",
    'Your QR codes are attached. You can also show them from <a href="%(url)s">My tickets</a>.': 'Deine QR-Codes sind angehängt. Du kannst sie auch unter <a href="%(url)s">Meine Tickets</a> vorzeigen.',
    "Receipt (PDF)": "Quittung (PDF)",
    "Hello %(name)s,": "Hallo %(name)s,",
    "Your order %(code)s for %(title)s is confirmed.": "Deine Bestellung %(code)s für %(title)s ist bestätigt.",
    "Your QR codes are attached, and always on %(url)s": "Deine QR-Codes sind angehängt und immer unter %(url)s",
    "Order %(code)s": "Bestellung %(code)s",
    "Checkout": "Kasse",
    "Your order": "Deine Bestellung",
    "Tickets in this order": "Tickets dieser Bestellung",
    "Qty": "Anz.",
    "Price": "Preis",
    "Voucher %(code)s": "Gutschein %(code)s",
    "Seats": "Plätze",
    "Your tickets are held until": "Deine Tickets sind reserviert bis",
    "Apply": "Einlösen",
    "Who is coming": "Wer kommt",
    "Payment": "Zahlung",
    "sandbox": "Testmodus",
    "Pay %(total)s": "%(total)s bezahlen",
    "Paid. Your tickets are on their way by email.": "Bezahlt. Deine Tickets sind per E-Mail unterwegs.",
    "Show my tickets": "Meine Tickets zeigen",
    "Documents": "Belege",
    "This order is %(status)s.": "Diese Bestellung ist %(status)s.",
    "Book again": "Erneut buchen",
    "Vouchers": "Gutscheine",
    "Vouchers and discounts": "Gutscheine und Rabatte",
    "Orders": "Bestellungen",
    "Download codes (CSV)": "Codes herunterladen (CSV)",
    "Figures": "Zahlen",
    "Codes": "Codes",
    "Uses (held or paid)": "Einlösungen (reserviert oder bezahlt)",
    "Paid orders with a code": "Bezahlte Bestellungen mit Code",
    "Discount given": "Gewährter Rabatt",
    "Voucher codes": "Gutscheincodes",
    "Code": "Code",
    "Discount": "Rabatt",
    "Tiers": "Kategorien",
    "Used": "Eingelöst",
    "Paid orders": "Bezahlte Bestellungen",
    "all public": "alle öffentlichen",
    "No voucher codes yet.": "Noch keine Gutscheincodes.",
    "New voucher code": "Neuer Gutscheincode",
    "Create": "Anlegen",
    "Card number": "Kartennummer",
    "Sandbox: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined.": "Testmodus: 4242 4242 4242 4242 zahlt, 4000 0000 0000 0002 wird abgelehnt.",
    "Ticket %(number)d · %(tier)s: name of the attendee": "Ticket %(number)d · %(tier)s: Name der teilnehmenden Person",
    "Enter the 12–19 digits of the card number.": "Gib die 12–19 Ziffern der Kartennummer ein.",
    "Voucher code": "Gutscheincode",
    "Voucher applied.": "Gutschein eingelöst.",
    "Paid. Your tickets are below and on their way by email.": "Bezahlt. Deine Tickets stehen unten und sind per E-Mail unterwegs.",
    "Leave empty to generate codes.": "Leer lassen, um Codes zu erzeugen.",
    "How many codes to generate": "Wie viele Codes erzeugen",
    "Prefix of generated codes (names the batch)": "Präfix der erzeugten Codes (benennt den Stapel)",
    "Percent or amount off": "Prozent oder Betrag Rabatt",
    "Good for these tiers (none: every public tier)": "Gültig für diese Kategorien (keine: alle öffentlichen)",
    "Uses per code": "Einlösungen je Code",
    "Uses per buyer": "Einlösungen je Person",
    "Valid from": "Gültig ab",
    "Valid until": "Gültig bis",
    "A percentage is at most 100.": "Ein Prozentsatz ist höchstens 100.",
    "The end must be after the start.": "Das Ende muss nach dem Beginn liegen.",
    "A typed code is one voucher; leave the code empty.": "Ein eingegebener Code ist ein Gutschein; lass den Code leer.",
    "code": "Code",
    "batch": "Stapel",
    "kind": "Art",
    "value": "Wert",
    "used": "eingelöst",
    "max uses": "max. Einlösungen",
    " (hidden: only with a code)": " (verborgen: nur mit Code)",
    "Only a paid order has a receipt": "Nur eine bezahlte Bestellung hat eine Quittung",
    "Voucher %(code)s created.": "Gutschein %(code)s angelegt.",
    "%(n)d voucher codes created.": "%(n)d Gutscheincodes angelegt.",
}


def main() -> None:
    path = Path(__file__).parent / "de" / "LC_MESSAGES" / "django.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="de")
    catalog.project, catalog.version = "Boxoffice", "1"
    catalog.language_team = "Deutsch"
    catalog.last_translator = "Boxoffice"
    catalog.fuzzy = False
    missing = []
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, str) and message.id in DE:
            message.string = DE[message.id]
        if not message.string or (isinstance(message.string, tuple) and not all(message.string)):
            missing.append(message.id)
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=100)
    for msgid in missing:
        print("untranslated:", msgid)


if __name__ == "__main__":
    main()
