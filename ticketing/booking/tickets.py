"""Who signs a ticket's QR payload: the app that verifies it at the door registers itself.

Signing keys belong to check-in (it rotates and revokes them and verifies every scan), and
check-in sits above ticketing, so ticketing cannot import it. Check-in registers its signer
from its AppConfig.ready(); issuing a ticket before that is a configuration error.
"""

from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured


class TicketSigner(Protocol):
    def key_for(self, event_id: Any) -> Any:
        """The event's current signing key, looked up once for many tickets."""

    def sign(self, ticket: Any, *, key: Any, seat_label: str | None) -> str:
        """The QR payload of `ticket` (anything with id, event_id, tier_id)."""


_signers: list[TicketSigner] = []


def ticket_signer_register(signer: TicketSigner) -> None:
    _signers[:] = [signer]


def ticket_signer() -> TicketSigner:
    if not _signers:
        raise ImproperlyConfigured("No ticket signer registered (is checkin installed?)")
    return _signers[0]
