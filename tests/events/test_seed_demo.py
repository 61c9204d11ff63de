"""`make run`'s demo data: safe to load twice, and one event sells assigned seats."""

import pytest
from django.core.management import call_command

from events.models import Event
from ticketing.models import EventSeat


@pytest.mark.django_db
def test_seed_demo_loads_once_with_a_seated_concert() -> None:
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)

    assert Event.objects.filter(status=Event.Status.PUBLISHED).count() == 6
    concert = Event.objects.get(title="Symphony Night")
    capacities = dict(concert.tiers.values_list("name", "capacity"))
    assert capacities == {"Parterre": 400, "Balcony": 250}
    assert EventSeat.objects.filter(event=concert).count() == 650
    assert EventSeat.objects.filter(event=concert, section="Balcony", row="J").count() == 25
