from django.apps import AppConfig


class CheckinConfig(AppConfig):
    name = "checkin"
    verbose_name = "Check-in"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from checkin.signing import TicketPayloadSigner
        from ticketing.booking.tickets import ticket_signer_register

        # Tickets are issued by ticketing and verified here, with keys kept here.
        ticket_signer_register(TicketPayloadSigner())
