import uuid
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from events.models import AttendeeQuestion, Event
from events.questions import ANSWER_MAX, NO, YES, answer_clean
from ticketing.models import Ticket
from ticketing.seating.services import MAX_SEATS_PER_ORDER
from ticketing.selectors import CheckoutTicket


class BookingForm(forms.Form):
    """One quantity box per tier; the idempotency key makes a double submit one order."""

    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args: Any, event: Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.event = event
        self.fields["idempotency_key"].initial = uuid.uuid4().hex
        for tier in event.tiers.all():
            self.fields[f"qty_{tier.pk}"] = forms.IntegerField(
                label=tier.name,
                min_value=0,
                max_value=tier.max_per_order,
                initial=0,
                required=False,
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors and not self.items():
            raise forms.ValidationError(_("Choose how many tickets you want."))
        return data

    def items(self) -> list[tuple[str, int]]:
        return [
            (name.removeprefix("qty_"), value)
            for name, value in self.cleaned_data.items()
            if name.startswith("qty_") and value
        ]

    def tier_fields(self) -> list[tuple[Any, forms.BoundField]]:
        return [(tier, self[f"qty_{tier.pk}"]) for tier in self.event.tiers.all()]


class PaymentForm(forms.Form):
    """Checkout: a name for each ticket, then the card (the sandbox provider's form)."""

    idempotency_key = forms.CharField(max_length=100, widget=forms.HiddenInput)
    card_number = forms.CharField(
        max_length=23,
        initial="4242 4242 4242 4242",
        label=_("Card number"),
        help_text=_("Sandbox: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "cc-number"}),
    )

    def __init__(
        self,
        *args: Any,
        tickets: list[CheckoutTicket] | None = None,
        questions: list[AttendeeQuestion] | None = None,
        **kwargs: Any,
    ) -> None:
        """`tickets`: the order's tickets in ticket order; `questions`: the event's questions
        for attendees (each ticket gets those of its tier and those of every tier)."""
        super().__init__(*args, **kwargs)
        self.fields["idempotency_key"].initial = uuid.uuid4().hex
        self.tickets = tickets or []
        self.asked: list[list[tuple[str, AttendeeQuestion]]] = []
        for index, ticket in enumerate(self.tickets):
            self.fields[f"attendee_{index}"] = forms.CharField(
                max_length=150,
                required=False,  # blank: the buyer's name, as tickets had before names
                label=_("Ticket %(number)d · %(tier)s: name of the attendee")
                % {"number": index + 1, "tier": ticket.what},
                initial=ticket.name,
                widget=forms.TextInput(attrs={"autocomplete": "name"}),
            )
            asked = []
            for question in questions or []:
                if question.asks(ticket.tier_id):
                    name = f"answer_{index}_{question.pk.hex}"
                    self.fields[name] = _answer_field(
                        question, ticket.answers.get(str(question.pk))
                    )
                    asked.append((name, question))
            self.asked.append(asked)

    def clean_card_number(self) -> str:
        digits = "".join(ch for ch in self.cleaned_data["card_number"] if ch.isdigit())
        if not 12 <= len(digits) <= 19:
            raise forms.ValidationError(_("Enter the 12–19 digits of the card number."))
        return digits

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _answers_clean(self, data, self.asked)
        return data

    def attendee_groups(self) -> list[tuple[forms.BoundField, list[forms.BoundField]]]:
        """Per ticket: the name field and the fields of the questions it is asked."""
        return [
            (self[f"attendee_{index}"], [self[name] for name, _q in self.asked[index]])
            for index in range(len(self.tickets))
        ]

    def attendee_names(self) -> list[str]:
        return [self.cleaned_data[f"attendee_{i}"] for i in range(len(self.tickets))]

    def attendee_answers(self) -> list[dict[str, str]]:
        return [
            {str(q.pk): self.cleaned_data[name] for name, q in asked if self.cleaned_data[name]}
            for asked in self.asked
        ]


class TicketAnswersForm(forms.Form):
    """After payment: each valid ticket's answers, changeable until the event's deadline."""

    def __init__(
        self, *args: Any, tickets: list[Ticket], questions: list[AttendeeQuestion], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[list[tuple[str, AttendeeQuestion]]] = []
        self.tickets = []
        for ticket in tickets:
            asked = []
            for question in questions:
                if question.asks(ticket.tier_id):
                    name = f"answer_{ticket.pk.hex}_{question.pk.hex}"
                    given = (ticket.answers or {}).get(str(question.pk))
                    self.fields[name] = _answer_field(question, given)
                    asked.append((name, question))
            if asked:
                self.tickets.append(ticket)
                self.asked.append(asked)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _answers_clean(self, data, self.asked)
        return data

    def ticket_groups(self) -> list[tuple[Ticket, list[forms.BoundField]]]:
        """Per ticket that is asked something: the ticket and its questions' fields."""
        return [
            (ticket, [self[name] for name, _q in asked])
            for ticket, asked in zip(self.tickets, self.asked, strict=True)
        ]

    def answers(self) -> dict[str, dict[str, str]]:
        """{ticket id: {question id: answer}}, blanks included (a blank clears an answer)."""
        return {
            str(ticket.pk): {str(q.pk): self.cleaned_data[name] for name, q in asked}
            for ticket, asked in zip(self.tickets, self.asked, strict=True)
        }


def _answers_clean(
    form: forms.Form, data: dict[str, Any], asked: list[list[tuple[str, AttendeeQuestion]]]
) -> None:
    """The rule the booking service applies to answers (events.questions), as field errors."""
    for fields in asked:
        for name, question in fields:
            if name in form.errors:
                continue
            try:
                data[name] = answer_clean(question, data.get(name))
            except DomainError as exc:
                form.add_error(name, exc.detail_message)


def _answer_field(question: AttendeeQuestion, given: str | None) -> forms.Field:
    label = (
        question.label
        if question.required
        else _("%(label)s (optional)") % {"label": question.label}
    )
    # The same words as the booking service's AnswerRequired, so page and API say one thing.
    errors = {"required": _("“%(label)s” needs an answer.") % {"label": question.label}}
    if question.kind == AttendeeQuestion.Kind.YES_NO:
        return forms.ChoiceField(
            label=label,
            required=question.required,
            choices=[(YES, _("Yes")), (NO, _("No"))],
            widget=forms.RadioSelect,
            initial=given,
            error_messages=errors,
        )
    if question.kind == AttendeeQuestion.Kind.CHOICE:
        return forms.ChoiceField(
            label=label,
            required=question.required,
            choices=[("", _("Choose…")), *((o, o) for o in question.options)],
            initial=given,
            error_messages=errors,
        )
    return forms.CharField(
        label=label,
        required=question.required,
        max_length=ANSWER_MAX,
        initial=given,
        error_messages=errors,
    )


class VoucherApplyForm(forms.Form):
    voucher = forms.CharField(max_length=40, label=_("Voucher code"))


class SeatIdsField(forms.Field):
    """Repeated `seat` values; whether they are real seats is the service's to say."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[str]:
        return [str(v) for v in value or []]


class SeatHoldForm(forms.Form):
    """Chosen seats (`seat`, repeated), or `best_tier` + `best_quantity` for the best
    available; `action` says which button was pressed."""

    idempotency_key = forms.CharField(max_length=100)
    action = forms.ChoiceField(choices=[("pick", "pick"), ("best", "best")], initial="pick")
    seat = SeatIdsField(required=False)
    best_tier = forms.ChoiceField(required=False, label=_("Zone"))
    best_quantity = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_SEATS_PER_ORDER, initial=2, label=_("Seats")
    )
    voucher = forms.CharField(required=False, max_length=40, label=_("Voucher code"))

    def __init__(self, *args: Any, tiers: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["best_tier"]).choices = [
            (t["id"], t["name"]) for t in tiers
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if data.get("action") == "best":
            if not data.get("best_tier") or not data.get("best_quantity"):
                raise forms.ValidationError(_("Choose a zone and how many seats."))
            data["seat"] = []
        elif not data.get("seat"):
            raise forms.ValidationError(_("Choose at least one seat on the map or in the list."))
        return data

    def best_available(self) -> tuple[str, int] | None:
        if self.cleaned_data.get("action") != "best":
            return None
        return self.cleaned_data["best_tier"], self.cleaned_data["best_quantity"]
