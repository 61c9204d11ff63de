from config.errors import DomainError


class TicketsAvailable(DomainError):
    code = "TICKETS_AVAILABLE"
    status = 409
    message = "Tickets are still available: book them instead of waiting."
