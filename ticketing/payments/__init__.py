"""Payment providers: one module each, all behind `PaymentProvider`."""

from django.conf import settings

from ticketing.payments.base import ChargeResult, PaymentProvider, ProviderUnavailable, RefundResult


def get_provider(name: str | None = None) -> PaymentProvider:
    name = name or settings.PAYMENT_PROVIDER
    if name == "sandbox":
        from ticketing.payments.sandbox import SandboxProvider

        return SandboxProvider()
    if name == "stripe":
        from ticketing.payments.stripe import StripeProvider

        return StripeProvider()
    raise ValueError(f"Unknown payment provider {name!r}")


__all__ = ["ChargeResult", "PaymentProvider", "ProviderUnavailable", "RefundResult", "get_provider"]
