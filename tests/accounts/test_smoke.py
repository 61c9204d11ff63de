import pytest
from django.db import IntegrityError, connection

from events.models import TicketTier


def test_direct_update_past_capacity_is_refused_by_the_database(tier: TicketTier) -> None:
    with pytest.raises(IntegrityError), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_tickettier SET sold_count = capacity + 1 WHERE id = %s", [tier.pk]
        )
