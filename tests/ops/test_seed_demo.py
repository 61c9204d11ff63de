"""`make run`'s demo data: safe to load twice, one event sells assigned seats, and the demo's
sales read the same on the dashboards as in the rows the booking services wrote."""

from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from analytics.models import EventHourStats
from checkin.models import Admission
from config.celery import app as celery_app
from events.models import Event, Feedback
from notifications.models import Delivery
from ops.demo_sales import PAST_ADMITTED, PAST_TITLE, REFUNDED, SOLD, TRANSFERRED
from ticketing.models import EventSeat, Order, Refund, Ticket, Transfer


@pytest.fixture
def worker_not_started_yet() -> Iterator[None]:
    """As in `make run`: seed_demo runs before the worker, so nothing is sent while it seeds."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = True


@pytest.mark.django_db
def test_seed_demo_loads_once_with_a_seated_concert_and_its_sales(worker_not_started_yet) -> None:
    call_command("seed_demo", verbosity=0)
    orders = Order.objects.count()
    call_command("seed_demo", verbosity=0)

    assert Order.objects.count() == orders > 300
    assert Event.objects.filter(status=Event.Status.PUBLISHED).count() == 7
    concert = Event.objects.get(title="Symphony Night")
    capacities = dict(concert.tiers.values_list("name", "capacity"))
    assert capacities == {"Parterre": 400, "Balcony": 250}
    assert EventSeat.objects.filter(event=concert).count() == 650
    assert EventSeat.objects.filter(event=concert, section="Balcony", row="J").count() == 25
    # Every ticket of the seated concert holds its own seat.
    seats = Ticket.objects.filter(event=concert).aggregate(n=Count("pk"), seats=Count("seat"))
    assert seats["n"] == seats["seats"] == sum(SOLD["Symphony Night"].values()) + 2


@pytest.mark.django_db
def test_the_demo_sales_are_what_the_services_sold(worker_not_started_yet) -> None:
    call_command("seed_demo", verbosity=0)

    for title, tiers in SOLD.items():
        event = Event.objects.get(title=title)
        sold = dict(event.tiers.values_list("name", "sold_count"))
        extra = {"Parterre": 2} if title == "Symphony Night" else {}  # the demo attendee's
        refunded = dict(
            Ticket.objects.filter(event=event, status="void", void_reason="refunded")
            .values_list("tier__name")
            .annotate(n=Count("pk"))
        )
        expected = {n: k + extra.get(n, 0) - refunded.get(n, 0) for n, k in tiers.items()}
        assert sold == expected, title
    assert Refund.objects.filter(status="succeeded").count() == sum(REFUNDED.values())
    assert Transfer.objects.filter(status="accepted").count() == sum(TRANSFERRED.values())
    past = Event.objects.get(title=PAST_TITLE)
    assert past.has_ended
    assert Admission.objects.filter(ticket__event=past).count() == PAST_ADMITTED
    assert Feedback.objects.filter(event=past).count() > 10
    # The summary tables were rebuilt from those rows: tickets and check-ins match them.
    totals = EventHourStats.objects.aggregate(
        tickets=Sum("tickets"), checkins=Sum("checkins"), transfers=Sum("transfers")
    )
    issued_at_sale = Ticket.objects.filter(transferred_from__isnull=True).count()
    assert totals == {
        "tickets": issued_at_sale,
        "checkins": PAST_ADMITTED,
        "transfers": sum(TRANSFERRED.values()),
    }
    # The demo buyers' mail is marked skipped instead of flooding the console; the demo
    # attendee's own confirmations (a real login) still go out.
    demo_mail = Delivery.objects.filter(channel="email", user__email__endswith="@example.com")
    assert demo_mail.count() > 300
    assert set(demo_mail.values_list("status", flat=True)) == {"skipped"}
    attendee_mail = Delivery.objects.filter(channel="email", user__email="attendee@boxoffice.local")
    assert list(attendee_mail.values_list("status", flat=True)) == ["pending", "pending"]
