"""The confirmation's quicker header folding writes exactly what compat32 writes."""

import string
from email.errors import HeaderParseError
from email.policy import Policy, compat32

from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.channels.email import QUICK_FOLD, email_build

NAMES = ["Subject", "To", "From", "Message-ID", "List-Unsubscribe", "X-Boxoffice-Order", "Date"]


@settings(max_examples=3000, deadline=None)
@given(
    name=st.sampled_from(NAMES),
    value=st.one_of(
        # Around the line length, where folding starts.
        st.text(alphabet=string.ascii_letters + " ,;:<>@.=?", min_size=50, max_size=120),
        st.text(alphabet=string.printable + "äé€\x00\x1b", max_size=120),
    ),
)
def test_a_header_is_written_as_compat32_writes_it(name: str, value: str) -> None:
    assert _folded(QUICK_FOLD, name, value) == _folded(compat32, name, value)


def _folded(policy: Policy, name: str, value: str) -> bytes | str:
    """The header's bytes, or the refusal (a value that smuggles in another header)."""
    try:
        return bytes(policy.clone(linesep="\r\n").fold_binary(name, value))
    except HeaderParseError as exc:
        return f"refused: {exc}"


def test_a_confirmation_is_the_same_bytes_as_compat32_makes() -> None:
    message = email_build(
        to="Zoë Müller <zoe@example.com>",
        subject="Deine Tickets für das Jazzfestival im Stadtpark, Samstag und Sonntag",
        text="Hallo Zoë,\n\n" + "eine lange Zeile " * 20 + "\n",
        html="<p>Hallo Zoë</p>",
        attachments=[("event.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")],
        headers={"X-Boxoffice-Order": "2f0c6a3e-9a0e-4b6e-9f3a-0d6c1a7f6e21"},
    ).message()
    quick = message.as_bytes(linesep="\r\n")  # type: ignore[call-arg] # Django's as_bytes
    message.policy = compat32  # the boundaries stay: only the folding differs
    assert message.as_bytes(linesep="\r\n") == quick  # type: ignore[call-arg]
    # Both kinds of header are there: written as they are, and folded and encoded.
    assert b"\r\nX-Boxoffice-Order: 2f0c6a3e-9a0e-4b6e-9f3a-0d6c1a7f6e21\r\n" in quick
    assert b"\r\nSubject: \r\n =?utf-8?q?Deine_Tickets_f=C3=BCr" in quick
