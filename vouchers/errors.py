from django.utils.translation import gettext_lazy as _

from core.errors import DomainError


class VoucherInvalid(DomainError):
    code = "VOUCHER_INVALID"
    status = 422
    message = _("This voucher code is not valid for these tickets.")


class VoucherExhausted(DomainError):
    code = "VOUCHER_EXHAUSTED"
    status = 409
    message = _("This voucher code has been used up.")


class VoucherExpired(DomainError):
    code = "VOUCHER_EXPIRED"
    status = 409
    message = _("This voucher code has expired.")
