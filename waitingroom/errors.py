from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class QueueRequired(DomainError):
    code = "QUEUE_REQUIRED"
    status = 403
    message = _("This sale has a waiting room: join the queue and book when it is your turn.")
