"""The flash-sale bench's own arithmetic: mail matched by order, delays, copies and misses."""

import asyncio
import time
from types import SimpleNamespace

from bench.flash_sale import wait_for_mail
from bench.servers import ORDER_HEADER, MailSink
from notifications.content import ORDER_HEADER as SENT_HEADER


def deliver(sink: MailSink, order_id: str | None) -> None:
    head = (
        f"Subject: Your tickets\r\n{ORDER_HEADER}: {order_id}\r\n" if order_id else "Subject: x\r\n"
    )
    envelope = SimpleNamespace(content=(head + "\r\nbody").encode())
    assert asyncio.run(sink.handle_DATA(None, None, envelope)) == "250 OK"


def test_the_sink_reads_the_header_the_confirmation_sends() -> None:
    assert ORDER_HEADER == SENT_HEADER


def test_every_paid_order_is_matched_to_its_first_mail_and_copies_and_misses_are_counted() -> None:
    sink = MailSink()
    paid = time.time() - 2
    for order in ("a", "b", "b"):
        deliver(sink, order)
    deliver(sink, None)  # some other mail
    result = wait_for_mail(sink, {"a": paid, "b": paid, "c": paid}, timeout=0.3)
    assert result["mails_delivered"] == 2
    assert result["mails_missing"] == 1
    assert result["mail_duplicates"] == 1
    assert result["mails_other"] == 1
    assert 1900 < result["mail_delay_ms"]["p50"] < 3000
